"""Datasets: training sets (``train``) and benchmark test loaders (``benchmarks``)."""

from __future__ import annotations

from . import benchmarks, train  # noqa: F401  (import registers the dataset classes)

__all__ = ['benchmarks', 'train']
