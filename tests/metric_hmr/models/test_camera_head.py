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


def test_fov_head_init_matches_ma_hmr():
    """MA-HMR models/sat_model.py:141-145: ``fov_head = MLP(768, 768, 1, 4)``, last weight
    ``xavier_uniform_(gain=0.1)`` (bound 0.1 sqrt(6 / 769) = 0.0088; PyTorch's default Linear
    init would reach 1 / sqrt(768) = 0.036), last bias pi/6: the initial FoV is ~30 degrees."""
    torch.manual_seed(0)
    head = FoVHead(in_dim=768, hidden_dim=768, num_layers=4)
    w = head.layers[-1].weight.detach()
    bound = 0.1 * math.sqrt(6.0 / (768 + 1))
    assert float(w.abs().max()) <= bound + 1e-7
    assert abs(float(w.std()) - bound / math.sqrt(3)) < 0.15 * bound / math.sqrt(3)
    with torch.no_grad():
        v = head(torch.randn(8, 768))
    assert float((v - math.pi / 6).abs().max()) < 0.05


def test_mahmr_focal_and_translation_use_the_image_height_not_the_canvas():
    """MA-HMR models/sat_model.py:614-622 and 539-541: v = clamp(fov_head(CLS), min=0.08),
    f = img_h / (2 tan(v / 2)) with img_h the (resized) image height, not the input size S, and
    t_z = 2 f / (s S) uses that predicted focal."""
    import metric_hmr.models  # noqa: F401
    from metric_hmr.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='MAHMR', input_size=112,
        backbone=dict(type='SATEncoder', embed_dim=32, depth=3, num_heads=2, hidden_dim=32, map_layers=1),
        decoder=dict(type='DABDecoder', d_model=32, nhead=2, num_layers=2, dim_feedforward=64, num_queries=4),
        heads=dict(type='SATHeads', num_betas=10),
        camera_head=dict(type='FoVHead', in_dim=32, hidden_dim=32, num_layers=4),
        body_model=dict(type='none'), losses=dict(det=dict(type='FocalDetectionLoss')))).eval()
    img = torch.randn(1, 3, 112, 112)
    with torch.no_grad():
        net = model._network(img, [dict(img_h=70.0)])
    v = net['fov'][0]
    assert abs(float(net['focal'][0]) - 70.0 / (2 * math.tan(float(v) / 2))) < 1e-3
    s = 2 * net['layers'][-1]['cam'][0, :, 2].sigmoid() + 1e-6
    tz = net['layers'][-1]['transl'][0, :, 2]
    assert torch.allclose(tz, 2 * net['focal'][0] / (s * 112), rtol=1e-5)
