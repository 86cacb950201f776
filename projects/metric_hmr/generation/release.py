"""Formats of DTO-Humans generation (method.md §2).

*Input*: CameraHMR's release of 4D-Humans pseudo-ground truth (``{aic,coco,...}-release.npz``),
flat per-instance arrays::

    imgname (N,)  center (N,2)  scale (N,) (= box size / 200)  pose_cam | pose (N,72)
    shape (N,10|11)  cam_int (N,3,3)  gtkps (N,44,3)  trans_cam | cam_t (N,3)  [cam_ext (N,4,4)]

*Output*: the released DTO-Humans layout (``*_CHMR_SMPL_OPT.npz``)::

    {'annots': {img_relpath: [{'smpl_param': {'shape': (11,), 'pose': (72,), 'trans': (3,)},
                               'cam_param': {'focal': (2,), 'princpt': (2,)}}, ...]}}

The 11th shape value is the SMPL-A age blend (kid-template weight); a 10-D shape is padded
with 0 (adult template).
"""
from __future__ import annotations

import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..conventions import adapt_betas
from ..utils.io import atomic_write

__all__ = ['RELEASE_ALIASES', 'RELEASE_REQUIRED', 'GTKPS_NECK', 'GTKPS_HEAD_TOP',
           'COCO_TO_OPENPOSE', 'ReleaseImage', 'RELEASE_FIELDS', 'load_camerahmr_release',
           'write_camerahmr_release', 'pad_betas_smpla', 'released_person',
           'save_released_annots', 'load_released_annots']

# Accepted names of the same field (first present wins) in CameraHMR release files.
RELEASE_ALIASES = {
    'pose': ('pose_cam', 'pose'),
    'transl': ('trans_cam', 'cam_t'),
}
RELEASE_REQUIRED = ('imgname', 'shape', 'cam_int')

# gtkps: 25 OpenPose BODY_25 joints then 19 J19 joints; J19 neck / head-top indices.
GTKPS_NECK = 37
GTKPS_HEAD_TOP = 38
# COCO-17 keypoint k corresponds to OpenPose BODY_25 joint COCO_TO_OPENPOSE[k].
COCO_TO_OPENPOSE = np.array([0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11])


@dataclass
class ReleaseImage:
    """All release persons of one image (person order = order of rows in the file).

    Attributes:
        imgname: image path relative to the image root (the key of the released layout).
        rows: (N,) row indices into the release file.
        global_orient: (N,3), body_pose: (N,69) axis-angle.
        betas: (N,10|11).
        transl: (N,3) camera-space translation, metres.
        focal: (2,) fx, fy; princpt: (2,) cx, cy (from the first person's ``cam_int``).
        kpts2d: (N,44,3) ``gtkps`` [x, y, confidence] or None.
        boxes: (N,4) xyxy from center/scale or None.
        problem: '' or why the image cannot be used (a bad row; names file, field, person).
    """
    imgname: str
    rows: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    focal: np.ndarray
    princpt: np.ndarray
    kpts2d: Optional[np.ndarray] = None
    boxes: Optional[np.ndarray] = None
    problem: str = ''


# Every field the loader uses; nothing else of a release file is ever read.
RELEASE_FIELDS = ('imgname', 'center', 'scale', 'pose_cam', 'pose', 'shape', 'cam_int', 'gtkps',
                  'trans_cam', 'cam_t')


def _open_npz(path: Path) -> Dict[str, np.ndarray]:
    """The known fields of a release npz, read without ``allow_pickle``.

    Numeric fields must be plain arrays.  ``imgname`` may be an object array of strings
    (some releases store it so): it is rebuilt by the safe reader of
    :func:`metric_hmr.utils.io.read_npz_member`, which accepts arrays and strings only, so a
    planted payload is refused instead of run.  Unknown fields are never opened.
    """
    from ..utils.io import UnsafeContentError, read_npz_member
    if not path.is_file():
        raise FileNotFoundError(f'CameraHMR release file not found: {path}')
    if not zipfile.is_zipfile(path):
        raise ValueError(f'corrupt or unreadable CameraHMR release file {path}: not an npz archive')
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = {n[:-4] for n in zf.namelist() if n.endswith('.npy')}
        for key in RELEASE_FIELDS:
            if key in members:
                out[key] = read_npz_member(path, key, allow_objects=(key == 'imgname'))
    except UnsafeContentError as e:
        raise ValueError(f'refused CameraHMR release file: {e}') from e  # names file + field
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f'corrupt or unreadable CameraHMR release file {path}: {e}') from e
    if 'imgname' in out and out['imgname'].dtype == object:
        bad = [type(x).__name__ for x in out['imgname'].ravel() if not isinstance(x, (str, bytes))]
        if bad:
            raise ValueError(f'{path}: field imgname holds {bad[0]} values, expected strings')
    return out


