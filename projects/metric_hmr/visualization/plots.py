"""Statistics plots (PNG, matplotlib Agg, written atomically).

* :func:`plot_statistics`: the report's plots of a run's records (persons per image, FoV,
  heights before / after DTO, residuals, image scores, depths);
* generation statistics of a DTO-Humans set (paper Figs. 6-8): :class:`StatsCollector`
  gathers persons per kept image, vertical FoV and T-pose heights before / after DTO one
  record at a time, :func:`collect` does it for a list of records, :func:`write_stats`
  writes ``stats.json`` and :func:`plot_generation_stats` draws the three figures.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from metric_hmr.utils.io import atomic_save_json, atomic_write
from .labels import age_group_name
from .run_records import DEFAULT_SCORE_THRESHOLD, num, persons_of, record_fov_deg

__all__ = ['plot_statistics', 'plot_generation_stats', 'StatsCollector', 'collect', 'write_stats']

_num = num


def _save_fig(fig, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    atomic_write(path, lambda p: fig.savefig(p, format='png', dpi=100, bbox_inches='tight'))


def _hist(values: Sequence[float], title: str, xlabel: str, path: Path, bins=30,
          vline: Optional[float] = None) -> None:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4.8, 3.2))
    ax = fig.add_subplot(111)
    ax.hist(values, bins=bins, color='#3a7bd5', edgecolor='white')
    if vline is not None:
        ax.axvline(vline, color='#c00', linestyle='--', linewidth=1, label=f'threshold {vline:g}')
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel('count', fontsize=9)
    _save_fig(fig, path)


def plot_statistics(records: Sequence[dict], out_dir: Path,
                    score_threshold: Optional[float] = DEFAULT_SCORE_THRESHOLD) -> List[Tuple[str, str]]:
    """Write the statistics PNGs into ``out_dir``; returns (title, file name) of each.

    A plot is made only when its data exist in at least one record.
    """
    from matplotlib.figure import Figure
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: List[Tuple[str, str]] = []
    n_persons = [len(persons_of(r)) for r in records if isinstance(r.get('persons'), list)]
    if n_persons:
        _hist(n_persons, 'persons per image', 'persons', out_dir / 'persons_per_image.png',
              bins=np.arange(-0.5, max(n_persons) + 1.5, 1.0))
        plots.append(('Persons per image', 'persons_per_image.png'))
    fovs = [f for f in (record_fov_deg(r) for r in records) if f is not None]
    if fovs:
        _hist(fovs, 'vertical field of view', 'FoV [deg]', out_dir / 'fov.png')
        plots.append(('Field of view', 'fov.png'))

    persons = [p for r in records for p in persons_of(r)]
    hb = [(_num(p.get('height_before')), _num(p.get('height_after')), age_group_name(p.get('age_group')))
          for p in persons]
    before = [b for b, _, _ in hb if b is not None]
    after = [a for _, a, _ in hb if a is not None]
    if before or after:
        fig = Figure(figsize=(4.8, 3.2))
        ax = fig.add_subplot(111)
        allv = before + after
        bins = np.linspace(min(allv) - 0.05, max(allv) + 0.05, 30)
        if before:
            ax.hist(before, bins=bins, histtype='step', linewidth=1.5, color='#888', label='before DTO')
        if after:
            ax.hist(after, bins=bins, histtype='stepfilled', alpha=0.5, color='#3a7bd5', label='after DTO')
        ax.legend(fontsize=8)
        ax.set_title('T-pose height', fontsize=10)
        ax.set_xlabel('height [m]', fontsize=9)
        ax.set_ylabel('persons', fontsize=9)
        _save_fig(fig, out_dir / 'height_hist.png')
        plots.append(('Height before / after', 'height_hist.png'))
    pairs = [(b, a, g) for b, a, g in hb if b is not None and a is not None]
    if pairs:
        fig = Figure(figsize=(4.8, 3.6))
        ax = fig.add_subplot(111)
        groups = ['adult', 'teen', 'kid', 'baby', 'unknown']
        gcol = dict(adult='#3a7bd5', teen='#2ca02c', kid='#ff7f0e', baby='#d62728', unknown='#999')
        for g in groups:
            sel = [(b, a) for b, a, gg in pairs if gg == g]
            if sel:
                s = np.asarray(sel)
                ax.scatter(s[:, 0], s[:, 1], s=8, color=gcol[g], label=f'{g} ({len(sel)})')
        lo = min(min(b, a) for b, a, _ in pairs) - 0.05
        hi = max(max(b, a) for b, a, _ in pairs) + 0.05
        ax.plot([lo, hi], [lo, hi], color='0.6', linewidth=0.8)
        ax.set_xlabel('height before DTO [m]', fontsize=9)
        ax.set_ylabel('height after DTO [m]', fontsize=9)
        ax.set_title('height per person by age group', fontsize=10)
        ax.legend(fontsize=7)
        _save_fig(fig, out_dir / 'height_scatter.png')
        plots.append(('Height before vs after', 'height_scatter.png'))
    res = [v for v in (_num(p.get('residual')) for p in persons) if v is not None]
    if res:
        _hist(res, 'standardized height residual |h*-mu|/sigma', 'residual', out_dir / 'residuals.png')
        plots.append(('Person residuals', 'residuals.png'))
    scores = [v for v in (_num(r.get('score')) for r in records) if v is not None]
    if scores:
        _hist(scores, 'image score (mean residual)', 'score', out_dir / 'image_scores.png',
              vline=score_threshold)
        plots.append(('Image scores', 'image_scores.png'))
    depths = [v for v in (_num(p.get('depth')) for p in persons) if v is not None]
    if depths:
        _hist(depths, 'person depth', 'z [m]', out_dir / 'depths.png')
        plots.append(('Depths', 'depths.png'))
    return plots


def plot_generation_stats(c: dict, hist: np.ndarray, out_dir, name: str = 'dto') -> None:
    """Paper Figs. 6-8 of a generated set into ``out_dir``: persons per kept image,
    vertical FoV, T-pose heights before / after DTO.

    Args:
        c: arrays of :func:`collect`.
        hist: histogram of persons per kept image.
    """
    out_dir = Path(out_dir)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    def save(fig, fname):
        atomic_write(out_dir / fname,
                     lambda p: fig.savefig(p, format='png', dpi=100, metadata={'Software': None}))
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


# Generation statistics (paper Figs. 6-8); the old path ``metric_hmr.generation.stats``
# aliases these names for one release.

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
