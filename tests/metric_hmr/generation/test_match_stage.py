"""Matching as the authors' generator does it (finding 4 of issue 12)."""
import numpy as np
import pytest

from metric_hmr.generation.match_stage import (COCO_TO_GTKPS, KeypointMatching, distance_nms,
                                               match_in_detection_order)
from metric_hmr.generation.release import GTKPS_HEAD_TOP, GTKPS_NECK
from metric_hmr.generation.state import Detections, ImageState, Persons


def _person(x0, head=20.0, openpose_offset=0.0):
    """gtkps (44,3): J19 body block at x0, OpenPose body block shifted by openpose_offset."""
    kp = np.zeros((44, 3))
    for j in range(17):
        kp[COCO_TO_GTKPS['j19'][j]] = [x0 + 5 * j, 100 + 10 * j, 1.0]
        kp[COCO_TO_GTKPS['openpose'][j]] = [x0 + 5 * j + (openpose_offset if j >= 5 else 0),
                                            100 + 10 * j, 1.0]
    kp[GTKPS_NECK] = [x0, 80, 1]
    kp[GTKPS_HEAD_TOP] = [x0, 80 - head, 1]
    return kp


def _det(person, noise=0.0, score=0.9):
    coco = np.zeros((17, 3))
    coco[:, :2] = person[COCO_TO_GTKPS['j19'], :2] + noise
    coco[:, 2] = score
    return coco


def _state(persons, dets):
    k = len(persons)
    p = Persons(np.zeros((k, 3)), np.zeros((k, 69)), np.zeros((k, 10)),
                np.tile([0.0, 0.0, 5.0], (k, 1)), ['release'] * k, np.arange(k),
                np.stack(persons), None)
    s = ImageState('im', None, (300, 400), p)
    s.age, s.p_male = np.arange(k, dtype=float), np.full(k, 0.5)
    n = len(dets)
    s.detections = Detections(np.tile([0.0, 0.0, 100.0, 200.0], (n, 1)), np.linspace(0.9, 0.8, n),
                              np.zeros((n, 300, 400), bool), np.stack(dets))
    return s


def test_unmatched_release_person_is_dropped():
    """Mirrors dto_framework.py 388-411: only release persons matched to a detection are
    added to the persons DTO sees (unmatched ones never appear); per-person fields follow."""
    persons = [_person(0), _person(150), _person(300)]
    dets = [_det(persons[2], 1.0), _det(persons[0], -1.0)]
    s = _state(persons, dets)
    KeypointMatching(unmatched_persons='drop', assignment='detection_order', nms='distance')([s])
    assert s.persons.source_index.tolist() == [0, 2] and len(s.persons) == 2
    assert s.person_det.tolist() == [1, 0] and s.age.tolist() == [0.0, 2.0]
    assert s.events['persons_unmatched_dropped'] == 1 and s.events['persons_matched'] == 2
    # this project's default keeps them (method.md §7)
    s2 = _state(persons, dets)
    KeypointMatching()([s2])
    assert len(s2.persons) == 3 and s2.events['persons_unmatched_kept'] == 1


def test_body_joints_come_from_the_j19_block():
    """Mirrors dto_framework.py 346: release body joints are gtkps 25-36 (J19), face joints
    0,15-18 (OpenPose).  A person whose OpenPose body block is 40 px off still matches
    with 'j19' and not with 'openpose' (where 12 of 17 joints miss)."""
    persons = [_person(0, openpose_offset=40.0)]
    s = _state(persons, [_det(persons[0], 1.0)])
    KeypointMatching(body_joints='j19')([s])
    assert s.person_det.tolist() == [0]
    s = _state(persons, [_det(persons[0], 1.0)])
    KeypointMatching(body_joints='openpose')([s])
    assert s.person_det.tolist() == [-1]