def load_camerahmr_release(path) -> List[ReleaseImage]:
    """Read a CameraHMR release npz and group its rows per image.

    Images are returned in order of first appearance; persons inside an image keep the
    file's row order (method.md §7: output order must equal input order).  A row with
    non-finite values or a non-positive focal length belongs to one image: that image
    carries the problem (``ReleaseImage.problem``, naming file, field, row and person) and
    is skipped by the reader; the other images are unaffected.

    Raises:
        FileNotFoundError: missing file.  ValueError: corrupt or empty file, missing or
        misshaped field (the message names file and field).
    """
    path = Path(path)
    a = _release_arrays(path, _open_npz(path))
    names, n = a['imgname'], len(a['imgname'])
    problems = _row_problems(path, a)
    groups: Dict[str, List[int]] = OrderedDict()
    for i, name in enumerate(names):
        groups.setdefault(name, []).append(i)
    images = []
    for name, rows in groups.items():
        r = np.asarray(rows)
        k = a['cam_int'][r[0]]
        bad = [(p, i) for p, i in ((problems.get(int(j)), i) for i, j in enumerate(r)) if p]
        images.append(ReleaseImage(
            imgname=name, rows=r, global_orient=a['pose'][r, :3], body_pose=a['pose'][r, 3:],
            betas=a['shape'][r], transl=a['transl'][r],
            focal=np.array([k[0, 0], k[1, 1]]), princpt=np.array([k[0, 2], k[1, 2]]),
            kpts2d=None if a['gtkps'] is None else a['gtkps'][r],
            boxes=None if a['boxes'] is None else a['boxes'][r],
            problem=f'{bad[0][0]} (person {bad[0][1]})' if bad else ''))
    assert sum(len(im.rows) for im in images) == n
    return images


def _release_arrays(path: Path, data: dict) -> dict:
    """Validated float64 arrays of a release (shapes checked against the row count)."""
    for key in RELEASE_REQUIRED:
        if key not in data:
            raise ValueError(f'{path}: missing field {key!r} (fields: {sorted(data)})')
    fields = {}
    for name, aliases in RELEASE_ALIASES.items():
        key = next((a for a in aliases if a in data), None)
        if key is None:
            raise ValueError(f'{path}: missing field {name!r} (looked for {aliases}; '
                             f'fields: {sorted(data)})')
        fields[name] = data[key]
    names = [x.decode() if isinstance(x, bytes) else str(x) for x in np.ravel(data['imgname'])]
    n = len(names)
    if n == 0:
        raise ValueError(f'{path}: the release has 0 rows (field imgname is empty)')
    out = {'imgname': names,
           'pose': _check(path, 'pose', fields['pose'], (n, 72), flat=True),
           'shape': np.asarray(data['shape'], np.float64),
           'transl': _check(path, 'transl', fields['transl'], (n, 3)),
           'cam_int': _check(path, 'cam_int', data['cam_int'], (n, 3, 3)),
           'gtkps': None, 'boxes': None}
    if out['shape'].ndim != 2 or out['shape'].shape[0] != n or out['shape'].shape[1] not in (10, 11):
        raise ValueError(f'{path}: field shape has shape {out["shape"].shape}, expected ({n}, 10|11)')
    if 'gtkps' in data:   # matching indexes the 44-joint layout (J19 neck 37 / head-top 38)
        out['gtkps'] = _check(path, 'gtkps', data['gtkps'], (n, 44, 3))
    if 'center' in data and 'scale' in data:
        c_shape, s_shape = np.shape(data['center']), np.shape(data['scale'])
        if c_shape != (n, 2) or s_shape[:1] != (n,):
            raise ValueError(f'{path}: fields center {c_shape} / scale {s_shape} do not match '
                             f'{n} rows (expected ({n}, 2) and ({n},))')
        center = np.asarray(data['center'], np.float64).reshape(n, 2)
        size = np.asarray(data['scale'], np.float64).reshape(n, -1)[:, :1] * 200.0
        out['boxes'] = np.concatenate([center - size / 2, center + size / 2], axis=1)
    return out


