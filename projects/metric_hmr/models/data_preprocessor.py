"""Batch preparation for MA-HMR: stack canvases, normalise, move targets to the device."""

from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from metric_hmr.registry import MODELS

__all__ = ['MAHMRDataPreprocessor']


@MODELS.register_module()
class MAHMRDataPreprocessor(BaseDataPreprocessor):
    """Stacks ``inputs`` (uint8 (3, S, S) canvases) and normalises them with ``mean``/``std``
    (0-255 scale, ImageNet statistics as DINOv2 expects).  ``data_samples`` (per-image dicts
    of tensors) are moved to the model's device unchanged."""

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375), non_blocking: bool = False):
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        inputs = (inputs.float() - self.mean) / self.std
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
