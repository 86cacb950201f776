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
   A roll-free plane (``A = 0``) gives ``rho = (B / C) tan(pitch)``, the pitch read from ``u``.
2. **Floor and wall**: two orthogonal planes in the relative disparity ``q = a / z + b``.
   A plane is affine in the pixel in disparity:
   ``q = b + a / (f c) (n_x u~ + n_y v~ + n_z f)``, ``u~ = u - cx``, ``v~ = v - cy``.  The
   least-squares fit ``q = c0 + c1 u~ + c2 v~`` gives the normal up to scale,
   ``n ~ (c1, c2, (c0 - b) / f)``, and the floor (F) being orthogonal to the wall (W):
   ``f^2 = -(c0F - b)(c0W - b) / (c1F c1W + c2F c2W)``.

3. **Floor, wall and up vectors** (no shift needed): the floor's normal is parallel to the
   persons' up vector ``u`` and the wall's is orthogonal to it, so
   ``(c0F - b) / f = k1 = c2F u_z / u_y`` and ``(c0W - b) / f = k2 = -(c1W u_x + c2W u_y) / u_z``,
   hence ``f = (c0F - c0W) / (k1 - k2)`` and ``b = c0F - f k1``.

All degenerate for a level camera (pitch 0): then ``C`` and ``tan(pitch)``, the wall's
vertical gradient ``c2W``, ``c0F - b`` and ``u_z`` go to 0.  The functions return NaN where
the cue gives no finite positive value.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ['median_direction', 'pitch_from_up', 'tan_pitch_from_up', 'focal_ratio_from_horizon',
           'fit_disparity_plane', 'focal_from_floor_and_wall', 'focal_and_shift_from_planes_and_up']


def median_direction(up) -> np.ndarray:
    """(3,) unit median direction of (3,) or (K, 3) vectors (each normalised first; robust to
    one person's orientation error)."""
    u = np.atleast_2d(np.asarray(up, np.float64))
    u = np.median(u / np.linalg.norm(u, axis=1, keepdims=True), axis=0)
    return u / np.linalg.norm(u)


def _up_pointing_up(up) -> np.ndarray:
    """(3,) unit median up vector, signed to point up in the image (-y, OpenCV)."""
    u = median_direction(up)
    return u if u[1] <= 0 else -u


def pitch_from_up(up) -> float:
    """Downward camera pitch (radians) implied by the up vector(s) in camera space
    (OpenCV; the world up is ``(0, -cos p, -sin p)`` for a camera pitched down by p)."""
    return float(np.arcsin(np.clip(-_up_pointing_up(up)[2], -1.0, 1.0)))


def tan_pitch_from_up(up) -> float:
    """tan of :func:`pitch_from_up`: the up vector's tilt out of the image plane,
    ``-u_z / |(u_x, u_y)|`` (a roll error of the up vector leaves it unchanged)."""
    u = _up_pointing_up(up)
    return float(-u[2] / np.hypot(u[0], u[1]))


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
    u = median_direction(up)
    den = u[0] ** 2 + u[1] ** 2
    if not (np.isfinite(C) and C != 0.0 and den > 0):
        return float('nan')
    if A == 0.0:
        # a roll-free plane (DTO with few contacts): rho = (B / C) tan(pitch), the pitch being
        # the up vector's tilt out of the image plane, which its roll error leaves unchanged
        rho = B / C * tan_pitch_from_up(u)
    else:
        rho = (A * u[0] + B * u[1]) / den * u[2] / C
    return float(rho) if np.isfinite(rho) and rho > 0 else float('nan')


def fit_disparity_plane(q: np.ndarray, mask: np.ndarray, princpt,
                        min_pixels: int = 200) -> Optional[np.ndarray]:
    """Least-squares ``q = c0 + c1 (u - cx) + c2 (v - cy)`` over the masked pixels.

    Args:
        q: (H, W) relative disparity; mask: (H, W) bool pixels of one plane;
        princpt: (cx, cy) pixels.
    Returns:
        (3,) (c0, c1, c2), or None with fewer than ``min_pixels`` pixels or fewer than 3
        distinct rows / columns.
    """
    mask = np.asarray(mask, bool)
    n = int(mask.sum())
    if n < min_pixels:
        return None
    v, u = np.nonzero(mask)
    D = np.stack([np.ones(n), u - float(princpt[0]), v - float(princpt[1])], 1)
    coef, _, rank, _ = np.linalg.lstsq(D, np.asarray(q, np.float64)[mask], rcond=None)
    # a strip one pixel high or wide does not determine both gradients
    return coef if rank == 3 and len(np.unique(u)) >= 3 and len(np.unique(v)) >= 3 else None


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


def focal_and_shift_from_planes_and_up(coef_floor, coef_wall, up):
    """Focal (pixels) and disparity shift b from the floor, the wall and the up vector(s)
    (module doc, 3): no shift needed.

    Args:
        coef_floor, coef_wall: (3,) (c0, c1, c2) of :func:`fit_disparity_plane`.
        up: (3,) or (K, 3) up vectors in camera space.
    Returns:
        (f, b); (NaN, NaN) where not determined (level camera, f <= 0).
    """
    cf, cw = np.asarray(coef_floor, np.float64), np.asarray(coef_wall, np.float64)
    u = median_direction(up)
    with np.errstate(divide='ignore', invalid='ignore'):
        k1 = cf[2] * u[2] / u[1]
        k2 = -(cw[1] * u[0] + cw[2] * u[1]) / u[2]
        f = (cf[0] - cw[0]) / (k1 - k2)
    if not (np.isfinite(f) and f > 0):
        return float('nan'), float('nan')
    return float(f), float(cf[0] - f * k1)
