import pytest
import torch

from metric_hmr.models.backbone import ScaleAdaptiveViT
from metric_hmr.models.scale_map import LEVEL_BASE, LEVEL_FINE, LEVEL_POOLED, build_scale_map_target, token_levels
from metric_hmr.models.vit import ViTEncoder, load_dinov2_into, read_dinov2_state_dict

S = 112  # 4 x 4 grid of 28-px patches


def tiny(**kw):
    torch.manual_seed(0)
    args = dict(embed_dim=32, depth=2, num_heads=2, map_depth=1, input_size=S, pos_grid=8)
    args.update(kw)
    return ScaleAdaptiveViT(**args)


def test_scale_map_target_and_levels():
    # one small person in the top-left 28-px patch, nothing elsewhere
    boxes = [torch.tensor([[0.0, 0.0, 0.2, 0.2]]), torch.zeros(0, 4)]
    m = build_scale_map_target(boxes, grid=4)
    assert m.shape == (2, 4, 4, 2)
    assert m[0, 0, 0, 0] == 1 and abs(float(m[0, 0, 0, 1]) - 0.2) < 1e-6
    assert m[0, ..., 0].sum() == 1 and m[1].sum() == 0
    lv = token_levels(m[..., 0] > 0.5, m[..., 1], scale_thresh=0.5)
    assert lv[0, 0, 0] == LEVEL_FINE
    assert (lv[0, :2, :2].flatten()[1:] == LEVEL_BASE).all()  # same 2x2 block as the person: not pooled
    assert (lv[0, 2:, 2:] == LEVEL_POOLED).all() and (lv[1] == LEVEL_POOLED).all()
    # a large person keeps 28-px tokens
    lv_big = token_levels(torch.ones(1, 4, 4, dtype=torch.bool), torch.full((1, 4, 4), 0.9), 0.5)
    assert (lv_big == LEVEL_BASE).all()


def test_variable_token_sets_with_padding_and_shapes():
    bb = tiny().train()
    img = torch.randn(2, 3, S, S)
    gt = build_scale_map_target([torch.tensor([[0.0, 0.0, 0.2, 0.2]]), torch.zeros(0, 4)], grid=4)
    out = bb(img, gt)
    # image 0: 4 fine + 3 base (rest of its block) + 3 pooled blocks = 10 tokens; image 1: 4 pooled
    n0, n1 = (~out.pad_mask).sum(1).tolist()
    assert (n0, n1) == (10, 4)
    assert out.tokens.shape == (2, 10, 32) and out.token_boxes.shape == (2, 10, 4)
    assert out.cam_token.shape == (2, 32) and out.scale_map.shape == (2, 4, 4, 2)
    # token footprints: 14-, 28- and 56-px tokens present in image 0
    sizes = set(round(float(w) * S) for w in out.token_boxes[0, :n0, 2])
    assert sizes == {14, 28, 56}


