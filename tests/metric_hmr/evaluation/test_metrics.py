"""Registered metrics on hand-built data samples (no runner)."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from metric_hmr.evaluation import MeshMetric, RelativeHumanMetric, SMPLGeometry
from metric_hmr.evaluation.functional.joints import CROWDPOSE14
from metric_hmr.registry import METRICS


def _rh_gt(kpts, layers, ages):
    k = np.concatenate([kpts, np.ones(kpts.shape[:2] + (1,))], -1)
    return dict(kpts2d=k, depth_id=np.array(layers), age_group=np.array(ages))


def _skeleton(x0, y0):
    rng = np.random.default_rng(int(x0))
    return np.stack([x0 + rng.uniform(0, 50, 14), y0 + rng.uniform(0, 150, 14)], -1)


def test_rh_metric_swapped_missing_and_false_positive():
    gts = np.stack([_skeleton(0, 0), _skeleton(300, 0), _skeleton(600, 0), _skeleton(900, 0)])
    gt = _rh_gt(gts, layers=[0, 1, 0, 2], ages=[0, 2, 3, 1])
    # predictions: person 2, 0, 1 (shuffled), person 3 missed, one false positive
    pred_k = np.stack([gts[2], gts[0], gts[1], _skeleton(2000, 900)])
    pred = dict(kpts2d=pred_k, transl=np.array([[0, 0, 2.1], [0, 0, 2.0], [0, 0, 3.0],
                                                [0, 0, 9.0]]), scores=np.ones(4))
    metric = METRICS.build(dict(type='RelativeHumanMetric'))
    metric.process(None, [dict(img_path='a.jpg', pred=pred, gt=gt)])
    res = metric.compute_metrics(metric.results)
    # matched 0,1,2 with depths 2.0, 3.0, 2.1: pairs (0,1) ok, (0,2) same layer |0.1| ok,
    # (1,2): layer 1 vs 0, dz = -0.9 ok  -> 3 correct of 3; one teen missed
    assert res['pcdr_0.2/all'] == pytest.approx(100 * 3 / (3 + 0.3))
    assert res['pcdr_0.2/teen'] == pytest.approx(0.0)
    assert res['pcdr_0.2/baby'] == pytest.approx(100.0)
    assert res['precision'] == pytest.approx(3 / 4)
    assert res['recall'] == pytest.approx(3 / 4)
    assert res['pck'] == pytest.approx(1.0)


def test_rh_metric_ignores_neck_by_default_and_excludes_unmatchable():
    gts = np.stack([_skeleton(0, 0), _skeleton(300, 0)])
    gt = _rh_gt(gts, layers=[0, 1], ages=[0, 0])
    gt['kpts2d'][1, 1:, 2] = 0          # person 1: a single visible joint -> unmatchable
    pred_k = gts.copy()
    pred_k[0, CROWDPOSE14.index('neck')] += 300.0   # neck far off: ignored
    pred = dict(kpts2d=pred_k, transl=np.array([[0, 0, 2.0], [0, 0, 5.0]]))
    metric = RelativeHumanMetric()
    metric.process(None, [dict(img_path='b.jpg', pred=pred, gt=gt)])
    res = metric.compute_metrics(metric.results)
    assert res['pck'] == pytest.approx(1.0)
    assert res['num_gt_unmatchable'] == 1
    assert res['recall'] == pytest.approx(1.0) and res['precision'] == pytest.approx(0.5)


def test_rh_metric_score_threshold():
    gts = np.stack([_skeleton(0, 0)])
    pred = dict(kpts2d=gts.copy(), transl=np.array([[0, 0, 2.0]]), scores=np.array([0.2]))
    metric = RelativeHumanMetric(score_thr=0.3)
    metric.process(None, [dict(img_path='c.jpg', pred=pred, gt=_rh_gt(gts, [0], [0]))])
    res = metric.compute_metrics(metric.results)
    assert res['recall'] == 0.0 and res['num_missed'] == 1


def _geometry(eval_smpl, **kw):
    return dict(body_model=dict(type='SMPLBodyModel', model_path=eval_smpl['path']),
                j_regressor_h36m=eval_smpl['regressor'], **kw)


def test_tpose_height_of_generated_body(eval_smpl):
    geo = SMPLGeometry(**_geometry(eval_smpl))
    betas = np.zeros((2, 10))
    betas[1, 0] = 1.0
    h = geo.tpose_heights(betas)
    zero = dict(global_orient=np.zeros((2, 3)), body_pose=np.zeros((2, 69)), betas=betas,
                transl=np.zeros((2, 3)))
    v = geo.meshes(zero).vertices
    np.testing.assert_allclose(h, v[..., 1].max(1) - v[..., 1].min(1), atol=1e-5)
    assert 1.5 < h[0] < 1.9 and h[1] > h[0]


def _camera_params(geo, n, rng):
    return dict(global_orient=(Rotation.from_rotvec([np.pi, 0, 0])
                               * Rotation.from_rotvec(rng.normal(0, 0.2, (n, 3)))).as_rotvec(),
                body_pose=rng.normal(0, 0.1, (n, 69)), betas=rng.normal(0, 0.5, (n, 10)),
                transl=np.stack([np.linspace(-1.5, 1.5, n), np.zeros(n), np.full(n, 5.0)], 1))


def test_mesh_metric_world_frame_gt_and_known_height_error(eval_smpl):
    rng = np.random.default_rng(0)
    geo = SMPLGeometry(**_geometry(eval_smpl))
    cam = _camera_params(geo, 2, rng)
    # ground truth in a world frame: x_c = R x_w + t
    rot = Rotation.from_rotvec([0.1, 0.7, -0.2]).as_matrix()
    t = np.array([0.3, -0.2, 2.0])
    zero = dict(cam, global_orient=np.zeros((2, 3)), body_pose=np.zeros((2, 69)),
                transl=np.zeros((2, 3)))
    root = geo.meshes(zero).joints[:, 0]
    world = dict(cam, global_orient=(Rotation.from_matrix(rot).inv()
                                     * Rotation.from_rotvec(cam['global_orient'])).as_rotvec(),
                 transl=(cam['transl'] + root - t) @ rot - root)
    gt = dict(world, cam_rot=np.stack([rot] * 2), cam_trans=np.stack([t] * 2),
              focal=np.array([1000.0, 1000.0]), princpt=np.array([640.0, 360.0]),
              gender=['m', 'f'])
    pred = dict(cam, focal=gt['focal'], princpt=gt['princpt'], scores=np.ones(2))
    pred = {k: (v[::-1] if k in cam or k == 'scores' else v) for k, v in pred.items()}
    metric = MeshMetric(use_gt_gender=False, geometry=_geometry(eval_smpl))
    metric.process(None, [dict(img_path='x.jpg', ori_shape=(720, 1280), pred=pred, gt=gt)])
    res = metric.compute_metrics(metric.results)
    for k in ('mpjpe', 'pa_mpjpe', 'pve', 'height_error', 'focal_error', 'fov_error'):
        assert res[k] == pytest.approx(0.0, abs=1e-2), k      # mm; float32 body model
    assert res['recall'] == 1.0 and res['precision'] == 1.0

    # a taller prediction: height error is exactly the T-pose height difference
    pred2 = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in pred.items()}
    pred2['betas'][:, 0] += 1.0
    metric = MeshMetric(use_gt_gender=False, geometry=_geometry(eval_smpl))
    metric.process(None, [dict(img_path='x.jpg', pred=pred2, gt=gt)])
    res = metric.compute_metrics(metric.results)
    dh = np.abs(geo.tpose_heights(pred2['betas']) - geo.tpose_heights(pred['betas'])) * 1000
    assert res['height_error'] == pytest.approx(dh.mean(), rel=1e-4)
    assert res['mpjpe'] > res['pa_mpjpe'] >= 0


def test_mesh_metric_needs_gendered_models_for_gendered_gt(eval_smpl):
    rng = np.random.default_rng(1)
    geo = SMPLGeometry(**_geometry(eval_smpl))
    cam = _camera_params(geo, 1, rng)
    gt = dict(cam, focal=np.array([1000.0, 1000.0]), princpt=np.array([640.0, 360.0]),
              gender=['f'])
    metric = MeshMetric(use_gt_gender=True, geometry=_geometry(eval_smpl))
    with pytest.raises(ValueError, match="gender 'female'"):
        metric.process(None, [dict(img_path='y.jpg', pred=dict(cam, focal=gt['focal'],
                                                               princpt=gt['princpt']), gt=gt)])


def test_mesh_metric_leaves_out_of_view_gt_persons(eval_smpl):
    rng = np.random.default_rng(4)
    geo = SMPLGeometry(**_geometry(eval_smpl))
    cam = _camera_params(geo, 3, rng)
    cam['transl'][2, 0] = 40.0                      # far outside the image on the right
    intr = dict(focal=np.array([1000.0, 1000.0]), princpt=np.array([640.0, 360.0]))
    gt = dict(cam, **intr)
    pred = {k: v[:2] for k, v in cam.items()}        # the visible two are predicted
    pred.update(intr)
    metric = MeshMetric(use_gt_gender=False, geometry=_geometry(eval_smpl))
    metric.process(None, [dict(img_path='z.jpg', ori_shape=(720, 1280), pred=pred, gt=gt),
                          dict(img_path='z.jpg', pred=pred, gt=gt)])   # size unknown
    res = metric.compute_metrics(metric.results)
    assert res['num_gt_out_of_view'] == 1 and res['num_images_size_unknown'] == 1
    assert res['recall'] == pytest.approx(4 / 5)    # 2/2 in view + 2/3 without size
    assert res['mpjpe'] == pytest.approx(0.0, abs=1e-2)
