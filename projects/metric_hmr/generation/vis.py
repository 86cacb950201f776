"""Visual outputs of a generation run (thin glue to :mod:`metric_hmr.visualization`).

* every ``vis_every``-th image (chosen by a hash of its id, so the choice does not depend
  on the number of ranks): overlay PNG of the refined meshes, GLB scene and a mesh npz
  under ``work_dir/vis``; their paths go into the image's record (``vis``);
* after the merge: an HTML report (``work_dir/report/index.html``).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..conventions import adapt_betas
from ..utils.io import atomic_save_npz, atomic_write
from .state import ImageState

__all__ = ['selected', 'GenerationVisualizer', 'make_visualizer', 'report_records',
           'write_generation_report']


def selected(img_id: str, every: int) -> bool:
    """Deterministic 1-in-``every`` choice of images, independent of sharding."""
    if every <= 1:
        return True
    return int(hashlib.sha1(img_id.encode()).hexdigest()[:8], 16) % every == 0


def _safe(img_id: str) -> str:
    return img_id.replace('/', '__').replace('\\', '__').rsplit('.', 1)[0]


class GenerationVisualizer:
    """Per-image callback writing overlay / GLB / mesh of the refined persons."""

    def __init__(self, out_dir, every: int, work_dir):
        self.out_dir, self.every, self.work_dir = Path(out_dir), int(every), Path(work_dir)
        self.body_model = None   # set by the runner from the DTO stage

    def __call__(self, s: ImageState) -> None:
        if self.body_model is None or s.refined is None or not selected(s.img_id, self.every):
            return
        from ..visualization.export import export_glb
        from ..visualization.labels import PersonLabel
        from ..visualization.overlay import render_overlay
        from ..visualization.scene import MeshScene
        bm = self.body_model
        dev = next(bm.parameters()).device if any(True for _ in bm.parameters()) else torch.device('cpu')
        r = s.refined
        try:  # an age blend the body model cannot show is reported, never drawn as an adult
            betas = adapt_betas(r.betas, int(getattr(bm, 'num_betas', np.shape(r.betas)[1])),
                                context=f'image {s.img_id!r}')
        except ValueError as e:
            s.extra['vis'] = {'error': str(e)}
            return
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=dev)  # noqa: E731
        with torch.no_grad():
            verts = bm(betas=t(betas), global_orient=t(r.global_orient),
                       body_pose=t(r.body_pose), transl=t(r.transl)).vertices.double().cpu().numpy()
        faces = np.asarray(bm.faces)
        stem = _safe(s.img_id)
        image = None
        if s.img_path is not None:
            try:
                image = s.image()
            except Exception:  # noqa: BLE001  (no pixels: blank canvas)
                image = None
        dto = s.dto or {}
        labels = [PersonLabel(index=i, height=_f(dto.get('h_star', [None] * len(r))[i]),
                              depth=float(r.transl[i, 2]), std=_f(dto.get('std_h', [None] * len(r))[i]))
                  for i in range(len(r))]
        ov = render_overlay(image, list(verts), faces, s.focal, s.princpt,
                            image_size=tuple(s.ori_shape), resolution=None)
        ov_path = self.out_dir / 'overlays' / f'{stem}.png'
        from PIL import Image
        atomic_write(ov_path, lambda p: Image.fromarray(ov.image).save(p, format='PNG'))
        scene = MeshScene(vertices=verts, faces=faces, focal=np.asarray(s.focal, float),
                          princpt=np.asarray(s.princpt, float), image_size=tuple(s.ori_shape),
                          transl=np.asarray(r.transl, float), labels=labels)
        glb_path = export_glb(self.out_dir / 'scenes' / f'{stem}.glb', scene)
        mesh_path = atomic_save_npz(self.out_dir / 'meshes' / f'{stem}.npz',
                                    vertices=verts.astype(np.float32), faces=faces.astype(np.int32))
        rel = lambda p: str(Path(p).resolve().relative_to(self.work_dir.resolve()))  # noqa: E731
        s.extra['vis'] = {'overlay_path': rel(ov_path), 'glb_path': rel(glb_path),
                          'mesh_path': rel(mesh_path)}


def _f(x) -> Optional[float]:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def make_visualizer(cfg: dict, out_dir, every: int, work_dir) -> GenerationVisualizer:
    return GenerationVisualizer(out_dir, every, work_dir)


def report_records(records, work_dir) -> list:
    """Image records in the report's record format (docs of metric_hmr.visualization.report)."""
    out = []
    for r in records:
        vis = r.get('vis') or {}
        persons = [{'height_before': p.get('h_init'), 'height_after': p.get('h_star'),
                    'depth': (p.get('transl') or [None, None, None])[2], 'residual': p.get('residual'),
                    'age_group': -1, 'kept': r['status'] == 'kept', 'reason': p.get('reasons') or ''}
                   for p in r['persons']]
        rec = {'image_id': r['img_id'], 'image_size': r['ori_shape'], 'focal': r['focal'],
               'princpt': r['princpt'],
               'fov_deg': r['fov_v_deg'], 'kept': r['status'] == 'kept',
               'score': (r.get('dto') or {}).get('image_score'), 'persons': persons}
        rec.update({k: v for k, v in vis.items()})
        out.append(rec)
    return out


def write_generation_report(work_dir, name: str, summary: dict, records) -> Optional[Path]:
    """HTML report of a merged run (``work_dir/report/index.html``)."""
    from ..visualization.report import write_report
    info = {'images': summary['images'], 'kept': summary['kept'], 'rejected': summary['rejected'],
            'skipped': summary['skipped'], 'persons in kept images': summary['persons_kept']}
    info['age/gender source'] = '; '.join(f'{k} ({v} images)' for k, v in
                                          (summary.get('age_gender_sources') or {}).items()) \
        or 'not recorded'
    return write_report(Path(work_dir) / 'report', report_records(records, work_dir),
                        title=f'DTO-Humans generation: {name}', base_dir=Path(work_dir), run_info=info)
