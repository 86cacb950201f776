"""Evaluation: benchmark metrics of method.md §4 and precomputed-prediction scoring.

* :mod:`.functional`: pure numpy metric functions (Procrustes, MPJPE, matching, PCDR,
  PCK, 3D-PCK, FoV errors).
* :mod:`.metrics`: registered MMEngine metrics consuming the per-image
  ``dict(img_path, ori_shape, pred, gt)`` data samples.
* :mod:`.geometry`: SMPL meshes / regressed joints / T-pose heights for the metrics.
* :mod:`.precomputed`: prediction files and the ``PrecomputedPredictor`` model.
"""
from __future__ import annotations

from . import functional
from .functional import PCDRAccumulator
from .body_geometry import SMPLGeometry
from .metrics import FoVMetric, MeshMetric, MuPoTSMetric, PanopticMetric, RelativeHumanMetric
from .precomputed import PrecomputedPredictor, load_predictions, save_predictions

__all__ = ['functional', 'PCDRAccumulator', 'SMPLGeometry', 'RelativeHumanMetric', 'MeshMetric', 'MuPoTSMetric',
           'PanopticMetric', 'FoVMetric', 'PrecomputedPredictor', 'load_predictions',
           'save_predictions']
