"""Benchmark test sets (Relative Human, 3DPW, Hi4D, MuPoTS, CMU Panoptic), method.md §6."""

from __future__ import annotations

from .benchmark_dataset import BenchmarkDataset, benchmark_collate, load_annots
from .loaders import (Hi4DDataset, MuPoTSDataset, PanopticDataset, PW3DDataset,
                      RelativeHumanDataset)

__all__ = ['BenchmarkDataset', 'benchmark_collate', 'load_annots', 'RelativeHumanDataset', 'PW3DDataset',
           'Hi4DDataset', 'MuPoTSDataset', 'PanopticDataset']
