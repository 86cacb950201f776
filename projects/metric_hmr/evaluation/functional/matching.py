"""Assigning predicted persons to ground-truth persons.

* :func:`greedy_match_2d`: Relative Human / 3DPW / Hi4D protocol. All (pred, gt)
  pairs are visited by increasing 2D keypoint distance; a pair is accepted when both
  are still free and the boxes spanned by their keypoints overlap (IoU >= threshold).
  Only joints that are valid in the ground truth (and in the prediction, when it
  carries a validity mask) enter the distance *and* the boxes.
* :func:`mupots_identity_match`: the official MuPoTS identity matching (per gt person,
  the free prediction with the most joints within a pixel threshold).
* :func:`nearest_pose_match`: CMU Panoptic protocol (each gt takes the prediction
  with the closest root-relative 3D pose; a prediction may serve several gts).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = ['Matching', 'keypoint_box_iou', 'greedy_match_2d', 'mupots_identity_match',
           'nearest_pose_match']


class Matching(NamedTuple):
    """Result of a matching.

    Attributes:
        pairs: (M, 2) int64 rows ``(pred_index, gt_index)``.
        false_positives: (P - M,) predictions left unmatched.
        misses: (G - M,) ground-truth persons left unmatched.
    """
    pairs: np.ndarray
    false_positives: np.ndarray
    misses: np.ndarray


def keypoint_box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of the boxes spanned by two point sets (J,2), pixel-inclusive (+1 px).

    The +1 keeps boxes of collinear points (e.g. two joints on a vertical line)
    non-degenerate, as in the released evaluators.
    """
    a0, a1 = a.min(axis=0), a.max(axis=0) + 1.0
    b0, b1 = b.min(axis=0), b.max(axis=0) + 1.0
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None).prod()
    union = (a1 - a0).prod() + (b1 - b0).prod() - inter
    return float(inter / union)


def greedy_match_2d(pred_kpts: np.ndarray, gt_kpts: np.ndarray,
                    gt_valid: Optional[np.ndarray] = None,
                    pred_valid: Optional[np.ndarray] = None,
                    iou_thresh: float = 0.05, distance: str = 'mean') -> Matching:
    """Greedy 2D keypoint matching.

    Args:
        pred_kpts: (P, J, 2) predicted keypoints (px).
        gt_kpts: (G, J, 2) ground-truth keypoints (px).
        gt_valid: (G, J) bool, annotated joints (default: all).
        pred_valid: (P, J) bool or None (default: all).
        iou_thresh: minimum IoU of the two keypoint boxes for a pair to be accepted.
        distance: ``'mean'`` = mean per-joint distance over the shared valid joints
            (persons with few visible joints are not favoured); ``'norm'`` = the
            released code's Frobenius norm of the joint offsets.

    Returns:
        :class:`Matching`.
    """
    pred_kpts = np.asarray(pred_kpts, dtype=np.float64)
    gt_kpts = np.asarray(gt_kpts, dtype=np.float64)
    n_pred, n_gt = len(pred_kpts), len(gt_kpts)
    if n_pred == 0 or n_gt == 0:
        return Matching(np.zeros((0, 2), np.int64), np.arange(n_pred), np.arange(n_gt))
    pred_kpts = pred_kpts.reshape(n_pred, -1, 2)
    gt_kpts = gt_kpts.reshape(n_gt, -1, 2)
    if pred_kpts.shape[1] != gt_kpts.shape[1]:
        raise ValueError(f'pred has {pred_kpts.shape[1]} joints, gt {gt_kpts.shape[1]}')
    n_j = gt_kpts.shape[1]
    gv = np.ones((n_gt, n_j), bool) if gt_valid is None else np.asarray(gt_valid, bool)
    pv = np.ones((n_pred, n_j), bool) if pred_valid is None else np.asarray(pred_valid, bool)
    if distance not in ('mean', 'norm'):
        raise ValueError(f"distance must be 'mean' or 'norm', got {distance!r}")

    candidates = []
    for p in range(n_pred):
        for g in range(n_gt):
            joint_ok = gv[g] & pv[p]
            if joint_ok.sum() < 2:   # no distance and no box from < 2 shared joints
                continue
            d = np.linalg.norm(pred_kpts[p, joint_ok] - gt_kpts[g, joint_ok], axis=-1)
            dist = d.mean() if distance == 'mean' else np.sqrt((d ** 2).sum())
            candidates.append((dist, p, g, joint_ok))
    candidates.sort(key=lambda c: (c[0], c[1], c[2]))   # deterministic tie-break

    pred_used = np.zeros(n_pred, bool)
    gt_used = np.zeros(n_gt, bool)
    pairs = []
    for _, p, g, joint_ok in candidates:
        if pred_used[p] or gt_used[g]:
            continue
        if keypoint_box_iou(pred_kpts[p, joint_ok], gt_kpts[g, joint_ok]) < iou_thresh:
            continue
        pred_used[p] = gt_used[g] = True
        pairs.append((p, g))
    pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return Matching(pairs, np.where(~pred_used)[0], np.where(~gt_used)[0])


