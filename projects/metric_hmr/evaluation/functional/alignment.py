"""Joint / vertex errors and Procrustes alignment (batched numpy).

All functions take batches of point sets ``(B, J, 3)`` in any length unit and
return errors in that unit (metrics multiply metres by 1000 to report mm).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ['procrustes_align', 'point_errors', 'mean_point_error', 'mpjpe', 'pa_mpjpe']


def _as_batch(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f'{name} must have shape (B, J, 3), got {x.shape}')
    return x


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Similarity transform (scale, rotation, translation) of ``pred`` onto ``gt``.

    Solves ``min_{s,R,t} sum_j ||s R p_j + t - g_j||^2`` per item (Umeyama), with
    ``det(R) = +1`` (reflections are not allowed).

    Args:
        pred: (B, J, 3) point sets to align.
        gt: (B, J, 3) target point sets.

    Returns:
        (B, J, 3) aligned copy of ``pred``.
    """
    pred, gt = _as_batch(pred, 'pred'), _as_batch(gt, 'gt')
    if pred.shape != gt.shape:
        raise ValueError(f'pred {pred.shape} and gt {gt.shape} differ')
    mu_p = pred.mean(axis=1, keepdims=True)
    mu_g = gt.mean(axis=1, keepdims=True)
    x, y = pred - mu_p, gt - mu_g
    cov = np.einsum('bji,bjk->bik', x, y)          # (B,3,3) sum_j x_j y_j^T
    u, s, vt = np.linalg.svd(cov)
    v = np.swapaxes(vt, 1, 2)
    # flip the last axis when U V^T would be a reflection
    d = np.sign(np.linalg.det(v @ np.swapaxes(u, 1, 2)))
    d[d == 0] = 1.0
    diag = np.ones((len(pred), 3))
    diag[:, 2] = d
    rot = v @ (diag[:, :, None] * np.swapaxes(u, 1, 2))   # R = V D U^T
    var_x = (x ** 2).sum(axis=(1, 2))
    scale = (s * diag).sum(axis=1) / np.maximum(var_x, 1e-12)
    return scale[:, None, None] * np.einsum('bik,bjk->bji', rot, x) + mu_g


def point_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean distance per point. (B, J, 3) x2 -> (B, J)."""
    return np.linalg.norm(_as_batch(pred, 'pred') - _as_batch(gt, 'gt'), axis=-1)


def mean_point_error(pred: np.ndarray, gt: np.ndarray,
                     valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Mean distance over points (only ``valid`` points when given).

    Args:
        pred, gt: (B, J, 3).
        valid: (B, J) bool or None.

    Returns:
        (B,) mean error; NaN for items without a valid point.
    """
    err = point_errors(pred, gt)
    if valid is None:
        return err.mean(axis=1)
    valid = np.asarray(valid, dtype=bool)
    n = valid.sum(axis=1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(n > 0, (err * valid).sum(axis=1) / n, np.nan)


def mpjpe(pred: np.ndarray, gt: np.ndarray, valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Mean per-joint position error of already root-aligned joints. (B,J,3) -> (B,)."""
    return mean_point_error(pred, gt, valid)


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """MPJPE after Procrustes alignment with scale. (B,J,3) -> (B,)."""
    return mean_point_error(procrustes_align(pred, gt), gt)
