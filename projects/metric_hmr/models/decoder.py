"""DETR-style human-query decoder with anchor boxes, box refinement and query denoising.

Every query carries an anchor box (cx, cy, w, h).  Its positional embedding is a sine
embedding of the anchor (DAB-DETR); encoder tokens get the sine embedding of their own
footprint box, so cross-attention compares positions and scales.  After every layer the
heads refine box, pose, shape and camera; the refined box (detached) is the next anchor.

Query denoising (stage 1, DN-DETR): extra query groups start from ground-truth boxes with
noise; they must reconstruct their person, which speeds up and stabilises training.
Matching queries cannot see denoising queries, and groups cannot see each other.
"""
import math
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from metric_hmr.registry import MODELS
from .heads import MLP
from .vit import masked_attention


def sine_box_embed(boxes: torch.Tensor, dim_per_coord: int = 128, temperature: float = 10000.) -> torch.Tensor:
    """(..., 4) boxes in [0, 1] -> (..., 4 * dim_per_coord) sine/cosine features."""
    i = torch.arange(dim_per_coord // 2, device=boxes.device, dtype=torch.float32)
    freq = temperature ** (2 * i / dim_per_coord)
    x = boxes[..., None].float() * (2 * math.pi) / freq  # (..., 4, d/2)
    return torch.cat([x.sin(), x.cos()], -1).flatten(-2)


class CrossAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, q, k, v, key_pad=None, attn_mask=None):
        B, Lq, C = q.shape
        h = self.num_heads

        def split(x):
            return x.reshape(B, x.shape[1], h, C // h).transpose(1, 2)

        o = masked_attention(split(self.q(q)), split(self.k(k)), split(self.v(v)), key_pad, attn_mask)
        return self.out(o.transpose(1, 2).reshape(B, Lq, C))


class DecoderLayer(nn.Module):
    """Self-attention among queries, cross-attention into the tokens, FFN (post-norm)."""

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, dropout: float = 0.0):
        super().__init__()
        self.self_attn = CrossAttention(dim, num_heads)
        self.cross_attn = CrossAttention(dim, num_heads)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                 nn.Linear(ffn_dim, dim))
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, tgt, query_pos, memory, memory_pos, memory_pad, self_mask=None):
        q = tgt + query_pos
        tgt = self.norm1(tgt + self.drop(self.self_attn(q, q, tgt, attn_mask=self_mask)))
        tgt = self.norm2(tgt + self.drop(self.cross_attn(tgt + query_pos, memory + memory_pos, memory, memory_pad)))
        return self.norm3(tgt + self.drop(self.ffn(tgt)))


class DenoisingMeta(NamedTuple):
    valid: torch.Tensor      # (B, D) bool: this denoising query stands for a real person
    gt_index: torch.Tensor   # (B, D) long: which ground-truth person (of its image)


class DecoderOutput(NamedTuple):
    layers: List[Dict[str, torch.Tensor]]              # per layer, matching queries
    dn_layers: Optional[List[Dict[str, torch.Tensor]]]  # per layer, denoising queries
    dn_meta: Optional[DenoisingMeta]