def test_padding_does_not_change_real_tokens():
    bb = tiny().eval()
    img = torch.randn(2, 3, S, S)
    gt = build_scale_map_target([torch.tensor([[0.0, 0.0, 0.2, 0.2]]), torch.zeros(0, 4)], grid=4)
    bb.train()
    batched = bb(img, gt)
    single = bb(img[1:], gt[1:])
    n1 = int((~batched.pad_mask[1]).sum())
    torch.testing.assert_close(batched.tokens[1, :n1], single.tokens[0, :n1], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(batched.cam_token[1], single.cam_token[0], atol=1e-5, rtol=1e-4)


def test_gradients_reach_encoders_and_map_head():
    bb = tiny().train()
    img = torch.randn(1, 3, S, S)
    gt = build_scale_map_target([torch.tensor([[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 1.0, 1.0]])], grid=4)
    out = bb(img, gt)
    (out.tokens.sum() + out.cam_token.sum() + out.scale_map.sum()).backward()
    for name, p in bb.named_parameters():
        if name.startswith('map_encoder.') and ('cls_token' in name):
            continue  # the map branch only reads its patch tokens
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def _dinov2_like_state_dict(depth=2, dim=32, grid=4):
    """A tiny random model saved with the DINOv2 hub key naming (+ mask_token)."""
    torch.manual_seed(1)
    enc = ViTEncoder(embed_dim=dim, depth=depth, num_heads=2, patch_size=14, pos_grid=grid, ls_init=1e-5)
    for p in enc.parameters():
        torch.nn.init.normal_(p, std=0.1)
    sd = {k: v.clone() for k, v in enc.state_dict().items()}
    sd['mask_token'] = torch.zeros(1, dim)
    return sd


def test_dinov2_weights_load_from_local_file(tmp_path):
    sd = _dinov2_like_state_dict()
    path = tmp_path / 'dinov2_tiny.pth'
    torch.save({'model': {'backbone.' + k: v for k, v in sd.items()}}, path)
    bb = tiny(pretrained=str(path), pos_grid=4)
    bb.init_weights()
    for k, v in sd.items():
        if k == 'mask_token':
            continue
        torch.testing.assert_close(bb.encoder.state_dict()[k], v)
    # the 1-block map branch takes the first block of the file
    torch.testing.assert_close(bb.map_encoder.blocks[0].attn.qkv.weight, sd['blocks.0.attn.qkv.weight'])
    # the same file named through init_cfg
    bb2 = tiny(init_cfg=dict(type='Pretrained', checkpoint=str(path)), pos_grid=4)
    bb2.init_weights()
    torch.testing.assert_close(bb2.encoder.pos_embed, sd['pos_embed'])


def test_dinov2_pos_grid_resized_and_hf_names(tmp_path):
    sd = _dinov2_like_state_dict(grid=4)
    enc = ViTEncoder(embed_dim=32, depth=2, num_heads=2, pos_grid=6)
    missing = load_dinov2_into(enc, sd)
    assert missing == [] and enc.pos_embed.shape == (1, 37, 32)
    torch.testing.assert_close(enc.pos_embed[:, :1], sd['pos_embed'][:, :1])
    # Hugging Face naming converts to the same tensors
    hf = {'embeddings.cls_token': sd['cls_token'], 'embeddings.position_embeddings': sd['pos_embed'],
          'embeddings.patch_embeddings.projection.weight': sd['patch_embed.proj.weight'],
          'embeddings.patch_embeddings.projection.bias': sd['patch_embed.proj.bias'],
          'layernorm.weight': sd['norm.weight'], 'layernorm.bias': sd['norm.bias']}
    for i in range(2):
        q, k, v = sd[f'blocks.{i}.attn.qkv.weight'].chunk(3)
        qb, kb, vb = sd[f'blocks.{i}.attn.qkv.bias'].chunk(3)
        pre = f'encoder.layer.{i}.'
        hf.update({pre + 'attention.attention.query.weight': q, pre + 'attention.attention.key.weight': k,
                   pre + 'attention.attention.value.weight': v, pre + 'attention.attention.query.bias': qb,
                   pre + 'attention.attention.key.bias': kb, pre + 'attention.attention.value.bias': vb,
                   pre + 'attention.output.dense.weight': sd[f'blocks.{i}.attn.proj.weight'],
                   pre + 'attention.output.dense.bias': sd[f'blocks.{i}.attn.proj.bias'],
                   pre + 'layer_scale1.lambda1': sd[f'blocks.{i}.ls1.gamma'],
                   pre + 'layer_scale2.lambda1': sd[f'blocks.{i}.ls2.gamma']})
        for n in ('norm1', 'norm2', 'mlp.fc1', 'mlp.fc2'):
            for t in ('weight', 'bias'):
                hf[pre + f'{n}.{t}'] = sd[f'blocks.{i}.{n}.{t}']
    path = tmp_path / 'hf.pth'
    torch.save(hf, path)
    conv = read_dinov2_state_dict(str(path))
    for k, v in sd.items():
        if k != 'mask_token':
            torch.testing.assert_close(conv[k], v)


def test_bad_weight_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        read_dinov2_state_dict(str(tmp_path / 'missing.pth'))
    torch.save({'foo': torch.zeros(1)}, tmp_path / 'x.pth')
    with pytest.raises(ValueError, match='not a DINOv2'):
        read_dinov2_state_dict(str(tmp_path / 'x.pth'))
    sd = _dinov2_like_state_dict(dim=32)
    enc = ViTEncoder(embed_dim=48, depth=1, num_heads=2, pos_grid=4)
    with pytest.raises(ValueError, match='wrong ViT size'):
        load_dinov2_into(enc, sd)