def _row_problems(path: Path, a: dict) -> Dict[int, str]:
    """{row: reason} for rows with non-finite values or a non-positive focal length."""
    n = len(a['imgname'])
    problems: Dict[int, str] = {}
    for field in ('pose', 'shape', 'transl', 'cam_int'):
        bad = ~np.isfinite(a[field].reshape(n, -1)).all(axis=1)
        for i in np.flatnonzero(bad):
            problems.setdefault(int(i), f'invalid_release_row: {path}: field {field} is not '
                                        f'finite in row {int(i)}')
    fx, fy = a['cam_int'][:, 0, 0], a['cam_int'][:, 1, 1]
    for i in np.flatnonzero(~((fx > 0) & (fy > 0))):
        problems.setdefault(int(i), f'invalid_intrinsics: {path}: field cam_int of row {int(i)} '
                                    f'has focal fx={fx[i]:.6g}, fy={fy[i]:.6g} (must be > 0)')
    return problems


def _check(path, field, arr, shape, flat: bool = False) -> np.ndarray:
    """``arr`` as float64 of ``shape`` (``flat``: any array of that many values per row)."""
    try:
        arr = np.asarray(arr, np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f'{path}: field {field} is not numeric ({arr.dtype})') from e
    if flat and arr.ndim >= 1 and arr.size == int(np.prod(shape)) and len(arr) == shape[0]:
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise ValueError(f'{path}: field {field} has shape {arr.shape}, expected {shape}')
    return arr


def write_camerahmr_release(path, images: Sequence[ReleaseImage], pose_key: str = 'pose_cam',
                            transl_key: str = 'trans_cam') -> Path:
    """Write ``images`` as a flat CameraHMR release npz (inverse of the loader; for fixtures)."""
    rows = [(im, i) for im in images for i in range(len(im.transl))]
    nb = max((im.betas.shape[1] for im in images), default=10)

    def cam(im):
        k = np.eye(3)
        k[0, 0], k[1, 1] = im.focal
        k[0, 2], k[1, 2] = im.princpt
        return k

    arrays = dict(
        imgname=np.array([im.imgname for im, _ in rows], dtype=str),
        **{pose_key: np.array([np.concatenate([im.global_orient[i], im.body_pose[i]])
                               for im, i in rows]).reshape(-1, 72)},
        shape=np.array([im.betas[i] for im, i in rows]).reshape(-1, nb),
        **{transl_key: np.array([im.transl[i] for im, i in rows]).reshape(-1, 3)},
        cam_int=np.array([cam(im) for im, _ in rows]).reshape(-1, 3, 3),
    )
    if all(im.kpts2d is not None for im in images) and rows:
        arrays['gtkps'] = np.array([im.kpts2d[i] for im, i in rows])
    if all(im.boxes is not None for im in images) and rows:
        b = np.array([im.boxes[i] for im, i in rows])
        arrays['center'] = (b[:, :2] + b[:, 2:]) / 2
        arrays['scale'] = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / 200.0
    return atomic_write(Path(path), lambda p: np.savez(p, **arrays))


# ----------------------------------------------------------------------------- output layout
def pad_betas_smpla(betas: np.ndarray, age_blend: Optional[np.ndarray] = None) -> np.ndarray:
    """(N,10|11) -> (N,11) SMPL-A shape of the released layout: ``conventions.adapt_betas``
    (a 10-D shape gets ``age_blend``, default 0 = adult; other sizes are a ValueError)."""
    return adapt_betas(betas, 11, age_blend=age_blend, widths=(10, 11))


def released_person(betas11, global_orient, body_pose, transl, focal, princpt) -> dict:
    """One person entry of the released layout (float32 arrays of the documented shapes)."""
    return {'smpl_param': {'shape': np.asarray(betas11, np.float32).reshape(11),
                           'pose': np.concatenate([np.ravel(global_orient), np.ravel(body_pose)]
                                                  ).astype(np.float32).reshape(72),
                           'trans': np.asarray(transl, np.float32).reshape(3)},
            'cam_param': {'focal': np.asarray(focal, np.float32).reshape(2),
                          'princpt': np.asarray(princpt, np.float32).reshape(2)}}


def save_released_annots(path, annots: Mapping[str, list]) -> Path:
    """Write ``{'annots': annots}`` as the released ``*_CHMR_SMPL_OPT.npz`` (atomic)."""
    obj = np.empty((), dtype=object)
    obj[()] = dict(annots)
    return atomic_write(Path(path), lambda p: np.savez(p, annots=obj))


def load_released_annots(path) -> dict:
    """Read a ``*_CHMR_SMPL_OPT.npz`` (pickle needed: the layout is a pickled dict)."""
    from ..utils.io import load_annots_npz
    return load_annots_npz(path, 'annots')
