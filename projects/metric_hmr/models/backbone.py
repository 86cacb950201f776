"""Scale-adaptive ViT encoder (SAT-HMR style) with the MA-HMR camera token.

Two passes, both DINOv2-initialisable ViTs:

1. **Scale-map branch** (``map_encoder``): the canvas downsampled 2x is cut into 14-px
   patches, i.e. one token per 28-px patch of the full canvas.  A small MLP on its output
   tokens predicts the scale map (presence logit, person scale) per 28-px patch.
2. **Scale-adaptive pass** (``encoder``): from the scale map (ground truth while training
   when ``use_gt_map_in_train``; predicted otherwise) every 28-px patch becomes four 14-px
   tokens (small people), one 28-px token, or part of one pooled 56-px background token
   (see :mod:`.scale_map`).  Each image thus has its own number of tokens; the batch is
   padded and attention ignores the padding.  The CLS token of this encoder is the
   *camera token* whose output feeds the FoV head.

Tokens of every level come from the same 14-px patch embedding: 14-px tokens from the full
canvas, 28-px tokens from the 2x-downsampled canvas, 56-px tokens by averaging 2x2 28-px
tokens.  Positional embeddings are the DINOv2 grid resized to the 14-px grid and averaged
over each token's footprint; a learned level embedding tells the levels apart.
"""
from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule

from metric_hmr.registry import MODELS
from .scale_map import LEVEL_BASE, LEVEL_FINE, LEVEL_POOLED, token_levels
from .vit import ViTEncoder, load_dinov2_into, read_dinov2_state_dict


class BackboneOutput(NamedTuple):
    tokens: torch.Tensor        # (B, L, C) adaptive tokens after the encoder
    pad_mask: torch.Tensor      # (B, L) bool, True = padding
    token_boxes: torch.Tensor   # (B, L, 4) cx, cy, w, h of each token's footprint, canvas-normalised
    cam_token: torch.Tensor     # (B, C) output of the camera (CLS) token
    scale_map: torch.Tensor     # (B, g, g, 2) predicted [presence logit, scale]
    levels: torch.Tensor        # (B, g, g) token level per 28-px patch actually used


