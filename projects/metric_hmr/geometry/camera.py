"""Pinhole camera conventions of the project.

* Camera space: OpenCV (x right, y down, z forward), metres.
* Intrinsics: ``focal`` (fx, fy) and ``princpt`` (cx, cy) in pixels of the original image.
* Pixel convention of :func:`project_points`: OpenCV's, integer coordinates are pixel
  *centres* (pixel ``(0, 0)`` covers ``[-0.5, 0.5)^2``).
* Pixel convention of :func:`project_points_raster`: pixel ``j`` covers ``[j, j + 1)``
  (used by the DTO z-buffer), i.e. OpenCV coordinates + 0.5, times the raster scale.
* Field of view: vertical, in radians: ``f = H / (2 tan(v / 2))``.

The FoV functions accept Python floats, numpy arrays and torch tensors and return the same
kind (a tensor when either argument is one, on its device and floating dtype).  A focal length <= 0 (or a FoV outside (0, pi)) has no camera: ValueError naming it
for scalars / arrays; tensors are left to the caller (inside networks the FoV is clamped).
"""
from __future__ import annotations

import math
from typing import Union

import numpy as np
import torch

__all__ = ['focal_to_vfov', 'vfov_to_focal', 'project_points', 'project_points_raster',
           'project_points_torch', 'retarget_translation_to_intrinsics']

Number = Union[float, np.ndarray, torch.Tensor]


def _check_positive(name: str, value) -> None:
    if isinstance(value, torch.Tensor):
        return
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f'{name} must be finite and > 0, got {value}')


def _as_tensor_pair(a, b):
    """Both as tensors on the device / dtype of the tensor one (a Python float or array beside a
    tensor is fine: e.g. a fixed FoV with per-image heights)."""
    ref = a if isinstance(a, torch.Tensor) else b
    dtype = ref.dtype if ref.is_floating_point() else torch.get_default_dtype()
    return (torch.as_tensor(a, dtype=dtype, device=ref.device),
            torch.as_tensor(b, dtype=dtype, device=ref.device))


def focal_to_vfov(focal_y: Number, image_height: Number) -> Number:
    """Vertical FoV (radians) from the vertical focal length: ``v = 2 atan(H / (2 fy))``.

    Args:
        focal_y: fy in pixels, float / (...,) array / tensor.
        image_height: H in pixels (broadcastable to ``focal_y``).
    """
    _check_positive('focal_y', focal_y)
    if isinstance(focal_y, torch.Tensor) or isinstance(image_height, torch.Tensor):
        focal_y, image_height = _as_tensor_pair(focal_y, image_height)
        return 2 * torch.atan(image_height / (2 * focal_y))
    if np.ndim(focal_y) == 0 and np.ndim(image_height) == 0:   # numpy's atan: same bits as arrays
        return float(2.0 * np.arctan(float(image_height) / (2.0 * float(focal_y))))
    return 2.0 * np.arctan(np.asarray(image_height, np.float64) / (2.0 * np.asarray(focal_y, np.float64)))


def vfov_to_focal(vfov: Number, image_height: Number) -> Number:
    """Vertical focal length (pixels) from the vertical FoV (radians): ``f = H / (2 tan(v/2))``."""
    if not isinstance(vfov, torch.Tensor):
        arr = np.asarray(vfov, dtype=np.float64)
        if not np.all(np.isfinite(arr) & (arr > 0) & (arr < math.pi)):
            raise ValueError(f'vertical FoV must be in (0, pi) radians, got {vfov}')
    if isinstance(vfov, torch.Tensor) or isinstance(image_height, torch.Tensor):
        vfov, image_height = _as_tensor_pair(vfov, image_height)
        return image_height / (2 * torch.tan(vfov / 2))
    if np.ndim(vfov) == 0 and np.ndim(image_height) == 0:      # numpy's tan: same bits as arrays
        return float(float(image_height) / (2.0 * np.tan(float(vfov) / 2.0)))
    return np.asarray(image_height, np.float64) / (2.0 * np.tan(np.asarray(vfov, np.float64) / 2.0))


