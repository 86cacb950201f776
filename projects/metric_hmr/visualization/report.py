"""Offline HTML report of a run (dto_generate or a synthetic benchmark).

Input: a list of per-image *records* (format in docs/visualization.md, usually read from
``records.jsonl`` written by :class:`~metric_hmr.visualization.writer.VisualizationWriter`).
Output: ``out_dir/index.html`` with

* a summary table,
* an interactive 3D view of a few scenes (own WebGL viewer, data inlined),
* statistics plots (PNG, matplotlib Agg): persons per image, FoV, height before/after,
  residuals / image scores, depths,
* a gallery of the best and worst images by image score (lower = better),
* a list of warnings (missing files, unreadable meshes): missing inputs remove a panel,
  they never crash the report and are never dropped silently.

Everything the page needs lies inside ``out_dir`` (no CDN, no network).
"""
from __future__ import annotations

import base64
import html
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from metric_hmr.utils.io import atomic_write
from .export import frustum_points, opencv_to_gltf, vertical_fov
from .labels import age_group_name, person_colors
from .webgl_viewer import VIEWER_CSS, VIEWER_JS

RECORDS_FILE = 'records.jsonl'
DEFAULT_SCORE_THRESHOLD = 1.5   # DTO-Humans image filter: mean standardized residual


# ------------------------------------------------------------------------ records I/O
def load_records(path) -> List[dict]:
    """Read a JSON-lines records file (one JSON object per line, blank lines ignored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'records file not found: {path}')
    records = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{n}: not valid JSON ({e})') from e
            if not isinstance(rec, dict):
                raise ValueError(f'{path}:{n}: a record must be a JSON object')
            records.append(rec)
    return records


def find_records(run_dir) -> List[Path]:
    """Records files of a run: ``records*.jsonl`` in ``RUN_DIR`` or else in ``RUN_DIR/vis``
    (several files, e.g. one per shard or rank, are merged), or ``RUN_DIR`` itself when it
    is a file."""
    run_dir = Path(run_dir)
    if run_dir.is_file():
        return [run_dir]
    for folder in (run_dir, run_dir / 'vis'):
        found = sorted(folder.glob('records*.jsonl'))
        if found:
            return found
    raise FileNotFoundError(f'no records*.jsonl in {run_dir} or {run_dir / "vis"}')


PATH_KEYS = ('img_path', 'overlay_path', 'panel_path', 'mesh_path', 'glb_path', 'json_path',
             'params_path')


def load_run(run_dir) -> List[dict]:
    """All records of a run, with relative paths made absolute (relative to the folder of
    the records file that holds them)."""
    records = []
    for path in find_records(run_dir):
        for rec in load_records(path):
            for key in PATH_KEYS:
                if rec.get(key) and not Path(str(rec[key])).is_absolute():
                    rec[key] = str((path.parent / str(rec[key])).resolve())
            records.append(rec)
    return records


def _num(x: Any) -> Optional[float]:
    """Finite float or None (tolerates None, strings of numbers, NaN)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _resolve(path: Any, base_dir: Optional[Path]) -> Optional[Path]:
    if not path:
        return None
    p = Path(str(path))
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p


def record_fov_deg(rec: dict) -> Optional[float]:
    """Vertical FoV in degrees: ``fov_deg`` or from ``focal`` and ``image_size``."""
    fov = _num(rec.get('fov_deg'))
    if fov is not None:
        return fov
    focal, size = rec.get('focal'), rec.get('image_size')
    try:
        if focal is not None and size is not None:
            return math.degrees(vertical_fov(np.asarray(focal, float), tuple(size)[:2]))
    except (TypeError, ValueError, IndexError):
        return None
    return None


def persons_of(rec: dict) -> List[dict]:
    ps = rec.get('persons')
    return [p for p in ps if isinstance(p, dict)] if isinstance(ps, list) else []


