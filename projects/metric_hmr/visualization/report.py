"""Offline HTML report of a run (dto_generate or a synthetic benchmark).

Input: a list of per-image *records* (format in docs/visualization.md, usually read from
``records.jsonl`` written by :class:`~metric_hmr.visualization.writer.VisualizationWriter`;
reading: :mod:`.run_records`).  Output: ``out_dir/index.html`` with

* a summary table,
* an interactive 3D view of a few scenes (own WebGL viewer, data inlined),
* statistics plots (:mod:`.plots`): persons per image, FoV, height before/after,
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
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from metric_hmr.utils.io import atomic_write
from .export import frustum_points, opencv_to_gltf, vertical_fov
from .labels import age_group_name, person_colors
from .plots import plot_statistics
from .run_records import (DEFAULT_SCORE_THRESHOLD, RECORDS_FILE, find_records, load_mesh,
                          load_records, load_run, num, persons_of, record_fov_deg, resolve_path)
from .webgl_viewer import VIEWER_CSS, VIEWER_JS

__all__ = ['write_report', 'scene_payload',
           # old paths (the functions live in .run_records / .plots)
           'RECORDS_FILE', 'DEFAULT_SCORE_THRESHOLD', 'load_records', 'find_records', 'load_run',
           'load_mesh', 'persons_of', 'record_fov_deg', 'plot_statistics']


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


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x: Any, digits: int = 2) -> str:
    v = num(x)
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
    scored = [(s, i) for i, r in enumerate(records) if (s := num(r.get('score'))) is not None]
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
    scores = [v for v in (num(r.get('score')) for r in records) if v is not None]
    rows = [('images', len(records)), ('persons', len(persons))]
    if records:
        rows.append(('persons per image', f'{len(persons) / len(records):.2f}'))
    if kept:
        rows.append(('kept images', f'{sum(kept)} / {len(kept)} ({100.0 * sum(kept) / len(kept):.1f} %)'))
    if scores:
        rows.append(('image score mean / median', f'{np.mean(scores):.3f} / {np.median(scores):.3f}'))
    by_group: Dict[str, List[float]] = {}
    for p in persons:
        h = num(p.get('height_after'))
        if h is not None:
            by_group.setdefault(age_group_name(p.get('age_group')), []).append(h)
    for g, hs in sorted(by_group.items()):
        rows.append((f'height after, {g}', f'{np.mean(hs):.3f} m (n={len(hs)})'))
    for k, v in (run_info or {}).items():
        rows.append((k, v))
    return ('<table class="summary">' + ''.join(
        f'<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>' for k, v in rows) + '</table>')


# ------------------------------------------------------------------------ main entry
class _Assets:
    """Copies per-image files into the report folder; collects warnings instead of failing."""

    def __init__(self, out_dir: Path, base: Optional[Path]):
        self.out_dir, self.base, self.warnings = out_dir, base, []

    def _source(self, rec: dict, key: str) -> Optional[Path]:
        src = resolve_path(rec.get(key), self.base)
        if src is not None and not src.is_file():
            self.warnings.append(f'{rec["image_id"]}: {key} not found: {src}')
            return None
        return src

    def copy(self, rec: dict, key: str, sub: str) -> Optional[str]:
        """Copy of ``rec[key]`` under ``sub/``; its path relative to the report."""
        src = self._source(rec, key)
        if src is None:
            return None
        dst = self.out_dir / sub / f'{_safe(rec["image_id"])}{src.suffix}'
        dst.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dst, lambda p: shutil.copyfile(src, p))
        return os.path.relpath(dst, self.out_dir)

    def thumbnail(self, rec: dict) -> Optional[str]:
        """JPEG thumbnail of the first readable panel / overlay / input image."""
        for key in ('panel_path', 'overlay_path', 'img_path'):
            src = self._source(rec, key)
            if src is None:
                continue
            dst = self.out_dir / 'images' / f'{_safe(rec["image_id"])}_{key[:-5]}.jpg'
            try:
                _copy_thumbnail(src, dst)
            except OSError as e:
                self.warnings.append(f'{rec["image_id"]}: cannot read {key} {src}: {e}')
                continue
            return os.path.relpath(dst, self.out_dir)
        return None

    def card(self, rec: dict) -> str:
        img_rel = self.thumbnail(rec)
        for key in ('glb_path', 'json_path'):
            rec[f'_{key}_rel'] = self.copy(rec, key, 'exports')
        return _card(rec, img_rel)


def _pick_scenes(records: List[dict], best: List[int], worst: List[int], n_scenes: int,
                 base: Optional[Path], warnings: List[str]) -> List[Tuple[dict, dict]]:
    """Records with mesh data for the 3D views: best and worst alternating, then the rest."""
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
    return scenes


def _scenes_html(scenes: List[Tuple[dict, dict]]) -> List[str]:
    if not scenes:
        return []
    parts = ['<h2>3D scenes</h2><p class="caption">Drag to orbit, wheel to zoom. Grid: 1 m '
             'on the floor (lowest body point). Black lines: camera frustum.</p><div class="scenes">']
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
    return parts


def _gallery_html(title: str, cards: List[str]) -> List[str]:
    return [f'<h2>{title}</h2><div class="gallery">'] + cards + ['</div>'] if cards else []


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
    # 1. records, folders, plots
    out_dir = Path(out_dir)
    base = Path(base_dir) if base_dir is not None else None
    records = [dict(r) for r in records]
    for i, r in enumerate(records):
        r.setdefault('image_id', str(i))
    (out_dir / 'images').mkdir(parents=True, exist_ok=True)
    plots = plot_statistics(records, out_dir / 'plots', score_threshold)
    assets = _Assets(out_dir, base)
    # 2. gallery ranking and 3D scenes
    best, worst = _rank(records, n_gallery)
    scenes = _pick_scenes(records, best, worst, n_scenes, base, assets.warnings)
    # 3. the page
    parts = [f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_esc(title)}</title>',
             f'<style>{VIEWER_CSS}</style></head><body>',
             f'<h1>{_esc(title)}</h1>', _summary(records, run_info)]
    parts += _scenes_html(scenes)
    if plots:
        parts.append('<h2>Statistics</h2><div class="plots">')
        parts += [f'<img src="plots/{_esc(f)}" alt="{_esc(t)}" title="{_esc(t)}">' for t, f in plots]
        parts.append('</div>')
    parts += _gallery_html(f'Best images (lowest score, {len(best)})', [assets.card(records[i]) for i in best])
    parts += _gallery_html(f'Worst images (highest score, {len(worst)})',
                           [assets.card(records[i]) for i in worst])
    if not best and not worst and records:
        parts += _gallery_html('Images', [assets.card(records[i])
                                          for i in range(min(len(records), 2 * n_gallery))])
    if assets.warnings:
        parts.append('<h2>Warnings</h2><ul class="warnings">' +
                     ''.join(f'<li>{_esc(w)}</li>' for w in assets.warnings) + '</ul>')
    parts.append('<pre id="report-status"></pre>')
    parts.append(f'<script>{VIEWER_JS}</script></body></html>')
    return atomic_write(out_dir / 'index.html', '\n'.join(parts))


def _safe(name: Any) -> str:
    """File-name-safe version of an image id."""
    s = ''.join(c if (c.isalnum() or c in '-_.') else '_' for c in str(name))
    return s.strip('.') or 'image'
