"""Deterministic sharding, atomic shard files, resume and merge.

* the sorted image list is cut into shards of ``shard_size`` images; shard j belongs to
  rank ``j % world_size`` (the same images on every rerun, for any rank count);
* a shard file ``shards/shard_{j:06d}.pkl`` is written atomically once the whole shard is
  done, so its existence means "finished"; a rerun skips finished shards and a killed run
  loses at most the shards in flight;
* every shard file carries a fingerprint of the run configuration and its image ids; a
  shard of another configuration is an error (use a fresh work_dir) instead of a silent mix;
* :func:`merge_shards` writes the released layout and the records in shard order.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from ..utils.io import atomic_write
from .release import save_released_annots

SHARD_FORMAT = 'metric_hmr.dto_generate.shard/1'


def make_shards(img_ids: Sequence[str], shard_size: int) -> List[List[str]]:
    """Sorted ids cut into consecutive shards of ``shard_size``."""
    if shard_size < 1:
        raise ValueError(f'shard_size must be >= 1, got {shard_size}')
    ids = sorted(img_ids)
    return [ids[i:i + shard_size] for i in range(0, len(ids), shard_size)]


def rank_shards(num_shards: int, rank: int, world_size: int) -> List[int]:
    """Shard indices of one rank: j with j % world_size == rank."""
    return [j for j in range(num_shards) if j % world_size == rank]


def shard_path(work_dir, j: int) -> Path:
    return Path(work_dir) / 'shards' / f'shard_{j:06d}.pkl'


def fingerprint(run_cfg: dict, img_ids: Sequence[str]) -> str:
    """sha1 of the run configuration (JSON, sorted keys) and the shard's image ids."""
    blob = json.dumps([run_cfg, list(img_ids)], sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()


def shard_done(work_dir, j: int, fp: str) -> bool:
    """True when shard j is finished with the same fingerprint; raises on a mismatch."""
    p = shard_path(work_dir, j)
    if not p.is_file():
        return False
    data = load_shard(p)
    if data.get('fingerprint') != fp:
        raise ValueError(f'{p} was written by a run with another configuration or image list; '
                         'use a fresh work_dir (or delete its shards/ folder)')
    return True


def write_shard(work_dir, j: int, fp: str, img_ids: Sequence[str], records: List[dict],
                annots: dict) -> Path:
    data = {'format': SHARD_FORMAT, 'shard': j, 'fingerprint': fp, 'img_ids': list(img_ids),
            'records': records, 'annots': annots}
    return atomic_write(shard_path(work_dir, j), pickle.dumps(data, protocol=4))


def load_shard(path) -> dict:
    """Load one of our own shard files (pickle: written by this tool only)."""
    try:
        with open(path, 'rb') as f:
            data = pickle.load(f)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f'corrupt shard file {path}: {e}') from e
    if not isinstance(data, dict) or data.get('format') != SHARD_FORMAT:
        raise ValueError(f'{path} is not a dto_generate shard file')
    return data


def merge_shards(work_dir, num_shards: int, name: str) -> Tuple[Path, Path, List[dict]]:
    """Merge shards 0..num_shards-1 (all must exist) into

    * ``<name>_CHMR_SMPL_OPT.npz`` (released layout, kept images, sorted image order),
    * ``<name>_records.jsonl`` (one record per input image, sorted image order).

    Returns (release path, records path, records).
    """
    work_dir = Path(work_dir)
    missing = [j for j in range(num_shards) if not shard_path(work_dir, j).is_file()]
    if missing:
        raise FileNotFoundError(f'{len(missing)} shard(s) not finished yet in {work_dir / "shards"} '
                                f'(first: shard_{missing[0]:06d}.pkl); rerun the generation')
    records: List[dict] = []
    annots: Dict[str, list] = {}
    for j in range(num_shards):
        data = load_shard(shard_path(work_dir, j))
        records += data['records']
        annots.update(data['annots'])
    out_npz = save_released_annots(work_dir / f'{name}_CHMR_SMPL_OPT.npz', annots)
    lines = ''.join(json.dumps(r, sort_keys=True) + '\n' for r in records)
    out_jsonl = atomic_write(work_dir / f'{name}_records.jsonl', lines)
    return out_npz, out_jsonl, records


def summarize(records: List[dict]) -> dict:
    """Counts: images kept / rejected / skipped (by reason), persons, dropped detections."""
    out = {'images': len(records), 'kept': 0, 'rejected': 0, 'skipped': 0,
           'rejected_by_reason': {}, 'skipped_by_reason': {}, 'persons_in': 0,
           'persons_kept': 0, 'events': {}}
    for r in records:
        st = r['status']
        out[st] = out.get(st, 0) + 1
        if st in ('rejected', 'skipped'):
            key = _reason_key(r['reason'])
            d = out[f'{st}_by_reason']
            d[key] = d.get(key, 0) + 1
        out['persons_in'] += r['num_persons']
        if st == 'kept':
            out['persons_kept'] += r['num_persons']
        for k, v in r['events'].items():
            out['events'][k] = out['events'].get(k, 0) + v
    out['persons_per_kept_image'] = out['persons_kept'] / out['kept'] if out['kept'] else 0.0
    for k in ('rejected_by_reason', 'skipped_by_reason', 'events'):
        out[k] = dict(sorted(out[k].items()))
    return out


def _reason_key(reason: str) -> str:
    """Group reasons by their head, numbers replaced ('dto_error: person 3: ...' ->
    'dto_error'; 'mean standardized residual 2.3 > 1.5' -> 'mean standardized residual # > #')."""
    head = reason.split(':')[0].strip()
    return re.sub(r'[-+]?\d+(\.\d*)?(e[-+]?\d+)?', '#', head) or 'unspecified'


def format_summary(s: dict) -> str:
    lines = [f"images: {s['images']}  kept: {s['kept']}  rejected: {s['rejected']}  "
             f"skipped: {s['skipped']}",
             f"persons: {s['persons_in']} in, {s['persons_kept']} in kept images "
             f"({s['persons_per_kept_image']:.2f} per kept image)"]
    for k in ('rejected_by_reason', 'skipped_by_reason', 'events'):
        if s[k]:
            lines.append(f"{k}: " + ', '.join(f'{a}={b}' for a, b in s[k].items()))
    return '\n'.join(lines)


def remove_stale_tmp(work_dir, shard_ids: Sequence[int]) -> None:
    """Delete temporary files a killed writer left for the given shards (a rank passes only
    its own shards, so a concurrent rank's file in flight is never touched)."""
    d = Path(work_dir) / 'shards'
    if d.is_dir():
        prefixes = tuple(f'.shard_{j:06d}.' for j in shard_ids)
        for p in d.iterdir():
            if p.name.startswith(prefixes) and '.tmp' in p.name:
                try:
                    os.remove(p)
                except OSError:
                    pass
