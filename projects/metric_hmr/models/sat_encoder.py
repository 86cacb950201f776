"""Scale-adaptive token (SAT) encoder of SAT-HMR (ViT-B/14) with MA-HMR's camera token.

One forward (per image, paper Sec. 3.3 / SAT-HMR Sec. 3):

1. Cut the image into 28-px patches in z-order; each becomes a *level-1* token
   (2x2-mean to 14 px, ``patch_proj[1]``, positional embedding resized 92 -> 46 bicubic).
2. Run the CLS token + level-1 tokens through the 3 *additional blocks* (copies of DINOv2
   blocks 0-2) and predict the scale map ``scale_head(inter_norm(tokens))``:
   channel 0 = person presence, channel 1 = person scale.
3. Level-1 patches with presence > ``conf_thresh`` and scale < ``scale_thresh`` are split
   into four 14-px *level-0* tokens (``patch_proj[0]``), run through DINOv2 blocks 0-2.
4. 2x2 groups of level-1 tokens without any present person are max-pooled into one
   *level-2* (56-px) token; the other present level-1 tokens stay.
5. [CLS, level 0, level 1, level 2] go through blocks 3-11.  The CLS output (before the
   final norm) is MA-HMR's camera token; the normalised tokens are projected
   (``feature_proj``) into the decoder memory, whose positional encoding is the sine
   embedding of the token centre plus a learned level embedding.

Parameter names mirror SAT-HMR (see ``tools/convert_sat_hmr.py`` for the mapping).
"""
from __future__ import annotations

import math
from typing import List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from metric_hmr.registry import MODELS
from .dinov2 import LN_EPS, DinoBlock, run_blocks
from .mlp import MLP

__all__ = ['build_z_map', 'to_zorder', 'position_encoding_xy', 'SATEncoderOutput', 'SATEncoder']


def build_z_map(depth: int):
    """Morton (z-order) index of every cell of a 2^depth square grid, plus its row/column.

    Bit i of x goes to bit 2i, bit i of y to bit 2i+1 (SAT-HMR ``utils/map.py build_z_map``).
    """
    size = 2 ** depth
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    z = torch.zeros((size, size), dtype=torch.int64)
    for i in range(depth):
        z |= (xs & (1 << i)) << i | (ys & (1 << i)) << (i + 1)
    return z, ys.clone(), xs.clone()


def to_zorder(patches: torch.Tensor, z_map: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor):
    """(h, w, ...) grid -> items sorted by z-order, with their z index, row and column."""
    h, w = patches.shape[:2]
    z = z_map[:h, :w].flatten()
    order = torch.argsort(z)
    return (patches.flatten(0, 1)[order], z[order], ys[:h, :w].flatten()[order], xs[:h, :w].flatten()[order])


