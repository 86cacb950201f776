"""SAT-HMR's per-query heads on every decoder layer (names mirror SAT-HMR).

* ``bbox_embed[l]`` (MLP 3 layers, last layer zero at init): box logits added to the
  anchor's logit (also used inside the decoder for the anchor refinement);
* ``pose_head[l]`` (MLP 6 layers) and ``shape_head[l]`` (MLP 5 layers): increments summed
  over the layers on top of the SMPL mean parameters (``mean_pose`` in the interleaved 6D
  layout of ``smpl_mean_params.npz``, ``mean_shape``);
* ``cam_head`` (MLP 3 layers, C -> C/2 -> 3, shared): (x, y, scale logit);
* ``conf_head`` (linear, shared): person logit, bias at prior 0.01 (focal loss).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from metric_hmr.geometry import matrix_to_rot6d_interleaved
from metric_hmr.registry import MODELS
from .boxes import inverse_sigmoid
from .mlp import MLP

__all__ = ['SATHeads', 'load_smpl_mean_params', 'cam_to_transl']


def load_smpl_mean_params(path: Optional[str], num_joints: int, num_betas: int):
    """(pose (J*6,), shape (num_betas,)) from ``smpl_mean_params.npz`` (keys ``pose``, ``shape``).

    Without a file: identity rotations and zero shape.  Extra betas (the SMPL-A age blend)
    start at 0.  The file is read without pickle.
    """
    if path is None:
        pose = matrix_to_rot6d_interleaved(torch.eye(3).expand(num_joints, 3, 3)).flatten()
        return pose.float(), torch.zeros(num_betas)
    with np.load(path, allow_pickle=False) as f:
        for key in ('pose', 'shape'):
            if key not in f:
                raise ValueError(f'{path}: SMPL mean parameters need the field {key!r}')
        pose = torch.as_tensor(f['pose'], dtype=torch.float32).flatten()
        shape = torch.as_tensor(f['shape'], dtype=torch.float32).flatten()
    if pose.numel() != num_joints * 6:
        raise ValueError(f'{path}: field pose has {pose.numel()} values, expected {num_joints * 6}')
    out = torch.zeros(num_betas)
    n = min(num_betas, shape.numel())
    out[:n] = shape[:n]
    return pose, out


def cam_to_transl(cam: torch.Tensor, focal: torch.Tensor, input_size: float) -> torch.Tensor:
    """SAT-HMR camera -> translation: s = 2 sigmoid(c_s) + 1e-6, t = (c_x / s, c_y / s, 2 f / (s S)).

    Args:
        cam: (..., 3) raw ``cam_head`` output; focal: broadcastable to cam[..., 0] (pixels).
    """
    s = 2 * cam[..., 2:].sigmoid() + 1e-6
    tz = 2 * focal[..., None] / (s * input_size)
    return torch.cat([cam[..., :2] / s, tz], dim=-1)


@MODELS.register_module()
class SATHeads(BaseModule):
    """Heads of all decoder layers.

    Args:
        dim: decoder width; num_layers: decoder layers; num_joints: 24 (SMPL);
        num_betas: 10 (SMPL) or 11 (SMPL-A, last = kid-template blend);
        mean_params: optional ``smpl_mean_params.npz`` for the initial estimate.
    """

    def __init__(self, dim=768, num_layers=6, num_joints=24, num_betas=10, mean_params: Optional[str] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_joints, self.num_betas = num_joints, num_betas
        self.bbox_embed = nn.ModuleList(MLP(dim, dim, 4, 3) for _ in range(num_layers))
        self.pose_head = nn.ModuleList(MLP(dim, dim, num_joints * 6, 6) for _ in range(num_layers))
        self.shape_head = nn.ModuleList(MLP(dim, dim, num_betas, 5) for _ in range(num_layers))
        self.cam_head = MLP(dim, dim // 2, 3, 3)
        self.conf_head = nn.Linear(dim, 1)
        nn.init.constant_(self.conf_head.bias, -math.log((1 - 0.01) / 0.01))
        for mlp in self.bbox_embed:
            nn.init.zeros_(mlp.layers[-1].weight)
            nn.init.zeros_(mlp.layers[-1].bias)
        pose, shape = load_smpl_mean_params(mean_params, num_joints, num_betas)
        self.register_buffer('mean_pose', pose)
        self.register_buffer('mean_shape', shape)

    def forward(self, hs: torch.Tensor, refs: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """hs (layers, B, Q, C) decoder outputs; refs (layers, B, Q, 4) anchors entering each layer.

        Returns per layer: boxes (B, Q, 4) cxcywh in [0, 1], pose6d (B, Q, J, 6) interleaved,
        betas (B, Q, nb), cam (B, Q, 3) raw, logits (B, Q).
        """
        pose = self.mean_pose.view(1, 1, -1)
        shape = self.mean_shape.view(1, 1, -1)
        outs = []
        for lid in range(hs.shape[0]):
            h = hs[lid]
            pose = pose + self.pose_head[lid](h)
            shape = shape + self.shape_head[lid](h)
            boxes = (self.bbox_embed[lid](h) + inverse_sigmoid(refs[lid])).sigmoid()
            outs.append(dict(boxes=boxes, pose6d=pose.reshape(*h.shape[:2], self.num_joints, 6), betas=shape,
                             cam=self.cam_head(h), logits=self.conf_head(h)[..., 0]))
        return outs
