"""DTORefiner on prediction dicts with a small SMPL-format body model."""
import numpy as np
import pytest
import torch

from dto_hooks import DTORefiner
from metric_hmr.registry import TASK_UTILS


def test_refiner_recovers_metric_scene(smpl_body_model, make_smpl_scene):
    bm, path = smpl_body_model
    sample, disp, truth = make_smpl_scene(bm, seed=0)
    refiner = TASK_UTILS.build(dict(type='DTORefiner', body_model=dict(type='SMPLBodyModel', model_path=path)))
    K = len(truth['H_true'])
    out, res = refiner(sample, disp)     # priors: fallback adult prior (no demographics)
    assert res.used.all() and res.optimized
    pred = out['pred']
    assert pred['transl'].dtype == np.float32
    np.testing.assert_allclose(pred['height'], res.h_star, atol=1e-3)      # refit within 1 mm
    assert out['dto']['kept'] == res.kept and len(pred['shape_refit_flags']) == K
    # the body model's T-pose height of the refitted betas is the corrected height
    np.testing.assert_allclose(bm.tpose_height(pred['betas']), res.h_star, atol=1e-3)
    # projection of the root unchanged
    t0, t1 = sample['pred']['transl'], pred['transl']
    np.testing.assert_allclose(t0[:, :2] / t0[:, 2:], t1[:, :2] / t1[:, 2:], atol=1e-6)


def test_smpl_scene_with_true_priors_recovers_depths(smpl_body_model, make_smpl_scene):
    """Same path as the refiner (SMPL vertices, T-pose heights) with priors = truth."""
    bm, path = smpl_body_model
    sample, disp, truth = make_smpl_scene(bm, seed=1)
    from metric_hmr.dto import run_dto
    from dto_hooks.refiner import to_numpy
    K = len(truth['H_true'])
    with torch.no_grad():
        v = bm(betas=torch.as_tensor(sample['pred']['betas']), global_orient=torch.as_tensor(sample['pred']['global_orient']),
               body_pose=torch.as_tensor(sample['pred']['body_pose']),
               transl=torch.as_tensor(sample['pred']['transl'])).vertices.numpy().astype(np.float64)
    res = run_dto(list(v), bm.faces, sample['pred']['focal'], sample['pred']['princpt'], sample['ori_shape'],
                  disp, sample['pred']['transl'], to_numpy(bm.tpose_height(sample['pred']['betas'])),
                  mu=truth['H_true'], sigma=np.full(K, 0.07))
    np.testing.assert_allclose(res.h_star, truth['H_true'], rtol=0.03)
    np.testing.assert_allclose(res.transl_star[:, 2], truth['T_true'][:, 2], rtol=0.03)


def test_refiner_keeps_torch_container(smpl_body_model, make_smpl_scene):
    bm, _ = smpl_body_model
    sample, disp, _ = make_smpl_scene(bm, seed=2, K=3)
    pred = {k: torch.as_tensor(v) for k, v in sample['pred'].items()}
    pred['vertices'] = None
    del pred['vertices']
    sample = dict(sample, pred=pred)
    out, res = DTORefiner(body_model=bm)(sample, disp)
    assert isinstance(out['pred']['transl'], torch.Tensor) and out['pred']['transl'].dtype == torch.float32
    assert isinstance(out['pred']['betas'], torch.Tensor)


def test_refiner_recomputes_vertices_and_joints(smpl_body_model, make_smpl_scene):
    bm, _ = smpl_body_model
    sample, disp, _ = make_smpl_scene(bm, seed=3, K=3)
    p = sample['pred']
    with torch.no_grad():
        o = bm(betas=torch.as_tensor(p['betas']), global_orient=torch.as_tensor(p['global_orient']),
               body_pose=torch.as_tensor(p['body_pose']), transl=torch.as_tensor(p['transl']))
    p['vertices'] = o.vertices.numpy()
    p['joints3d'] = o.joints.numpy()
    out, res = DTORefiner(body_model=bm)(sample, disp)
    with torch.no_grad():
        o2 = bm(betas=torch.as_tensor(out['pred']['betas']), global_orient=torch.as_tensor(p['global_orient']),
                body_pose=torch.as_tensor(p['body_pose']), transl=torch.as_tensor(out['pred']['transl']))
    np.testing.assert_allclose(out['pred']['vertices'], o2.vertices.numpy(), atol=1e-5)
    np.testing.assert_allclose(out['pred']['joints3d'], o2.joints.numpy(), atol=1e-5)


