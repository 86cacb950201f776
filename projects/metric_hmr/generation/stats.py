"""Statistics and plots of a generated set (paper Figs. 6-8).

* persons per kept image (Fig. 6),
* vertical FoV of kept images (Fig. 7),
* T-pose heights after DTO against the input heights (Fig. 8).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Union

import numpy as np

from ..utils.io import atomic_save_json, atomic_write


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

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    def save(fig, fname):
        def write(p):
            fig.savefig(p, format='png', dpi=100, metadata={'Software': None})
        atomic_write(out_dir / fname, write)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    if hist.size:
        ax.bar(np.arange(hist.size), hist, color='tab:blue')
    ax.set_xlabel('persons per image')
    ax.set_ylabel('images')
    ax.set_title(f'{name}: persons per kept image (Fig. 6)')
    fig.tight_layout()
    save(fig, 'persons_per_image.png')

    fig, ax = plt.subplots(figsize=(5, 3.5))
    if c['fov_v_deg'].size:
        ax.hist(c['fov_v_deg'], bins=30, color='tab:green')
    ax.set_xlabel('vertical FoV (deg)')
    ax.set_ylabel('images')
    ax.set_title(f'{name}: FoV distribution (Fig. 7)')
    fig.tight_layout()
    save(fig, 'fov_distribution.png')

    fig, ax = plt.subplots(figsize=(5, 3.5))
    if c['height_dto'].size:
        lo = min(c['height_input'].min(), c['height_dto'].min())
        hi = max(c['height_input'].max(), c['height_dto'].max())
        bins = np.linspace(lo, hi + 1e-6, 40)
        ax.hist(c['height_input'], bins=bins, alpha=0.5, label='input (pGT)', color='tab:gray')
        ax.hist(c['height_dto'], bins=bins, alpha=0.6, label='after DTO', color='tab:orange')
        ax.legend()
    ax.set_xlabel('T-pose height (m)')
    ax.set_ylabel('persons')
    ax.set_title(f'{name}: height distribution (Fig. 8)')
    fig.tight_layout()
    save(fig, 'height_distribution.png')
    return stats