def mupots_identity_match(gt_kpts: np.ndarray, pred_kpts: np.ndarray,
                          gt_valid: Optional[np.ndarray] = None,
                          pred_valid: Optional[np.ndarray] = None,
                          thresh_px: float = 40.0) -> np.ndarray:
    """Official MuPoTS identity matching.

    Ground-truth persons are visited in order; each takes the still-free prediction
    with the largest number of shared valid joints whose x and y offsets are both
    below ``thresh_px`` (no match when that number is 0).

    Args:
        gt_kpts: (G, J, 2), pred_kpts: (P, J, 2) in px.
        gt_valid: (G, J), pred_valid: (P, J) bool (default: all).

    Returns:
        (G,) int64 index of the matched prediction or -1.
    """
    gt_kpts = np.asarray(gt_kpts, dtype=np.float64)
    pred_kpts = np.asarray(pred_kpts, dtype=np.float64)
    n_gt, n_pred = len(gt_kpts), len(pred_kpts)
    out = -np.ones(n_gt, dtype=np.int64)
    if n_pred == 0:
        return out
    gv = np.ones(gt_kpts.shape[:2], bool) if gt_valid is None else np.asarray(gt_valid, bool)
    pv = np.ones(pred_kpts.shape[:2], bool) if pred_valid is None else np.asarray(pred_valid, bool)
    taken = np.zeros(n_pred, bool)
    for g in range(n_gt):
        close = np.all(np.abs(gt_kpts[g][None] - pred_kpts) < thresh_px, axis=-1)  # (P,J)
        score = (close & gv[g][None] & pv).sum(axis=1)
        score[taken] = 0
        best = int(np.argmax(score))
        if score[best] > 0:
            out[g] = best
            taken[best] = True
    return out


def nearest_pose_match(gt_rel: np.ndarray, pred_rel: np.ndarray,
                       joint_mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Index of the closest prediction for each gt by root-relative pose distance.

    Args:
        gt_rel: (G, J, 3), pred_rel: (P, J, 3) root-relative joints.
        joint_mask: (J,) bool joints used for the distance (default: all).

    Returns:
        (G,) int64 (a prediction may be chosen by several gts), or -1 when P == 0.
    """
    gt_rel = np.asarray(gt_rel, dtype=np.float64)
    pred_rel = np.asarray(pred_rel, dtype=np.float64)
    if len(pred_rel) == 0:
        return -np.ones(len(gt_rel), dtype=np.int64)
    m = np.ones(gt_rel.shape[1], bool) if joint_mask is None else np.asarray(joint_mask, bool)
    diff = gt_rel[:, None, m] - pred_rel[None, :, m]          # (G,P,Jm,3)
    dist = np.sqrt((diff ** 2).sum(axis=(-1, -2)))
    return dist.argmin(axis=1).astype(np.int64)