def test_refiner_without_body_model_scales_meshes(smpl_body_model, make_smpl_scene):
    bm, _ = smpl_body_model
    sample, disp, _ = make_smpl_scene(bm, seed=4, K=3)
    p = sample['pred']
    with torch.no_grad():
        o = bm(betas=torch.as_tensor(p['betas']), global_orient=torch.as_tensor(p['global_orient']),
               body_pose=torch.as_tensor(p['body_pose']), transl=torch.as_tensor(p['transl']))
    p['vertices'] = o.vertices.numpy()
    p['height'] = np.asarray(bm.tpose_height(p['betas']))
    out, res = DTORefiner(body_model=None, faces=bm.faces)(sample, disp)
    ratio = res.depth_ratio
    np.testing.assert_allclose(out['pred']['vertices'], p['vertices'] * ratio[:, None, None], rtol=1e-6)
    np.testing.assert_allclose(out['pred']['height'], res.h_star)
    assert np.array_equal(out['pred']['betas'], p['betas'])


def test_refiner_errors_name_the_field():
    r = DTORefiner(faces=np.zeros((1, 3), int))
    with pytest.raises(ValueError, match="pred\\['transl'\\]"):
        r(dict(img_path='a.jpg', ori_shape=(10, 10), pred=dict(focal=(1, 1), princpt=(5, 5))), np.ones((10, 10)))
    with pytest.raises(ValueError, match="a.jpg: no pred\\['vertices'\\]"):
        r(dict(img_path='a.jpg', ori_shape=(10, 10), pred=dict(transl=np.zeros((1, 3)), focal=(1, 1), princpt=(5, 5))),
          np.ones((10, 10)))


def test_refiner_zero_persons(smpl_body_model):
    bm, _ = smpl_body_model
    sample = dict(img_path='empty.jpg', ori_shape=(48, 64),
                  pred=dict(global_orient=np.zeros((0, 3)), body_pose=np.zeros((0, 69)),
                            betas=np.zeros((0, 10)), transl=np.zeros((0, 3)), focal=(50., 50.), princpt=(32., 24.)))
    out, res = DTORefiner(body_model=bm)(sample, np.ones((48, 64)))
    assert out['pred']['transl'].shape == (0, 3) and res.flags == ['no_persons']


def test_refiner_passes_minor_flags_to_fit_height(smpl_body_model, make_smpl_scene):
    bm, _ = smpl_body_model
    sample, disp, _ = make_smpl_scene(bm, seed=5, K=3)
    seen = {}

    class Spy:
        faces = bm.faces

        def __call__(self, **kw):
            return bm(**kw)

        def tpose_height(self, b):
            return bm.tpose_height(b)

        def fit_height(self, betas, target, is_minor=None):
            seen['is_minor'] = is_minor
            return bm.fit_height(betas, target)

    sample['pred']['age'] = np.array([30.0, 10.0, np.nan])
    out, res = DTORefiner(body_model=Spy())(sample, disp)
    used = res.used & (np.abs(res.depth_ratio - 1) > 0)
    np.testing.assert_array_equal(seen['is_minor'], np.array([False, True, False])[used])


def test_refiner_smpla_model_with_10d_betas(smpl_body_model, make_smpl_scene, tmp_path):
    """An SMPL-A body model (11 betas) refining a prediction with 10-D betas (e.g. an HMR
    model without the age blend): the refit returns 11 values; the output betas become
    SMPL-A for every person (age blend 0 where not refitted) instead of a shape error."""
    from metric_hmr.registry import BODY_MODELS
    from metric_hmr.testing import kid_template_path, make_smpl_model_file
    bm, _ = smpl_body_model
    sample, disp, _ = make_smpl_scene(bm, seed=2, K=3)
    path = make_smpl_model_file(str(tmp_path), seed=0, with_kid_template=True)
    bma = BODY_MODELS.build(dict(type='SMPLBodyModel', model_path=path,
                                 kid_template_path=kid_template_path(str(tmp_path))))
    assert bma.num_betas == 11 and sample['pred']['betas'].shape[1] == 10
    out, res = DTORefiner(body_model=bma)(sample, disp)
    b = out['pred']['betas']
    assert b.shape == (3, 11)
    changed = res.used & (np.abs(res.depth_ratio - 1) > 0)
    assert changed.any()
    np.testing.assert_allclose(np.asarray(bma.tpose_height(b[changed]), np.float64),
                               res.h_star[changed], atol=2e-3)
    np.testing.assert_array_equal(b[~changed, :10], sample['pred']['betas'][~changed])
    assert np.all(b[~changed, 10] == 0)
