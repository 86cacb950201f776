import math

import torch

from metric_hmr.geometry import vfov_to_focal
from metric_hmr.models.camera_head import FoVHead


def test_fov_head_is_a_4_layer_mlp_with_bias_pi_over_6_and_clamp():
    torch.manual_seed(0)
    head = FoVHead(in_dim=16, hidden_dim=16, num_layers=4)
    assert sum(isinstance(m, torch.nn.Linear) for m in head.modules()) == 4
    assert abs(float(head.layers[-1].bias.detach()) - math.pi / 6) < 1e-7
    tok = torch.randn(5, 16)
    v = head(tok)
    assert v.shape == (5,)
    v.sum().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with torch.no_grad():
        head.layers[-1].bias.fill_(-10.0)
    assert torch.all(head(tok) == 0.08)  # FoV clamped at 0.08 rad


def test_full_size_fov_head_has_1_772_545_parameters():
    head = FoVHead(in_dim=768, hidden_dim=768, num_layers=4)
    assert sum(p.numel() for p in head.parameters()) == 1_772_545  # paper: 221.9M -> 223.7M


def test_focal_from_fov_uses_image_height():
    v = torch.tensor([math.radians(60.0)])
    assert abs(float(vfov_to_focal(v, 720.0)) - 720 / (2 * math.tan(math.radians(30)))) < 1e-3
