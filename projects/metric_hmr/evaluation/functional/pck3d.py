"""MuPoTS 3D-PCK (official protocol: root alignment, bone-length rescaling, 150 mm)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .joints import MPI_PARENTS, MPI_TRAVERSAL

__all__ = ['rescale_bones_to_gt', 'pck3d_per_person']


def rescale_bones_to_gt(pred: np.ndarray, gt: np.ndarray,
                        parents: Sequence[int] = MPI_PARENTS,
                        order: Sequence[int] = MPI_TRAVERSAL) -> np.ndarray:
    """Give each predicted bone the ground-truth length, keeping its direction.

    Bones are rebuilt root-outwards (``order``), so each joint is its rebuilt parent
    plus the rescaled predicted bone (official ``mpii_map_to_gt_bone_lengths``).

    Args:
        pred, gt: (B, J, 3) root-relative joints.

    Returns:
        (B, J, 3) rescaled prediction.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    out = pred.copy()
    for j in order:
        p = parents[j]
        if p == j:
            continue
        gt_len = np.linalg.norm(gt[:, j] - gt[:, p], axis=-1)
        bone = pred[:, j] - pred[:, p]
        norm = np.linalg.norm(bone, axis=-1)
        out[:, j] = out[:, p] + bone * (gt_len / np.maximum(norm, 1e-8))[:, None]
    return out


def pck3d_per_person(err: np.ndarray, valid: Optional[np.ndarray] = None,
                     thresh: float = 150.0) -> np.ndarray:
    """Fraction of valid joints with error <= thresh.

    Args:
        err: (B, J) joint errors (mm); use ``inf`` for unmatched persons.
        valid: (B, J) bool (default all).

    Returns:
        (B,) PCK per person; NaN for persons without a valid joint.
    """
    err = np.asarray(err, dtype=np.float64)
    valid = np.ones(err.shape, bool) if valid is None else np.asarray(valid, bool)
    n = valid.sum(axis=1)
    ok = ((err <= thresh) & valid).sum(axis=1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(n > 0, ok / n, np.nan)
