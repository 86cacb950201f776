import math

import torch

from metric_hmr.models.camera_head import FoVHead
from metric_hmr.models.geometry import fov_to_focal


def test_fov_head_init_clamp_and_gradients():
    torch.manual_seed(0)
    head = FoVHead(in_dim=16, hidden_dim=16, num_layers=4)
    assert sum(isinstance(m, torch.nn.Linear) for m in head.modules()) == 4
    tok = torch.randn(5, 16)
    v = head(tok)
    assert v.shape == (5,)
    assert torch.allclose(v, torch.full((5,), math.radians(60)), atol=math.radians(1))
    v.sum().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with torch.no_grad():
        head.out.bias.fill_(-1.0)
    assert torch.all(head(tok) >= 0.08)


def test_full_size_fov_head_adds_about_1_8m_parameters():
    head = FoVHead(in_dim=768, hidden_dim=768, num_layers=4)
    n = sum(p.numel() for p in head.parameters())
    assert 1.7e6 < n < 1.9e6  # paper: 221.9M -> 223.7M


def test_focal_from_fov_uses_image_height():
    v = torch.tensor([math.radians(60.0)])
    assert abs(float(fov_to_focal(v, 720.0)) - 720 / (2 * math.tan(math.radians(30)))) < 1e-3
