"""Write pictures, exports and report records for every n-th image of a run.

One call per image (:meth:`VisualizationWriter.add`) from dto_generate, the synthetic
benchmark or inference: every image contributes a *record* (numbers for the report's
statistics), and every ``every_n``-th image also gets its files:

===========================  ==========================================================
``<id>_overlay.png``         meshes over the photo, labels (after DTO when refined)
``<id>_panel.png``           overlay(s), bird's-eye and side view (before/after DTO)
``<id>.npz``, ``<id>.json``  standard export keys (:mod:`.export`)
``<id>.glb``                 all person meshes + camera + frustum (glTF convention)
``<id>_mesh.npz``            ``vertices (K,V,3)`` OpenCV camera space, ``faces (F,3)``
                             (mesh data of the report's 3D view)
===========================  ==========================================================

``records.jsonl`` in ``out_dir`` is rewritten atomically every ``flush_every`` records
and on :meth:`close`; :func:`metric_hmr.visualization.report.write_report` (or
``tools/make_report.py RUN_DIR``) turns it into the HTML report.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from metric_hmr.utils.io import atomic_save_npz, atomic_write
from .export import export_glb, export_params, vertical_fov
from .labels import AGE_GROUP_NAMES, age_group_from_years, age_group_name
from .overlay import load_image
from .panels import render_panels
from .report import write_report
from .run_records import RECORDS_FILE
from .scene import MeshScene, _to_numpy

__all__ = ['save_png', 'as_dict', 'make_record', 'VisualizationWriter', 'maybe_visualize']


def save_png(path, image: np.ndarray) -> Path:
    """Save an (h, w, 3) uint8 RGB image as PNG, atomically."""
    from PIL import Image
    im = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    return atomic_write(path, lambda p: im.save(p, format='PNG'))


def as_dict(obj: Any) -> Dict[str, Any]:
    """A DTO result (dict, dataclass or NamedTuple) as a plain dict of numpy values."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        d = dict(obj)
    elif dataclasses.is_dataclass(obj):
        d = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    elif hasattr(obj, '_asdict'):
        d = obj._asdict()
    elif hasattr(obj, '__dict__'):
        d = dict(vars(obj))
    else:
        raise TypeError(f'cannot read a DTO record of type {type(obj).__name__}')
    return {k: _to_numpy(v) for k, v in d.items()}


