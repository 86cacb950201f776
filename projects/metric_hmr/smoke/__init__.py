"""Tiny registered model, dataset and metric for the foundation smoke config.

They exist so ``tools/train.py``, ``tools/test.py`` and the distributed launchers can be
exercised end to end on CPU in seconds, independent of the real MA-HMR network.
"""

from __future__ import annotations

from .smoke import SmokeDataset, SmokeMetric, SmokeRegressor

__all__ = ['SmokeDataset', 'SmokeMetric', 'SmokeRegressor']
