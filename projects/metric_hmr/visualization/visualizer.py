"""The project's MMEngine visualizer (thin glue over :mod:`.panels`).

Config::

    visualizer = dict(type='MetricHMRVisualizer', name='visualizer',
                      vis_backends=[dict(type='LocalVisBackend')], resolution=1024)

``add_datasample`` takes the per-image dict of docs/ARCHITECTURE.md plus the vertices
(or ``pred['vertices']``) and the body model's faces, draws the overlay with labels, the
bird's-eye and side views (before/after DTO side by side when ``before`` is given), and
stores the picture through the visualization backends or in ``out_file``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
from mmengine.visualization import Visualizer

from metric_hmr.registry import VISUALIZERS
from .overlay import load_image
from .panels import grid, render_panels, titled
from .scene import MeshScene, _to_numpy

__all__ = ['MetricHMRVisualizer']


@VISUALIZERS.register_module()
class MetricHMRVisualizer(Visualizer):
    """Overlays, bird's-eye/side views and before/after DTO panels.

    Args:
        name: instance name (MMEngine visualizers are named singletons).
        faces: (F, 3) triangles of the body model, or None (then pass ``faces`` to
            :meth:`add_datasample` or call :meth:`set_faces`).
        resolution: longest side of the overlays in pixels (None: image size).
        alpha: mesh opacity in the overlay.
        view_size: side of the bird's-eye/side views in pixels.
        vis_backends, save_dir: as in :class:`mmengine.visualization.Visualizer`.
    """

    def __init__(self, name: str = 'visualizer', faces: Optional[np.ndarray] = None,
                 resolution: Optional[int] = 1024, alpha: float = 0.8, view_size: int = 480,
                 vis_backends: Optional[list] = None, save_dir: Optional[str] = None,
                 **kwargs: Any):
        super().__init__(name=name, vis_backends=vis_backends, save_dir=save_dir, **kwargs)
        self.faces = None if faces is None else np.asarray(faces, dtype=np.int64)
        self.resolution = resolution
        self.alpha = alpha
        self.view_size = view_size

    def set_faces(self, faces: np.ndarray) -> None:
        """Set the body model's triangles (F, 3)."""
        self.faces = np.asarray(_to_numpy(faces), dtype=np.int64)

    def add_datasample(self, name: str, image: Optional[np.ndarray], data_sample: Mapping[str, Any],
                       draw_gt: bool = False, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None, step: int = 0,
                       vertices: Optional[np.ndarray] = None, faces: Optional[np.ndarray] = None,
                       before: Optional[Mapping[str, Any]] = None, dto: Any = None,
                       gt_vertices: Optional[np.ndarray] = None) -> np.ndarray:
        """Draw one image's result.

        Args:
            name: key for the vis backends.
            image: (H, W, 3) uint8 RGB, or None (read ``data_sample['img_path']`` if it
                exists, else a grey canvas).
            data_sample: per-image dict ``dict(img_path, ori_shape, pred=..., gt=...)``.
            draw_gt: add a row with ``gt`` meshes (``gt_vertices`` or ``gt['vertices']``).
            draw_pred: draw the prediction (the main content; must be True unless draw_gt).
            show: display with MMEngine's ``show``.
            out_file: write the picture there (PNG, atomic) instead of the backends.
            vertices: (K, V, 3) predicted meshes; default ``pred['vertices']``.
            faces: (F, 3); default the instance's faces.
            before: prediction dict before DTO (``vertices``, ``transl``, ``height``).
            dto: DTO result (labels: ``h_star``, ``std_h``).

        Returns:
            the drawn (h, w, 3) uint8 RGB picture.
        """
        from .writer import as_dict, save_png
        faces = self.faces if faces is None else np.asarray(_to_numpy(faces), dtype=np.int64)
        if faces is None:
            raise ValueError('MetricHMRVisualizer needs faces (F,3): pass faces= or call set_faces')
        if not (draw_pred or draw_gt):
            raise ValueError('nothing to draw: draw_pred and draw_gt are both False')
        if image is None and data_sample.get('img_path') and Path(data_sample['img_path']).is_file():
            image = load_image(data_sample['img_path'])
        d = as_dict(dto)
        rows = []
        if draw_pred:
            scene = MeshScene.from_sample(data_sample, vertices, faces, d)
            before_scene = None
            if before is not None:
                bs = dict(data_sample, pred=dict(before, focal=data_sample['pred']['focal'],
                                                 princpt=data_sample['pred']['princpt']))
                before_scene = MeshScene.from_sample(bs, None, faces,
                                                     dict(h_star=d.get('h_init')) if d else None)
            rows.append(render_panels(scene, image, before_scene, self.resolution, self.view_size,
                                      self.alpha)['panel'])
        if draw_gt:
            gt = data_sample.get('gt') or {}
            gv = gt_vertices if gt_vertices is not None else gt.get('vertices')
            if gv is None:
                raise ValueError(f'{data_sample.get("img_path", "<sample>")}: draw_gt needs gt vertices')
            pred = data_sample.get('pred', {})   # gt without intrinsics: the predicted camera
            gs = dict(data_sample, gt=dict(gt, focal=gt.get('focal', pred.get('focal')),
                                           princpt=gt.get('princpt', pred.get('princpt'))))
            gscene = MeshScene.from_sample(gs, gv, faces, key='gt')
            rows.append(titled(render_panels(gscene, image, None, self.resolution, self.view_size,
                                             self.alpha)['panel'], 'ground truth'))
        drawn = rows[0] if len(rows) == 1 else grid([[r] for r in rows], rows[0].shape[0])
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            save_png(out_file, drawn)
        else:
            self.add_image(name, drawn, step)
        return drawn
