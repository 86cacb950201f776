"""Bird's-eye (top) and side views of a scene with the camera frustum and a metric grid.

Drawn with matplotlib's Agg canvas (no display, no pyplot global state).  Axes:

* top view ('bev'): horizontal = camera x (metres, right), vertical = depth z (metres,
  away from the camera, which sits at the bottom at (0, 0)).  Farther persons are
  therefore drawn *higher* in the picture.
* side view ('side'): horizontal = depth z, vertical = height -y (up), camera at left.

Each person is a faint cloud of its (subsampled) mesh vertices plus a solid marker at its
translation, in the person's palette colour; when ``before`` translations are given (DTO
input), they are drawn as hollow markers with an arrow to the refined position.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

from .labels import PersonLabel, person_colors

__all__ = ['VIEWS', 'frustum_edges', 'render_view']

VIEWS = ('bev', 'side')


def _nice_step(span: float, target_lines: int = 8) -> float:
    """Grid spacing in metres from {0.25, 0.5, 1, 2, 5, 10, ...} giving ~target_lines lines."""
    raw = max(span, 1e-6) / target_lines
    for s in (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0):
        if s >= raw:
            return s
    return 10.0 ** math.ceil(math.log10(raw))


def _project_axes(points: np.ndarray, view: str) -> np.ndarray:
    """(..., 3) OpenCV camera points -> (..., 2) plot coordinates of a view."""
    if view == 'bev':
        return np.stack([points[..., 0], points[..., 2]], axis=-1)
    if view == 'side':
        return np.stack([points[..., 2], -points[..., 1]], axis=-1)
    raise ValueError(f'unknown view {view!r} (expected one of {VIEWS})')


def frustum_edges(focal, princpt, image_size: Tuple[int, int], view: str) -> Tuple[float, float]:
    """Slopes of the two frustum edges of a view (lateral metres per metre of depth).

    top view: x/z of the left and right image borders; side view: (-y)/z of the bottom and
    top image borders.
    """
    fx, fy = (float(v) for v in np.broadcast_to(np.asarray(focal, float), (2,)))
    cx, cy = (float(v) for v in np.broadcast_to(np.asarray(princpt, float), (2,)))
    H, W = image_size
    if view == 'bev':
        return (0.0 - cx) / fx, (W - cx) / fx
    return -(H - cy) / fy, -(0.0 - cy) / fy


def _equal_aspect(extent, ratio: float) -> Tuple[float, float, float, float]:
    """Grow ``extent`` (x0, x1, y0, y1) around its centre so that height/width == ratio.

    With limits of the same aspect as the axes box, one metre is as long on both axes.
    """
    x0, x1, y0, y1 = (float(v) for v in extent)
    dx, dy = x1 - x0, y1 - y0
    if dy < dx * ratio:
        grow = (dx * ratio - dy) / 2
        y0, y1 = y0 - grow, y1 + grow
    else:
        grow = (dy / ratio - dx) / 2
        x0, x1 = x0 - grow, x1 + grow
    return x0, x1, y0, y1


def _auto_extent(pts2, clouds, before2, view: str) -> Tuple[float, float, float, float]:
    """Plot limits around everything drawn plus the camera at the origin."""
    allp = [np.zeros((1, 2)), pts2] + clouds + ([before2] if before2 is not None else [])
    allp = np.concatenate([p[np.isfinite(p).all(1)] for p in allp if len(p)])
    lo, hi = allp.min(0), allp.max(0)
    span = max(float((hi - lo).max()), 1.0)
    pad = 0.08 * span + 0.3
    lo, hi = lo - pad, hi + pad
    if view == 'bev':
        lo[1] = min(lo[1], -0.5)
    else:
        lo[0] = min(lo[0], -0.5)
    return (lo[0], hi[0], lo[1], hi[1])


def _setup_axes(fig, extent, size: Tuple[int, int], view: str, title: Optional[str]):
    """Axes with equal metres on both axes, a metric grid and labels; returns (ax, limits)."""
    hpx, wpx = size
    box = (0.12, 0.1, 0.84, 0.8)             # axes rectangle in figure fractions
    x0, x1, y0, y1 = _equal_aspect(extent, (box[3] * hpx) / (box[2] * wpx))
    ax = fig.add_axes(box)
    step = _nice_step(max(x1 - x0, y1 - y0))
    ax.set_xticks(np.arange(math.floor(x0 / step) * step, x1 + 1e-9, step))
    ax.set_yticks(np.arange(math.floor(y0 / step) * step, y1 + 1e-9, step))
    ax.grid(True, color='0.85', linewidth=0.8, zorder=0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.tick_params(labelsize=7)
    if view == 'bev':
        ax.set_xlabel('x [m] (right)', fontsize=8)
        ax.set_ylabel('z [m] (depth)', fontsize=8)
    else:
        ax.set_xlabel('z [m] (depth)', fontsize=8)
        ax.set_ylabel('-y [m] (up)', fontsize=8)
    ax.set_title(title or ("bird's-eye view" if view == 'bev' else 'side view'), fontsize=9)
    return ax, (x0, x1, y0, y1)


def _draw_camera(ax, focal, princpt, image_size, view: str, limits) -> None:
    """Camera frustum: two rays from the camera centre out to the far end of the plot."""
    x0, x1, y0, y1 = limits
    far = (y1 if view == 'bev' else x1) * 1.5
    for slope in frustum_edges(focal, princpt, image_size, view):
        if view == 'bev':
            ax.plot([0, slope * far], [0, far], color='0.35', linewidth=1.0, zorder=1)
        else:
            ax.plot([0, far], [0, slope * far], color='0.35', linewidth=1.0, zorder=1)
    ax.plot([0], [0], marker=('^' if view == 'bev' else '>'), color='k', markersize=9, zorder=3)


def _draw_persons(ax, pts2, before2, clouds, cols, labels, view: str) -> None:
    """Point clouds, markers (hollow + arrow from the position before DTO) and labels."""
    for k, cloud in enumerate(clouds):
        ax.scatter(cloud[:, 0], cloud[:, 1], s=1.5, color=cols[k % len(cols)], alpha=0.25,
                   linewidths=0, zorder=2)
    for k in range(len(pts2)):
        c = cols[k % len(cols)]
        if before2 is not None and np.isfinite(before2[k]).all():
            ax.scatter([before2[k, 0]], [before2[k, 1]], s=70, facecolors='none', edgecolors=[c],
                       linewidths=1.5, zorder=4)
            ax.annotate('', xy=pts2[k], xytext=before2[k],
                        arrowprops=dict(arrowstyle='->', color=c, linewidth=1.0), zorder=4)
        if np.isfinite(pts2[k]).all():
            ax.scatter([pts2[k, 0]], [pts2[k, 1]], s=110, color=[c], edgecolors='none', zorder=5)
            text = f'#{k}'
            if view == 'bev' and labels is not None and k < len(labels) and labels[k].depth is not None:
                text += f' z{labels[k].depth:.1f}m'
                if labels[k].height is not None:
                    text += f' {labels[k].height:.2f}m'
            ax.annotate(text, xy=pts2[k], xytext=(7, 5), textcoords='offset points', fontsize=7,
                        zorder=6)


def render_view(transl: np.ndarray, focal, princpt, image_size: Tuple[int, int],
                view: str = 'bev', vertices: Optional[Sequence[np.ndarray]] = None,
                labels: Optional[Sequence[PersonLabel]] = None,
                before_transl: Optional[np.ndarray] = None,
                colors: Optional[np.ndarray] = None, size: Tuple[int, int] = (480, 480),
                title: Optional[str] = None, max_points: int = 800,
                extent: Optional[Tuple[float, float, float, float]] = None) -> np.ndarray:
    """Draw a top or side view.

    Args:
        transl: (K, 3) person translations (OpenCV camera space, metres).
        focal, princpt, image_size: camera, to draw the frustum.
        view: 'bev' (bird's-eye / top) or 'side'.
        vertices: optional K arrays (V, 3): drawn as faint point clouds.
        labels: optional per-person labels; '#k z..m' is written next to the marker.
        before_transl: optional (K, 3) positions before DTO (hollow markers + arrows).
        colors: (K, 3) uint8 colours; default palette.
        size: output (height, width) in pixels.
        extent: (xmin, xmax, ymin, ymax) in plot coordinates; default fits the content.

    Returns:
        (height, width, 3) uint8 RGB image.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # 1. persons, their earlier positions and point clouds in plot coordinates
    transl = np.asarray(transl, dtype=np.float64).reshape(-1, 3)
    K = len(transl)
    colors = person_colors(K) if colors is None else np.asarray(colors, dtype=np.uint8)
    cols = colors.astype(float) / 255.0
    pts2 = _project_axes(transl, view)
    before2 = None if before_transl is None else _project_axes(
        np.asarray(before_transl, dtype=np.float64).reshape(-1, 3), view)
    clouds = []
    if vertices is not None:
        for v in vertices:
            v = np.asarray(v, dtype=np.float64)
            step = max(1, len(v) // max_points)
            clouds.append(_project_axes(v[::step], view))
    # 2. figure and axes
    if extent is None:
        extent = _auto_extent(pts2, clouds, before2, view)
    hpx, wpx = size
    dpi = 100
    fig = Figure(figsize=(wpx / dpi, hpx / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax, limits = _setup_axes(fig, extent, size, view, title)
    # 3. camera and persons
    _draw_camera(ax, focal, princpt, image_size, view, limits)
    _draw_persons(ax, pts2, before2, clouds, cols, labels, view)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