def _val(x: Any) -> Any:
    """JSON-able scalar: finite float / int / bool / str, else None."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, str):
        return x
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _pick(arr: Any, k: int, n: int) -> Any:
    """Element k of a per-person array of length n, else None."""
    if arr is None:
        return None
    a = np.asarray(arr)
    if a.ndim == 0 or len(a) != n:
        return None
    return a[k].item() if hasattr(a[k], 'item') else a[k]


def make_record(image_id: str, sample: Mapping[str, Any], before: Optional[Mapping[str, Any]] = None,
                dto: Any = None, score: Optional[float] = None, kept: Optional[bool] = None,
                reason: Optional[str] = None, key: str = 'pred') -> Dict[str, Any]:
    """Report record of one image (format: docs/visualization.md).

    Args:
        image_id: unique name of the image in the run.
        sample: per-image dict (docs/ARCHITECTURE.md) with the final prediction in
            ``sample[key]``.
        before: prediction dict before DTO (same persons, same order), optional.
        dto: DTO result (dict/dataclass/NamedTuple with ``h_init, h_star, z_init, z_star,
            std_h, residual, image_score, kept, reasons``), optional.
        score, kept, reason: override the image-level fields.
    """
    pred = {k: _to_numpy(v) for k, v in sample[key].items()}
    before = {k: _to_numpy(v) for k, v in (before or {}).items()}
    d = as_dict(dto)
    transl = np.asarray(pred['transl'], float).reshape(-1, 3)
    n = len(transl)
    H, W = (int(v) for v in tuple(sample.get('ori_shape', (0, 0)))[:2])
    rec: Dict[str, Any] = dict(image_id=str(image_id), img_path=str(sample.get('img_path') or ''),
                               image_size=[H, W])
    if 'focal' in pred and 'princpt' in pred:
        rec['focal'] = [float(v) for v in np.broadcast_to(np.asarray(pred['focal'], float).ravel(), (2,))]
        rec['princpt'] = [float(v) for v in np.asarray(pred['princpt'], float).ravel()[:2]]
        if pred.get('fov') is not None:
            rec['fov_deg'] = math.degrees(float(pred['fov']))
        elif H > 0:
            rec['fov_deg'] = math.degrees(vertical_fov(rec['focal'], (H, W)))
    rec['score'] = _val(score if score is not None else d.get('image_score'))
    rec['kept'] = _val(kept if kept is not None else d.get('kept'))
    reasons = d.get('reasons')
    per_person_reasons = (isinstance(reasons, (list, tuple, np.ndarray)) and len(reasons) == n
                          and n > 0 and all(isinstance(r, str) for r in reasons))
    if reason is not None:
        rec['reason'] = reason
    elif d.get('image_reason'):
        rec['reason'] = str(d['image_reason'])
    elif isinstance(reasons, str):
        rec['reason'] = reasons
    elif reasons is not None and not per_person_reasons:
        rec['reason'] = '; '.join(str(r) for r in np.asarray(reasons, dtype=object).ravel())
    btransl = np.asarray(before['transl'], float).reshape(-1, 3) if 'transl' in before else None
    persons = []
    for k in range(n):
        p = dict(
            height_before=_val(_pick(before.get('height', d.get('h_init')), k, n)),
            height_after=_val(_pick(pred.get('height', d.get('h_star')), k, n)),
            depth_before=_val(btransl[k, 2] if btransl is not None and len(btransl) == n
                              else _pick(d.get('z_init'), k, n)),
            depth=_val(transl[k, 2]),
            std=_val(_pick(pred.get('std', d.get('std_h')), k, n)),
            residual=_val(_pick(d.get('residual'), k, n)))
        if pred.get('age_group') is not None:
            p['age_group'] = age_group_name(_pick(pred['age_group'], k, n))
        elif pred.get('age') is not None:
            p['age_group'] = AGE_GROUP_NAMES.get(age_group_from_years(_pick(pred['age'], k, n)), 'unknown')
        if per_person_reasons and reasons[k]:      # DTO: why this person was skipped/unchanged
            p['reason'] = str(reasons[k])
        persons.append({kk: vv for kk, vv in p.items() if vv is not None})
    rec['persons'] = persons
    return {k: v for k, v in rec.items() if v is not None}


class VisualizationWriter:
    """Records for every image, pictures and exports for every n-th image.

    Args:
        out_dir: output folder (created).
        every_n: visualise images whose index is a multiple of ``every_n``; 0 = records only.
        faces: (F, 3) triangles of the body model (needed for the pictures/GLB).
        overlay, panel, export, glb, mesh: which files to write.
        resolution: longest side of the overlays in pixels (None: image size).
        require_smpl: the npz/json export needs global_orient/body_pose/betas.
        flush_every: rewrite records.jsonl after this many new records.
        records_name: file name of the records, ``records*.jsonl`` (e.g.
            ``records_rank1.jsonl`` when several processes share ``out_dir``; the report
            merges them).
    """

    def __init__(self, out_dir, every_n: int = 1, faces: Optional[np.ndarray] = None,
                 overlay: bool = True, panel: bool = True, export: bool = True, glb: bool = True,
                 mesh: bool = True, resolution: Optional[int] = 1024, require_smpl: bool = False,
                 flush_every: int = 50, records_name: str = RECORDS_FILE):
        if not (records_name.startswith('records') and records_name.endswith('.jsonl')):
            raise ValueError(f'records_name must match records*.jsonl, got {records_name!r}')
        self.records_name = records_name
        if every_n < 0:
            raise ValueError(f'every_n must be >= 0, got {every_n}')
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.every_n = int(every_n)
        self.faces = None if faces is None else np.asarray(_to_numpy(faces), dtype=np.int64)
        self.options = dict(overlay=overlay, panel=panel, export=export, glb=glb, mesh=mesh)
        self.resolution = resolution
        self.require_smpl = require_smpl
        self.flush_every = max(1, int(flush_every))
        self.records: List[Dict[str, Any]] = []
        self._unflushed = 0

    def should_visualize(self, index: int) -> bool:
        return self.every_n > 0 and index % self.every_n == 0

    def add(self, index: int, sample: Mapping[str, Any], vertices: Optional[np.ndarray] = None,
            before: Optional[Mapping[str, Any]] = None, dto: Any = None,
            image: Optional[np.ndarray] = None, image_id: Optional[str] = None,
            score: Optional[float] = None, kept: Optional[bool] = None,
            reason: Optional[str] = None) -> Dict[str, Any]:
        """Record one image and, when ``index`` is due, write its files.

        Args:
            index: running index of the image in the run (decides every-n-th).
            sample: per-image dict; ``sample['pred']`` holds the final persons.
            vertices: (K, V, 3) final meshes; default ``sample['pred']['vertices']``.
            before: prediction dict before DTO with ``vertices``/``transl``/``height``.
            dto: DTO result for the labels and the record.
            image: RGB photo; default read from ``sample['img_path']`` when it exists.
            image_id: file-name stem; default ``{index:06d}_{basename}``.

        Returns:
            the record (also kept in :attr:`records`).
        """
        if image_id is None:
            stem = Path(str(sample.get('img_path') or '')).stem
            image_id = f'{index:06d}' + (f'_{stem}' if stem else '')
        rec = make_record(image_id, sample, before, dto, score, kept, reason)
        if self.should_visualize(index):
            rec.update(self._write_files(image_id, sample, vertices, before, dto, image))
        self.records.append(rec)
        self._unflushed += 1
        if self._unflushed >= self.flush_every:
            self.flush()
        return rec

    def _write_files(self, image_id, sample, vertices, before, dto, image) -> Dict[str, str]:
        out: Dict[str, str] = {}
        o = self.options
        base = self.out_dir / image_id
        d = as_dict(dto)
        if o['export']:
            npz, js = export_params(base, sample, d, require_smpl=self.require_smpl)
            out['params_path'], out['json_path'] = npz.name, js.name
        if not any(o[k] for k in ('overlay', 'panel', 'glb', 'mesh')):
            return out
        if self.faces is None:
            raise ValueError('VisualizationWriter: faces (F,3) are needed for pictures/GLB; '
                             'pass faces= (the body model\'s faces)')
        scene = MeshScene.from_sample(sample, vertices, self.faces, d)
        if o['glb']:
            out['glb_path'] = export_glb(base.with_name(image_id + '.glb'), scene).name
        if o['mesh']:
            out['mesh_path'] = atomic_save_npz(base.with_name(image_id + '_mesh.npz'),
                                               vertices=scene.vertices.astype(np.float32),
                                               faces=scene.faces.astype(np.int32)).name
        if o['overlay'] or o['panel']:
            if image is None and sample.get('img_path') and Path(sample['img_path']).is_file():
                image = load_image(sample['img_path'])
            before_scene = None
            if before is not None and (before.get('vertices') is not None):
                before_sample = dict(sample, pred=dict(before, focal=sample['pred']['focal'],
                                                       princpt=sample['pred']['princpt']))
                before_scene = MeshScene.from_sample(before_sample, None, self.faces,
                                                     dict(h_star=d.get('h_init')) if d else None)
            pics = render_panels(scene, image, before_scene, self.resolution)
            if o['overlay']:
                out['overlay_path'] = save_png(base.with_name(image_id + '_overlay.png'),
                                               pics['overlay']).name
            if o['panel']:
                out['panel_path'] = save_png(base.with_name(image_id + '_panel.png'), pics['panel']).name
        return out

    def flush(self) -> Path:
        """Rewrite ``records.jsonl`` atomically with all records so far."""
        self._unflushed = 0
        text = ''.join(json.dumps(r, separators=(',', ':')) + '\n' for r in self.records)
        return atomic_write(self.out_dir / self.records_name, text)

    def close(self) -> Path:
        return self.flush()

    def write_report(self, report_dir=None, **kwargs: Any) -> Path:
        """Flush and write the HTML report (default ``out_dir/report``)."""
        self.flush()
        return write_report(report_dir or self.out_dir / 'report', self.records,
                            base_dir=self.out_dir, **kwargs)

    def __enter__(self) -> 'VisualizationWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.flush()


def maybe_visualize(i: int, every_n: int, writer: Optional[VisualizationWriter], *args: Any,
                    **kwargs: Any) -> Optional[Dict[str, Any]]:
    """Convenience for loops: ``writer.add(i, ...)`` when a writer is given and ``every_n``
    allows it (``every_n <= 0`` or no writer: nothing is written, returns None).

    Note that :meth:`VisualizationWriter.add` itself records *every* image for the
    report's statistics and writes files only for the writer's own ``every_n``; this
    helper is for callers that do not want records of skipped images.
    """
    if writer is None or every_n <= 0 or i % every_n != 0:
        return None
    return writer.add(i, *args, **kwargs)
