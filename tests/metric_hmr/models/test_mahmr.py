import copy
import math

import numpy as np
import torch



def _batch(toy_batch):
    return copy.deepcopy(toy_batch)


def test_loss_terms_are_finite_and_reach_every_parameter(tiny_cfg, toy_batch, build_model):
    model = build_model(tiny_cfg).train()
    data = model.data_preprocessor(_batch(toy_batch), True)
    losses = model(**data, mode='loss')
    for key in ('loss_map', 'loss_fov', 'loss_det', 'loss_box', 'loss_pose', 'loss_shape', 'loss_j3d',
                'loss_j2d', 'loss_depth', 'loss_rm', 'd0.loss_box'):
        assert key in losses, key
        assert torch.isfinite(losses[key]), key
    total = sum(losses.values())
    total.backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert no_grad == []


def test_batch_without_any_person_gives_finite_losses(make_cfg, toy_batch, build_model):
    # e.g. every person cropped out of view by augmentation in a small batch: the SMPL
    # skinning of zero matched persons must not crash the step (with and without denoising)
    for use_dn in (False, True):
        model = build_model(make_cfg(use_dn=use_dn)).train()
        data = _batch(toy_batch)
        for s in data['data_samples']:
            s['gt'] = {k: v[:0] for k, v in s['gt'].items()}
        losses = model(**model.data_preprocessor(data, True), mode='loss')
        assert all(torch.isfinite(v) for v in losses.values())
        for key in ('loss_pose', 'loss_j3d', 'loss_j2d', 'loss_depth', 'loss_rm'):
            assert float(losses[key]) == 0, key
        sum(losses.values()).backward()


def test_a_kids_age_blend_is_never_cut_by_a_10_beta_model(tiny_cfg, toy_batch, build_model):
    """Targets hold 11 betas; a 10-beta model may only drop an all-zero age blend (the blend
    was silently cut before, training kids as adult-template bodies)."""
    import pytest
    model = build_model(tiny_cfg).train()
    assert model.heads.num_betas == 10
    data = _batch(toy_batch)
    assert data['data_samples'][0]['gt']['betas'].shape[-1] == 11
    model(**model.data_preprocessor(copy.deepcopy(data), True), mode='loss')   # zero blends: fine
    data['data_samples'][0]['gt']['betas'][1, 10] = 0.6
    with pytest.raises(ValueError, match='person 1.*age blend'):
        model(**model.data_preprocessor(data, True), mode='loss')


def test_targets_without_smpl_get_only_2d_box_depth_supervision(tiny_cfg, toy_batch, build_model):
    model = build_model(tiny_cfg).train()
    data = _batch(toy_batch)
    for s in data['data_samples']:
        s['gt']['has_smpl'][:] = False
        s['gt']['has_3d'][:] = False
        s['gt']['body_pose'][:] = float('nan')  # must never be read
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert float(losses['loss_pose']) == 0 and float(losses['loss_shape']) == 0 and float(losses['loss_j3d']) == 0
    assert float(losses['loss_j2d']) > 0 and float(losses['loss_depth']) > 0 and float(losses['loss_box']) > 0
    assert all(torch.isfinite(v) for v in losses.values())
    # unknown depth (CameraHMR pGT): no depth / relative metric terms, no NaN
    for s in data['data_samples']:
        s['gt']['transl'][:] = float('nan')
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert float(losses['loss_depth']) == 0 and float(losses['loss_rm']) == 0
    assert all(torch.isfinite(v) for v in losses.values())


def test_2d_loss_uses_the_visibility_mask(tiny_cfg, toy_batch, build_model):
    model = build_model(tiny_cfg).train()
    data = _batch(toy_batch)
    for s in data['data_samples']:
        s['gt']['kpts2d'][:, :6, 2] = 0  # hide six joints of every person
    torch.manual_seed(0)
    base = float(model(**model.data_preprocessor(copy.deepcopy(data), True), mode='loss')['loss_j2d'])
    for s in data['data_samples']:
        kp = s['gt']['kpts2d']
        kp[..., :2] = torch.where(kp[..., 2:] > 0, kp[..., :2], torch.full_like(kp[..., :2], 1e4))
    torch.manual_seed(0)
    moved = float(model(**model.data_preprocessor(data, True), mode='loss')['loss_j2d'])
    assert abs(base - moved) < 1e-5  # invisible joints never enter the loss


