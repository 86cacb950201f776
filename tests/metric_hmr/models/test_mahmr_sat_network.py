"""SAT-HMR network pieces: z-order, sine positions, token selection, decoder, heads, denoising.

The bit-level reproduction of SAT-HMR's forward pass is tested end to end by
tests/tools/benchmarks/test_sat_hmr_conformance.py; these tests pin the conventions one by one.
"""
import math

import pytest
import torch

from metric_hmr.models import (DABDecoder, SATEncoder, SATHeads, build_denoising_queries, build_z_map,
                               position_encoding_xy)


def test_z_map_is_morton_order_x_in_even_bits():
    """Mirrors SAT-HMR utils/map.py build_z_map: bit i of x -> bit 2i, bit i of y -> bit 2i+1."""
    z, ys, xs = build_z_map(3)
    assert z.shape == (8, 8) and z.dtype == torch.int64
    assert z[0, 1] == 1 and z[1, 0] == 2 and z[1, 1] == 3 and z[0, 2] == 4 and z[2, 0] == 8
    assert z[7, 7] == 63 and sorted(z.flatten().tolist()) == list(range(64))
    assert torch.equal(ys[:, 0], torch.arange(8)) and torch.equal(xs[0], torch.arange(8))


def test_position_encoding_is_y_then_x_with_temperature_20():
    """Mirrors SAT-HMR models/position_encoding.py position_encoding_xy (DAB-DETR, T=20, 2 pi)."""
    pe = position_encoding_xy(torch.tensor([0.25]), torch.tensor([0.75]), 8)
    t = torch.tensor([1.0, 1.0, 20.0 ** 0.5, 20.0 ** 0.5])
    y = 0.75 * 2 * math.pi / t
    x = 0.25 * 2 * math.pi / t
    expect = torch.tensor([y[0].sin(), y[1].cos(), y[2].sin(), y[3].cos(),
                           x[0].sin(), x[1].cos(), x[2].sin(), x[3].cos()])
    torch.testing.assert_close(pe[0], expect)


def test_token_selection_splits_small_persons_and_pools_empty_2x2_groups():
    """Mirrors SAT-HMR Model.forward_encoder + pad_mask: a 2x2 z-group with any valid patch stays."""
    enc = SATEncoder(embed_dim=16, depth=2, num_heads=2, hidden_dim=16, input_size=112, map_layers=1)
    smap = torch.tensor([[0.9, 0.2], [0.1, 0.9], [0.1, 0.1], [0.1, 0.1],    # group 0: one small person
                         [0.9, 0.8], [0.1, 0.1], [0.1, 0.1], [0.1, 0.1],    # group 1: one large person
                         [0.2, 0.1], [0.29, 0.1], [0.0, 0.0], [0.3, 0.1]])  # group 2: nothing (> 0.3 strict)
    valid, sat, keep, pool = enc.select(smap)
    assert sat.tolist() == [True] + [False] * 11
    assert keep.tolist() == [False, True, True, True, True, True, True, True] + [False] * 4
    assert pool.tolist() == [False] * 8 + [True] * 4


def _tiny_encoder():
    torch.manual_seed(0)
    enc = SATEncoder(embed_dim=32, depth=3, num_heads=2, hidden_dim=32, input_size=112, map_layers=1).eval()
    with torch.no_grad():  # a decisive scale head: some patches split, some pooled
        enc.scale_head.layers[-1].weight.normal_(0, 3.0)
    return enc


