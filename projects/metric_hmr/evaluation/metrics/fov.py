"""Camera metric: vertical-FoV and focal-length errors per image."""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from metric_hmr.registry import METRICS
from ..functional import fov_errors
from .benchmark_metric import BenchmarkMetric, focal_y_of, nanmean

__all__ = ['FoVMetric']


@METRICS.register_module()
class FoVMetric(BenchmarkMetric):
    """Mean absolute vertical-FoV error (degrees), focal error (px) and relative focal
    error, for images whose ground truth carries ``focal`` and whose sample has
    ``ori_shape``; the prediction gives ``focal`` or the vertical ``fov`` (radians).
    Images lacking any of these are counted in ``num_skipped``.
    """
    default_prefix = 'camera'

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample, pred, gt in self.iter_samples(data_batch, data_samples):
            shape = sample.get('ori_shape') or gt.get('ori_shape')
            pf = focal_y_of(pred, shape)
            if pf is None or gt.get('focal') is None or shape is None:
                self.results.append(None)
                continue
            e = fov_errors(pf, np.ravel(gt['focal'])[1], shape[0])
            self.results.append({k: float(v) for k, v in e.items()})

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        valid = [r for r in results if r is not None]
        out = {k: nanmean(r[k] for r in valid) for k in ('fov_deg', 'focal_px', 'focal_rel')}
        out['num_skipped'] = len(results) - len(valid)
        return out
