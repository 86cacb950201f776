import copy
import math

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from metric_hmr.datasets.train import (SMPL24_FLIP_PERM, CanvasHMR, HMRListDataset, KeepOriginalGT, LoadHMRImage,
                                       PackHMRInputs,
                                       RandomFlipHMR, RandomRotateHMR, RandomScaleHMR, flip_sample, flip_smpl_pose,
                                       mahmr_collate, mirror_transl, rotate_sample)


def smpl(bm, betas, pose, transl):
    f = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
    out = bm(betas=f(betas)[:, :10], global_orient=f(pose)[:, :3], body_pose=f(pose)[:, 3:], transl=f(transl))
    return out.joints[:, :24].double().numpy(), out.vertices.double().numpy()


def symmetric_copy(bm):
    """The fixture body made exactly left-right symmetric (regressor, weights; no pose correctives)."""
    sym = copy.deepcopy(bm)
    s = sym.smpl
    vt = s.v_template.double().numpy()
    mirror_v = cKDTree(vt).query(vt * [-1, 1, 1])[1]  # vertex -> its mirror vertex
    assert np.allclose(vt[mirror_v] * [-1, 1, 1], vt, atol=1e-9)
    with torch.no_grad():
        J = s.J_regressor.clone()
        s.J_regressor.copy_(0.5 * (J + J[SMPL24_FLIP_PERM][:, mirror_v]))
        W = s.lbs_weights.clone()
        s.lbs_weights.copy_(0.5 * (W + W[mirror_v][:, SMPL24_FLIP_PERM]))
        s.posedirs.zero_()
        sd = s.shapedirs.clone()  # mirror-symmetric shape directions: average with the mirrored copy
        s.shapedirs.copy_(0.5 * (sd + sd[mirror_v] * torch.tensor([-1.0, 1.0, 1.0])[:, None]))
    return sym, mirror_v


def test_flip_pose_twice_is_identity():
    pose = np.random.default_rng(0).normal(size=(5, 72))
    np.testing.assert_allclose(flip_smpl_pose(flip_smpl_pose(pose)), pose, atol=1e-12)


def test_flipped_pose_of_symmetric_body_mirrors_the_mesh(body_model):
    bm, mirror_v = symmetric_copy(body_model)
    rng = np.random.default_rng(1)
    pose = rng.normal(scale=0.4, size=(3, 72))
    transl = rng.normal(size=(3, 3))
    betas = np.zeros((3, 10))
    betas[:, 0] = [0.5, -1.0, 1.5]
    J, V = smpl(bm, betas, pose, transl)
    j0 = smpl(bm, betas, np.zeros((3, 72)), np.zeros((3, 3)))[0][:, 0]
    Jf, Vf = smpl(bm, betas, flip_smpl_pose(pose), mirror_transl(transl, j0))
    np.testing.assert_allclose(Jf, J[:, SMPL24_FLIP_PERM] * [-1, 1, 1], atol=1e-5)
    np.testing.assert_allclose(Vf, V[:, mirror_v] * [-1, 1, 1], atol=1e-5)


def _check_consistent(bm, sample, atol_px=0.05, atol_m=2e-4):
    """kpts2d = projection of joints3d; SMPL(params) = joints3d (for has_3d persons)."""
    gt = sample['gt']
    f, c = np.asarray(sample['focal']), np.asarray(sample['princpt'])
    proj = gt['joints3d'][..., :2] / gt['joints3d'][..., 2:] * f + c
    np.testing.assert_allclose(proj, gt['kpts2d'][..., :2], atol=atol_px)
    J, _ = smpl(bm, gt['betas'], np.concatenate([gt['global_orient'], gt['body_pose']], 1), gt['transl'])
    np.testing.assert_allclose(J, gt['joints3d'], atol=atol_m)


def test_flip_sample_is_consistent_and_an_involution(body_model, scene):
    s = scene(0)
    orig = copy.deepcopy(s)
    f = flip_sample(copy.deepcopy(s))
    # joints3d mirrored with left/right swapped
    np.testing.assert_allclose(f['gt']['joints3d'], orig['gt']['joints3d'][:, SMPL24_FLIP_PERM] * [-1, 1, 1])
    np.testing.assert_array_equal(f['img'], orig['img'][:, ::-1])
    # the fixture body is not exactly symmetric (2 mm), hence the tolerance of the SMPL check
    _check_consistent(body_model, f, atol_m=5e-3)
    ff = flip_sample(f)
    np.testing.assert_array_equal(ff['img'], orig['img'])
    for k in ('boxes', 'kpts2d', 'joints3d', 'global_orient', 'body_pose', 'transl'):
        np.testing.assert_allclose(ff['gt'][k], orig['gt'][k], atol=1e-9, err_msg=k)