def test_encoder_batch_equals_single_images_and_token_counts_add_up():
    enc = _tiny_encoder()
    imgs = torch.randn(2, 3, 112, 112)
    imgs[1, :, :56] = 0  # a different token selection per image
    with torch.no_grad():
        both = enc(list(imgs))
        single = [enc([img]) for img in imgs]
    for i in range(2):
        info = both.tokens[i]
        n = info['num_per_level']
        assert int(n[0]) == 4 * len(info['sat_idx']) and int(n.sum()) == len(both.memory[i])
        torch.testing.assert_close(both.memory[i], single[i].memory[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(both.cam_token[i], single[i].cam_token[0], atol=1e-5, rtol=1e-5)
    assert not torch.equal(both.tokens[0]['lvl'], both.tokens[1]['lvl'])


def test_decoder_first_layer_alone_has_query_position_in_cross_attention():
    """SAT-HMR (keep_query_pos=False) deletes ca_qpos_proj from layers 1..5."""
    dec = DABDecoder(d_model=32, nhead=2, num_layers=3, dim_feedforward=64, num_queries=5)
    assert dec.layers[0].ca_qpos_proj is not None
    assert all(layer.ca_qpos_proj is None for layer in dec.layers[1:])
    assert not any('layers.1.ca_qpos_proj' in k for k in dec.state_dict())


def test_decoder_memory_padding_does_not_change_an_image_and_anchors_refine():
    torch.manual_seed(0)
    dec = DABDecoder(d_model=32, nhead=2, num_layers=2, dim_feedforward=64, num_queries=5).eval()
    heads = SATHeads(dim=32, num_layers=2, num_betas=10)
    with torch.no_grad():
        for mlp in heads.bbox_embed:
            mlp.layers[-1].weight.normal_(0, 0.1)
    mem = [torch.randn(7, 32), torch.randn(12, 32)]
    pos = [torch.randn(7, 32), torch.randn(12, 32)]
    tgt = dec.tgt_embed.weight[None].expand(2, -1, -1)
    ref = dec.refpoint_embed.weight[None].expand(2, -1, -1)
    with torch.no_grad():
        hs, refs = dec(mem, pos, tgt, ref, heads.bbox_embed)
        hs0, _ = dec(mem[:1], pos[:1], tgt[:1], ref[:1], heads.bbox_embed)
    assert hs.shape == (2, 2, 5, 32) and refs.shape == (2, 2, 5, 4)
    torch.testing.assert_close(hs[:, 0], hs0[:, 0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(refs[0], ref.sigmoid())          # layer 0 starts from the learned anchors
    assert not torch.allclose(refs[1], refs[0])                 # layer 1 from the refined ones


def test_heads_start_from_mean_params_and_anchor_boxes(tmp_path):
    """SAT-HMR: pose = mean_pose + sum of per-layer increments; bbox_embed last layers zero at init."""
    import numpy as np
    pose = np.tile(np.array([1, 0, 0, 1, 0, 0], np.float32), 24)  # identity, interleaved 6D
    np.savez(tmp_path / 'mean.npz', pose=pose, shape=np.arange(10, dtype=np.float32))
    heads = SATHeads(dim=16, num_layers=2, num_betas=11, mean_params=str(tmp_path / 'mean.npz'))
    assert heads.mean_shape.tolist() == list(range(10)) + [0.0]  # the age-blend beta starts at 0
    hs = torch.zeros(2, 1, 3, 16)
    refs = torch.full((2, 1, 3, 4), 0.3)
    out = heads(hs, refs)
    torch.testing.assert_close(out[0]['boxes'], refs[0])
    inc = sum(heads.pose_head[i](hs[i]) for i in range(2)).reshape(1, 3, 24, 6)
    torch.testing.assert_close(out[1]['pose6d'], torch.as_tensor(pose).reshape(24, 6) + inc)
    assert abs(float(torch.sigmoid(heads.conf_head.bias.detach())) - 0.01) < 1e-6
    np.savez(tmp_path / 'bad.npz', pose=pose[:10], shape=np.zeros(10, np.float32))
    with pytest.raises(ValueError, match='bad.npz'):
        SATHeads(dim=16, num_layers=2, mean_params=str(tmp_path / 'bad.npz'))


def test_contrastive_denoising_layout_noise_and_attention():
    """Mirrors SAT-HMR models/dn_components.py prepare_for_cdn (params content, positives then
    negatives per group, matching queries blind to denoising queries, groups blind to each other)."""
    g = torch.Generator().manual_seed(0)
    boxes = [torch.tensor([[0.5, 0.5, 0.2, 0.4], [0.3, 0.3, 0.1, 0.1]]), torch.tensor([[0.6, 0.4, 0.2, 0.2]])]
    params = [torch.zeros(2, 82), torch.zeros(1, 82)]
    enc = torch.nn.Linear(82, 16)
    tgt, anchors, allow, meta = build_denoising_queries(boxes, params, enc, num_queries=5, dn_number=3,
                                                        box_noise_scale=0.4, tgt_noise_scale=0.2, generator=g)
    D = 2 * 2 * 3
    assert tgt.shape == (2, D, 16) and anchors.shape == (2, D, 4) and allow.shape == (D + 5, D + 5)
    assert meta.valid[0].tolist() == [True, True, False, False] * 3
    assert meta.negative[0].tolist() == [False, False, True, True] * 3
    assert meta.valid[1].tolist() == [True, False, False, False] * 3 and meta.gt_index[0, :2].tolist() == [0, 1]
    # box noise: positives move corners by < 0.4 * half size, negatives by >= that
    b = anchors[0].sigmoid()
    gt = boxes[0][meta.gt_index[0]]
    corner = lambda x: torch.cat([x[:, :2] - x[:, 2:] / 2, x[:, :2] + x[:, 2:] / 2], 1)  # noqa: E731
    rel = ((corner(b) - corner(gt)).abs() / torch.cat([gt[:, 2:], gt[:, 2:]], 1) * 2 / 0.4)
    inside = (corner(b) > 1e-4) & (corner(b) < 1 - 1e-4)
    assert torch.all(rel[meta.valid[0]] < 1 + 1e-4)
    assert torch.all(rel[meta.negative[0]][inside[meta.negative[0]]] >= 1 - 1e-4)
    assert not allow[D:, :D].any() and allow[:, D:].all()
    assert allow[:4, :4].all() and not allow[:4, 4:D].any()
