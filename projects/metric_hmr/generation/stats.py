"""Deprecated path (one release): the generation statistics live in
:mod:`metric_hmr.visualization.plots` next to their plots."""
from __future__ import annotations

from ..visualization.plots import StatsCollector, collect, plot_generation_stats, write_stats

__all__ = ['StatsCollector', 'collect', 'write_stats', 'plot_generation_stats']