@MODELS.register_module()
class HumanQueryDecoder(BaseModule):
    """DETR-style decoder: ``num_queries`` human queries, ``num_layers`` layers.

    Args:
        memory_dim: width of the encoder tokens.
        dim, num_heads, ffn_dim: decoder width (SAT-HMR: 768, 4, 2048).
        heads: config of the per-query heads (:class:`HumanParamHeads`).
        use_dn: add denoising query groups while training (stage 1).
        dn_groups: number of denoising groups; box_noise_scale: DN-DETR lambda.
    """

    def __init__(self, memory_dim=768, dim=768, num_layers=6, num_heads=4, ffn_dim=2048,
                 num_queries=50, dropout=0.0, heads=None, use_dn=False, dn_groups=10,
                 box_noise_scale=0.4, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.dim, self.num_queries = dim, num_queries
        self.use_dn, self.dn_groups, self.box_noise_scale = use_dn, dn_groups, box_noise_scale
        self.input_proj = nn.Sequential(nn.Linear(memory_dim, dim), nn.LayerNorm(dim))
        self.memory_pos = nn.Linear(4 * 128, dim)
        self.query_pos = MLP(4 * 128, dim, dim, 2)
        self.layers = nn.ModuleList(DecoderLayer(dim, num_heads, ffn_dim, dropout) for _ in range(num_layers))
        self.query_content = nn.Embedding(num_queries, dim)
        self.anchor_logits = nn.Embedding(num_queries, 4)
        self.dn_content = nn.Embedding(1, dim)
        heads = dict(heads or dict(type='HumanParamHeads'))
        heads.setdefault('dim', dim)
        self.heads = MODELS.build(heads)
        # anchors spread over the canvas, mid-sized boxes
        with torch.no_grad():
            g = torch.Generator().manual_seed(0)
            xy = torch.rand(num_queries, 2, generator=g) * 0.8 + 0.1
            wh = torch.full((num_queries, 2), 0.2)
            a = torch.cat([xy, wh], 1)
            self.anchor_logits.weight.copy_(torch.log(a / (1 - a)))

    # ------------------------------------------------------------------------- denoising
    def build_denoising(self, gt_boxes: Sequence[torch.Tensor], device, generator=None):
        """Noised ground-truth anchors for ``dn_groups`` groups.

        Args:
            gt_boxes: per image (n_b, 4) cx, cy, w, h in [0, 1].
        Returns:
            anchors (B, G*N, 4), DenoisingMeta, and the query count per group N (max n_b).
        """
        B = len(gt_boxes)
        N = max([len(b) for b in gt_boxes] + [0])
        G = self.dn_groups
        anchors = torch.full((B, G * N, 4), 0.5, device=device)
        valid = torch.zeros(B, G * N, dtype=torch.bool, device=device)
        gt_index = torch.zeros(B, G * N, dtype=torch.long, device=device)
        for b, boxes in enumerate(gt_boxes):
            n = len(boxes)
            if n == 0:
                continue
            rep = boxes.to(device).float().repeat(G, 1)  # (G*n, 4)
            noise = torch.rand(rep.shape, device=device, generator=generator) * 2 - 1
            lam = self.box_noise_scale
            noised = torch.cat([rep[:, :2] + noise[:, :2] * rep[:, 2:] / 2 * lam,
                                rep[:, 2:] * (1 + noise[:, 2:] * lam)], 1).clamp(1e-3, 1 - 1e-3)
            slots = (torch.arange(G, device=device)[:, None] * N + torch.arange(n, device=device)[None]).flatten()
            anchors[b, slots] = noised
            valid[b, slots] = True
            gt_index[b, slots] = torch.arange(n, device=device).repeat(G)
        return anchors, DenoisingMeta(valid, gt_index), N

    def attention_mask(self, B: int, G: int, N: int, valid: torch.Tensor, device) -> torch.Tensor:
        """(B, 1, Q+D, Q+D) bool self-attention permission; queries ordered [matching, dn]."""
        Q, D = self.num_queries, G * N
        allow = torch.zeros(B, Q + D, Q + D, dtype=torch.bool, device=device)
        allow[:, :, :Q] = True  # everybody sees matching queries
        group = torch.arange(D, device=device) // max(N, 1)
        same = group[:, None] == group[None, :]
        allow[:, Q:, Q:] = same[None] & valid[:, None, :]
        return allow[:, None]

    # --------------------------------------------------------------------------- forward
    def forward(self, memory, memory_pad, token_boxes, gt_boxes: Optional[Sequence[torch.Tensor]] = None,
                generator=None) -> DecoderOutput:
        """memory (B, L, C), memory_pad (B, L) bool, token_boxes (B, L, 4); gt_boxes for denoising."""
        B = memory.shape[0]
        device = memory.device
        mem = self.input_proj(memory)
        mem_pos = self.memory_pos(sine_box_embed(token_boxes))
        tgt = self.query_content.weight[None].expand(B, -1, -1)
        anchors = torch.sigmoid(self.anchor_logits.weight)[None].expand(B, -1, -1)
        self_mask, meta, D = None, None, 0
        if self.training and self.use_dn and gt_boxes is not None and sum(len(b) for b in gt_boxes) > 0:
            dn_anchors, meta, N = self.build_denoising(gt_boxes, device, generator)
            D = dn_anchors.shape[1]
            tgt = torch.cat([tgt, self.dn_content.weight[None].expand(B, D, -1)], 1)
            anchors = torch.cat([anchors, dn_anchors], 1)
            self_mask = self.attention_mask(B, self.dn_groups, N, meta.valid, device)
        Q = self.num_queries
        layers, dn_layers = [], []
        prev = None
        for layer in self.layers:
            tgt = layer(tgt, self.query_pos(sine_box_embed(anchors)), mem, mem_pos, memory_pad, self_mask)
            out = self.heads(tgt, anchors, prev)
            prev = out
            anchors = out['boxes'].detach()
            layers.append({k: v[:, :Q] for k, v in out.items()})
            if D:
                dn_layers.append({k: v[:, Q:] for k, v in out.items()})
        return DecoderOutput(layers, dn_layers if D else None, meta if D else None)
