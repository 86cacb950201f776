"""Plain ViT pieces with DINOv2 parameter names, and DINOv2 weight loading.

Parameter names follow the DINOv2 ``torch.hub`` release (``vit_base_patch14``), so a
DINOv2 state dict loads into :class:`ViTEncoder` with no renaming:

======================================  ===========================================
DINOv2 hub key                          here
======================================  ===========================================
``cls_token`` (1, 1, C)                 ``cls_token`` (used as MA-HMR camera token)
``pos_embed`` (1, 1 + 37*37, C)         ``pos_embed`` (interpolated at run time)
``patch_embed.proj.{weight,bias}``      same
``blocks.{i}.norm1/attn.qkv/attn.proj`` same
``blocks.{i}.ls1.gamma/ls2.gamma``      same (LayerScale)
``blocks.{i}.norm2/mlp.fc1/mlp.fc2``    same
``norm.{weight,bias}``                  same
``mask_token``, ``register_tokens``     ignored (not used by MA-HMR)
======================================  ===========================================

The Hugging Face ``transformers`` naming (``embeddings.*``, ``encoder.layer.{i}.*``,
``layernorm.*``) is converted by :func:`hf_dinov2_to_hub` (query/key/value are
concatenated into ``qkv``).  Prefixes ``backbone.``, ``encoder.`` (hub checkpoints wrapped
by trainers) and the wrapper keys ``model``/``state_dict``/``teacher`` are stripped.
"""
import math
import os
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

try:  # memory-efficient attention when installed (GPU); plain SDPA otherwise
    import xformers.ops as xops  # type: ignore
except Exception:  # pragma: no cover - depends on the environment
    xops = None


def masked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     key_pad: Optional[torch.Tensor] = None,
                     attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Multi-head attention with padded keys.

    Args:
        q, k, v: (B, heads, L, d).
        key_pad: (B, Lk) bool, True where the key is padding (ignored).
        attn_mask: (B or 1, 1 or heads, Lq, Lk) bool, True where attention is allowed.
    Returns:
        (B, heads, Lq, d)
    """
    allow = None
    if key_pad is not None:
        allow = ~key_pad[:, None, None, :]
    if attn_mask is not None:
        allow = attn_mask if allow is None else (allow & attn_mask)
    if xops is not None and q.is_cuda:
        bias = None
        if allow is not None:
            bias = torch.zeros(allow.shape, dtype=q.dtype, device=q.device)
            bias = bias.masked_fill(~allow, float('-inf')).expand(q.shape[0], q.shape[1], q.shape[2], k.shape[2])
        out = xops.memory_efficient_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                              attn_bias=bias)
        return out.transpose(1, 2)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=allow)


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_pad: Optional[torch.Tensor] = None) -> torch.Tensor:
        B, L, C = x.shape
        qkv = self.qkv(x).reshape(B, L, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        out = masked_attention(qkv[0], qkv[1], qkv[2], key_pad)
        return self.proj(out.transpose(1, 2).reshape(B, L, C))


class LayerScale(nn.Module):
    def __init__(self, dim: int, init: float):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x):
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale (the DINOv2 block layout)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, ls_init: float = 1.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim, ls_init)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, ls_init)

    def forward(self, x, key_pad=None):
        x = x + self.ls1(self.attn(self.norm1(x), key_pad))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch_size, patch_size)

    def forward(self, img):  # (B,3,H,W) -> (B,C,H/p,W/p)
        return self.proj(img)


class ViTEncoder(nn.Module):
    """A ViT with DINOv2 names: patch embedding, CLS token, positional grid, blocks, norm."""

    def __init__(self, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, patch_size=14,
                 pos_grid=37, ls_init=1.0):
        super().__init__()
        self.embed_dim, self.patch_size, self.pos_grid = embed_dim, patch_size, pos_grid
        self.patch_embed = PatchEmbed(patch_size, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + pos_grid * pos_grid, embed_dim))
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, mlp_ratio, ls_init) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)

    def pos_grid_at(self, h: int, w: int) -> torch.Tensor:
        """Patch positional embeddings bicubically resized to an (h, w) grid -> (1, C, h, w)."""
        g = self.pos_grid
        pos = self.pos_embed[:, 1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        if (h, w) == (g, g):
            return pos
        return F.interpolate(pos, size=(h, w), mode='bicubic', align_corners=False)

    def cls_with_pos(self, batch: int) -> torch.Tensor:
        return (self.cls_token + self.pos_embed[:, :1]).expand(batch, -1, -1)

    def run_blocks(self, x, key_pad=None):
        for blk in self.blocks:
            x = blk(x, key_pad)
        return self.norm(x)


# --------------------------------------------------------------------------- weight I/O
def hf_dinov2_to_hub(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename a Hugging Face ``Dinov2Model`` state dict to the DINOv2 hub naming."""
    out: Dict[str, torch.Tensor] = {}
    qkv: Dict[tuple, torch.Tensor] = {}
    simple = {
        'embeddings.cls_token': 'cls_token', 'embeddings.mask_token': 'mask_token',
        'embeddings.position_embeddings': 'pos_embed',
        'embeddings.patch_embeddings.projection.weight': 'patch_embed.proj.weight',
        'embeddings.patch_embeddings.projection.bias': 'patch_embed.proj.bias',
        'layernorm.weight': 'norm.weight', 'layernorm.bias': 'norm.bias',
    }
    layer_map = {
        'norm1': 'norm1', 'norm2': 'norm2', 'mlp.fc1': 'mlp.fc1', 'mlp.fc2': 'mlp.fc2',
        'attention.output.dense': 'attn.proj',
    }
    for k, v in sd.items():
        if k in simple:
            out[simple[k]] = v
            continue
        if not k.startswith('encoder.layer.'):
            continue
        rest = k[len('encoder.layer.'):]
        i, sub = rest.split('.', 1)
        if sub.startswith('layer_scale1.'):
            out[f'blocks.{i}.ls1.gamma'] = v
        elif sub.startswith('layer_scale2.'):
            out[f'blocks.{i}.ls2.gamma'] = v
        elif sub.startswith('attention.attention.'):
            name, kind = sub[len('attention.attention.'):].split('.')  # query/key/value, weight/bias
            qkv[(i, name, kind)] = v
        else:
            for a, b in layer_map.items():
                if sub.startswith(a + '.'):
                    out[f'blocks.{i}.{b}.{sub[len(a) + 1:]}'] = v
    for (i, name, kind) in list(qkv):
        if name != 'query':
            continue
        out[f'blocks.{i}.attn.qkv.{kind}'] = torch.cat(
            [qkv[(i, 'query', kind)], qkv[(i, 'key', kind)], qkv[(i, 'value', kind)]], 0)
    return out


