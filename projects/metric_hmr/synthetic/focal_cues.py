"""Two geometric focal cues, in closed form, for a feasibility measurement (issue 15).

DTO+ does not remove the HMR's focal-length bias: heights fix depth per focal length, and
the body relief is too blurred to measure it (docs/dto.md, DTO+).  A scene with a floor, a
wall and upright persons has two more cues; ``tools/benchmarks/dto_focal_cues.py`` measures
how much they could help.  They are not used by DTO.

1. **Horizon**: the floor through the persons' foot contacts and their up direction.
   With focal ``f' = rho f`` and depths ``z* = rho z`` (heights right, focal wrong), a plane
   ``n . X = c`` has inverse depth ``1 / z* = A x + B y + C`` in normalised coordinates
   ``x = (u - cx) / f'``, ``y = (v - cy) / f'``, with ``(A, B, C) = (n_x, n_y, n_z / rho) / c``.
   The persons' up vector ``u`` is parallel to the floor's normal, so with
   ``lambda = (A u_x + B u_y) / (u_x^2 + u_y^2)``:  ``rho = lambda u_z / C``.
   (Without roll: ``rho = (B / C) tan(pitch)``.)
2. **Floor and wall**: two orthogonal planes in the relative disparity ``q = a / z + b``.
   A plane is affine in the pixel in disparity:
   ``q = b + a / (f c) (n_x u~ + n_y v~ + n_z f)``, ``u~ = u - cx``, ``v~ = v - cy``.  The
   least-squares fit ``q = c0 + c1 u~ + c2 v~`` gives the normal up to scale,
   ``n ~ (c1, c2, (c0 - b) / f)``, and the floor (F) being orthogonal to the wall (W):
   ``f^2 = -(c0F - b)(c0W - b) / (c1F c1W + c2F c2W)``.

Both degenerate for a level camera (pitch 0): then ``C`` and ``tan(pitch)``, and the wall's
vertical gradient ``c2W`` and ``c0F - b``, go to 0.  The functions return NaN where the cue
gives no finite positive value.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ['focal_ratio_from_horizon', 'fit_disparity_plane', 'focal_from_floor_and_wall']


def focal_ratio_from_horizon(plane, up) -> float:
    """rho = focal used / true focal, from the floor plane and the persons' up vectors.

    Args:
        plane: (3,) (A, B, C) of ``1 / z = A x + B y + C`` (normalised coordinates and depths
            under the focal being checked; DTO's ``ground_plane``).
        up: (3,) or (K, 3) up vectors in camera space (OpenCV: x right, y down, z forward),
            any length and sign convention shared by all rows; their median direction is used.
    Returns:
        rho (> 0), or NaN where not identifiable.
    """
    A, B, C = (float(x) for x in np.asarray(plane, np.float64))
    u = np.atleast_2d(np.asarray(up, np.float64))
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    u = np.median(u, axis=0)                 # robust to one person's orientation error
    den = u[0] ** 2 + u[1] ** 2
    if not (np.isfinite(C) and C != 0.0 and den > 0):
        return float('nan')
    lam = (A * u[0] + B * u[1]) / den
    rho = lam * u[2] / C
    return float(rho) if np.isfinite(rho) and rho > 0 else float('nan')


def fit_disparity_plane(q: np.ndarray, mask: np.ndarray, princpt,
                        min_pixels: int = 200) -> Optional[np.ndarray]:
    """Least-squares ``q = c0 + c1 (u - cx) + c2 (v - cy)`` over the masked pixels.

    Args:
        q: (H, W) relative disparity; mask: (H, W) bool pixels of one plane;
        princpt: (cx, cy) pixels.
    Returns:
        (3,) (c0, c1, c2), or None with fewer than ``min_pixels`` pixels.
    """
    mask = np.asarray(mask, bool)
    n = int(mask.sum())
    if n < min_pixels:
        return None
    v, u = np.nonzero(mask)
    D = np.stack([np.ones(n), u - float(princpt[0]), v - float(princpt[1])], 1)
    coef, *_ = np.linalg.lstsq(D, np.asarray(q, np.float64)[mask], rcond=None)
    return coef


def focal_from_floor_and_wall(coef_floor, coef_wall, shift: float) -> float:
    """Focal length (pixels) making the floor and wall planes orthogonal (module doc, 2).

    Args:
        coef_floor, coef_wall: (3,) (c0, c1, c2) of :func:`fit_disparity_plane`.
        shift: the disparity shift b of ``q = a / z + b``.
    Returns:
        f (> 0), or NaN where the planes do not determine it.
    """
    cf, cw = np.asarray(coef_floor, np.float64), np.asarray(coef_wall, np.float64)
    den = cf[1] * cw[1] + cf[2] * cw[2]
    with np.errstate(divide='ignore', invalid='ignore'):
        f2 = -(cf[0] - shift) * (cw[0] - shift) / den
    return float(np.sqrt(f2)) if np.isfinite(f2) and f2 > 0 else float('nan')
