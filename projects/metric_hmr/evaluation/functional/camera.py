"""Camera helpers: projection and FoV / focal-length errors."""
import numpy as np


def project_points(points: np.ndarray, focal, princpt) -> np.ndarray:
    """Pinhole projection (OpenCV camera). (..., 3) metres -> (..., 2) px."""
    points = np.asarray(points, dtype=np.float64)
    focal = np.asarray(focal, dtype=np.float64).reshape(2)
    princpt = np.asarray(princpt, dtype=np.float64).reshape(2)
    z = points[..., 2:3]
    z = np.where(np.abs(z) < 1e-9, 1e-9, z)   # points on the camera plane: avoid inf
    return points[..., :2] / z * focal + princpt


def vertical_fov(focal_y, height) -> np.ndarray:
    """Vertical field of view (radians) from fy and image height: v = 2 atan(H / 2fy)."""
    return 2.0 * np.arctan(np.asarray(height, np.float64) / (2.0 * np.asarray(focal_y, np.float64)))


def focal_from_fov(fov_v, height) -> np.ndarray:
    """fy = H / (2 tan(v / 2))."""
    return np.asarray(height, np.float64) / (2.0 * np.tan(np.asarray(fov_v, np.float64) / 2.0))


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