def read_dinov2_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read a local DINOv2 weight file (.pth/.pt/.bin or .safetensors) in hub naming."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'DINOv2 weight file not found: {path}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        sd = load_file(path)
    else:
        sd = torch.load(path, map_location='cpu', weights_only=True)
    for wrapper in ('teacher', 'model', 'state_dict'):
        if isinstance(sd, dict) and wrapper in sd and isinstance(sd[wrapper], dict):
            sd = sd[wrapper]
    if any(k.startswith('embeddings.') or k.startswith('encoder.layer.') for k in sd):
        sd = hf_dinov2_to_hub(sd)
    clean = {}
    for k, v in sd.items():
        for prefix in ('module.', 'backbone.'):
            if k.startswith(prefix):
                k = k[len(prefix):]
        clean[k] = v
    if 'pos_embed' not in clean or 'blocks.0.attn.qkv.weight' not in clean:
        raise ValueError(f'{path}: not a DINOv2 ViT state dict (no pos_embed / blocks.0.attn.qkv)')
    return clean


def load_dinov2_into(encoder: ViTEncoder, sd: Dict[str, torch.Tensor], path: str = '<state dict>') -> list:
    """Copy DINOv2 weights into ``encoder`` (extra blocks in the file are skipped).

    The positional grid is resized when the file's grid differs from the encoder's.
    Returns the list of encoder keys that were NOT found in the file.
    """
    own = encoder.state_dict()
    new = {}
    for k, v in sd.items():
        if k not in own:
            continue  # mask_token, register tokens, deeper blocks
        if k == 'pos_embed' and v.shape != own[k].shape:
            n = v.shape[1] - 1
            g_src = int(round(math.sqrt(n)))
            grid = v[:, 1:].reshape(1, g_src, g_src, -1).permute(0, 3, 1, 2)
            g = encoder.pos_grid
            grid = F.interpolate(grid.float(), size=(g, g), mode='bicubic', align_corners=False)
            v = torch.cat([v[:, :1], grid.permute(0, 2, 3, 1).reshape(1, g * g, -1)], 1)
        if v.shape != own[k].shape:
            raise ValueError(f'{path}: {k} has shape {tuple(v.shape)}, the model expects '
                             f'{tuple(own[k].shape)} (wrong ViT size?)')
        new[k] = v
    missing = [k for k in own if k not in new]
    encoder.load_state_dict(new, strict=False)
    return missing
