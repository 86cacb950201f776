"""AnnyBodyModel: phenotype shape, rest-mesh height, height refit at ages 1-80, poses."""
import numpy as np
import pytest
import torch

pytest.importorskip('anny')

from metric_hmr.body_models import (ANNY_PHENOTYPES, NAMED_POSES,  # noqa: E402
                                    BodyOutput, cdc_height_quantile)
from metric_hmr.registry import BODY_MODELS  # noqa: E402

AGES = np.array([1, 3, 5, 10, 15, 20, 40, 60, 80], dtype=np.float64)


@pytest.fixture(scope='module')
def anny_bm():
    return BODY_MODELS.build(dict(type='AnnyBodyModel'))


def test_interface(anny_bm):
    assert isinstance(anny_bm, torch.nn.Module)
    assert anny_bm.num_betas == len(ANNY_PHENOTYPES) == 6
    assert anny_bm.num_pose_params == 3 * (len(anny_bm.bone_labels) - 1)
    shape = np.full((2, 6), 0.5)
    out = anny_bm(shape)
    assert isinstance(out, BodyOutput)
    assert out.vertices.shape == (2, anny_bm.num_vertices, 3)
    assert out.joints.shape == (2, anny_bm.num_joints, 3)
    assert anny_bm.faces.shape[1] == 3 and anny_bm.faces.max() < anny_bm.num_vertices


def test_rest_height_matches_anny_forward(anny_bm):
    shape = torch.tensor([[0.2, 0.3, 0.5, 0.6, 0.7, 0.4], [0.9, 0.8, 0.1, 0.2, 0.3, 0.5]],
                         dtype=torch.float64)
    rest = anny_bm.anny(phenotype_kwargs=shape)['rest_vertices']
    ref = rest[..., 2].amax(1) - rest[..., 2].amin(1)
    torch.testing.assert_close(anny_bm.tpose_height(shape), ref, atol=1e-9, rtol=0)
    # the SMPL-frame output is y up: the vertical extent of the reference pose is close
    v = anny_bm(shape).vertices
    assert torch.allclose(v[..., 1].amax(1) - v[..., 1].amin(1), ref, atol=0.03)


def test_fit_height_ages_1_to_80_within_1mm(anny_bm):
    rng = np.random.default_rng(0)
    male = np.array([True, False] * 5)[:len(AGES)]
    shape = anny_bm.sample_shape(AGES, male, rng)
    # targets: CDC median (< 20 y) and the paper's adult means, then +-1.5 sd-ish offsets
    base = np.where(AGES < 20, cdc_height_quantile(np.minimum(AGES, 19.99), male, 0.0),
                    np.where(male, 1.784, 1.647))
    targets = np.concatenate([base, base * 0.93, base * 1.07])
    shapes = np.concatenate([shape] * 3)
    rng_h = anny_bm.height_range(shapes)
    assert np.all((targets > rng_h[:, 0]) & (targets < rng_h[:, 1])), 'targets must be reachable'
    fit = anny_bm.fit_height(shapes, targets)
    assert fit.flags == ['ok'] * len(targets) and np.all(fit.reached)
    h = anny_bm.tpose_height(np.asarray(fit.betas, np.float64))
    assert np.abs(h - targets).max() <= 1e-3
    # only the height phenotype moved, and stayed in [0, 1]
    moved = np.abs(fit.betas - shapes) > 0
    assert not moved[:, [0, 1, 2, 3, 5]].any()
    assert np.all((fit.betas[:, 4] >= 0) & (fit.betas[:, 4] <= 1))


def test_out_of_range_closest_and_flagged(anny_bm):
    shape = anny_bm.sample_shape([40.0, 3.0], [True, False], np.random.default_rng(1))
    lo_hi = anny_bm.height_range(shape)
    fit = anny_bm.fit_height(shape, [3.0, 0.3])
    assert fit.flags == ['above_range', 'below_range'] and not np.any(fit.reached)
    np.testing.assert_allclose(fit.height, [lo_hi[0, 1], lo_hi[1, 0]], atol=1e-6)
    # 'auto' moves the age of the 3-year-old as well to reach a 1.0 m ... 0.6 m target
    low = lo_hi[1, 0] - 0.1
    fit = anny_bm.fit_height(shape[1:], [low], direction='auto')
    assert fit.direction == ['height+age'] and fit.reached[0]
    assert abs(anny_bm.tpose_height(np.asarray(fit.betas, np.float64))[0] - low) < 1e-3
    with pytest.raises(ValueError, match=r'person\(s\) \[0\]'):
        anny_bm.fit_height(shape[:1], [float('nan')])


