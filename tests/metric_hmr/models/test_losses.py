import pytest
import math

import torch

from metric_hmr.models.losses import (BoxL1GIoULoss, FocalDetectionLoss, FoVLoss, InverseDepthLoss,
                                      Joints2DLoss, Joints3DLoss, RelativeMetricLoss, ScaleMapLoss,
                                      fov_loss, relative_metric_loss)


def test_fov_loss_hand_values_and_batch_mean():
    pred = torch.tensor([1.2, 0.8, 1.0])
    gt = torch.tensor([1.0, 1.0, 1.0])
    # over-estimate 0.2 -> 3 * 0.04; under-estimate 0.2 -> 0.04; exact -> 0; mean over 3 images
    expected = (3 * 0.04 + 0.04 + 0.0) / 3
    assert abs(float(fov_loss(pred, gt)) - expected) < 1e-6
    assert abs(float(FoVLoss(loss_weight=0.5)(pred, gt)) - 0.5 * expected) < 1e-6
    # averaged, not summed: doubling the batch with the same images keeps the value
    assert abs(float(fov_loss(pred.repeat(2), gt.repeat(2))) - expected) < 1e-6
    # unknown FoV is ignored
    assert abs(float(fov_loss(torch.tensor([1.2, 5.0]), torch.tensor([1.0, float('nan')]))) - 0.12) < 1e-6


def test_fov_loss_gradient_is_asymmetric():
    p = torch.tensor([1.1, 0.9], requires_grad=True)
    fov_loss(p, torch.tensor([1.0, 1.0])).backward()
    # d/dp of mean: over: 3*2*0.1/2 = 0.3 ; under: -2*0.1/2 = -0.1
    assert torch.allclose(p.grad, torch.tensor([0.3, -0.1]), atol=1e-6)


def test_relative_metric_loss_hand_values():
    # image 1: depths 5.0, 5.5, 9.0 -> only pair (0, 1) is closer than 1 m
    pred1, gt1 = torch.tensor([4.0, 5.0, 7.0]), torch.tensor([5.0, 5.5, 9.0])
    # rd_pred = -1.0, rd_gt = -0.5 -> log(1 + 0.5)
    # image 2: pairs (0,1): gt 3.0/3.8 rd_gt -0.8, pred 3.0/3.2 rd_pred -0.2 -> log(1.6)
    pred2, gt2 = torch.tensor([3.0, 3.2]), torch.tensor([3.0, 3.8])
    expected = (math.log(1.5) + math.log(1.6)) / 2
    got = relative_metric_loss([pred1, pred2], [gt1, gt2], tau=1.0)
    assert abs(float(got) - expected) < 1e-6
    assert abs(float(RelativeMetricLoss(0.5)([pred1, pred2], [gt1, gt2])) - 0.5 * expected) < 1e-6


def test_relative_metric_loss_zero_without_pairs_and_sign_matters():
    p = torch.tensor([4.0], requires_grad=True)
    z = relative_metric_loss([p, torch.tensor([1.0, 5.0])], [torch.tensor([4.0]), torch.tensor([1.0, 5.0])])
    assert float(z) == 0.0
    # swapped order of two persons costs |(-0.4) - 0.4| = 0.8
    got = relative_metric_loss([torch.tensor([5.2, 4.8])], [torch.tensor([4.8, 5.2])])
    assert abs(float(got) - math.log(1.8)) < 1e-6


def test_other_losses_values_and_grads():
    pred = torch.tensor([[0.5, 0.5, 0.2, 0.2]], requires_grad=True)
    gt = torch.tensor([[0.5, 0.5, 0.2, 0.2]])
    assert float(BoxL1GIoULoss(2.0)(pred, gt)) < 1e-6
    l = BoxL1GIoULoss(1.0)(pred + torch.tensor([0.1, 0, 0, 0]), gt)
    l.backward()
    assert pred.grad.abs().sum() > 0
    # focal detection: perfect confident prediction ~ 0, wrong confident prediction large
    logits = torch.tensor([[10.0, -10.0]])
    labels = torch.tensor([[1.0, 0.0]])
    assert float(FocalDetectionLoss()(logits, labels, 1)) < 1e-6
    assert float(FocalDetectionLoss()(-logits, labels, 1)) > 1.0
    # inverse depth: |1/4 - 1/5| = 0.05
    assert abs(float(InverseDepthLoss(1.0)(torch.tensor([4.0]), torch.tensor([5.0]))) - 0.05) < 1e-6
    # 3D joints are root aligned: a global offset costs nothing
    j = torch.randn(2, 24, 3)
    assert float(Joints3DLoss(1.0)(j + 1.0, j)) < 1e-6
    # 2D joints only over visible joints
    p2, g2 = torch.zeros(1, 24, 2), torch.zeros(1, 24, 2)
    g2[0, 1] = 10.0
    vis = torch.ones(1, 24)
    vis[0, 1] = 0
    assert float(Joints2DLoss(1.0, norm_scale=100.0)(p2, g2, vis)) == 0.0
    vis[0, 1] = 1
    # SAT-HMR criterion.loss_L1 ('j2ds'): mean over joints x uv (masked ones count as 0)
    assert abs(float(Joints2DLoss(1.0, norm_scale=100.0)(p2, g2, vis)) - 0.2 / 48) < 1e-6


def test_sat_hmr_normalisations_per_person_sum_over_number_of_persons():
    """Mirrors SAT-HMR models/criterion.py: loss_L1 = mean over a person's elements, summed
    over persons / num_instances; betas weighted per beta; confs = focal mean over queries."""
    from metric_hmr.models import L1ParamLoss
    w = [2.56, 1.28, 0.64, 0.64, 0.32, 0.32, 0.32, 0.32, 0.32, 0.32]
    pred, gt = torch.zeros(2, 10), torch.zeros(2, 10)
    pred[0, 0] = 1.0  # person 0: beta 0 off by 1
    assert abs(float(L1ParamLoss(1.0, element_weight=w)(pred, gt)) - 2.56 / 10 / 2) < 1e-6
    assert abs(float(L1ParamLoss(1.0, element_weight=w)(pred, gt, num=4)) - 2.56 / 10 / 4) < 1e-6
    with pytest.raises(ValueError, match='element_weight'):
        L1ParamLoss(1.0, element_weight=w[:5])(pred, gt)
    j = torch.zeros(1, 24, 3)
    j2 = j.clone()
    j2[0, 5, 0] = 0.72
    assert abs(float(Joints3DLoss(1.0)(j2, j)) - 0.72 / 72) < 1e-6
    # detection: mean over all queries, not divided by the number of persons
    logits, labels = torch.zeros(2, 4), torch.zeros(2, 4)
    one = float(FocalDetectionLoss()(logits, labels, 1))
    assert abs(float(FocalDetectionLoss()(logits, labels, 7)) - one) < 1e-7


def test_scale_map_loss():
    gt = torch.zeros(1, 4, 4, 2)
    gt[0, 1, 1] = torch.tensor([1.0, 0.3])
    pred = torch.zeros(1, 4, 4, 2, requires_grad=True)
    loss = ScaleMapLoss(1.0)(pred, gt)
    loss.backward()
    assert pred.grad[0, 1, 1, 1] < 0  # pushes the scale up towards 0.3
    assert float(loss) > 0.3 - 1e-6
