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