def position_encoding_xy(pos_x: torch.Tensor, pos_y: torch.Tensor, dim: int, temperature: float = 20.0):
    """DAB-DETR sine embedding of normalised positions: [emb(y), emb(x)], each dim/2 wide."""
    t = torch.arange(dim // 2, dtype=torch.float32, device=pos_x.device)
    t = temperature ** (2 * torch.div(t, 2, rounding_mode='floor') / (dim // 2))

    def emb(p):
        v = (p * 2 * math.pi)[:, None] / t
        return torch.stack((v[:, 0::2].sin(), v[:, 1::2].cos()), dim=2).flatten(1)

    return torch.cat([emb(pos_y), emb(pos_x)], dim=1)


class SATEncoderOutput(NamedTuple):
    memory: List[torch.Tensor]        # per image (L_i, C_dec): decoder memory
    memory_pos: List[torch.Tensor]    # per image (L_i, C_dec): sine position + level embedding
    cam_token: torch.Tensor           # (B, C): CLS after blocks 3-11, before the final norm
    scale_logits: List[torch.Tensor]  # per image (L1_i, 2), z-order
    lvl1_pos: List[torch.Tensor]      # per image (L1_i, 2) grid row, column of level-1 tokens
    lvl1_hw: List[tuple]              # per image level-1 grid (h, w)
    tokens: List[dict]                # per image: lvl, grid_y, grid_x, num_per_level, sat_idx, ...


@MODELS.register_module()
class SATEncoder(BaseModule):
    """SAT-HMR's scale-adaptive DINOv2 ViT encoder (3 token levels).

    Args:
        embed_dim, depth, num_heads, mlp_ratio: ViT size (ViT-B/14: 768, 12, 12, 4).
        hidden_dim: decoder width (``feature_proj`` output, level embedding).
        input_size: the long image side S; the positional grid is S/14 (92 for 1288).
        map_layers: blocks before the scale map (SAT-HMR ``get_map_layer``: 3).
        conf_thresh, scale_thresh: SAT decisions on the scale map (0.3, 0.5).
        ls_init: layer-scale initial value (DINOv2: 1.0).
    """

    patch_size = 14

    def __init__(self, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, hidden_dim=768,
                 input_size=1288, map_layers=3, conf_thresh=0.3, scale_thresh=0.5, ls_init=1.0,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if input_size % (4 * self.patch_size):
            raise ValueError(f'input_size {input_size} must be a multiple of {4 * self.patch_size}')
        self.embed_dim, self.hidden_dim, self.input_size = embed_dim, hidden_dim, input_size
        self.map_layers, self.conf_thresh, self.scale_thresh = map_layers, conf_thresh, scale_thresh
        self.grid = [input_size // (self.patch_size << lvl) for lvl in range(3)]  # 92, 46, 23
        self.blocks = nn.ModuleList(DinoBlock(embed_dim, num_heads, mlp_ratio, ls_init) for _ in range(depth))
        self.additional_blocks = nn.ModuleList(
            DinoBlock(embed_dim, num_heads, mlp_ratio, ls_init) for _ in range(map_layers))
        self.norm = nn.LayerNorm(embed_dim, eps=LN_EPS)
        self.inter_norm = nn.LayerNorm(embed_dim, eps=LN_EPS)
        self.scale_head = MLP(embed_dim, embed_dim, 2, 4)
        self.patch_proj = nn.ModuleList(nn.Conv2d(3, embed_dim, self.patch_size, self.patch_size) for _ in range(2))
        self.cr_token = nn.Parameter(torch.zeros(1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(self.grid[0], self.grid[0], embed_dim))
        self.level_embed = nn.Parameter(torch.zeros(3, hidden_dim))
        self.feature_proj = nn.Linear(embed_dim, hidden_dim)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cr_token, std=1e-6)
        nn.init.normal_(self.level_embed)
        z, ys, xs = build_z_map(math.ceil(math.log2(self.grid[1])))
        # rebuilt from the config, never loaded: kept out of the state dict
        self.register_buffer('z_order_map', z, persistent=False)
        self.register_buffer('y_coords', ys, persistent=False)
        self.register_buffer('x_coords', xs, persistent=False)

    # ----------------------------------------------------------------- level-1 tokens
    def lvl1_pos_embed(self) -> torch.Tensor:
        """Positional grid resized to the 28-px grid (bicubic, no antialias), (46, 46, C)."""
        g = self.grid[1]
        pe = F.interpolate(self.pos_embed[None].permute(0, 3, 1, 2), size=(g, g), mode='bicubic',
                           antialias=False, align_corners=False)
        return pe[0].permute(1, 2, 0)

    def _lvl1_tokens(self, img: torch.Tensor, pos1: torch.Tensor):
        """(3, H, W) -> z-ordered 28-px patches, their tokens, z index, row, column."""
        p = 2 * self.patch_size
        c, H, W = img.shape
        h, w = H // p, W // p
        grid = img[:, :h * p, :w * p].reshape(c, h, p, w, p).permute(1, 3, 0, 2, 4)
        patches, z, ys, xs = to_zorder(grid, self.z_order_map, self.y_coords, self.x_coords)
        small = F.interpolate(patches, size=(self.patch_size, self.patch_size), mode='bilinear',
                              align_corners=False)  # a 2x2 mean
        tokens = self.patch_proj[1](small).flatten(1) + pos1[ys, xs]
        return patches, tokens, z, ys, xs, (h, w)

    def _lvl0_tokens(self, patches28: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor):
        """Split 28-px patches into four 14-px tokens each, order (0,0),(0,1),(1,0),(1,1)."""
        tok = self.patch_proj[0](patches28).permute(0, 2, 3, 1).flatten(0, 2)
        y0 = (ys << 1)[:, None].repeat(1, 4).flatten()
        x0 = (xs << 1)[:, None].repeat(1, 4).flatten()
        y0[2::4] += 1
        y0[3::4] += 1
        x0[1::2] += 1
        return tok + self.pos_embed[y0, x0], y0, x0

    # ------------------------------------------------------------------- selection
    def select(self, scale_map: torch.Tensor):
        """SAT decisions on a (L1, 2) z-ordered scale map in [0, 1].

        Returns ``sat`` (split into level 0), ``keep`` (stay level 1), ``pool`` (go to
        level 2): a 2x2 group goes to level 2 only if none of its four patches is valid.
        """
        valid = scale_map[:, 0] > self.conf_thresh
        sat = valid & (scale_map[:, 1] < self.scale_thresh)
        valid_group = valid.reshape(-1, 4).any(dim=1, keepdim=True).expand(-1, 4).flatten()
        return valid, sat, valid_group & ~sat, ~valid_group

    # --------------------------------------------------------------------- forward
    def forward(self, images: Sequence[torch.Tensor], gt_scale_maps: Optional[Sequence[torch.Tensor]] = None
                ) -> SATEncoderOutput:
        """images: list (or batch) of normalised (3, H, W), H and W multiples of 56.

        gt_scale_maps: optional per-image (h1, w1, 2) maps used instead of the predicted map for
        token selection (SAT-HMR's first epoch from scratch).
        """
        pos1 = self.lvl1_pos_embed()
        # 1. level-1 tokens, 2. scale map from the additional blocks
        lvl1 = [self._lvl1_tokens(img, pos1) for img in images]
        seqs = run_blocks(self.additional_blocks[:self.map_layers],
                          [torch.cat([self.cr_token, t[1]]) for t in lvl1])
        cls_tokens = [s[:1] for s in seqs]
        scale_logits = [self.scale_head(self.inter_norm(s[1:])) for s in seqs]
        per_image, lvl0_seqs = [], []
        for i, (patches, _, z, ys, xs, hw) in enumerate(lvl1):
            smap = scale_logits[i].sigmoid()
            if gt_scale_maps is not None:
                smap = gt_scale_maps[i].to(smap)[ys, xs]
            valid, sat, keep, pool = self.select(smap)
            # 3. level-0 tokens of the split patches (original CLS token, blocks 0-2)
            tok0, y0, x0 = self._lvl0_tokens(patches[sat], ys[sat], xs[sat])
            lvl0_seqs.append(torch.cat([self.cr_token, tok0]))
            per_image.append(dict(valid=valid, sat=sat, keep=keep, pool=pool, y0=y0, x0=x0, ys=ys, xs=xs))
        lvl0_out = run_blocks(self.blocks[:self.map_layers], lvl0_seqs)
        # 4. merge the three levels, 5. blocks 3-11
        merged, infos = [], []
        for i, d in enumerate(per_image):
            t1 = seqs[i][1:]
            t2 = t1[d['pool']].reshape(-1, 4, t1.shape[-1]).max(dim=1)[0]
            y2, x2 = d['ys'][d['pool']][::4] >> 1, d['xs'][d['pool']][::4] >> 1
            merged.append(torch.cat([cls_tokens[i], lvl0_out[i][1:], t1[d['keep']], t2]))
            infos.append(self._token_info(d, y2, x2))
        final = run_blocks(self.blocks[self.map_layers:], merged)
        cam_token = torch.stack([f[0] for f in final])
        memory, memory_pos = [], []
        for i, (f, info) in enumerate(zip(final, infos)):
            # intermediate tokens kept for inspection (conformance checks): no copies
            info.update(lvl1_features=seqs[i][1:], final_features=f[1:])
            memory.append(self.feature_proj(self.norm(f[1:])))
            pos = position_encoding_xy(info['pos_x'], info['pos_y'], self.hidden_dim)
            memory_pos.append(pos + self.level_embed[info['lvl']])
        return SATEncoderOutput(memory, memory_pos, cam_token, scale_logits,
                                [torch.stack([t[3], t[4]], 1) for t in lvl1], [t[5] for t in lvl1], infos)

    def _token_info(self, d: dict, y2: torch.Tensor, x2: torch.Tensor) -> dict:
        """Level, grid cell and normalised centre of every final token (levels 0, 1, 2)."""
        gy = [d['y0'], d['ys'][d['keep']], y2]
        gx = [d['x0'], d['xs'][d['keep']], x2]
        lvl = torch.cat([torch.full_like(g, k) for k, g in enumerate(gy)])
        pos_y = torch.cat([(g.float() + 0.5) / self.grid[k] for k, g in enumerate(gy)])
        pos_x = torch.cat([(g.float() + 0.5) / self.grid[k] for k, g in enumerate(gx)])
        counts = torch.tensor([len(g) for g in gy])
        return dict(lvl=lvl, grid_y=torch.cat(gy), grid_x=torch.cat(gx), pos_y=pos_y, pos_x=pos_x,
                    num_per_level=counts, sat_idx=torch.nonzero(d['sat'])[:, 0], valid=d['valid'],
                    sat=d['sat'])
