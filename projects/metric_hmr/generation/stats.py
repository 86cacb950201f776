"""Statistics and plots of a generated set (paper Figs. 6-8).

* persons per kept image (Fig. 6),
* vertical FoV of kept images (Fig. 7),
* T-pose heights after DTO against the input heights (Fig. 8).
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np

from ..utils.io import atomic_save_json, atomic_write


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
