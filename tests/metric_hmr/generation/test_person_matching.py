"""Keypoint rules: visibility filter, keypoint NMS, head size, detection-to-person matching."""
import numpy as np

from metric_hmr.generation.person_matching import (coco_to_gtkps, enough_keypoints, head_size, keypoint_nms,
                                            match_detections)
from metric_hmr.generation.release import COCO_TO_OPENPOSE, GTKPS_HEAD_TOP, GTKPS_NECK


def _person(x0, head=20.0, conf=1.0):
    """gtkps (44,3) of a person with body keypoints spread around x0 and a given head size."""
    kp = np.zeros((44, 3))
    for j, op in enumerate(COCO_TO_OPENPOSE):
        kp[op] = [x0 + 5 * j, 100 + 10 * j, conf]
    kp[GTKPS_NECK] = [x0, 80, 1]
    kp[GTKPS_HEAD_TOP] = [x0, 80 - head, 1]
    return kp


def _det_from(person, noise, score=0.9):
    coco = np.zeros((17, 3))
    coco[:, :2] = person[COCO_TO_OPENPOSE, :2] + noise
    coco[:, 2] = score
    return coco


def test_visible_filter():
    k = np.zeros((2, 17, 3))
    k[0, :5, 2] = 0.5
    k[1, :4, 2] = 0.9
    k[1, 4, 2] = 0.49
    assert enough_keypoints(k).tolist() == [True, False]


def test_head_size_and_fallback():
    p = np.stack([_person(0, head=25), _person(100)])
    p[1, GTKPS_HEAD_TOP, 2] = 0
    hs = head_size(p, boxes=np.array([[0, 0, 10, 70], [0, 0, 10, 140]]))
    np.testing.assert_allclose(hs, [25.0, 20.0])


def test_match_threshold_and_order():
    persons = np.stack([_person(0, head=20), _person(400, head=20)])
    head = head_size(persons)
    rng = np.random.default_rng(0)
    d_close = _det_from(persons[1], rng.normal(0, 2, (17, 2)))          # well inside 0.6*20 = 12 px
    d_far = _det_from(persons[0], 13.0)                                  # every kp 18 px away
    d_half = _det_from(persons[0], 0.0)
    d_half[9:, :2] += 30                                                 # 9 of 17 match: > half
    m = match_detections(coco_to_gtkps(np.stack([d_close, d_far])), persons, head)
    assert m.det_to_person.tolist() == [1, -1] and m.person_to_det.tolist() == [-1, 0]
    m2 = match_detections(coco_to_gtkps(d_half[None]), persons, head)
    assert m2.det_to_person.tolist() == [0]
    d_less = d_half.copy()
    d_less[8, :2] += 30                                                  # 8 of 17: not > half
    m3 = match_detections(coco_to_gtkps(d_less[None]), persons, head)
    assert m3.det_to_person.tolist() == [-1]
    # paper's stricter 0.5 x head: 11 px offsets match at 0.6 (12 px), not at 0.5 (10 px)
    d11 = _det_from(persons[0], np.array([11.0, 0.0]))
    assert match_detections(coco_to_gtkps(d11[None]), persons, head, 0.6).det_to_person[0] == 0
    assert match_detections(coco_to_gtkps(d11[None]), persons, head, 0.5).det_to_person[0] == -1


def test_one_to_one_best_first():
    persons = _person(0)[None]
    head = head_size(persons)
    good = _det_from(persons[0], 1.0)
    ok = _det_from(persons[0], 1.0)
    ok[:6, :2] += 50           # 11/17 match
    m = match_detections(coco_to_gtkps(np.stack([ok, good])), persons, head)
    assert m.person_to_det.tolist() == [1] and m.det_to_person.tolist() == [-1, 0]


def test_keypoint_nms_removes_duplicates():
    base = _det_from(_person(0), 0.0)
    dup = base.copy()
    dup[:, :2] += 0.5
    other = _det_from(_person(300), 0.0)
    kpts = np.stack([dup, base, other])
    keep = keypoint_nms(kpts, np.array([0.8, 0.9, 0.7]), np.full(3, 200.0 * 100.0))
    assert keep.tolist() == [1, 2]
