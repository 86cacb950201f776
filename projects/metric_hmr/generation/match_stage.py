"""Stage: keypoint filter + keypoint NMS on detections, then matching to input persons.

Input persons are never removed (method.md §7): a person without a matching detection
keeps its parameters, gets no instance mask, and is recorded as unmatched.  Detections
without a matching person are handed to the initial-HMR stage (``extra['unmatched_dets']``).
"""
from __future__ import annotations

from typing import List

import numpy as np

from ..registry import DTO_STAGES
from .base import BaseStage
from .matching import coco_to_gtkps, enough_keypoints, head_size, keypoint_nms, match_detections
from .state import ImageState


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(M,4) x (N,4) xyxy -> (M,N) IoU."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(-1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


@DTO_STAGES.register_module()
class KeypointMatching(BaseStage):
    """Filter detections by keypoints and match them to the input persons.

    Args:
        kpt_thr: keypoint visibility score (0.5).  min_visible: keep a detection with at least
            this many visible keypoints (5).
        oks_nms_thr: keypoint (OKS) NMS threshold (0.9; None disables).
        head_factor: a keypoint matches a joint closer than head_factor x head size (0.6).
        box_iou_thr: fallback when the input persons carry no 2D keypoints: match by box IoU.
    """
    name = 'matching'

    def __init__(self, kpt_thr: float = 0.5, min_visible: int = 5, oks_nms_thr=0.9,
                 head_factor: float = 0.6, box_iou_thr: float = 0.5):
        self.kpt_thr, self.min_visible, self.oks_nms_thr = kpt_thr, min_visible, oks_nms_thr
        self.head_factor, self.box_iou_thr = head_factor, box_iou_thr

    def needs(self, state: ImageState) -> bool:
        return state.detections is not None and state.person_det is None

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            d = s.detections
            if d.kpts is not None:
                ok = enough_keypoints(d.kpts, self.kpt_thr, self.min_visible)
                s.count('detections_few_keypoints', int((~ok).sum()))
                d = d.select(np.flatnonzero(ok))
                if self.oks_nms_thr is not None and len(d):
                    areas = np.prod(np.clip(d.boxes[:, 2:] - d.boxes[:, :2], 1, None), axis=1)
                    keep = keypoint_nms(d.kpts, d.scores, areas, self.oks_nms_thr, self.kpt_thr)
                    s.count('detections_keypoint_nms_removed', len(d) - len(keep))
                    d = d.select(keep)
            s.detections = d
            p = s.persons
            if len(p) and len(d) and d.kpts is not None and p.kpts2d is not None:
                head = head_size(p.kpts2d, p.boxes)
                m = match_detections(coco_to_gtkps(d.kpts), p.kpts2d, head, self.head_factor,
                                     self.kpt_thr)
                det_to_person, person_to_det = m.det_to_person, m.person_to_det
            elif len(p) and len(d) and p.boxes is not None:
                det_to_person, person_to_det = _match_boxes(box_iou(d.boxes, p.boxes), self.box_iou_thr)
            else:
                det_to_person = -np.ones(len(d), np.int64)
                person_to_det = -np.ones(len(p), np.int64)
            s.person_det = person_to_det
            s.count('persons_matched', int((person_to_det >= 0).sum()))
            s.count('persons_unmatched_kept', int((person_to_det < 0).sum()))
            s.extra['unmatched_dets'] = np.flatnonzero(det_to_person < 0)


def _match_boxes(iou: np.ndarray, thr: float):
    m, n = iou.shape
    d2p, p2d = -np.ones(m, np.int64), -np.ones(n, np.int64)
    for flat in np.argsort(-iou, axis=None, kind='stable'):
        i, j = divmod(int(flat), n)
        if iou[i, j] <= thr:
            break
        if d2p[i] < 0 and p2d[j] < 0:
            d2p[i], p2d[j] = j, i
    return d2p, p2d
