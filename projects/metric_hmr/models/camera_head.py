"""MA-HMR camera branch: camera (CLS) token -> vertical FoV (paper Sec. 3.3.1)."""
from __future__ import annotations

import math

import torch
from mmengine.model import BaseModule

from metric_hmr.registry import MODELS
from .mlp import MLP

__all__ = ['FoVHead']


@MODELS.register_module()
class FoVHead(BaseModule):
    """``MLP(in_dim, hidden_dim, 1, num_layers)`` on the camera token; v = max(MLP(token), min_fov).

    The CLS token is taken after encoder blocks 3-11, before the final norm.  Initialised as
    MA-HMR (models/sat_model.py:141-145): last weight Xavier-uniform with gain 0.1, last bias
    ``init_fov`` = pi/6 rad, so v starts near 30 degrees and f = H / (2 tan(v/2)) is finite from
    the first step.  ViT-B: 4 layers of width 768 = 1,772,545 parameters.
    """

    def __init__(self, in_dim=768, hidden_dim=768, num_layers=4, min_fov=0.08, init_fov=math.pi / 6,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.layers = MLP(in_dim, hidden_dim, 1, num_layers).layers
        torch.nn.init.xavier_uniform_(self.layers[-1].weight, gain=0.1)  # small start: v ~ init_fov
        torch.nn.init.constant_(self.layers[-1].bias, float(init_fov))
        self.min_fov = min_fov

    def forward(self, cam_token: torch.Tensor) -> torch.Tensor:
        """cam_token: (B, C) -> vertical FoV (B,) radians, >= min_fov."""
        x = cam_token
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x[:, 0].clamp_min(self.min_fov)
