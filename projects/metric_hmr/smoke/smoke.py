"""Smoke components: a linear regressor learning a fixed random linear map."""

from __future__ import annotations

import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch import nn

from ..registry import DATASETS, METRICS, MODELS

__all__ = ['SmokeDataset', 'SmokeRegressor', 'SmokeMetric']


@DATASETS.register_module()
class SmokeDataset(BaseDataset):
    """``num_samples`` pairs (x, y = A x + noise) drawn from ``seed``.

    Args:
        num_samples: dataset length.
        dim_in / dim_out: sizes of x and y.
        seed: the data (including the map A) is a pure function of the seed.
        data_root: optional folder that must exist (exercises the missing-path error of
            the tools, like a real dataset's ``data_root``).
    """

    def __init__(self, num_samples: int = 64, dim_in: int = 8, dim_out: int = 2, seed: int = 0,
                 data_root: Optional[str] = None, **kwargs):
        if data_root is not None and not osp.isdir(data_root):
            raise FileNotFoundError(f'data_root not found: {data_root}')
        self.num_samples, self.dim_in, self.dim_out, self.seed = num_samples, dim_in, dim_out, seed
        kwargs.setdefault('serialize_data', False)
        super().__init__(data_root=data_root or '', pipeline=kwargs.pop('pipeline', []), **kwargs)

    def load_data_list(self) -> List[dict]:
        rng = np.random.default_rng(self.seed)
        a = rng.normal(size=(self.dim_out, self.dim_in)).astype(np.float32)
        x = rng.normal(size=(self.num_samples, self.dim_in)).astype(np.float32)
        y = x @ a.T + 0.01 * rng.normal(size=(self.num_samples, self.dim_out)).astype(np.float32)
        return [dict(inputs=torch.from_numpy(x[i]), target=torch.from_numpy(y[i]), sample_idx=i)
                for i in range(self.num_samples)]


@MODELS.register_module()
class SmokeRegressor(BaseModel):
    """One linear layer with an MSE loss; ``forward`` follows the MMEngine modes."""

    def __init__(self, dim_in: int = 8, dim_out: int = 2, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.linear = nn.Linear(dim_in, dim_out)

    def forward(self, inputs: torch.Tensor, target: Optional[torch.Tensor] = None,
                sample_idx=None, mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], list, torch.Tensor]:
        pred = self.linear(inputs)
        if mode == 'loss':
            return dict(loss_mse=((pred - target) ** 2).mean())
        if mode == 'predict':
            return [dict(pred=p.detach(), target=t) for p, t in zip(pred, target)]
        return pred


@METRICS.register_module()
class SmokeMetric(BaseMetric):
    """Mean squared error of the smoke regressor's predictions."""
    default_prefix = 'smoke'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            self.results.append(float(((s['pred'].cpu() - s['target'].cpu()) ** 2).mean()))

    def compute_metrics(self, results: list) -> dict:
        return dict(mse=float(np.mean(results)))