def test_stage1_without_camera_branch_uses_gt_focal_and_denoising(make_cfg, toy_batch, build_model):
    cfg = make_cfg(camera=False, use_dn=True)
    cfg['losses'].update(fov=None, rm=None)
    model = build_model(cfg).train()
    data = model.data_preprocessor(_batch(toy_batch), True)
    losses = model(**data, mode='loss')
    assert 'loss_fov' not in losses and 'loss_rm' not in losses
    assert 'dn.loss_box' in losses and 'dn.loss_det' in losses
    sum(losses.values()).backward()
    focal = model._focal(None, data['data_samples'], 2, 'cpu')
    assert torch.allclose(focal, torch.stack([s['focal'][1] for s in data['data_samples']]))
    model.eval()
    f_test = model._focal(None, data['data_samples'], 2, 'cpu')
    # SAT-HMR's fixed camera: FoV pi/3 over the input size S
    assert abs(float(f_test[0]) - model.input_size / (2 * math.tan(math.pi / 6))) < 1e-3


def test_predict_returns_prediction_dicts_in_original_pixels(tiny_cfg, toy_batch, build_model):
    tiny_cfg['score_thresh'] = 0.0
    tiny_cfg['predict_vertices'] = True
    model = build_model(tiny_cfg).eval()
    data = _batch(toy_batch)
    data['data_samples'][0]['gt_ori'] = dict(boxes=torch.ones(1, 4))
    out = model.test_step(data)
    assert len(out) == 2
    np.testing.assert_array_equal(out[0]['gt']['boxes'], np.ones((1, 4)))  # ground truth passed through
    assert 'gt' not in out[1]
    s = data['data_samples'][0]
    pred = out[0]['pred']
    n = len(pred['scores'])
    assert n == 8  # every query with threshold 0
    assert pred['global_orient'].shape == (n, 3) and pred['body_pose'].shape == (n, 69)
    assert pred['betas'].shape == (n, 10) and pred['transl'].shape == (n, 3)
    assert pred['joints3d'].shape == (n, 24, 3) and pred['kpts2d'].shape == (n, 24, 2)
    assert pred['vertices'].shape[0] == n and pred['boxes'].shape == (n, 4)
    assert np.all(np.diff(pred['scores']) <= 0)
    # the camera: focal in original pixels, FoV consistent with the original image height
    H = out[0]['ori_shape'][0]
    assert out[0]['ori_shape'] == (96, 128)
    assert abs(2 * math.atan(H / (2 * pred['focal'][1])) - pred['fov']) < 1e-4
    np.testing.assert_allclose(pred['princpt'], s['ori_princpt'].numpy(), atol=1e-4)
    # projected joints with the original camera equal the returned keypoints
    j = pred['joints3d']
    proj = j[..., :2] / j[..., 2:] * pred['focal'] + pred['princpt']
    np.testing.assert_allclose(proj, pred['kpts2d'], rtol=1e-3, atol=1e-2)
    model.score_thresh = 1.1
    assert len(model.test_step(_batch(toy_batch))[0]['pred']['scores']) == 0


def test_full_size_config_instantiates_with_the_sat_hmr_parameter_count(repo_root, build_model):
    """Stage 3 = SAT-HMR ViT-B (221,949,700 parameters, measured by the fixture from SAT-HMR's
    module definitions) - dn_enc (768 x 82 + 768 = 63,744; no denoising in stage 3)
    + FoV head MLP(768, 768, 1, 4) (1,772,545) = 223,658,501, with SAT-HMR's 10-beta shape head.
    The training configs' SMPL-A head (11 betas) adds one output row per decoder layer."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(repo_root / 'configs' / 'mahmr_stage3.py'))
    assert cfg.model.heads.num_betas == 11
    smpla = sum(p.numel() for p in build_model(cfg.model.to_dict()).parameters())
    cfg.model.heads.num_betas = 10
    model = build_model(cfg.model.to_dict())  # the body model is built lazily: no SMPL files needed
    n = sum(p.numel() for p in model.parameters())
    cam = sum(p.numel() for p in model.camera_head.parameters())
    assert cam == 1_772_545
    assert n == 223_658_501
    assert n - cam + 768 * 82 + 768 == 221_949_700
    assert smpla == n + 6 * (768 + 1)
    assert model.backbone.grid == [92, 46, 23] and model.decoder.num_queries == 50 and len(model.decoder.layers) == 6
    assert model.losses['j2d'].loss_weight == 40.0 and model.losses['rm'].tau == 1.0
    # checkpoints never carry the body model (licensed SMPL arrays) nor rebuilt buffers
    assert not any(k.startswith('_body_model') or 'smpl' in k or 'z_order' in k for k in model.state_dict())
