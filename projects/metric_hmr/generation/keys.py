"""Image keys of the authors' DTO-Humans files (docs/dto_generate.md, "Output layout").

The released generator keys each image by the last ``dir_depth`` parts of its path (3 for
the two Insta halves, 1 for COCO, AIC and MPII) in a per-run file ``<release>_opt.npz``;
MA-HMR's preparation then prefixes Insta keys with ``insta-train/`` and merges both Insta
halves into one ``INSTA_CHMR_SMPL_OPT.npz``.  Readers join ``<dataset folder>/<image_dir>/
<key>``.  This module is the whole naming scheme as pure functions, so that our files and
the authors' are interchangeable (pure numpy, no framework imports).

Names used below:

* *run key*: key of the per-run file (``a/b/c.jpg`` for insta, ``c.jpg`` for coco);
* *released key*: key of the released ``*_CHMR_SMPL_OPT.npz`` (``insta-train/a/b/c.jpg``);
* *run annots*: per image ``{'pose_cam' (N,72), 'shape' (N,10|11), 'cam_int' (N,3,3),
  'trans_cam' (N,3), ...}``; *released annots*: per image a list of
  ``{'smpl_param': {'shape', 'pose', 'trans'}, 'cam_param': {'focal', 'princpt'}}``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

__all__ = ['ReleaseNaming', 'RELEASE_NAMING', 'naming', 'run_key', 'released_key',
           'run_key_from_released', 'image_relpath', 'run_annots_to_released',
           'released_to_run_annots', 'merge_released']


@dataclass(frozen=True)
class ReleaseNaming:
    """How one source release is named in the authors' files.

    Attributes:
        dir_depth: path parts kept in the key.
        prefix: prepended to run keys in the released file ('' for none).
        folder: dataset folder under the data root (MA-HMR's ``dataset_root``).
        released_file: name of the released annotation file inside ``folder``.
        image_dir: folder of the images inside ``folder`` that the keys are relative to.
    """
    dir_depth: int
    prefix: str
    folder: str
    released_file: str
    image_dir: str


# facts from dto_framework.py (data_path_dict) and MA-HMR's datasets/{insta,coco,aic,mpii}.py
RELEASE_NAMING: Dict[str, ReleaseNaming] = {
    'insta1': ReleaseNaming(3, 'insta-train/', 'insta', 'INSTA_CHMR_SMPL_OPT.npz', 'images'),
    'insta2': ReleaseNaming(3, 'insta-train/', 'insta', 'INSTA_CHMR_SMPL_OPT.npz', 'images'),
    'coco': ReleaseNaming(1, '', 'coco2014', 'COCO_CHMR_SMPL_OPT.npz', 'images/train2014'),
    'aic': ReleaseNaming(1, '', 'aic', 'AIC_CHMR_SMPL_OPT.npz', 'images'),
    'mpii': ReleaseNaming(1, '', 'mpii', 'MPII_CHMR_SMPL_OPT.npz', 'images'),
}


def naming(dataset: str) -> ReleaseNaming:
    """The :class:`ReleaseNaming` of ``dataset`` (ValueError naming the known ones)."""
    try:
        return RELEASE_NAMING[dataset]
    except KeyError:
        raise ValueError(f'unknown release dataset {dataset!r}; known: {sorted(RELEASE_NAMING)}'
                         ) from None


def _parts(path: str) -> List[str]:
    return [p for p in str(path).replace('\\', '/').split('/') if p not in ('', '.')]


def run_key(imgname: str, dataset: str) -> str:
    """Release ``imgname`` (or any path ending in it) -> run key (last ``dir_depth`` parts)."""
    n = naming(dataset)
    parts = _parts(imgname)
    if len(parts) < n.dir_depth:
        raise ValueError(f'image name {imgname!r} has {len(parts)} path part(s); {dataset} keys '
                         f'keep the last {n.dir_depth}')
    return '/'.join(parts[-n.dir_depth:])


def released_key(imgname: str, dataset: str) -> str:
    """Release ``imgname`` -> key of the released ``*_CHMR_SMPL_OPT.npz``."""
    return naming(dataset).prefix + run_key(imgname, dataset)


def run_key_from_released(key: str, dataset: str) -> str:
    """Released key -> run key (inverse of the prefixing; ValueError when the prefix is absent)."""
    n = naming(dataset)
    if not key.startswith(n.prefix):
        raise ValueError(f'released key {key!r} of {dataset} must start with {n.prefix!r}')
    rk = key[len(n.prefix):]
    if len(_parts(rk)) != n.dir_depth:
        raise ValueError(f'released key {key!r} of {dataset} must have {n.dir_depth} path '
                         'part(s) after its prefix')
    return rk


def image_relpath(key: str, dataset: str) -> str:
    """Released key -> image path relative to the data root (as MA-HMR's readers join it)."""
    n = naming(dataset)
    return '/'.join([n.folder, n.image_dir, key])


def run_annots_to_released(run: Mapping[str, Mapping], dataset: str) -> Dict[str, list]:
    """Per-run annots -> released annots with released keys (one image = one person list).

    The camera of every person is taken from the image's first ``cam_int`` (as the
    authors' preparation does); arrays keep their dtype and values.
    """
    out: Dict[str, list] = {}
    for key, a in run.items():
        cam = np.asarray(a['cam_int'])[0]
        cam_param = {'focal': np.array([cam[0, 0], cam[1, 1]], np.float32),
                     'princpt': np.array([cam[0, 2], cam[1, 2]], np.float32)}
        out[naming(dataset).prefix + key] = [
            {'smpl_param': {'shape': a['shape'][i], 'pose': a['pose_cam'][i],
                            'trans': a['trans_cam'][i]},
             'cam_param': cam_param} for i in range(len(a['pose_cam']))]
    return out


def released_to_run_annots(released: Mapping[str, Sequence[Mapping]], dataset: str
                           ) -> Dict[str, dict]:
    """Released annots -> per-run annots (``cam_int`` rebuilt from focal / principal point)."""
    out = {}
    for key, persons in released.items():
        if len(persons) == 0:
            raise ValueError(f'released image {key!r} has no persons')
        cams = []
        for p in persons:
            k = np.eye(3)
            k[0, 0], k[1, 1] = np.asarray(p['cam_param']['focal'], np.float64).reshape(2)
            k[0, 2], k[1, 2] = np.asarray(p['cam_param']['princpt'], np.float64).reshape(2)
            cams.append(k)
        out[run_key_from_released(key, dataset)] = {
            'pose_cam': np.stack([np.asarray(p['smpl_param']['pose']).reshape(72) for p in persons]),
            'shape': np.stack([np.asarray(p['smpl_param']['shape']).reshape(-1) for p in persons]),
            'trans_cam': np.stack([np.asarray(p['smpl_param']['trans']).reshape(3) for p in persons]),
            'cam_int': np.stack(cams)}
    return out


def merge_released(parts: Sequence[Mapping[str, list]], on_repeat: str = 'overwrite'
                   ) -> Tuple[Dict[str, list], List[str]]:
    """Merge released annots of several runs (e.g. insta1 + insta2) into one file's dict.

    A key present in several parts is overwritten by the later one (the authors'
    behaviour) and listed in the returned repeats; ``on_repeat='error'`` raises instead.
    """
    if on_repeat not in ('overwrite', 'error'):
        raise ValueError(f"on_repeat must be 'overwrite' or 'error', got {on_repeat!r}")
    merged: Dict[str, list] = {}
    repeats: List[str] = []
    for part in parts:
        for key, persons in part.items():
            if key in merged:
                if on_repeat == 'error':
                    raise ValueError(f'image key {key!r} is present in more than one part')
                repeats.append(key)
            merged[key] = persons
    return merged, repeats
