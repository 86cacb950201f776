"""Stage: keypoint filter + keypoint NMS on detections, then matching to input persons.

Two behaviours, as named options (docs/dto_generate.md "Released algorithm", steps 3-9):

* this project's default (method.md §7): input persons are never removed; a person without
  a matching detection keeps its parameters, gets no instance mask and is counted
  (``persons_unmatched_kept``); OKS keypoint NMS; one-to-one assignment, best match first;
* the authors' released generator (``unmatched_persons='drop'``, ``assignment=
  'detection_order'``, ``nms='distance'``): release persons without a matched detection
  are dropped and counted (``persons_unmatched_dropped``); detections are assigned in
  their order to the free person with the most matching joints; keypoint NMS by mean
  keypoint distance.

Body joints of a release person are read from the J19 block of ``gtkps`` (indices 25-36,
``body_joints='j19'``, as the released code does; the face joints come from the OpenPose
block in both cases).  Detections without a matching person are handed to the initial-HMR
stage (``extra['unmatched_dets']``).
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from ..registry import DTO_STAGES
from .stage_base import BaseStage
from .person_matching import enough_keypoints, head_size, keypoint_nms, match_detections
from .release import COCO_TO_OPENPOSE
from .state import ImageState, Persons

__all__ = ['KeypointMatching', 'HMRKeypointCheck', 'hmr_keypoints', 'COCO_TO_GTKPS',
           'match_in_detection_order', 'distance_nms',
           'select_persons', 'box_iou']

# gtkps index of each COCO-17 keypoint: face from the OpenPose block (0-24); body from the
# J19 block (25-43) as released dto_framework.py 346, or from the OpenPose block
COCO_TO_GTKPS = {
    'j19': np.array([0, 16, 15, 18, 17, 34, 33, 35, 32, 36, 31, 28, 27, 29, 26, 30, 25]),
    'openpose': np.asarray(COCO_TO_OPENPOSE),
}


def to_gtkps(kpts_coco: np.ndarray, body_joints: str = 'j19') -> np.ndarray:
    """(M,17,3) COCO keypoints -> (M,44,3) gtkps layout (unfilled joints have score 0)."""
    kpts_coco = np.asarray(kpts_coco, np.float64)
    out = np.zeros(kpts_coco.shape[:-2] + (44, 3))
    out[..., COCO_TO_GTKPS[body_joints], :] = kpts_coco
    return out


def match_in_detection_order(det_kpts: np.ndarray, ref_kpts: np.ndarray, ref_head: np.ndarray,
                             head_factor: float = 0.6, kpt_thr: float = 0.5,
                             ref_index: np.ndarray = COCO_TO_GTKPS['j19']):
    """Released matching (dto_framework.py 336-356): detections (M,17,3) in their order, each
    to the free reference person (N,44,3) with the most joints within head_factor x that
    person's head size, among those where more than half of the detection's visible
    keypoints match (reference confidences are ignored).  -> (det_to_ref (M,), ref_to_det (N,))."""
    det = np.asarray(det_kpts, np.float64).reshape(-1, 17, 3)
    ref = np.asarray(ref_kpts, np.float64).reshape(-1, 44, 3)[:, ref_index, :2]
    d2r, r2d = -np.ones(len(det), np.int64), -np.ones(len(ref), np.int64)
    for m, k in enumerate(det):
        vis = np.flatnonzero(k[:, 2] >= kpt_thr)
        if len(vis) == 0:
            continue
        best, best_cnt = -1, -1
        for n in np.flatnonzero(r2d < 0):
            dist = np.linalg.norm(k[vis, :2] - ref[n, vis], axis=1)
            cnt = int((dist <= head_factor * ref_head[n]).sum())
            if cnt / len(vis) > 0.5 and cnt > best_cnt:
                best, best_cnt = int(n), cnt
        if best >= 0:
            d2r[m], r2d[best] = best, m
    return d2r, r2d


def distance_nms(kpts: np.ndarray, scores: np.ndarray, boxes: np.ndarray,
                 dist_ratio: float = 1 / 8, vis_thr: float = 0.5) -> np.ndarray:
    """Released keypoint NMS (inference_init.py 32-79): by descending score, suppress a
    detection whose mean distance to a kept one over keypoints visible in both (all when
    none) is below dist_ratio x 0.6 x the kept box's longer side.  -> kept indices (sorted)."""
    kpts = np.asarray(kpts, np.float64)
    order = np.argsort(-np.asarray(scores), kind='stable')
    suppressed = np.zeros(len(kpts), bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        b = boxes[i]
        thr = dist_ratio * max(b[2] - b[0], b[3] - b[1]) * 0.6
        for j in order:
            if j == i or suppressed[j]:
                continue
            common = (kpts[i, :, 2] >= vis_thr) & (kpts[j, :, 2] >= vis_thr)
            sel = common if common.any() else np.ones(len(common), bool)
            if np.linalg.norm(kpts[i, sel, :2] - kpts[j, sel, :2], axis=1).mean() < thr:
                suppressed[j] = True
    return np.array(sorted(keep), dtype=np.int64)


def select_persons(s: ImageState, keep: np.ndarray) -> None:
    """Keep only persons ``keep`` (in that order) with every per-person field of the state."""
    keep = np.asarray(keep, np.int64)
    p = s.persons
    sub = lambda a: None if a is None else np.asarray(a)[keep]  # noqa: E731
    s.persons = Persons(p.global_orient[keep], p.body_pose[keep], p.betas[keep], p.transl[keep],
                        [p.source[i] for i in keep], p.source_index[keep], sub(p.kpts2d), sub(p.boxes))
    for name in ('person_det', 'age', 'p_male'):
        if getattr(s, name) is not None:
            setattr(s, name, sub(getattr(s, name)))
    if s.masks is not None and len(s.masks) == len(p):
        s.masks = s.masks[keep]


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
        nms: 'oks' (threshold ``oks_nms_thr``) or 'distance' (released, ``dist_ratio``).
        body_joints: gtkps block of the release body joints, 'j19' (released) or 'openpose'.
        assignment: 'best_first' (one-to-one by match fraction) or 'detection_order' (released).
        unmatched_persons: 'keep' (method.md §7) or 'drop' (released).
    """
    name = 'matching'

    def __init__(self, kpt_thr: float = 0.5, min_visible: int = 5, oks_nms_thr=0.9,
                 head_factor: float = 0.6, box_iou_thr: float = 0.5, nms: str = 'oks',
                 dist_ratio: float = 1 / 8, body_joints: str = 'j19',
                 assignment: str = 'best_first', unmatched_persons: str = 'keep'):
        for name, val, allowed in (('nms', nms, ('oks', 'distance')),
                                   ('body_joints', body_joints, tuple(COCO_TO_GTKPS)),
                                   ('assignment', assignment, ('best_first', 'detection_order')),
                                   ('unmatched_persons', unmatched_persons, ('keep', 'drop'))):
            if val not in allowed:
                raise ValueError(f'KeypointMatching: {name} must be one of {allowed}, got {val!r}')
        self.kpt_thr, self.min_visible, self.oks_nms_thr = kpt_thr, min_visible, oks_nms_thr
        self.head_factor, self.box_iou_thr = head_factor, box_iou_thr
        self.nms, self.dist_ratio, self.body_joints = nms, dist_ratio, body_joints
        self.assignment, self.unmatched_persons = assignment, unmatched_persons

    def needs(self, state: ImageState) -> bool:
        return state.detections is not None and state.person_det is None

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            d = s.detections
            if d.kpts is not None:
                ok = enough_keypoints(d.kpts, self.kpt_thr, self.min_visible)
                s.count('detections_few_keypoints', int((~ok).sum()))
                d = d.select(np.flatnonzero(ok))
                keep = self._nms(d)
                s.count('detections_keypoint_nms_removed', len(d) - len(keep))
                d = d.select(keep)
            s.detections = d
            det_to_person, person_to_det = self._match(s.persons, d)
            s.person_det = person_to_det
            s.count('persons_matched', int((person_to_det >= 0).sum()))
            unmatched = int((person_to_det < 0).sum())
            if self.unmatched_persons == 'drop':
                # released: a release person no detection confirms never enters DTO
                s.count('persons_unmatched_dropped', unmatched)
                select_persons(s, np.flatnonzero(person_to_det >= 0))
            else:
                s.count('persons_unmatched_kept', unmatched)
            s.extra['unmatched_dets'] = np.flatnonzero(det_to_person < 0)

    def _nms(self, d) -> np.ndarray:
        """Indices of the detections kept by keypoint NMS (counted in the image's events)."""
        if not len(d) or (self.nms == 'oks' and self.oks_nms_thr is None):
            return np.arange(len(d))
        if self.nms == 'distance':
            keep = distance_nms(d.kpts, d.scores, d.boxes, self.dist_ratio, self.kpt_thr)
        else:
            areas = np.prod(np.clip(d.boxes[:, 2:] - d.boxes[:, :2], 1, None), axis=1)
            keep = keypoint_nms(d.kpts, d.scores, areas, self.oks_nms_thr, self.kpt_thr)
        return keep

    def _match(self, p: Persons, d):
        """(det_to_person (M,), person_to_det (K,)) by keypoints, else by boxes."""
        if len(p) and len(d) and d.kpts is not None and p.kpts2d is not None:
            head = head_size(p.kpts2d, p.boxes)
            if self.assignment == 'detection_order':
                return match_in_detection_order(d.kpts, p.kpts2d, head, self.head_factor,
                                                self.kpt_thr, COCO_TO_GTKPS[self.body_joints])
            m = match_detections(to_gtkps(d.kpts, self.body_joints), p.kpts2d, head,
                                 self.head_factor, self.kpt_thr)
            return m.det_to_person, m.person_to_det
        if len(p) and len(d) and p.boxes is not None:
            return _match_boxes(box_iou(d.boxes, p.boxes), self.box_iou_thr)
        return -np.ones(len(d), np.int64), -np.ones(len(p), np.int64)


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


# ----------------------------------------------------------------------------- HMR persons
# SMPL-24 joint of each COCO body keypoint (5..16) and SMPL vertices of the face keypoints
# (nose, left eye, right eye, left ear, right ear; the usual SMPL vertex ids), head top
SMPL_COCO_BODY = np.array([16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8])
SMPL_FACE_VERTS = np.array([332, 2800, 6260, 583, 4071])
SMPL_HEAD_TOP, SMPL_NECK = 411, 12


def hmr_keypoints(vertices: np.ndarray, joints: np.ndarray, focal, princpt) -> np.ndarray:
    """(N,44,3) gtkps-layout projections of body-model persons: COCO-17 at their
    ``COCO_TO_GTKPS['j19']`` places, neck (37) and head top (38); score 1 where defined.
    Face keypoints need the SMPL topology (6890 vertices); otherwise they stay empty."""
    from ..geometry import project_points
    n = len(joints)
    out = np.zeros((n, 44, 3))
    idx = COCO_TO_GTKPS['j19']
    smpl_topology = vertices.shape[1] == 6890
    for i in range(n):
        pts = {k: joints[i, j] for k, j in zip(range(5, 17), SMPL_COCO_BODY)}
        if smpl_topology:
            pts.update({k: vertices[i, v] for k, v in zip(range(5), SMPL_FACE_VERTS)})
        for k, p in pts.items():
            out[i, idx[k], :2] = project_points(p[None], focal, princpt)[0]
            out[i, idx[k], 2] = 1.0
        top = vertices[i, SMPL_HEAD_TOP] if smpl_topology else \
            joints[i, 15] + (joints[i, 15] - joints[i, SMPL_NECK])
        out[i, 38, :2] = project_points(top[None], focal, princpt)[0]
        out[i, 37, :2] = project_points(joints[i, SMPL_NECK][None], focal, princpt)[0]
        out[i, 37:39, 2] = 1.0
    return out


@DTO_STAGES.register_module()
class HMRKeypointCheck(BaseStage):
    """Second-stage keypoint check of fresh HMR persons (released dto_framework.py 358-381).

    The detections left unmatched by the release persons are matched, in their order and
    with the same rule as :class:`KeypointMatching` (detection order, J19 body joints), to
    the projected keypoints of the HMR persons (:func:`hmr_keypoints`); an HMR person no
    detection confirms is dropped and counted (``hmr_persons_failed_keypoint_check``).

    Args:
        body_model: BODY_MODELS config (the HMR persons' model).
        kpt_thr, head_factor: as :class:`KeypointMatching`.
    """
    name = 'hmr_check'

    def __init__(self, body_model: dict, kpt_thr: float = 0.5, head_factor: float = 0.6,
                 device: Optional[str] = None):
        from ..registry import BODY_MODELS
        from .stage_base import resolve_device
        self.device = resolve_device(device)
        self.body_model = BODY_MODELS.build(dict(body_model)).to(self.device) \
            if isinstance(body_model, dict) else body_model
        self.kpt_thr, self.head_factor = kpt_thr, head_factor

    def needs(self, state: ImageState) -> bool:
        from .state import SRC_HMR
        return state.focal is not None and any(src == SRC_HMR for src in state.persons.source)

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            self._check(s)

    def _check(self, s: ImageState) -> None:
        import torch
        from metric_hmr.conventions import adapt_betas
        from .state import SRC_HMR
        p = s.persons
        hmr = np.array([i for i, src in enumerate(p.source) if src == SRC_HMR])
        nb = int(getattr(self.body_model, 'num_betas', 10))
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=self.device)  # noqa: E731
        with torch.no_grad():
            out = self.body_model(betas=t(adapt_betas(p.betas[hmr], nb)), global_orient=t(p.global_orient[hmr]),
                                  body_pose=t(p.body_pose[hmr]), transl=t(p.transl[hmr]))
        ref = hmr_keypoints(out.vertices.double().cpu().numpy(), out.joints.double().cpu().numpy(),
                            s.focal, s.princpt)
        dets = np.sort(p.source_index[hmr])       # the unmatched detections, in their order
        kp = s.detections.kpts[dets]
        _, ref_to_det = match_in_detection_order(kp, ref, head_size(ref), self.head_factor,
                                                 self.kpt_thr)
        failed = hmr[ref_to_det < 0]
        s.count('hmr_persons_failed_keypoint_check', len(failed))
        if len(failed):
            select_persons(s, np.array([i for i in range(len(p)) if i not in set(failed.tolist())]))
