"""SMPLBodyModel: forward, T-pose height, 1-D height refit (SMPL and SMPL-A), sampling."""
import numpy as np
import pytest
import torch

from metric_hmr.body_models import BodyOutput, HeightFit, SMPLBodyModel
from metric_hmr.registry import BODY_MODELS

pytest.importorskip('smplx')


def test_registry_build_and_forward(smpl_files):
    bm = BODY_MODELS.build(dict(type='SMPLBodyModel', model_path=smpl_files[0]))
    assert isinstance(bm, torch.nn.Module) and bm.num_betas == 10
    B = 3
    g = torch.Generator().manual_seed(0)
    out = bm(betas=torch.randn(B, 10, generator=g), global_orient=0.3 * torch.randn(B, 3, generator=g),
             body_pose=0.2 * torch.randn(B, 69, generator=g), transl=torch.randn(B, 3, generator=g))
    assert isinstance(out, BodyOutput)
    assert out.vertices.shape == (B, bm.num_vertices, 3) and out.joints.shape == (B, 24, 3)
    assert bm.faces.shape[1] == 3 and bm.faces.max() < bm.num_vertices
    assert bm.num_pose_params == 69


def test_folder_path_and_missing_file(smpl_files, tmp_path):
    import os
    bm = SMPLBodyModel(os.path.dirname(smpl_files[0]), gender='neutral')
    assert bm.model_file == smpl_files[0]
    with pytest.raises(FileNotFoundError, match='SMPL_MALE'):
        SMPLBodyModel(os.path.dirname(smpl_files[0]), gender='male')


def test_transl_and_orient(smpl_bm):
    b = torch.zeros(1, 10)
    base = smpl_bm(b)
    moved = smpl_bm(b, transl=torch.tensor([[1.0, 2.0, 3.0]]))
    torch.testing.assert_close(moved.vertices - base.vertices,
                               torch.tensor([1.0, 2.0, 3.0]).expand_as(base.vertices))
    # 180 deg about x (SMPL -> OpenCV camera convention): the body is upside down
    flipped = smpl_bm(b, global_orient=torch.tensor([[np.pi, 0.0, 0.0]]))
    head = base.joints[0, 15, 1] - base.joints[0, 0, 1]
    assert head > 0 and flipped.joints[0, 15, 1] - flipped.joints[0, 0, 1] < -0.9 * head


def test_tpose_height_is_vertical_extent_of_zero_pose_mesh(smpl_bm):
    rng = np.random.default_rng(0)
    betas = rng.normal(size=(4, 10)).astype(np.float32)
    h = smpl_bm.tpose_height(betas)
    assert isinstance(h, np.ndarray) and h.shape == (4,)
    verts = smpl_bm(torch.as_tensor(betas)).vertices
    ref = (verts[..., 1].amax(1) - verts[..., 1].amin(1)).numpy()
    np.testing.assert_allclose(h, ref, atol=1e-5)
    ht = smpl_bm.tpose_height(torch.as_tensor(betas))
    assert torch.is_tensor(ht)
    np.testing.assert_allclose(ht.numpy(), h, atol=1e-12)


def _check_fit(bm, fit, target, betas_in=None, tol=1e-3):
    assert isinstance(fit, HeightFit)
    h_true = bm.tpose_height(np.asarray(fit.betas, dtype=np.float64))
    np.testing.assert_allclose(h_true, fit.height, atol=1e-6)
    ok = np.asarray(fit.reached)
    assert np.all(np.abs(h_true[ok] - np.asarray(target)[ok]) <= tol)


def test_fit_height_smpl_within_1mm(smpl_bm):
    rng = np.random.default_rng(1)
    targets = np.array([1.45, 1.55, 1.62, 1.71, 1.80, 1.95, 2.05])
    betas = rng.normal(scale=0.8, size=(len(targets), 10)).astype(np.float32)
    fit = smpl_bm.fit_height(betas, targets)
    assert all(f == 'ok' for f in fit.flags) and np.all(fit.reached)
    assert fit.betas.dtype == np.float32
    _check_fit(smpl_bm, fit, targets)
    # only beta0 was edited
    np.testing.assert_array_equal(fit.betas[:, 1:], betas[:, 1:])
    assert fit.direction == ['beta0'] * len(targets)


def test_fit_height_other_directions(smpl_bm):
    betas = torch.zeros(2, 10)
    fit = smpl_bm.fit_height(betas, torch.tensor([1.65, 1.75]), direction='beta3')
    assert torch.is_tensor(fit.betas) and fit.reached.all()
    _check_fit(smpl_bm, fit, [1.65, 1.75])
    assert (fit.betas[:, 3] != 0).all() and (fit.betas[:, [0, 1, 2]] == 0).all()
    vec = np.zeros(10)
    vec[[0, 3]] = [1.0, 1.0]
    fit = smpl_bm.fit_height(np.zeros((1, 10)), [1.9], direction=vec)
    assert fit.reached[0] and abs(fit.betas[0, 0] - fit.betas[0, 3]) < 1e-9


