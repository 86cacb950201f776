"""Per-image records of a run (format in docs/visualization.md): reading and field access.

Records are JSON lines written by :class:`~metric_hmr.visualization.writer.VisualizationWriter`
(``records.jsonl``), one per image; the plots (:mod:`.plots`) and the HTML report
(:mod:`.report`) read them through these helpers.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np

from .export import vertical_fov

__all__ = ['RECORDS_FILE', 'DEFAULT_SCORE_THRESHOLD', 'PATH_KEYS', 'load_records', 'find_records',
           'load_run', 'num', 'resolve_path', 'record_fov_deg', 'persons_of', 'load_mesh']

RECORDS_FILE = 'records.jsonl'
DEFAULT_SCORE_THRESHOLD = 1.5   # DTO-Humans image filter: mean standardized residual


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


def num(x: Any) -> Optional[float]:
    """Finite float or None (tolerates None, strings of numbers, NaN)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def resolve_path(path: Any, base_dir: Optional[Path]) -> Optional[Path]:
    if not path:
        return None
    p = Path(str(path))
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p


def record_fov_deg(rec: dict) -> Optional[float]:
    """Vertical FoV in degrees: ``fov_deg`` or from ``focal`` and ``image_size``."""
    fov = num(rec.get('fov_deg'))
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


def load_mesh(rec: dict, base_dir: Optional[Path]) -> Tuple[np.ndarray, np.ndarray]:
    """Mesh of a record: ``mesh_path`` (npz with vertices (K,V,3), faces (F,3)) or an
    inline ``mesh`` dict with the same keys.  Raises ValueError/FileNotFoundError."""
    if isinstance(rec.get('mesh'), dict):
        m = rec['mesh']
        return np.asarray(m['vertices'], float), np.asarray(m['faces'], np.int64)
    path = resolve_path(rec.get('mesh_path'), base_dir)
    if path is None:
        raise ValueError('record has no mesh_path')
    if not path.is_file():
        raise FileNotFoundError(f'mesh file not found: {path}')
    with np.load(path) as z:
        for key in ('vertices', 'faces'):
            if key not in z.files:
                raise ValueError(f'{path}: no {key!r} array (has {sorted(z.files)})')
        return z['vertices'].astype(np.float64), z['faces'].astype(np.int64)
