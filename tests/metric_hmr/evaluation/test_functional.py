"""Pure metric functions on hand-built cases with exactly known values."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from metric_hmr.evaluation.functional import (
    PCDRAccumulator, detection_prf1, fov_errors, greedy_match_2d, keypoint_box_iou,
    mean_point_error, mpjpe, mupots_identity_match, nearest_pose_match, ordinal_pairs,
    pa_mpjpe, pck3d_per_person, pck_2d, procrustes_align, rescale_bones_to_gt, vertical_fov)
from metric_hmr.evaluation.functional.joints import (
    BK19_TO_CROWDPOSE14, CROWDPOSE14, MPI17, MPI_OF_H36M, H36M_TO_MPI, OCHUMAN19_TO_CROWDPOSE14,
    RH_BK19, RH_OCHUMAN19, rh_skeleton_of)


def test_procrustes_of_similarity_copy_is_zero():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(3, 14, 3))
    rot = Rotation.random(3, random_state=1).as_matrix()
    scale = np.array([0.5, 1.7, 3.0])
    pred = scale[:, None, None] * np.einsum('bij,bkj->bki', rot, gt) + rng.normal(size=(3, 1, 3))
    assert mpjpe(pred, gt).min() > 0.1
    np.testing.assert_allclose(pa_mpjpe(pred, gt), 0.0, atol=1e-9)
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-9)


def test_procrustes_does_not_reflect():
    rng = np.random.default_rng(2)
    gt = rng.normal(size=(1, 14, 3))
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert pa_mpjpe(mirrored, gt)[0] > 0.05   # a mirror image is not a rotation


def test_mpjpe_known_offsets_and_mask():
    gt = np.zeros((2, 4, 3))
    pred = gt.copy()
    pred[0] += [0.03, 0.04, 0.0]                     # 5 cm everywhere
    pred[1, 0] += [0.0, 0.0, 0.1]                     # one joint 10 cm off
    np.testing.assert_allclose(mpjpe(pred, gt), [0.05, 0.025])
    valid = np.array([[True] * 4, [False, True, True, True]])
    np.testing.assert_allclose(mean_point_error(pred, gt, valid), [0.05, 0.0])
    assert np.isnan(mean_point_error(pred, gt, np.zeros((2, 4), bool))).all()


def _person(x0, y0, w=40.0, h=100.0, n=14):
    rng = np.random.default_rng(int(x0 * 7 + y0))
    return np.stack([x0 + rng.uniform(0, w, n), y0 + rng.uniform(0, h, n)], -1)


def test_greedy_matching_swapped_missing_and_false_positive():
    gts = np.stack([_person(0, 0), _person(200, 0), _person(400, 0)])
    preds = np.stack([gts[2] + 2.0, gts[0] - 1.0, _person(900, 500)])   # swapped + spurious
    m = greedy_match_2d(preds, gts)
    assert sorted(map(tuple, m.pairs.tolist())) == [(0, 2), (1, 0)]
    assert m.false_positives.tolist() == [2]
    assert m.misses.tolist() == [1]


def test_invalid_joints_never_enter_distance_or_box():
    gt = _person(100, 100)[None]
    valid = np.ones((1, 14), bool)
    valid[0, [12, 13]] = False
    gt_with_invalid = gt.copy()
    gt_with_invalid[0, [12, 13]] = -2.0          # released-code placeholder of invalid joints
    pred = gt.copy()
    pred[0, [12, 13]] += 500.0                   # wrong where gt has no annotation
    # with the placeholder inside the box the IoU would collapse below any threshold
    assert keypoint_box_iou(pred[0], gt_with_invalid[0]) < 0.05
    m = greedy_match_2d(pred, gt_with_invalid, valid, iou_thresh=0.5)
    assert m.pairs.tolist() == [[0, 0]]


def test_matching_needs_overlap():
    gts = _person(0, 0)[None]
    far = gts + 1000.0
    assert len(greedy_match_2d(far, gts).pairs) == 0


def test_pcdr_per_age_group_with_misses():
    # A adult L0 z2.0 | B kid L0 z2.1 | C adult L1 z3.0 | D baby L2 z2.95 | E unknown layer
    depth = [2.0, 2.1, 3.0, 2.95, 9.0]
    layer = [0, 0, 1, 2, -1]
    age = [0, 2, 0, 3, 1]
    out = ordinal_pairs(depth, layer, age)
    # pairs AB AC AD BC BD CD: only CD (C behind-layer 1 vs D layer 2, dz=-0.05) is wrong
    assert out.correct.tolist() == [True, True, True, True, True, False]
    acc = PCDRAccumulator()
    acc.add_image(depth, layer, age, missed_ages=[1, 0])   # a teen and an adult missed
    res = acc.result()
    assert res['all'] == pytest.approx(5 / (6 + 0.6))
    assert res['adult'] == pytest.approx(4 / (5 + 0.3))    # AB AC AD BC CD
    assert res['kid'] == pytest.approx(3 / 3)              # AB BC BD
    assert res['baby'] == pytest.approx(2 / 3)             # AD BD CD
    assert res['teen'] == pytest.approx(0.0)               # no pair, one miss


def test_pcdr_threshold_is_strict():
    out = ordinal_pairs([1.0, 1.2, 1.0], [0, 1, 0], [0, 0, 0], tau=0.2)
    # (0,1) dz = 0.2 not > 0.2 ; (0,2) same layer dz=0 ok ; (1,2) dz=-0.2 vs dl=-1: not < -0.2
    assert out.correct.tolist() == [False, True, False]


def test_pck_2d_scale_and_exclusion():
    gt = np.zeros((2, 4, 2))
    gt[0] = [[0, 0], [30, 0], [0, 40], [30, 40]]           # box 30 x 40 -> scale 50
    pred = gt.copy()
    pred[0, 1] += [7.0, 0]                                  # < 50/7 = 7.14
    pred[0, 2] += [0, 7.2]                                  # > 7.14
    pred[0, 3] += [100, 0]
    valid = np.array([[True] * 4, [True, False, False, False]])   # person 2: one joint
    pck = pck_2d(pred, gt, valid)
    assert pck[0] == pytest.approx(0.5)
    assert np.isnan(pck[1])                                  # excluded, not -1


def test_detection_prf1_uses_true_positives():
    r = detection_prf1(num_tp=3, num_pred=4, num_gt=6)
    assert r['precision'] == pytest.approx(0.75)
    assert r['recall'] == pytest.approx(0.5)
    assert r['f1'] == pytest.approx(0.6)
    assert np.isnan(detection_prf1(0, 0, 3)['precision'])


def test_pck3d_known_error_pattern():
    err = np.array([[0.0, 100.0, 150.0, 151.0],
                    [np.inf] * 4,
                    [10.0, 10.0, 999.0, 999.0]])
    valid = np.array([[True] * 4, [True] * 4, [True, False, False, False]])
    np.testing.assert_allclose(pck3d_per_person(err, valid), [0.75, 0.0, 1.0])
    assert np.isnan(pck3d_per_person(err[:1], np.zeros((1, 4), bool))[0])


def test_bone_rescaling_recovers_gt_lengths():
    rng = np.random.default_rng(3)
    gt = rng.normal(size=(2, 17, 3))
    gt -= gt[:, 14:15]
    pred = 2.0 * gt                                         # same directions, doubled bones
    np.testing.assert_allclose(rescale_bones_to_gt(pred, gt), gt, atol=1e-9)


def test_mupots_identity_matching():
    gt = np.stack([_person(0, 0), _person(300, 0), _person(600, 0)])
    pred = np.stack([gt[1] + 5, gt[0] - 5])                 # swapped, third person missing
    assert mupots_identity_match(gt, pred, thresh_px=40).tolist() == [1, 0, -1]
    assert mupots_identity_match(gt, np.zeros((0, 14, 2))).tolist() == [-1, -1, -1]


def test_nearest_pose_match_allows_reuse():
    gt = np.zeros((2, 3, 3))
    gt[1, 1] = 1.0
    pred = np.stack([gt[1] + 0.01, gt[0] + 2.0])
    assert nearest_pose_match(gt, pred).tolist() == [0, 0]  # protocol: duplicates allowed


def test_fov_errors():
    h = 1000.0
    f60 = h / (2 * np.tan(np.radians(30)))
    f50 = h / (2 * np.tan(np.radians(25)))
    assert np.degrees(vertical_fov(f60, h)) == pytest.approx(60.0)
    e = fov_errors(np.array([f60, f50]), np.array([f60, f60]), h)
    np.testing.assert_allclose(e['fov_deg'], [0.0, 10.0], atol=1e-9)
    np.testing.assert_allclose(e['focal_px'], [0.0, abs(f50 - f60)])


def test_joint_orders_map_by_name():
    for src, mapping in ((RH_BK19, BK19_TO_CROWDPOSE14), (RH_OCHUMAN19, OCHUMAN19_TO_CROWDPOSE14)):
        assert [src[i] for i in mapping] == CROWDPOSE14
    assert rh_skeleton_of('images/1234567.jpg', 19) is RH_BK19
    assert rh_skeleton_of('images/000123456789.jpg', 19) is RH_OCHUMAN19
    with pytest.raises(ValueError, match='17 joints'):
        rh_skeleton_of('x.jpg', 17)
    # H36M -> MPI permutation is the inverse of MA-HMR's MPI -> H36M preprocessing
    assert [MPI_OF_H36M[i] for i in H36M_TO_MPI] == list(range(17))
    assert MPI17[MPI_OF_H36M[1]] == 'r_hip'