# ------------------------------------------------------------------------ 3D scene data
def scene_payload(vertices: np.ndarray, faces: np.ndarray, focal, princpt,
                  image_size: Tuple[int, int], colors: Optional[np.ndarray] = None) -> dict:
    """JSON-able scene for the WebGL viewer (glTF convention: y up, camera looks down -z).

    Args:
        vertices: (K, V, 3) OpenCV camera space, metres.
        faces: (F, 3).
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.ndim == 2:
        vertices = vertices[None]
    faces = np.asarray(faces, dtype=np.int64)
    if vertices.ndim != 3 or vertices.shape[-1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f'mesh arrays must be vertices (K,V,3) and faces (F,3), got '
                         f'{vertices.shape} and {faces.shape}')
    if faces.size and (faces.min() < 0 or faces.max() >= vertices.shape[1]):
        raise ValueError(f'faces index outside the {vertices.shape[1]} vertices')
    K = len(vertices)
    colors = person_colors(K) if colors is None else np.asarray(colors)
    gl = opencv_to_gltf(vertices).astype(np.float32)
    far = float(np.nanmax(vertices[..., 2])) if K else 5.0
    pts, seg = frustum_points(focal, princpt, image_size, max(far, 1.0) + 1.0)
    floor_y = float(-np.nanmax(vertices[..., 1])) if K else -1.5
    return dict(
        persons=[dict(vertices=base64.b64encode(gl[k].tobytes()).decode('ascii'),
                      color=[round(float(c) / 255.0, 4) for c in colors[k]]) for k in range(K)],
        faces=base64.b64encode(faces.astype('<u4').tobytes()).decode('ascii'),
        frustum=dict(points=opencv_to_gltf(pts).round(5).tolist(), segments=seg.tolist()),
        floor_y=floor_y, yfov=vertical_fov(focal, image_size))


def load_mesh(rec: dict, base_dir: Optional[Path]) -> Tuple[np.ndarray, np.ndarray]:
    """Mesh of a record: ``mesh_path`` (npz with vertices (K,V,3), faces (F,3)) or an
    inline ``mesh`` dict with the same keys.  Raises ValueError/FileNotFoundError."""
    if isinstance(rec.get('mesh'), dict):
        m = rec['mesh']
        return np.asarray(m['vertices'], float), np.asarray(m['faces'], np.int64)
    path = _resolve(rec.get('mesh_path'), base_dir)
    if path is None:
        raise ValueError('record has no mesh_path')
    if not path.is_file():
        raise FileNotFoundError(f'mesh file not found: {path}')
    with np.load(path) as z:
        for key in ('vertices', 'faces'):
            if key not in z.files:
                raise ValueError(f'{path}: no {key!r} array (has {sorted(z.files)})')
        return z['vertices'].astype(np.float64), z['faces'].astype(np.int64)


# ------------------------------------------------------------------------ plots
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


# ------------------------------------------------------------------------ HTML pieces
def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x: Any, digits: int = 2) -> str:
    v = _num(x)
    return '' if v is None else f'{v:.{digits}f}'


def _copy_thumbnail(src: Path, dst: Path, max_side: int = 800) -> None:
    """Downscaled JPEG copy of an image (atomic)."""
    from PIL import Image
    with Image.open(src) as im:
        im = im.convert('RGB')
        scale = max_side / max(im.size)
        if scale < 1:
            im = im.resize((max(1, int(im.width * scale)), max(1, int(im.height * scale))), Image.LANCZOS)
        atomic_write(dst, lambda p: im.save(p, format='JPEG', quality=88))


def _rank(records: Sequence[dict], n: int) -> Tuple[List[int], List[int]]:
    """Indices of the n best (lowest score) and n worst images (worst first).

    With fewer than 2n scored images, the better half is 'best' and the rest 'worst'.
    """
    scored = [(s, i) for i, r in enumerate(records) if (s := _num(r.get('score'))) is not None]
    scored.sort()
    n_best = min(n, (len(scored) + 1) // 2)
    best = [i for _, i in scored[:n_best]]
    worst = [i for _, i in reversed(scored[n_best:])][:n]
    return best, worst


def _person_table(rec: dict) -> str:
    ps = persons_of(rec)
    if not ps:
        return ''
    cols = [('#', None), ('age', 'age_group'), ('h before', 'height_before'), ('h after', 'height_after'),
            ('std', 'std'), ('z before', 'depth_before'), ('z', 'depth'), ('res', 'residual')]
    present = [(t, k) for t, k in cols if k is None or any(k in p for p in ps)]
    rows = ['<tr>' + ''.join(f'<th>{_esc(t)}</th>' for t, _ in present) + '<th></th></tr>']
    for j, p in enumerate(ps):
        cells = []
        for _, k in present:
            if k is None:
                cells.append(str(j))
            elif k == 'age_group':
                cells.append(_esc(age_group_name(p.get(k))))
            else:
                cells.append(_fmt(p.get(k)))
        if p.get('kept') is False:
            flag = f'<span class="rejected">{_esc(p.get("reason") or "rejected")}</span>'
        else:
            flag = _esc(p.get('reason') or '')
        rows.append('<tr>' + ''.join(f'<td>{c}</td>' for c in cells) + f'<td>{flag}</td></tr>')
    return '<table>' + ''.join(rows) + '</table>'


def _card(rec: dict, img_rel: Optional[str]) -> str:
    name = rec.get('image_id', rec.get('img_path', ''))
    head = f'<b>{_esc(name)}</b> score {_fmt(rec.get("score"))}'
    if rec.get('kept') is False:
        head += f' <span class="rejected">rejected: {_esc(rec.get("reason") or "")}</span>'
    img = (f'<a href="{_esc(img_rel)}"><img src="{_esc(img_rel)}" alt="{_esc(name)}"></a>'
           if img_rel else '')
    links = []
    for key, label in (('glb_path', 'GLB'), ('json_path', 'json')):
        if rec.get(f'_{key}_rel'):
            links.append(f'<a href="{_esc(rec[f"_{key}_rel"])}">{label}</a>')
    return (f'<div class="card"><div>{head} {" ".join(links)}</div>{img}'
            f'{_person_table(rec)}</div>')


def _summary(records: Sequence[dict], run_info: Optional[dict]) -> str:
    persons = [p for r in records for p in persons_of(r)]
    kept = [r.get('kept') for r in records if isinstance(r.get('kept'), bool)]
    scores = [v for v in (_num(r.get('score')) for r in records) if v is not None]
    rows = [('images', len(records)), ('persons', len(persons))]
    if records:
        rows.append(('persons per image', f'{len(persons) / len(records):.2f}'))
    if kept:
        rows.append(('kept images', f'{sum(kept)} / {len(kept)} ({100.0 * sum(kept) / len(kept):.1f} %)'))
    if scores:
        rows.append(('image score mean / median', f'{np.mean(scores):.3f} / {np.median(scores):.3f}'))
    by_group: Dict[str, List[float]] = {}
    for p in persons:
        h = _num(p.get('height_after'))
        if h is not None:
            by_group.setdefault(age_group_name(p.get('age_group')), []).append(h)
    for g, hs in sorted(by_group.items()):
        rows.append((f'height after, {g}', f'{np.mean(hs):.3f} m (n={len(hs)})'))
    for k, v in (run_info or {}).items():
        rows.append((k, v))
    return ('<table class="summary">' + ''.join(
        f'<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>' for k, v in rows) + '</table>')


# ------------------------------------------------------------------------ main entry
def write_report(out_dir, records: Iterable[dict], title: str = 'metric-hmr report',
                 base_dir=None, n_gallery: int = 6, n_scenes: int = 3,
                 score_threshold: Optional[float] = DEFAULT_SCORE_THRESHOLD,
                 run_info: Optional[dict] = None) -> Path:
    """Write a self-contained HTML report.

    Args:
        out_dir: report folder (created); gets index.html, plots/, images/.
        records: per-image records (docs/visualization.md).
        base_dir: folder that relative paths in the records refer to (default: cwd).
        n_gallery: number of best and of worst images in the gallery.
        n_scenes: number of interactive 3D scenes (records with mesh data; the best,
            the worst, the second best, ...).
        score_threshold: drawn on the image-score histogram (None: no line).
        run_info: extra key/value rows for the summary table.

    Returns:
        path of index.html.
    """
    out_dir = Path(out_dir)
    base = Path(base_dir) if base_dir is not None else None
    records = [dict(r) for r in records]
    for i, r in enumerate(records):
        r.setdefault('image_id', str(i))
    warnings: List[str] = []
    (out_dir / 'images').mkdir(parents=True, exist_ok=True)

    plots = plot_statistics(records, out_dir / 'plots', score_threshold)

    # links to per-image exports that exist (copied so the report folder is self-contained)
    def copy_asset(rec, key, sub):
        src = _resolve(rec.get(key), base)
        if src is None:
            return None
        if not src.is_file():
            warnings.append(f'{rec["image_id"]}: {key} not found: {src}')
            return None
        dst = out_dir / sub / f'{_safe(rec["image_id"])}{src.suffix}'
        dst.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dst, lambda p: shutil.copyfile(src, p))
        return os.path.relpath(dst, out_dir)

    # gallery
    best, worst = _rank(records, n_gallery)

    def card_for(i):
        rec = records[i]
        img_rel = None
        for key in ('panel_path', 'overlay_path', 'img_path'):
            src = _resolve(rec.get(key), base)
            if src is None:
                continue
            if not src.is_file():
                warnings.append(f'{rec["image_id"]}: {key} not found: {src}')
                continue
            dst = out_dir / 'images' / f'{_safe(rec["image_id"])}_{key[:-5]}.jpg'
            try:
                _copy_thumbnail(src, dst)
            except OSError as e:
                warnings.append(f'{rec["image_id"]}: cannot read {key} {src}: {e}')
                continue
            img_rel = os.path.relpath(dst, out_dir)
            break
        for key in ('glb_path', 'json_path'):
            rec[f'_{key}_rel'] = copy_asset(rec, key, 'exports')
        return _card(rec, img_rel)

    # 3D scenes: records with mesh data, alternating best and worst, then the rest in order
    pairs = [i for j in range(max(len(best), len(worst))) for i in (best[j:j + 1] + worst[j:j + 1])]
    order = pairs + [i for i in range(len(records)) if i not in pairs]
    scenes = []
    for i in order:
        if len(scenes) >= n_scenes:
            break
        rec = records[i]
        if not rec.get('mesh_path') and not isinstance(rec.get('mesh'), dict):
            continue
        try:
            verts, faces = load_mesh(rec, base)
            size = tuple(int(v) for v in rec['image_size'][:2])
            payload = scene_payload(verts, faces, rec['focal'], rec['princpt'], size)
        except (OSError, ValueError, KeyError, TypeError) as e:
            warnings.append(f'{rec["image_id"]}: no 3D view ({type(e).__name__}: {e})')
            continue
        scenes.append((rec, payload))

    parts = [f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_esc(title)}</title>',
             f'<style>{VIEWER_CSS}</style></head><body>',
             f'<h1>{_esc(title)}</h1>', _summary(records, run_info)]
    if scenes:
        parts.append('<h2>3D scenes</h2><p class="caption">Drag to orbit, wheel to zoom. Grid: 1 m '
                     'on the floor (lowest body point). Black lines: camera frustum.</p><div class="scenes">')
        for j, (rec, payload) in enumerate(scenes):
            sid = f'scene-data-{j}'
            data = json.dumps(payload, separators=(',', ':')).replace('</', '<\\/')
            caption = (f'{_esc(rec["image_id"])}: {len(payload["persons"])} persons, score '
                       f'{_fmt(rec.get("score"))}')
            parts.append(
                f'<div class="scene"><canvas class="mhmr-view" data-scene="{sid}" width="540" '
                f'height="400"></canvas><div class="buttons"><button data-view="orbit">orbit</button>'
                f'<button data-view="camera">camera</button><button data-view="top">top</button>'
                f'<button data-view="side">side</button></div><div class="caption">{caption}</div>'
                f'<script type="application/json" id="{sid}">{data}</script></div>')
        parts.append('</div>')
    if plots:
        parts.append('<h2>Statistics</h2><div class="plots">')
        parts += [f'<img src="plots/{_esc(f)}" alt="{_esc(t)}" title="{_esc(t)}">' for t, f in plots]
        parts.append('</div>')
    if best:
        parts.append(f'<h2>Best images (lowest score, {len(best)})</h2><div class="gallery">')
        parts += [card_for(i) for i in best]
        parts.append('</div>')
    if worst:
        parts.append(f'<h2>Worst images (highest score, {len(worst)})</h2><div class="gallery">')
        parts += [card_for(i) for i in worst]
        parts.append('</div>')
    if not best and not worst and records:
        parts.append('<h2>Images</h2><div class="gallery">')
        parts += [card_for(i) for i in range(min(len(records), 2 * n_gallery))]
        parts.append('</div>')
    if warnings:
        parts.append('<h2>Warnings</h2><ul class="warnings">' +
                     ''.join(f'<li>{_esc(w)}</li>' for w in warnings) + '</ul>')
    parts.append('<pre id="report-status"></pre>')
    parts.append(f'<script>{VIEWER_JS}</script></body></html>')
    return atomic_write(out_dir / 'index.html', '\n'.join(parts))


def _safe(name: Any) -> str:
    """File-name-safe version of an image id."""
    s = ''.join(c if (c.isalnum() or c in '-_.') else '_' for c in str(name))
    return s.strip('.') or 'image'
