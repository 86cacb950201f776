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
a bilinear sample touching an invalid pixel is invalid.  A map whose aspect ratio differs
from the image's by more than a tolerance is not resampled (:func:`prepare_depth` raises,
naming both shapes): stretching it would move every person's depth samples.

:func:`load_depth_map` is the one reader of depth-map files (``.npy``, ``.npz``, 16-bit
images), used by the generation depth stage, the DTO test loops and the precomputed
evaluator.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np

__all__ = ['to_relative_depth', 'resize_depth', 'prepare_depth', 'aspect_mismatch',
           'DepthFileError', 'load_depth_map', 'DEFAULT_ASPECT_TOLERANCE']

# relative aspect-ratio difference accepted between a map and its image: Depth Anything's
# network-size maps (sides rounded to multiples of 14 around 518) stay within 14/518 = 2.7 %
DEFAULT_ASPECT_TOLERANCE = 0.03

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


def aspect_mismatch(map_hw, image_hw, tolerance: float) -> bool:
    """True when an (h, w) map cannot be resampled to the (H, W) image: their aspect ratios
    differ by more than ``tolerance`` (relative); never when ``image_hw`` is None."""
    if image_hw is None:
        return False
    (h, w), (H, W) = tuple(map_hw)[-2:], tuple(image_hw)[:2]
    if min(h, w, H, W) <= 0:
        return True
    return abs((w / h) / (W / H) - 1.0) > tolerance


def prepare_depth(depth_map: np.ndarray, out_hw: Tuple[int, int], convention: str = 'disparity',
                  resample: str = 'before', image_hw: Optional[Tuple[int, int]] = None,
                  aspect_tolerance: float = DEFAULT_ASPECT_TOLERANCE) -> np.ndarray:
    """Relative depth at raster resolution ``out_hw``.

    Args:
        resample: ``'before'`` resamples the raw map and then converts (interpolates
            disparity, which is what a network's resize head would do), ``'after'``
            converts first and interpolates the relative depth.
        image_hw: (H, W) of the image the map belongs to; a map of another aspect ratio
            (beyond ``aspect_tolerance``, relative) is a ValueError naming both shapes.
    """
    shape = np.shape(depth_map)
    if aspect_mismatch(shape, image_hw, aspect_tolerance):
        raise ValueError(f'depth map of shape {shape} has another aspect ratio than the image '
                         f'{tuple(image_hw)} (tolerance {aspect_tolerance:.0%}); it would be '
                         'stretched')
    if resample == 'before':
        raw = np.asarray(depth_map, dtype=np.float64)
        if raw.ndim == 3 and raw.shape[0] == 1:
            raw = raw[0]
        raw = np.where(np.isfinite(raw), raw, np.nan)
        return to_relative_depth(resize_depth(raw, out_hw), convention)
    if resample == 'after':
        return resize_depth(to_relative_depth(depth_map, convention), out_hw)
    raise ValueError(f"resample must be 'before' or 'after', got {resample!r}")


class DepthFileError(ValueError):
    """A depth file that exists but cannot be used; ``reason`` is ``'corrupt_depth'``
    (unreadable) or ``'bad_depth_shape'`` (not one (H, W) map)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def load_depth_map(path: str, key: Optional[str] = None, scale: float = 1.0) -> np.ndarray:
    """The (H, W) float64 map of a depth / disparity file.

    ``.npy``; ``.npz`` (array ``key``, else its first / only array); any other extension
    is read as an image (e.g. 16-bit PNG, first channel) and divided by ``scale``.  No
    pickles are loaded.  A missing file is a FileNotFoundError, an unreadable one or one
    that is not a single (H, W) map (singleton axes are dropped) a
    :class:`DepthFileError`; every message names the file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'depth map not found: {path}')
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == '.npy':
            d = np.load(path, allow_pickle=False)
        elif ext == '.npz':
            with np.load(path, allow_pickle=False) as z:
                if key is not None and key not in z.files and len(z.files) != 1:
                    raise DepthFileError('corrupt_depth', f'{path}: no array {key!r} among {z.files}')
                d = z[key if key in z.files else z.files[0]]
        else:
            import cv2      # image files only; the DTO core does not need OpenCV otherwise
            d = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            if d is None:
                raise DepthFileError('corrupt_depth', f'{path}: not a readable depth image')
            d = (d[..., 0] if d.ndim == 3 else d).astype(np.float64) / scale
        d = np.asarray(d, np.float64)
    except DepthFileError:
        raise
    except Exception as e:  # noqa: BLE001  (any decoder error: this file is bad)
        raise DepthFileError('corrupt_depth', f'{path}: {type(e).__name__}: {e}') from e
    shape = d.shape
    d = d.squeeze()
    if d.ndim != 2:
        raise DepthFileError('bad_depth_shape', f'{path}: shape {shape}, expected an (H, W) map')
    return d
