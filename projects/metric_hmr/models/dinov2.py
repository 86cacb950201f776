"""DINOv2 ViT blocks as SAT-HMR uses them (pre-norm, layer scale, exact GELU, LayerNorm eps 1e-6).

Parameter names follow DINOv2 (``norm1``, ``attn.qkv``, ``attn.proj``, ``ls1.gamma``, ``norm2``,
``mlp.fc1``, ``mlp.fc2``, ``ls2.gamma``) so DINOv2 and SAT-HMR checkpoints map one to one.

Sequences of different lengths (one per image, SAT tokens vary per image) run as a padded
batch with a key-padding mask; with one image no mask is used.
"""
from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['LayerScale', 'DinoAttention', 'DinoMlp', 'DinoBlock', 'run_blocks', 'pad_sequences']

LN_EPS = 1e-6


class LayerScale(nn.Module):
    """Per-channel residual scale (DINOv2 ``init_values``)."""

    def __init__(self, dim: int, init_value: float = 1.0):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class DinoAttention(nn.Module):
    """Multi-head self-attention with one fused qkv projection (scale head_dim^-1/2)."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, N, C); key_mask (B, N) bool, True = a real token (None: all real)."""
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, C))


class DinoMlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class DinoBlock(nn.Module):
    """x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x)))."""

    def __init__(self, dim: int = 768, num_heads: int = 12, mlp_ratio: float = 4.0, ls_init: float = 1.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = DinoAttention(dim, num_heads)
        self.ls1 = LayerScale(dim, ls_init)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = DinoMlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, ls_init)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x), key_mask))
        return x + self.ls2(self.mlp(self.norm2(x)))


def pad_sequences(seqs: Sequence[torch.Tensor]):
    """List of (L_i, C) -> padded (B, Lmax, C) and mask (B, Lmax) (True = real), or mask None if B == 1."""
    if len(seqs) == 1:
        return seqs[0][None], None
    lens = [len(s) for s in seqs]
    Lmax = max(lens)
    x = seqs[0].new_zeros(len(seqs), Lmax, seqs[0].shape[-1])
    mask = torch.zeros(len(seqs), Lmax, dtype=torch.bool, device=x.device)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = s
        mask[i, :len(s)] = True
    return x, mask


def run_blocks(blocks: Sequence[nn.Module], seqs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Run blocks on each image's own token sequence (attention never crosses images)."""
    x, mask = pad_sequences(seqs)
    for blk in blocks:
        x = blk(x, mask)
    return [x[i, :len(s)] for i, s in enumerate(seqs)]
