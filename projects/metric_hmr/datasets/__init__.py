"""Datasets: training sets (``train``) and benchmark test loaders (``benchmarks``)."""
from . import benchmarks, train  # noqa: F401  (import registers the dataset classes)
