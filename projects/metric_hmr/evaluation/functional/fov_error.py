"""Camera helpers of the metrics: projection and FoV / focal-length errors.

The conventions live in :mod:`metric_hmr.geometry` (OpenCV pixel centres, vertical FoV in
radians); ``vertical_fov`` / ``focal_from_fov`` are its ``focal_to_vfov`` /
``vfov_to_focal`` under their old names.
"""
from __future__ import annotations

import numpy as np

from metric_hmr.geometry.camera import focal_to_vfov, vfov_to_focal
from metric_hmr.geometry.camera import project_points as _project_points

__all__ = ['project_points', 'vertical_fov', 'focal_from_fov', 'fov_errors']

vertical_fov = focal_to_vfov        # (focal_y, height) -> radians
focal_from_fov = vfov_to_focal      # (fov_v radians, height) -> px


def project_points(points: np.ndarray, focal, princpt) -> np.ndarray:
    """:func:`metric_hmr.geometry.project_points` with points on the camera plane
    (|z| < 1e-9) moved to z = 1e-9, so that every projection is finite.  (..., 3) -> (..., 2) px."""
    points = np.array(points, dtype=np.float64)
    z = points[..., 2]
    points[..., 2] = np.where(np.abs(z) < 1e-9, 1e-9, z)
    return _project_points(points, np.asarray(focal, np.float64).reshape(2),
                           np.asarray(princpt, np.float64).reshape(2))


def fov_errors(pred_focal_y, gt_focal_y, height) -> dict:
    """Absolute vertical-FoV error (degrees) and absolute / relative focal errors.

    Args:
        pred_focal_y, gt_focal_y, height: (B,) arrays (px).

    Returns:
        dict of (B,) arrays: ``fov_deg``, ``focal_px``, ``focal_rel``.
    """
    pf = np.asarray(pred_focal_y, np.float64)
    gf = np.asarray(gt_focal_y, np.float64)
    fov_p = vertical_fov(pf, height)
    fov_g = vertical_fov(gf, height)
    return dict(fov_deg=np.degrees(np.abs(fov_p - fov_g)),
                focal_px=np.abs(pf - gf),
                focal_rel=np.abs(pf - gf) / gf)