@MODELS.register_module()
class ScaleAdaptiveViT(BaseModule):
    """SAT-HMR-style scale-adaptive ViT-B/14.

    Args:
        embed_dim, depth, num_heads, mlp_ratio, patch_size: ViT size (ViT-B/14: 768, 12, 12, 4, 14).
        map_depth: blocks of the scale-map branch ViT.
        input_size: canvas side S (multiple of 56).
        pos_grid: side of the stored positional grid (DINOv2: 37 for 518 px).
        scale_thresh: persons with scale below this get 14-px tokens.
        conf_thresh: presence threshold on the predicted scale map.
        use_gt_map_in_train: select tokens from the ground-truth map while training.
        pretrained: local DINOv2 weight file loaded into both ViTs by ``init_weights``
            (``init_cfg=dict(type='Pretrained', checkpoint=path)`` is accepted as well).
    """

    def __init__(self, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, patch_size=14,
                 map_depth=12, input_size=1288, pos_grid=37, scale_thresh=0.5, conf_thresh=0.3,
                 use_gt_map_in_train=True, ls_init=1.0, pretrained: Optional[str] = None,
                 init_cfg=None):
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            # a DINOv2 file named by init_cfg is loaded with the key mapping of .vit, not by
            # MMEngine's generic loader (whose keys would not match)
            pretrained = pretrained or init_cfg.get('checkpoint')
            init_cfg = None
        super().__init__(init_cfg=init_cfg)
        if input_size % (4 * patch_size):
            raise ValueError(f'input_size {input_size} must be a multiple of {4 * patch_size}')
        self.input_size, self.patch_size = input_size, patch_size
        self.grid = input_size // (2 * patch_size)  # 28-px patches per side
        self.scale_thresh, self.conf_thresh = scale_thresh, conf_thresh
        self.use_gt_map_in_train = use_gt_map_in_train
        self.pretrained = pretrained
        self.embed_dim = embed_dim
        self.encoder = ViTEncoder(embed_dim, depth, num_heads, mlp_ratio, patch_size, pos_grid, ls_init)
        self.map_encoder = ViTEncoder(embed_dim, map_depth, num_heads, mlp_ratio, patch_size, pos_grid, ls_init)
        self.map_head = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.GELU(), nn.Linear(embed_dim, 2))
        self.level_embed = nn.Parameter(torch.zeros(3, embed_dim))
        nn.init.normal_(self.level_embed, std=0.02)
        # presence starts unlikely (focal-loss prior), scale near a mid value
        nn.init.constant_(self.map_head[-1].bias, 0.0)
        with torch.no_grad():
            self.map_head[-1].bias[0] = -2.0

    def init_weights(self):
        super().init_weights()
        if self.pretrained:
            sd = read_dinov2_state_dict(self.pretrained)
            for name, enc in (('encoder', self.encoder), ('map_encoder', self.map_encoder)):
                missing = load_dinov2_into(enc, sd, self.pretrained)
                print_log(f'ScaleAdaptiveViT.{name}: loaded DINOv2 weights from {self.pretrained}'
                          + (f' (missing: {missing})' if missing else ''), logger='current')

    # ------------------------------------------------------------------ scale-map branch
    def predict_scale_map(self, img_half: torch.Tensor) -> torch.Tensor:
        """img_half: (B, 3, S/2, S/2) -> (B, g, g, 2) [presence logit, scale]."""
        enc = self.map_encoder
        feat = enc.patch_embed(img_half)  # (B, C, g, g)
        B, C, g, _ = feat.shape
        x = (feat + enc.pos_grid_at(g, g)).flatten(2).transpose(1, 2)
        x = enc.run_blocks(torch.cat([enc.cls_with_pos(B), x], 1))[:, 1:]
        out = self.map_head(x).reshape(B, g, g, 2)
        return torch.stack([out[..., 0], torch.sigmoid(out[..., 1])], -1)

    # ------------------------------------------------------------------ adaptive tokens
    def candidate_tokens(self, img: torch.Tensor, img_half: torch.Tensor):
        """All candidate tokens of the three levels.

        Returns: feats (B, N, C), boxes (N, 4) canvas-normalised cx, cy, w, h, and the token
        counts (n14, n28, n56) in the order they are concatenated.
        """
        enc = self.encoder
        g = self.grid
        pos14 = enc.pos_grid_at(2 * g, 2 * g)  # (1, C, 2g, 2g)
        f14 = enc.patch_embed(img) + pos14 + self.level_embed[LEVEL_FINE, :, None, None]
        f28_raw = enc.patch_embed(img_half)
        f28 = f28_raw + F.avg_pool2d(pos14, 2) + self.level_embed[LEVEL_BASE, :, None, None]
        f56 = (F.avg_pool2d(f28_raw, 2) + F.avg_pool2d(pos14, 4)
               + self.level_embed[LEVEL_POOLED, :, None, None])
        feats = torch.cat([f.flatten(2) for f in (f14, f28, f56)], 2).transpose(1, 2)
        boxes = torch.cat([_grid_boxes(2 * g, img.device), _grid_boxes(g, img.device),
                           _grid_boxes(g // 2, img.device)], 0)
        return feats, boxes, (4 * g * g, g * g, g * g // 4)

    def forward(self, img: torch.Tensor, gt_scale_map: Optional[torch.Tensor] = None) -> BackboneOutput:
        """img: (B, 3, S, S) normalised canvas; gt_scale_map: (B, g, g, 2) or None."""
        B, _, H, W = img.shape
        if H != self.input_size or W != self.input_size:
            raise ValueError(f'expected a {self.input_size}x{self.input_size} canvas, got {H}x{W}')
        img_half = F.avg_pool2d(img, 2)
        pred_map = self.predict_scale_map(img_half)
        if self.training and self.use_gt_map_in_train and gt_scale_map is not None:
            presence, scale = gt_scale_map[..., 0] > 0.5, gt_scale_map[..., 1]
        else:
            presence = torch.sigmoid(pred_map[..., 0]) > self.conf_thresh
            scale = pred_map[..., 1]
        levels = token_levels(presence.detach(), scale.detach(), self.scale_thresh)

        feats, boxes, _ = self.candidate_tokens(img, img_half)
        sel = torch.cat([
            (levels == LEVEL_FINE).repeat_interleave(2, 1).repeat_interleave(2, 2).flatten(1),
            (levels == LEVEL_BASE).flatten(1),
            (levels[:, ::2, ::2] == LEVEL_POOLED).flatten(1),
        ], 1)  # (B, N)
        counts = sel.sum(1)
        L = int(counts.max())
        # selected tokens first (stable: keeps raster order), then cut to the longest image
        order = torch.argsort((~sel).to(torch.int8), dim=1, stable=True)[:, :L]
        tokens = torch.gather(feats, 1, order[..., None].expand(-1, -1, feats.shape[-1]))
        token_boxes = boxes[order]  # (B, L, 4)
        pad = torch.arange(L, device=img.device)[None] >= counts[:, None]

        enc = self.encoder
        x = torch.cat([enc.cls_with_pos(B), tokens], 1)
        key_pad = torch.cat([torch.zeros(B, 1, dtype=torch.bool, device=img.device), pad], 1)
        x = enc.run_blocks(x, key_pad)
        return BackboneOutput(tokens=x[:, 1:], pad_mask=pad, token_boxes=token_boxes,
                              cam_token=x[:, 0], scale_map=pred_map, levels=levels)


def _grid_boxes(n: int, device) -> torch.Tensor:
    """(n*n, 4) cx, cy, w, h of the cells of an n x n grid over the unit square (raster order)."""
    c = (torch.arange(n, device=device, dtype=torch.float32) + 0.5) / n
    cy, cx = torch.meshgrid(c, c, indexing='ij')
    wh = torch.full_like(cx, 1.0 / n)
    return torch.stack([cx, cy, wh, wh], -1).reshape(-1, 4)