def test_sample_shape_deterministic_and_age_ordered(anny_bm):
    a = anny_bm.sample_shape(AGES, np.ones(len(AGES), bool), np.random.default_rng(5))
    b = anny_bm.sample_shape(AGES, np.ones(len(AGES), bool), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == (len(AGES), 6)
    assert np.all((a >= 0) & (a <= 1)) and np.all(a[:, 0] <= 0.5)     # male: gender <= 0.5
    np.testing.assert_allclose(anny_bm.age_to_years(a[:, 1]), AGES, atol=0.05)
    # mean heights over many draws grow with age up to adulthood
    ages = np.repeat([1.0, 5.0, 10.0, 30.0], 50)
    h = anny_bm.tpose_height(anny_bm.sample_shape(ages, np.zeros(len(ages), bool),
                                                  np.random.default_rng(0)).astype(np.float64))
    means = h.reshape(4, 50).mean(1)
    assert np.all(np.diff(means) > 0) and 1.45 < means[-1] < 1.85


def test_pose_and_placement(anny_bm):
    shape = np.full((1, 6), 0.5)
    rest = anny_bm(shape)
    for name in NAMED_POSES:
        out = anny_bm(shape, body_pose=anny_bm.named_pose(name))
        assert torch.isfinite(out.vertices).all()
    sit = anny_bm(shape, body_pose=anny_bm.named_pose('sit'))
    # sitting lowers the head; the knees go forward (+z in the SMPL frame)
    assert sit.vertices[0, :, 1].max() - sit.vertices[0, :, 1].min() < \
        0.8 * (rest.vertices[0, :, 1].max() - rest.vertices[0, :, 1].min())
    assert sit.vertices[0, :, 2].max() > rest.vertices[0, :, 2].max() + 0.2
    moved = anny_bm(shape, global_orient=[[0.0, np.pi, 0.0]], transl=[[1.0, 2.0, 3.0]])
    expect = rest.vertices * torch.tensor([-1.0, 1.0, -1.0], dtype=torch.float64) \
        + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(moved.vertices, expect, atol=1e-9, rtol=0)
    with pytest.raises(ValueError, match='body_pose'):
        anny_bm(shape, body_pose=np.zeros((1, 5)))
    with pytest.raises(ValueError, match='unknown pose'):
        anny_bm.named_pose('dance')


def test_empty_batch(anny_bm):
    assert anny_bm.tpose_height(np.zeros((0, 6))).shape == (0,)
    assert anny_bm.fit_height(np.zeros((0, 6)), []).flags == []
    assert anny_bm.sample_shape([], [], np.random.default_rng(0)).shape == (0, 6)
    assert anny_bm(np.zeros((0, 6))).vertices.shape == (0, anny_bm.num_vertices, 3)


def test_pose_from_smpl24(anny_bm):
    from metric_hmr.body_models.anny_model import ANNY_SMPL24_BONES
    from metric_hmr.testing import SMPL_JOINT_NAMES
    assert tuple(n for n, _ in ANNY_SMPL24_BONES) == tuple(SMPL_JOINT_NAMES)
    idx = anny_bm.smpl24_joint_index
    assert [anny_bm.bone_labels[i] for i in idx] == [b for _, b in ANNY_SMPL24_BONES]
    J = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}
    shape = np.full((1, 6), 0.5)
    rest = anny_bm(shape)
    # zero = Anny's reference pose
    go, bp = anny_bm.pose_from_smpl24(np.zeros((1, 24, 3)))
    assert go.shape == (1, 3) and bp.shape == (1, anny_bm.num_pose_params)
    assert not go.any() and not bp.any()
    j = rest.joints[0, idx]
    # SMPL frame: y up, the person's left = +x
    assert j[J['neck'], 1] > j[J['pelvis'], 1] > j[J['left_knee'], 1] > j[J['left_ankle'], 1]
    assert j[J['left_hip'], 0] > 0 > j[J['right_hip'], 0]

    def posed(joint, rotvec):
        p = np.zeros((1, 24, 3))
        p[0, J[joint]] = rotvec
        return anny_bm(shape, *anny_bm.pose_from_smpl24(p))

    # +x on the knee (SMPL convention) flexes it: the ankle goes back (-z), the other stays
    knee = posed('left_knee', (1.0, 0.0, 0.0)).joints[0, idx]
    assert knee[J['left_ankle'], 2] < j[J['left_ankle'], 2] - 0.2
    torch.testing.assert_close(knee[J['right_ankle']], j[J['right_ankle']], atol=1e-9, rtol=0)
    # an SMPL-frame y rotation (head turn) is a native z rotation of Anny's 'head' bone
    turned = posed('head', (0.0, 0.5, 0.0))
    rot = torch.zeros(1, anny_bm.num_joints, 3, dtype=torch.float64)
    rot[0, anny_bm.bone_labels.index('head'), 2] = 0.5
    torch.testing.assert_close(turned.vertices, anny_bm(shape, body_pose=rot[:, 1:]).vertices,
                               atol=1e-9, rtol=0)
    # joint 0 = global orientation about the root bone head (at the origin)
    R = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(posed('pelvis', (0.0, np.pi / 2, 0.0)).vertices,
                               rest.vertices @ R.T, atol=1e-9, rtol=0)
    go, bp = anny_bm.pose_from_smpl24(np.zeros((0, 24, 3)))
    assert go.shape == (0, 3) and bp.shape == (0, anny_bm.num_pose_params)
    with pytest.raises(ValueError, match='pose24'):
        anny_bm.pose_from_smpl24(np.zeros((2, 23, 3)))
