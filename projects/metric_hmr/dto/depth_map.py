"""Relative depth map conventions for DTO.

DTO fits ``D_metric = s_d * D_rel + t_d`` (paper Sec. 3.2.2), so ``D_rel`` must grow with
distance.  Depth-Anything-style networks output affine-invariant *inverse* depth
(disparity); the released code converts it with ``D_rel = 1 / disparity`` after replacing
zeros by the smallest positive value.  Both conventions are explicit here:

* ``'depth'``: the map already grows with distance, used as is.
* ``'disparity'``: ``D_rel = 1 / max(disp, smallest positive disp)``.

Invalid pixels (NaN, inf, and for ``'depth'`` non-positive values; for ``'disparity'``
negative values) are masked: the returned map holds NaN there and cue extraction ignores
them.  Maps of another size than the target are resampled bilinearly with pixel-area
alignment (``align_corners=False``: target pixel centre ``(j + 0.5) * in / out - 0.5``);
a bilinear sample touching an invalid pixel is invalid.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ['to_relative_depth', 'resize_depth', 'prepare_depth']

DEPTH_CONVENTIONS = ('depth', 'disparity')


def to_relative_depth(depth_map: np.ndarray, convention: str = 'disparity') -> np.ndarray:
    """Convert a network output (H, W) to a relative depth growing with distance.

    Returns a float64 (H, W) map, NaN where invalid.
    """
    m = np.asarray(depth_map, dtype=np.float64)
    if m.ndim == 3 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise ValueError(f'depth map must be (H, W), got shape {m.shape}')
    finite = np.isfinite(m)
    if convention == 'depth':
        return np.where(finite & (m > 0), m, np.nan)
    if convention == 'disparity':
        ok = finite & (m >= 0)
        pos = m[ok & (m > 0)]
        if pos.size == 0:
            return np.full(m.shape, np.nan)
        # zeros (infinitely far in disparity) become the farthest valid depth, as released
        disp = np.where(ok, np.maximum(m, pos.min()), np.nan)
        return 1.0 / disp
    raise ValueError(f"unknown depth convention {convention!r}; use one of {DEPTH_CONVENTIONS}")


def resize_depth(depth: np.ndarray, out_hw: Tuple[int, int]) -> np.ndarray:
    """Bilinear resample of a (H, W) map (NaN = invalid) to ``out_hw``, align_corners=False."""
    depth = np.asarray(depth, dtype=np.float64)
    H, W = depth.shape
    h, w = int(out_hw[0]), int(out_hw[1])
    if (H, W) == (h, w):
        return depth.copy()
    ys = np.clip((np.arange(h) + 0.5) * H / h - 0.5, 0, H - 1)
    xs = np.clip((np.arange(w) + 0.5) * W / w - 0.5, 0, W - 1)
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    y1 = np.minimum(y0 + 1, H - 1)
    x1 = np.minimum(x0 + 1, W - 1)
    wy = (ys - y0)[:, None]
    wx = (xs - x0)[None, :]
    top = depth[y0][:, x0] * (1 - wx) + depth[y0][:, x1] * wx
    bot = depth[y1][:, x0] * (1 - wx) + depth[y1][:, x1] * wx
    # NaN * 0 is NaN, so a sample touching an invalid neighbour stays invalid (intended)
    return top * (1 - wy) + bot * wy


def prepare_depth(depth_map: np.ndarray, out_hw: Tuple[int, int], convention: str = 'disparity',
                  resample: str = 'before') -> np.ndarray:
    """Relative depth at raster resolution ``out_hw``.

    Args:
        resample: ``'before'`` resamples the raw map and then converts (interpolates
            disparity, which is what a network's resize head would do), ``'after'``
            converts first and interpolates the relative depth.
    """
    if resample == 'before':
        raw = np.asarray(depth_map, dtype=np.float64)
        if raw.ndim == 3 and raw.shape[0] == 1:
            raw = raw[0]
        raw = np.where(np.isfinite(raw), raw, np.nan)
        return to_relative_depth(resize_depth(raw, out_hw), convention)
    if resample == 'after':
        return resize_depth(to_relative_depth(depth_map, convention), out_hw)
    raise ValueError(f"resample must be 'before' or 'after', got {resample!r}")