def test_detection_order_assignment_differs_from_best_first():
    """Mirrors dto_framework.py 337-356: detections are taken in order and the first one
    that matches a person (> half of its visible joints) takes it, even when a later
    detection matches that person better."""
    p = _person(0)
    head = np.array([20.0])
    weak = _det(p, 1.0)
    weak[:7, :2] += 50           # 10 of 17 within 12 px
    strong = _det(p, 1.0)        # 17 of 17
    d2r, r2d = match_in_detection_order(np.stack([weak, strong]), p[None], head)
    assert d2r.tolist() == [0, -1] and r2d.tolist() == [0]
    s = _state([p], [weak, strong])
    KeypointMatching(assignment='best_first')([s])
    assert s.person_det.tolist() == [1]
    # the released rule compares with <= (a joint exactly at 0.6 x head matches)
    edge = _det(p, np.array([12.0, 0.0]))
    assert match_in_detection_order(edge[None], p[None], head)[0].tolist() == [0]


def test_distance_nms_as_released():
    """Mirrors inference_init.py 32-79: threshold 1/8 x 0.6 x longer box side (here 200 px
    -> 15 px) on the mean distance over commonly visible keypoints."""
    base = _det(_person(0))
    near = base.copy()
    near[:, :2] += 10.0          # 14.1 px mean distance: suppressed
    far = base.copy()
    far[:, :2] += 11.0           # 15.6 px: kept
    boxes = np.tile([0.0, 0.0, 100.0, 200.0], (3, 1))
    assert distance_nms(np.stack([near, base, far]), np.array([0.8, 0.9, 0.7]), boxes).tolist() == [1, 2]


def test_bad_option_is_named():
    with pytest.raises(ValueError, match='unmatched_persons must be one of'):
        KeypointMatching(unmatched_persons='maybe')


def test_hmr_person_needs_a_confirming_detection(gen_smpl_file):
    """Mirrors dto_framework.py 358-381: a fresh HMR person enters DTO only when one of
    the detections left unmatched by the release persons agrees with its projected
    keypoints (same > half rule); the other is dropped and counted."""
    import torch
    from metric_hmr.generation.match_stage import HMRKeypointCheck, hmr_keypoints
    from metric_hmr.registry import BODY_MODELS
    stage = HMRKeypointCheck(dict(type='SMPLBodyModel', model_path=str(gen_smpl_file)), device='cpu')
    go = np.array([[np.pi, 0, 0], [np.pi, 0, 0], [np.pi, 0, 0]])
    tr = np.array([[-1.0, 0.2, 6.0], [0.0, 0.2, 5.0], [1.0, 0.2, 5.0]])
    focal, princpt = np.array([500.0, 500.0]), np.array([200.0, 150.0])
    bm = BODY_MODELS.build(dict(type='SMPLBodyModel', model_path=str(gen_smpl_file)))
    with torch.no_grad():
        out = bm(betas=torch.zeros(3, 10), global_orient=torch.as_tensor(go, dtype=torch.float32),
                 body_pose=torch.zeros(3, 69), transl=torch.as_tensor(tr, dtype=torch.float32))
    ref = hmr_keypoints(out.vertices.double().numpy(), out.joints.double().numpy(), focal, princpt)
    det_ok = np.concatenate([ref[1, COCO_TO_GTKPS['j19'], :2], np.full((17, 1), 0.9)], 1)
    det_bad = det_ok.copy()
    det_bad[:, 0] += 150.0                                   # agrees with nobody
    p = Persons(go, np.zeros((3, 69)), np.zeros((3, 10)), tr, ['release', 'hmr', 'hmr'],
                np.array([7, 0, 1]), np.zeros((3, 44, 3)), None)
    s = ImageState('im', None, (300, 400), p)
    s.focal, s.princpt = focal, princpt
    s.detections = Detections(np.tile([0.0, 0.0, 100.0, 200.0], (2, 1)), np.array([0.9, 0.8]),
                              None, np.stack([det_ok, det_bad]))
    stage([s])
    assert s.persons.source == ['release', 'hmr'] and s.persons.source_index.tolist() == [7, 0]
    assert s.events['hmr_persons_failed_keypoint_check'] == 1
    # visible face keypoints need the SMPL topology; body + head size always exist
    assert (ref[:, COCO_TO_GTKPS['j19'][5:], 2] == 1).all() and (ref[:, [37, 38], 2] == 1).all()
