import torch

import metric_hmr.models  # noqa: F401
from metric_hmr.models.decoder import HumanQueryDecoder


def make(use_dn=False):
    torch.manual_seed(0)
    return HumanQueryDecoder(memory_dim=24, dim=32, num_layers=3, num_heads=2, ffn_dim=64, num_queries=6,
                             use_dn=use_dn, dn_groups=2, heads=dict(type='HumanParamHeads', num_betas=11))


def inputs(B=2, L=7):
    mem = torch.randn(B, L, 24)
    pad = torch.zeros(B, L, dtype=torch.bool)
    pad[1, 4:] = True
    boxes = torch.rand(B, L, 4) * 0.5 + 0.25
    return mem, pad, boxes


def test_shapes_refinement_and_gradients():
    dec = make().train()
    mem, pad, boxes = inputs()
    mem.requires_grad_(True)
    out = dec(mem, pad, boxes)
    assert len(out.layers) == 3 and out.dn_layers is None
    last = out.layers[-1]
    assert last['boxes'].shape == (2, 6, 4) and last['pose6d'].shape == (2, 6, 24, 6)
    assert last['betas'].shape == (2, 6, 11) and last['cam_scale'].shape == (2, 6)
    assert last['root_uv'].shape == (2, 6, 2) and last['logits'].shape == (2, 6)
    assert (last['boxes'] > 0).all() and (last['boxes'] < 1).all() and (last['cam_scale'] > 0).all()
    # boxes are refined layer by layer
    assert not torch.allclose(out.layers[0]['boxes'], out.layers[-1]['boxes'])
    loss = sum(v.float().sum() for o in out.layers for v in o.values())
    loss.backward()
    assert mem.grad.abs().sum() > 0
    unused = [n for n, p in dec.named_parameters() if p.grad is None]
    assert unused == ['dn_content.weight']


def test_padding_tokens_are_ignored():
    dec = make().eval()
    mem, pad, boxes = inputs()
    a = dec(mem, pad, boxes).layers[-1]['boxes'][1]
    mem2 = mem.clone()
    mem2[1, 4:] = 100.0  # garbage in padded slots
    b = dec(mem2, pad, boxes).layers[-1]['boxes'][1]
    torch.testing.assert_close(a, b)


def test_denoising_queries_and_attention_mask():
    dec = make(use_dn=True).train()
    mem, pad, boxes = inputs()
    gt = [torch.tensor([[0.3, 0.3, 0.1, 0.2], [0.6, 0.5, 0.2, 0.3]]), torch.tensor([[0.5, 0.5, 0.2, 0.2]])]
    out = dec(mem, pad, boxes, gt_boxes=gt)
    meta = out.dn_meta
    assert meta.valid.shape == (2, 4)  # 2 groups x max 2 persons
    assert meta.valid.sum() == 6 and meta.gt_index[0].tolist() == [0, 1, 0, 1]
    assert out.dn_layers[-1]['boxes'].shape == (2, 4, 4)
    assert out.layers[-1]['boxes'].shape == (2, 6, 4)
    allow = dec.attention_mask(2, 2, 2, meta.valid, mem.device)[:, 0]
    Q = 6
    assert allow[:, :Q, Q:].sum() == 0          # matching queries never see denoising queries
    assert allow[0, Q, Q + 2] == False          # groups do not see each other  # noqa: E712
    assert allow[0, Q, Q + 1] and allow[0, Q, 0]
    assert allow[1, Q, Q + 1] == False          # padding slot is hidden  # noqa: E712
    # matching-query outputs do not depend on the denoising queries
    dec.eval()
    plain = dec(mem, pad, boxes).layers[-1]['boxes']
    torch.testing.assert_close(plain, out.layers[-1]['boxes'], atol=1e-5, rtol=1e-4)
