"""Relative Human metrics: PCDR (ordinal depth relations), 2D PCK, detection P/R/F1.

PCDR_tau (§4): for every pair of *matched* persons of one image that both carry an
ordinal depth layer (``depth_id >= 0``; smaller = closer), with predicted depth
difference ``dz = z_b - z_a`` and layer difference ``dl = l_b - l_a``:

* same layer (dl == 0): correct when ``|dz| < tau``;
* b behind a (dl > 0): correct when ``dz > tau``; b in front (dl < 0): ``dz < -tau``.

``PCDR = correct / (pairs + miss_penalty * missed)``. For an age group a pair counts
when at least one member belongs to the group, and the group's missed persons enter
its denominator.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Sequence

import numpy as np

__all__ = ['AGE_GROUPS', 'PairOutcome', 'ordinal_pairs', 'PCDRAccumulator', 'person_scale',
           'pck_2d', 'detection_prf1']

AGE_GROUPS = ('adult', 'teen', 'kid', 'baby')   # RH integer codes 0..3


@dataclass
class PairOutcome:
    """Ordinal relations of the matched persons of one image.

    Attributes:
        correct: (K,) bool per evaluated pair.
        ages: (K, 2) int age codes of the two members (-1 unknown).
        kind: (K,) int8, 0 same layer, 1 different layers.
    """
    correct: np.ndarray
    ages: np.ndarray
    kind: np.ndarray


def ordinal_pairs(depth: np.ndarray, layer: np.ndarray, age: np.ndarray,
                  tau: float = 0.2) -> PairOutcome:
    """Evaluate all pairs of persons with a known depth layer.

    Args:
        depth: (N,) predicted camera depths (m) of matched persons.
        layer: (N,) int ground-truth ordinal layers (-1 = unknown, skipped).
        age: (N,) int age codes.
        tau: depth tolerance (m).

    Returns:
        :class:`PairOutcome` over the N_known * (N_known - 1) / 2 pairs.
    """
    depth = np.asarray(depth, dtype=np.float64)
    layer = np.asarray(layer, dtype=np.int64)
    age = np.asarray(age, dtype=np.int64)
    keep = layer >= 0
    depth, layer, age = depth[keep], layer[keep], age[keep]
    a, b = np.triu_indices(len(depth), k=1)
    dz = depth[b] - depth[a]
    dl = layer[b] - layer[a]
    correct = np.where(dl == 0, np.abs(dz) < tau, np.where(dl > 0, dz > tau, dz < -tau))
    return PairOutcome(correct.astype(bool), np.stack([age[a], age[b]], axis=1).reshape(-1, 2),
                       (dl != 0).astype(np.int8))


@dataclass
class PCDRAccumulator:
    """Sums PCDR numerators/denominators over images (all and per age group)."""
    tau: float = 0.2
    miss_penalty: float = 0.3
    correct: Dict[str, int] = field(default_factory=dict)
    pairs: Dict[str, int] = field(default_factory=dict)
    missed: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        for k in ('all',) + AGE_GROUPS:
            self.correct.setdefault(k, 0)
            self.pairs.setdefault(k, 0)
            self.missed.setdefault(k, 0)

    def add_image(self, depth, layer, age, missed_ages: Sequence[int]) -> PairOutcome:
        """Add one image: matched persons' depth/layer/age and the missed persons' ages."""
        out = ordinal_pairs(depth, layer, age, self.tau)
        self.correct['all'] += int(out.correct.sum())
        self.pairs['all'] += len(out.correct)
        missed_ages = np.asarray(missed_ages, dtype=np.int64).reshape(-1)
        self.missed['all'] += len(missed_ages)
        for code, name in enumerate(AGE_GROUPS):
            in_group = (out.ages == code).any(axis=1)
            self.correct[name] += int(out.correct[in_group].sum())
            self.pairs[name] += int(in_group.sum())
            self.missed[name] += int((missed_ages == code).sum())
        return out

    def result(self) -> Dict[str, float]:
        """PCDR in [0, 1] per key (NaN when a group has no pair and no miss)."""
        res = {}
        for k in ('all',) + AGE_GROUPS:
            den = self.pairs[k] + self.miss_penalty * self.missed[k]
            res[k] = self.correct[k] / den if den > 0 else float('nan')
        return res


def person_scale(gt_kpts: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Diagonal of the box of each person's valid keypoints. (N,J,2),(N,J) -> (N,) (NaN if < 2)."""
    gt_kpts = np.asarray(gt_kpts, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    out = np.full(len(gt_kpts), np.nan)
    for i in range(len(gt_kpts)):
        if valid[i].sum() >= 2:
            pts = gt_kpts[i, valid[i]]
            out[i] = float(np.linalg.norm(pts.max(axis=0) - pts.min(axis=0)))
    return out


def pck_2d(pred_kpts: np.ndarray, gt_kpts: np.ndarray, valid: np.ndarray,
           ratio: float = 1.0 / 7.0) -> np.ndarray:
    """Per-person 2D PCK with a threshold of ``ratio`` x person scale.

    Args:
        pred_kpts, gt_kpts: (N, J, 2) matched persons.
        valid: (N, J) bool annotated joints.

    Returns:
        (N,) fraction of valid joints within the threshold; NaN for persons with
        fewer than 2 valid joints (excluded from the mean, never counted as -1).
    """
    pred_kpts = np.asarray(pred_kpts, dtype=np.float64)
    gt_kpts = np.asarray(gt_kpts, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    scale = person_scale(gt_kpts, valid)
    err = np.linalg.norm(pred_kpts - gt_kpts, axis=-1)
    out = np.full(len(gt_kpts), np.nan)
    for i in range(len(gt_kpts)):
        if np.isfinite(scale[i]) and scale[i] > 0:
            out[i] = float((err[i, valid[i]] < ratio * scale[i]).mean())
    return out


def detection_prf1(num_tp: int, num_pred: int, num_gt: int) -> Dict[str, float]:
    """Precision = TP / #predictions, recall = TP / #gt, F1 their harmonic mean.

    Returns NaN for an undefined ratio (no predictions / no gt).
    """
    precision = num_tp / num_pred if num_pred else float('nan')
    recall = num_tp / num_gt if num_gt else float('nan')
    if np.isfinite(precision) and np.isfinite(recall) and precision + recall > 0:
        f1 = 2 * precision * recall / (precision + recall)
    elif np.isfinite(precision) and np.isfinite(recall):
        f1 = 0.0
    else:
        f1 = float('nan')
    return dict(precision=precision, recall=recall, f1=f1)