def test_fit_height_out_of_range_is_flagged(smpl_bm):
    fit = smpl_bm.fit_height(np.zeros((2, 10)), [0.5, 3.5])
    assert fit.flags == ['below_range', 'above_range'] and not np.any(fit.reached)
    # closest reachable height = the bound of beta0
    lo, hi = smpl_bm.tpose_height(np.array([[-5.0] + [0] * 9, [5.0] + [0] * 9]))
    np.testing.assert_allclose(fit.height, [lo, hi], atol=1e-6)
    np.testing.assert_allclose(fit.betas[:, 0], [-5, 5], atol=1e-6)


def test_bad_targets_name_the_person(smpl_bm):
    with pytest.raises(ValueError, match=r'person\(s\) \[1\]'):
        smpl_bm.fit_height(np.zeros((2, 10)), [1.7, -1.0])
    with pytest.raises(ValueError, match='2 entries for 3'):
        smpl_bm.fit_height(np.zeros((3, 10)), [1.7, 1.6])
    with pytest.raises(ValueError, match='age_blend'):
        smpl_bm.fit_height(np.zeros((1, 10)), [1.7], direction='age_blend')


def test_smpla_kid_blend(smpla_bm, smpl_files):
    assert smpla_bm.num_betas == 11 and smpla_bm.age_blend_index == 10
    kid = np.load(smpl_files[1])
    h_kid = smpla_bm.tpose_height(np.eye(11)[10:])[0]
    assert abs(h_kid - np.ptp(kid[:, 1])) < 1e-6   # float32 buffers
    # 10-D shapes are accepted (padded with a zero age blend)
    assert smpla_bm(torch.zeros(1, 10)).vertices.shape[1] == smpla_bm.num_vertices
    targets = np.array([1.15, 1.25, 1.38, 1.44, 1.60, 1.85])
    fit = smpla_bm.fit_height(np.zeros((len(targets), 11)), targets)
    assert np.all(fit.reached)
    _check_fit(smpla_bm, fit, targets)
    assert fit.direction == ['age_blend'] * 4 + ['beta0'] * 2
    assert np.all((fit.betas[:4, 10] > 0) & (fit.betas[:4, 10] <= 1)) and np.all(fit.betas[:4, 0] == 0)
    # minors are refit through the age blend whatever the target
    fit = smpla_bm.fit_height(np.zeros((2, 11)), [1.5, 1.9], is_minor=[True, True])
    assert fit.direction == ['age_blend', 'age_blend+beta0'] and fit.flags == ['ok', 'ok']
    assert fit.betas[0, 10] > 0 and fit.betas[1, 10] == 0 and fit.betas[1, 0] > 0
    _check_fit(smpla_bm, fit, [1.5, 1.9])


def test_smpla_infant_chains_to_beta0(smpla_bm, smpl_files):
    fit = smpla_bm.fit_height(np.zeros((2, 11)), [0.80, 0.30])
    assert fit.direction == ['age_blend+beta0'] * 2
    assert fit.flags == ['ok', 'below_range'] and fit.reached.tolist() == [True, False]
    _check_fit(smpla_bm, fit, [0.8, 0.3])
    assert fit.betas[0, 10] == 1.0
    no_chain = SMPLBodyModel(smpl_files[0], kid_template_path=smpl_files[1], chain_beta0=False)
    fit = no_chain.fit_height(np.zeros((1, 11)), [0.80])
    assert fit.flags == ['below_range'] and fit.direction == ['age_blend']


def test_sample_shape(smpla_bm, smpl_bm):
    ages = np.array([1.0, 4.0, 9.0, 14.0, 17.0, 30.0, 60.0, 80.0])
    male = np.array([True, False] * 4)
    b1, fit = smpla_bm.sample_shape(ages, male, np.random.default_rng(0), return_fit=True)
    b2 = smpla_bm.sample_shape(ages, male, np.random.default_rng(0))
    np.testing.assert_array_equal(b1, b2)
    assert b1.shape == (8, 11) and b1.dtype == np.float32 and np.all(fit.reached)
    h = smpla_bm.tpose_height(b1)
    assert np.all(np.diff(h[:3]) > 0)            # 1 y < 4 y < 9 y (|z| <= 3 cannot swap these)
    assert np.all(h[5:] > 1.4)
    # plain SMPL cannot reach a 1-year-old: flagged, closest height
    _, fit = smpl_bm.sample_shape([1.0], [True], np.random.default_rng(0), return_fit=True)
    assert fit.flags == ['below_range']


def test_empty_batch(smpl_bm):
    assert smpl_bm.tpose_height(np.zeros((0, 10))).shape == (0,)
    fit = smpl_bm.fit_height(np.zeros((0, 10)), np.zeros(0))
    assert fit.betas.shape == (0, 10) and fit.flags == []
    assert smpl_bm(torch.zeros(0, 10)).vertices.shape == (0, smpl_bm.num_vertices, 3)


def test_numpy_in_numpy_out_torch_in_torch_out(smpl_bm):
    fit = smpl_bm.fit_height(np.zeros((1, 10), np.float32), np.array([1.6], np.float32))
    assert isinstance(fit.betas, np.ndarray) and fit.betas.dtype == np.float32
    fit = smpl_bm.fit_height(torch.zeros(1, 10, dtype=torch.float64), torch.tensor([1.6]))
    assert torch.is_tensor(fit.betas) and fit.betas.dtype == torch.float64
    assert torch.is_tensor(fit.reached) and fit.reached.dtype == torch.bool
