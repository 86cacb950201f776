"""Statistics and plots of a generated set (paper Figs. 6-8).

* persons per kept image (Fig. 6),
* vertical FoV of kept images (Fig. 7),
* T-pose heights after DTO against the input heights (Fig. 8).

The plots themselves are :func:`metric_hmr.visualization.plots.plot_generation_stats`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Union

import numpy as np

from ..utils.io import atomic_save_json
from ..visualization.plots import plot_generation_stats

__all__ = ['collect', 'write_stats', 'plot_generation_stats']


class StatsCollector:
    """The statistics' numbers, gathered one record at a time (kept images, published
    persons), so a merge never holds all records."""

    def __init__(self):
        self.persons: List[int] = []
        self.fov: List[float] = []
        self.h_in: List[float] = []
        self.h_out: List[float] = []

    def add(self, r: dict) -> None:
        if r['status'] != 'kept':
            return
        self.persons.append(r['num_persons'])
        if r['fov_v_deg'] is not None:
            self.fov.append(r['fov_v_deg'])
        for p in r['persons']:
            if p.get('published', True) and p.get('h_init') is not None \
                    and p.get('h_star') is not None:
                self.h_in.append(p['h_init'])
                self.h_out.append(p['h_star'])

    def arrays(self) -> dict:
        return {'persons_per_image': np.array(self.persons, dtype=np.int64),
                'fov_v_deg': np.array(self.fov, dtype=np.float64),
                'height_input': np.array(self.h_in, dtype=np.float64),
                'height_dto': np.array(self.h_out, dtype=np.float64)}


def collect(records: Iterable[dict]) -> dict:
    """Arrays of the statistics from the records (kept images only)."""
    c = StatsCollector()
    for r in records:
        c.add(r)
    return c.arrays()


def _describe(x: np.ndarray) -> dict:
    if x.size == 0:
        return {'n': 0}
    return {'n': int(x.size), 'mean': float(x.mean()), 'std': float(x.std()),
            'min': float(x.min()), 'median': float(np.median(x)), 'max': float(x.max())}


def write_stats(records: Union[Iterable[dict], StatsCollector], out_dir, name: str = 'dto') -> dict:
    """Write ``stats.json`` and three PNG plots into ``out_dir`` from records or a filled
    :class:`StatsCollector`; returns the stats dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    c = records.arrays() if isinstance(records, StatsCollector) else collect(records)
    stats = {k: _describe(v.astype(np.float64)) for k, v in c.items()}
    hist = np.bincount(c['persons_per_image']) if c['persons_per_image'].size else np.zeros(0, int)
    stats['persons_per_image']['histogram'] = hist.tolist()
    atomic_save_json(out_dir / 'stats.json', stats, indent=2, sort_keys=True)

    plot_generation_stats(c, hist, out_dir, name)
    return stats