def project_points(points, focal, princpt) -> np.ndarray:
    """Pinhole projection, OpenCV pixel-centre convention.

    Args:
        points: (..., 3) camera-space points (metres).
        focal: (2,) (fx, fy) or a scalar f (pixels).
        princpt: (2,) (cx, cy) pixels.
    Returns:
        (..., 2) float64 pixel coordinates (u, v).  Points with z = 0 give inf/nan (no
        warning); callers mask them by depth.
    """
    points = np.asarray(points, dtype=np.float64)
    f = np.broadcast_to(np.asarray(focal, dtype=np.float64), (2,))
    c = np.broadcast_to(np.asarray(princpt, dtype=np.float64), (2,))
    with np.errstate(divide='ignore', invalid='ignore'):
        return points[..., :2] / points[..., 2:3] * f + c


def retarget_translation_to_intrinsics(transl, focal_old, princpt_old, focal_new,
                                        princpt_new) -> np.ndarray:
    """Move a person's root to where the same image evidence puts it under other intrinsics.

    A single-image HMR explains a person's pixel position and pixel size under its focal;
    with another focal the same body (same metric size) fits the same pixels at a depth
    scaled by the focal ratio, ``z' = z sqrt(fx' fy' / (fx fy))``, and the root keeps its
    pixel.  The body about the root is unchanged (its relief is a second-order perspective
    effect).  Used when known or better intrinsics replace the ones an HMR ran with.

    Args:
        transl: (..., 3) roots in camera space (metres).
        focal_old, princpt_old: (2,) intrinsics the roots were estimated under (pixels).
        focal_new, princpt_new: (2,) the replacing intrinsics.
    Returns:
        (..., 3) float64 roots: same pixel under the new intrinsics, depth scaled; a root
        not in front of the camera (z <= 0 or not finite) has no pixel and is returned
        unchanged (the records flag such persons).
    """
    for name, f in (('focal_old', focal_old), ('focal_new', focal_new)):
        _check_positive(name, np.broadcast_to(np.asarray(f, np.float64), (2,)))
    t = np.asarray(transl, np.float64)
    f0 = np.broadcast_to(np.asarray(focal_old, np.float64), (2,))
    f1 = np.broadcast_to(np.asarray(focal_new, np.float64), (2,))
    c1 = np.broadcast_to(np.asarray(princpt_new, np.float64), (2,))
    uv = project_points(t, f0, princpt_old)              # the root's pixel, kept
    z = t[..., 2:3] * np.sqrt(f1[0] * f1[1] / (f0[0] * f0[1]))
    with np.errstate(invalid='ignore'):      # z = 0 has no pixel: kept below
        moved = np.concatenate([(uv - c1) / f1 * z, z], axis=-1)
    front = np.isfinite(moved).all(-1, keepdims=True) & (t[..., 2:3] > 0)
    return np.where(front, moved, t)


def project_points_raster(points, focal, princpt, scale: float = 1.0) -> np.ndarray:
    """Projection to raster coordinates: pixel ``j`` covers ``[j, j + 1)``.

    ``(project_points(points) + 0.5) * scale``; ``scale`` is raster pixels per image pixel.
    Evaluated as ``(f x / z + c + 0.5) * scale``, the DTO z-buffer's arithmetic, so that
    rasters (and every DTO output) stay bit-identical to the released DTO-Humans runs.
    """
    points = np.asarray(points, dtype=np.float64)
    fx, fy = np.broadcast_to(np.asarray(focal, dtype=np.float64), (2,))
    cx, cy = np.broadcast_to(np.asarray(princpt, dtype=np.float64), (2,))
    z = points[..., 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        u = fx * points[..., 0] / z + cx
        v = fy * points[..., 1] / z + cy
    return np.stack([(u + 0.5) * scale, (v + 0.5) * scale], axis=-1)


def project_points_torch(points: torch.Tensor, focal: torch.Tensor,
                         princpt: torch.Tensor, min_depth: float = 1e-3) -> torch.Tensor:
    """Differentiable pinhole projection (OpenCV pixel centres), any device.

    Args:
        points: (..., J, 3) camera-space points.
        focal: (..., 2) or (...,) focal lengths in pixels (broadcast over J).
        princpt: (..., 2) principal points in pixels.
        min_depth: depths are clamped to at least this (metres) to keep gradients finite.
    Returns:
        (..., J, 2) pixel coordinates.
    """
    z = points[..., 2:3].clamp_min(min_depth)
    f = focal if focal.shape[-1:] == (2,) else focal[..., None].expand(*focal.shape, 2)
    return points[..., :2] / z * f[..., None, :] + princpt[..., None, :]
