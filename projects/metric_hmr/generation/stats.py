"""Statistics and plots of a generated set (paper Figs. 6-8).

* persons per kept image (Fig. 6),
* vertical FoV of kept images (Fig. 7),
* T-pose heights after DTO against the input heights (Fig. 8).

The plots themselves are :func:`metric_hmr.visualization.plots.plot_generation_stats`.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np

from ..utils.io import atomic_save_json
from ..visualization.plots import plot_generation_stats

__all__ = ['collect', 'write_stats', 'plot_generation_stats']


def collect(records: List[dict]) -> dict:
    """Arrays of the statistics from the records (kept images only)."""
    kept = [r for r in records if r['status'] == 'kept']
    persons = np.array([r['num_persons'] for r in kept], dtype=np.int64)
    fov = np.array([r['fov_v_deg'] for r in kept if r['fov_v_deg'] is not None], dtype=np.float64)
    h_in, h_out = [], []
    for r in kept:
        for p in r['persons']:
            if p.get('h_init') is not None and p.get('h_star') is not None:
                h_in.append(p['h_init'])
                h_out.append(p['h_star'])
    return {'persons_per_image': persons, 'fov_v_deg': fov,
            'height_input': np.array(h_in), 'height_dto': np.array(h_out)}


def _describe(x: np.ndarray) -> dict:
    if x.size == 0:
        return {'n': 0}
    return {'n': int(x.size), 'mean': float(x.mean()), 'std': float(x.std()),
            'min': float(x.min()), 'median': float(np.median(x)), 'max': float(x.max())}


def write_stats(records: List[dict], out_dir, name: str = 'dto') -> dict:
    """Write ``stats.json`` and three PNG plots into ``out_dir``; returns the stats dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    c = collect(records)
    stats = {k: _describe(v.astype(np.float64)) for k, v in c.items()}
    hist = np.bincount(c['persons_per_image']) if c['persons_per_image'].size else np.zeros(0, int)
    stats['persons_per_image']['histogram'] = hist.tolist()
    atomic_save_json(out_dir / 'stats.json', stats, indent=2, sort_keys=True)

    plot_generation_stats(c, hist, out_dir, name)
    return stats
