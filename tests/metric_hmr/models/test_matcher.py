import torch

from metric_hmr.models.matcher import HungarianMatcher


def test_matcher_recovers_known_assignment():
    gt = torch.tensor([[0.2, 0.2, 0.1, 0.2], [0.7, 0.6, 0.2, 0.3], [0.5, 0.8, 0.1, 0.1]])
    boxes = torch.rand(1, 6, 4) * 0.1 + 0.45
    perm = [4, 0, 2]  # gt j is predicted (nearly exactly) by query perm[j]
    for j, q in enumerate(perm):
        boxes[0, q] = gt[j] + 0.005
    logits = torch.zeros(1, 6)
    (qi, gi), = HungarianMatcher()(logits, boxes, [gt])
    assert gi.tolist() == [0, 1, 2] and qi.tolist() == perm


def test_matcher_prefers_confident_queries_and_handles_empty_images():
    gt = torch.tensor([[0.5, 0.5, 0.2, 0.2]])
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2]]])
    logits = torch.tensor([[-5.0, 5.0]])
    (qi, gi), = HungarianMatcher()(logits, boxes, [gt])
    assert qi.tolist() == [1]
    out = HungarianMatcher()(logits, boxes, [torch.zeros(0, 4)])
    assert out[0][0].numel() == 0 and out[0][1].numel() == 0


def test_matcher_keypoint_cost_decides_between_equal_boxes():
    """SAT-HMR models/matcher.py: cost_kpts (20) x mean L1 of visible 2D joints / input size."""
    gt = torch.tensor([[0.5, 0.5, 0.2, 0.2]])
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2]]])
    logits = torch.zeros(1, 2)
    gt_kp = torch.zeros(1, 24, 3)
    gt_kp[0, :, :2] = 50.0
    gt_kp[0, :, 2] = 1.0
    pred_kp = torch.full((1, 2, 24, 2), 50.0)
    pred_kp[0, 0] += 30.0  # query 0 is off by 30 px
    (qi, _), = HungarianMatcher()(logits, boxes, [gt], pred_kp, [gt_kp], norm_scale=100.0)
    assert qi.tolist() == [1]
    m = HungarianMatcher()
    c = m.cost_matrix(logits[0], boxes[0], gt, pred_kp[0], gt_kp, 100.0)
    c0 = HungarianMatcher(cost_kpts=0).cost_matrix(logits[0], boxes[0], gt)
    torch.testing.assert_close(c - c0, torch.tensor([[20 * 0.3], [0.0]]))
    gt_kp[0, :, 2] = 0  # invisible joints cost nothing
    torch.testing.assert_close(m.cost_matrix(logits[0], boxes[0], gt, pred_kp[0], gt_kp, 100.0), c0)
