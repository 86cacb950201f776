"""MA-HMR camera branch: camera token -> vertical FoV (paper Sec. 3.3.1)."""
import math

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from metric_hmr.registry import MODELS


@MODELS.register_module()
class FoVHead(BaseModule):
    """4-layer MLP from the camera token to the vertical FoV in radians.

    v = max(b + MLP(token), min_fov); the last layer starts with tiny weights and its bias b
    at ``init_fov_deg`` (60 degrees), so an untrained head predicts about the usual default FoV.

    Args:
        in_dim: camera-token width.
        hidden_dim: width of the hidden layers (768 for ViT-B: 1.77M parameters).
        num_layers: number of linear layers (4).
        min_fov: lower clamp in radians (0.08 rad ~ 4.6 degrees).
    """

    def __init__(self, in_dim=768, hidden_dim=768, num_layers=4, min_fov=0.08, init_fov_deg=60.0,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        layers = []
        d = in_dim
        for _ in range(num_layers - 1):
            layers += [nn.Linear(d, hidden_dim), nn.ReLU(inplace=True)]
            d = hidden_dim
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(d, 1)
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.constant_(self.out.bias, math.radians(init_fov_deg))
        self.min_fov = min_fov

    def forward(self, cam_token: torch.Tensor) -> torch.Tensor:
        """cam_token: (B, C) -> vertical FoV (B,) radians, >= min_fov."""
        return self.out(self.mlp(cam_token))[:, 0].clamp_min(self.min_fov)