def test_rotation_scale_and_canvas_keep_2d_3d_consistent(body_model, scene):
    s = scene(3)
    _check_consistent(body_model, s)
    r = rotate_sample(copy.deepcopy(s), math.radians(25))
    _check_consistent(body_model, r, atol_px=1e-6)
    z = RandomScaleHMR((1.3, 1.3), seed=0)(r)
    _check_consistent(body_model, z, atol_px=1e-6)
    c = CanvasHMR(112)(z)
    assert c['img'].shape == (112, 112, 3)
    np.testing.assert_allclose(c['princpt'], [56, 56])
    gt = c['gt']
    vis = gt['kpts2d'][..., 2] > 0
    proj = gt['joints3d'][..., :2] / gt['joints3d'][..., 2:] * c['focal'] + c['princpt']
    np.testing.assert_allclose(proj[vis], gt['kpts2d'][..., :2][vis], atol=1e-6)
    assert (gt['boxes'] >= 0).all() and (gt['boxes'] <= 112).all()


def test_canvas_keeps_whole_image_and_sets_visible_height(scene):
    s = scene(0, img_hw=(96, 128))
    c = CanvasHMR(112)(LoadHMRImage()(s))
    # landscape image with a centred principal point: r = 112 / 128, visible height 84 px
    assert c['img_h'] == pytest.approx(84, abs=1)
    packed = PackHMRInputs()(c)
    ds = packed['data_samples']
    # FoV of the canvas image equals the original vertical FoV
    assert ds['fov_v'] == pytest.approx(s['fov_v'], abs=0.02)
    assert ds['scale'] == pytest.approx(112 / 128) and ds['gt']['boxes'].shape[1] == 4
    assert packed['inputs'].shape == (3, 112, 112) and packed['inputs'].dtype == torch.uint8


def test_zoom_out_of_view_persons_are_removed_and_counted(scene):
    s = scene(5)
    n = len(s['gt']['boxes'])
    c = CanvasHMR(112)(RandomScaleHMR((6.0, 6.0), seed=0)(LoadHMRImage()(s)))
    assert c['num_out_of_view'] + len(c['gt']['boxes']) == n
    assert all(len(v) == len(c['gt']['boxes']) for v in c['gt'].values())


def test_random_transforms_are_seeded(scene):
    outs = []
    for _ in range(2):
        t = [RandomFlipHMR(0.5, seed=3), RandomRotateHMR(30, 0.5, seed=3), RandomScaleHMR(seed=3)]
        s = scene(0)
        for tr in t:
            s = tr(s)
        outs.append(s['gt']['kpts2d'])
    np.testing.assert_array_equal(outs[0], outs[1])


def test_collate_variable_person_counts(scene):
    ds = HMRListDataset([scene(0, num_persons=(1, 1)), scene(1, num_persons=(4, 4))],
                        pipeline=[LoadHMRImage(), CanvasHMR(112), PackHMRInputs()])
    batch = mahmr_collate([ds[0], ds[1]])
    assert batch['inputs'].shape == (2, 3, 112, 112)
    assert [len(s['gt']['boxes']) for s in batch['data_samples']] == [1, 4]
    other = HMRListDataset([scene(2)], pipeline=[LoadHMRImage(), CanvasHMR(56), PackHMRInputs()])
    with pytest.raises(ValueError, match='different sizes'):
        mahmr_collate([ds[0], other[0]])


def test_original_gt_is_kept_for_evaluation(scene):
    s = scene(0)
    boxes = s['gt']['boxes'].copy()
    out = PackHMRInputs(keep_ori_gt=True)(CanvasHMR(112)(KeepOriginalGT()(LoadHMRImage()(s))))
    np.testing.assert_array_equal(out['data_samples']['gt_ori']['boxes'], boxes)
    assert not np.allclose(out['data_samples']['gt']['boxes'].numpy(), boxes)
