"""Keypoint rules of DTO-Humans generation (method.md §2, paper supplement 6.2).

* a detection is kept when it has at least ``min_visible`` keypoints with score >= ``kpt_thr``;
* duplicated detections are removed with keypoint (OKS) NMS;
* a detected keypoint *matches* a release person's joint when their distance is below
  ``head_factor`` x the person's head size (method.md: 0.6; the paper text says half);
* a detection *matches* a release person when more than half of the detection's visible
  keypoints match; the assignment is one-to-one, best matches first.

All functions are pure numpy; keypoints are COCO-17 for detections and 44-joint ``gtkps``
(25 OpenPose + 19 J19) for release persons.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from .release import COCO_TO_OPENPOSE, GTKPS_HEAD_TOP, GTKPS_NECK

__all__ = ['COCO_SIGMAS', 'visible_keypoints', 'enough_keypoints', 'oks', 'keypoint_nms',
           'coco_to_gtkps', 'head_size', 'MatchResult', 'match_detections']

# COCO keypoint sigmas (OKS), used by keypoint NMS.
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                        .87, .87, .89, .89]) / 10.0


def visible_keypoints(kpts: np.ndarray, kpt_thr: float = 0.5) -> np.ndarray:
    """(M,J,3) [x, y, score] -> (M,J) bool, score >= thr and finite coordinates."""
    kpts = np.asarray(kpts, np.float64)
    return (kpts[..., 2] >= kpt_thr) & np.isfinite(kpts[..., :2]).all(-1)


def enough_keypoints(kpts: np.ndarray, kpt_thr: float = 0.5, min_visible: int = 5) -> np.ndarray:
    """(M,J,3) -> (M,) bool: at least ``min_visible`` visible keypoints."""
    return visible_keypoints(kpts, kpt_thr).sum(-1) >= min_visible


def oks(kpts_a: np.ndarray, kpts_b: np.ndarray, area: float, kpt_thr: float = 0.5,
        sigmas: np.ndarray = COCO_SIGMAS) -> float:
    """Object keypoint similarity of two (J,3) instances over ``a``'s visible keypoints."""
    vis = visible_keypoints(kpts_a[None], kpt_thr)[0]
    if not vis.any():
        return 0.0
    d2 = ((kpts_a[:, :2] - kpts_b[:, :2]) ** 2).sum(-1)
    var = (2 * sigmas) ** 2
    e = d2 / (var * (area + np.spacing(1)) * 2)
    return float(np.exp(-e[vis]).mean())


def keypoint_nms(kpts: np.ndarray, scores: np.ndarray, areas: np.ndarray, thr: float = 0.9,
                 kpt_thr: float = 0.5) -> np.ndarray:
    """Greedy OKS NMS.  kpts (M,17,3), scores (M,), areas (M,) px^2 -> kept indices (sorted).

    A lower-scored instance is removed when its OKS to a kept one exceeds ``thr``.
    """
    order = np.argsort(-np.asarray(scores), kind='stable')
    keep = []
    for i in order:
        if all(oks(kpts[j], kpts[i], max(areas[j], 1.0), kpt_thr) <= thr for j in keep):
            keep.append(int(i))
    return np.array(sorted(keep), dtype=np.int64)


def coco_to_gtkps(kpts_coco: np.ndarray) -> np.ndarray:
    """(M,17,3) COCO keypoints -> (M,44,3) in gtkps layout (unfilled joints have score 0)."""
    kpts_coco = np.asarray(kpts_coco, np.float64)
    out = np.zeros(kpts_coco.shape[:-2] + (44, 3))
    out[..., COCO_TO_OPENPOSE, :] = kpts_coco
    return out


def head_size(gtkps: np.ndarray, boxes: Optional[np.ndarray] = None, conf_thr: float = 0.0
              ) -> np.ndarray:
    """Head size per release person (N,) in pixels: |head-top - neck| of J19.

    When either joint is missing, fall back to 1/7 of the box height (or of the keypoint
    extent), i.e. roughly one head of an adult body.
    """
    gtkps = np.asarray(gtkps, np.float64)
    n = gtkps.shape[0]
    top, neck = gtkps[:, GTKPS_HEAD_TOP], gtkps[:, GTKPS_NECK]
    ok = (top[:, 2] > conf_thr) & (neck[:, 2] > conf_thr)
    size = np.linalg.norm(top[:, :2] - neck[:, :2], axis=-1)
    fallback = np.zeros(n)
    for i in range(n):
        if boxes is not None:
            fallback[i] = (boxes[i, 3] - boxes[i, 1]) / 7.0
        else:
            vis = gtkps[i, :, 2] > conf_thr
            fallback[i] = np.ptp(gtkps[i, vis, 1]) / 7.0 if vis.sum() >= 2 else 0.0
    return np.where(ok & (size > 0), size, fallback)


class MatchResult(NamedTuple):
    """det_to_person (M,) int (-1 unmatched); person_to_det (N,) int (-1 unmatched);
    match_fraction (M,N) fraction of a detection's visible keypoints matching a person."""
    det_to_person: np.ndarray
    person_to_det: np.ndarray
    match_fraction: np.ndarray


def match_detections(det_kpts: np.ndarray, person_kpts: np.ndarray,
                     person_head: np.ndarray, head_factor: float = 0.6,
                     kpt_thr: float = 0.5, person_conf_thr: float = 0.0) -> MatchResult:
    """Match detections to release persons by keypoints (one-to-one, best first).

    Args:
        det_kpts: (M,44,3) detected keypoints in gtkps layout (see :func:`coco_to_gtkps`).
        person_kpts: (N,44,3) release ``gtkps``.
        person_head: (N,) head size in pixels.
    Returns:
        :class:`MatchResult`.  A pair is a candidate when the fraction of the detection's
        visible keypoints lying within ``head_factor * head`` of the person's joint (which
        must itself be present) is > 0.5; candidates are assigned greedily by fraction.
    """
    det_kpts = np.asarray(det_kpts, np.float64).reshape(-1, 44, 3)
    person_kpts = np.asarray(person_kpts, np.float64).reshape(-1, 44, 3)
    m, n = len(det_kpts), len(person_kpts)
    frac = np.zeros((m, n))
    if m and n:
        dvis = visible_keypoints(det_kpts, kpt_thr)                       # (M,44)
        pvis = person_kpts[..., 2] > person_conf_thr                       # (N,44)
        dist = np.linalg.norm(det_kpts[:, None, :, :2] - person_kpts[None, :, :, :2], axis=-1)
        close = dist < (head_factor * np.asarray(person_head))[None, :, None]
        hit = close & dvis[:, None] & pvis[None]                           # (M,N,44)
        nvis = np.maximum(dvis.sum(-1), 1)[:, None]
        frac = hit.sum(-1) / nvis
    det_to_person = -np.ones(m, np.int64)
    person_to_det = -np.ones(n, np.int64)
    cand = [(-frac[i, j], i, j) for i in range(m) for j in range(n) if frac[i, j] > 0.5]
    for _, i, j in sorted(cand):
        if det_to_person[i] < 0 and person_to_det[j] < 0:
            det_to_person[i], person_to_det[j] = j, i
    return MatchResult(det_to_person, person_to_det, frac)
