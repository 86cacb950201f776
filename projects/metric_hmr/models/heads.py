"""Per-query prediction heads: box, pose (6D), shape, camera, confidence."""
import math
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from metric_hmr.registry import MODELS
from .geometry import inverse_sigmoid


class MLP(nn.Module):
    """Linear layers with ReLU in between."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, num_layers: int):
        super().__init__()
        dims = [in_dim] + [hidden] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@MODELS.register_module()
class HumanParamHeads(BaseModule):
    """Heads applied to every decoder layer's query features (iterative refinement).

    Each call refines the previous layer's estimate:

    * box: cx, cy, w, h in [0, 1] of the canvas; ``sigmoid(inverse_sigmoid(anchor) + delta)``.
    * pose: 24 joint rotations in 6D (global orient first), previous + delta
      (start: identity rotations).
    * shape: ``num_betas`` values (10 SMPL, 11 SMPL-A: the last is the kid-template blend).
    * camera: (s, u, v): weak-perspective scale s > 0 (softplus) and the root's normalised
      canvas position in [-1, 1], predicted as an offset from the box centre in box units.
    * confidence: a logit (focal-loss prior 0.01 at init).
    """

    def __init__(self, dim=768, num_joints=24, num_betas=11, init_scale=0.4, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_joints, self.num_betas = num_joints, num_betas
        self.box = MLP(dim, dim, 4, 3)
        self.pose = MLP(dim, dim, num_joints * 6, 2)
        self.shape = MLP(dim, dim, num_betas, 2)
        self.cam = MLP(dim, dim, 3, 2)
        self.conf = nn.Linear(dim, 1)
        for mlp in (self.box, self.pose, self.shape, self.cam):
            nn.init.zeros_(mlp.layers[-1].bias)
            nn.init.normal_(mlp.layers[-1].weight, std=1e-3)
        nn.init.constant_(self.conf.bias, -math.log((1 - 0.01) / 0.01))
        # softplus(b) = init_scale
        self.scale_bias = math.log(math.expm1(init_scale))

    def initial_state(self, batch: int, queries: int, device) -> Dict[str, torch.Tensor]:
        pose = torch.tensor(IDENTITY_6D, device=device).repeat(batch, queries, self.num_joints, 1)
        return dict(pose6d=pose, betas=torch.zeros(batch, queries, self.num_betas, device=device))

    def forward(self, h: torch.Tensor, anchors: torch.Tensor,
                prev: Optional[Dict[str, torch.Tensor]] = None) -> Dict[str, torch.Tensor]:
        """h: (B, Q, C) query features; anchors: (B, Q, 4) boxes the layer started from."""
        B, Q, _ = h.shape
        prev = prev or self.initial_state(B, Q, h.device)
        boxes = torch.sigmoid(inverse_sigmoid(anchors) + self.box(h))
        pose6d = prev['pose6d'] + self.pose(h).reshape(B, Q, self.num_joints, 6)
        betas = prev['betas'] + self.shape(h)
        c = self.cam(h)
        scale = F.softplus(c[..., 0] + self.scale_bias) + 1e-4
        centre = boxes[..., :2] * 2 - 1
        root_uv = centre + c[..., 1:] * boxes[..., 2:].detach() * 2
        return dict(boxes=boxes, pose6d=pose6d, betas=betas, cam_scale=scale, root_uv=root_uv,
                    logits=self.conf(h)[..., 0])
