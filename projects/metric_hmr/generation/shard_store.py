"""Deterministic sharding, shard files that cannot carry code, resume and a streaming merge.

* the sorted image list is cut into shards of ``shard_size`` images; shard j belongs to
  rank ``j % world_size`` (the same images on every rerun, for any rank count);
* a shard file ``shards/shard_{j:06d}.npz`` is written atomically once the whole shard is
  done, so its existence means "finished"; a rerun skips finished shards and a killed run
  loses at most the shards in flight;
* the shard file is a plain npz (read without ``allow_pickle``): a JSON header, the image
  records as JSON lines and the released-layout entries as flat numeric arrays; a copied
  or shared work dir therefore cannot run code on rerun or merge;
* the header carries the run's fingerprint (resolved configuration and image ids) and a
  signature of every image's input files: a shard of another configuration is an error,
  a shard whose inputs changed (e.g. a restored file) is recomputed;
* :func:`merge_shards` checks every shard first, then streams them into the released
  layout and the records without holding all records in memory, and replaces the
  outputs only once both are complete.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.io import atomic_write, read_npz_member

__all__ = ['SHARD_FORMAT', 'ShardMismatch', 'make_shards', 'rank_shards', 'shard_path',
           'fingerprint', 'config_hash', 'shard_done', 'write_shard', 'read_shard_header',
           'load_shard', 'shard_record_lines', 'shard_annots', 'check_shards', 'merge_shards',
           'summarize', 'format_summary', 'remove_stale_tmp', 'INPUT_SKIP_REASONS']

SHARD_FORMAT = 'metric_hmr.dto_generate.shard/2'
_ANNOT = 'annot.'   # prefix of the flattened released-entry arrays in a shard file
_MISSING = object()  # a person without some key of the others

# skip reasons caused by a missing or unreadable input file (``--retry-skipped`` reruns them)
INPUT_SKIP_REASONS = ('missing_image', 'unreadable_image', 'missing_depth', 'corrupt_depth',
                      'bad_depth_shape', 'corrupt_mask', 'bad_mask_shape', 'missing_truth',
                      'read_error')


class ShardMismatch(ValueError):
    """A shard of another configuration / image list, or a missing shard, at merge time."""


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
    return Path(work_dir) / 'shards' / f'shard_{j:06d}.npz'


def config_hash(run_cfg: dict) -> str:
    """sha1 of the resolved run configuration (JSON, sorted keys)."""
    return hashlib.sha1(json.dumps(run_cfg, sort_keys=True, default=str).encode()).hexdigest()


def fingerprint(run_cfg: dict, img_ids: Sequence[str]) -> str:
    """sha1 of the run configuration and the shard's image ids."""
    blob = json.dumps([config_hash(run_cfg), list(img_ids)], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()


# ----------------------------------------------------------------------------- writing
def _flatten_annots(img_ids: Sequence[str], annots: dict) -> Tuple[list, dict]:
    """Released entries -> (``[[img_id, n_persons], ...]`` in write order, leaf arrays).

    Every person dict must have the same nested keys; leaf ``a/b`` of all persons is
    stacked into array ``annot.a.b``; the header remembers leaf kinds (array or scalar).
    """
    ids = set(img_ids)
    order = [[i, len(annots[i])] for i in img_ids if i in annots]
    order += [[i, len(annots[i])] for i in annots if i not in ids]
    persons = [p for i, _ in order for p in annots[i]]
    leaves: Dict[str, list] = {}

    def walk(d, prefix, k):
        for key in sorted(d):
            if not isinstance(key, str) or '.' in key:
                raise ValueError(f'released entry key {key!r}: keys must be strings without "."')
            v = d[key]
            if isinstance(v, dict):
                walk(v, prefix + key + '.', k)
            else:
                leaves.setdefault(prefix + key, [_MISSING] * len(persons))[k] = v
    for k, p in enumerate(persons):
        walk(p, '', k)
    arrays, kinds = {}, {}
    for path, vals in leaves.items():
        if any(v is _MISSING for v in vals):
            raise ValueError(f'released entries differ in their keys (field {path})')
        kinds[path] = 'array' if isinstance(vals[0], np.ndarray) else 'scalar'
        try:
            arr = np.stack([np.asarray(v) for v in vals])
        except ValueError as e:
            raise ValueError(f'released entry field {path}: shapes differ between persons ({e})') from e
        if arr.dtype.hasobject:   # would need pickle: shards hold numbers and strings only
            raise ValueError(f'released entry field {path}: values must be numbers, strings or '
                             f'numeric arrays, got {type(vals[0]).__name__}')
        arrays[_ANNOT + path] = arr
    return order, {'arrays': arrays, 'kinds': kinds}


def write_shard(work_dir, j: int, fp: str, img_ids: Sequence[str], records: List[dict],
                annots: dict, input_sigs: Optional[Sequence[str]] = None) -> Path:
    """Write shard ``j`` atomically (plain npz; see the module doc for the layout)."""
    order, flat = _flatten_annots(img_ids, annots)
    header = {'format': SHARD_FORMAT, 'shard': j, 'fingerprint': fp, 'img_ids': list(img_ids),
              'inputs': list(input_sigs) if input_sigs is not None else None,
              'annots': order, 'annot_kinds': flat['kinds']}
    lines = ''.join(json.dumps(r, sort_keys=True) + '\n' for r in records)
    arrays = {'header': _bytes(json.dumps(header)), 'records': _bytes(lines), **flat['arrays']}
    return atomic_write(shard_path(work_dir, j), lambda p: np.savez(p, **arrays))


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode('utf-8'), np.uint8)


# ----------------------------------------------------------------------------- reading
def _member_text(path, key: str) -> str:
    arr = read_npz_member(path, key)
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise ValueError(f'{path}: member {key} is not utf-8 text')
    return arr.tobytes().decode('utf-8')


def read_shard_header(path) -> dict:
    """The header of a shard file (only that member is read; no pickle)."""
    try:
        header = json.loads(_member_text(path, 'header'))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise ValueError(f'corrupt shard file {path}: {e}') from e
    if not isinstance(header, dict) or header.get('format') != SHARD_FORMAT:
        raise ValueError(f'{path} is not a dto_generate shard file of format {SHARD_FORMAT}')
    return header


def shard_record_lines(path) -> List[str]:
    """The JSON lines (one record per image, newline-terminated) of a shard file."""
    try:
        text = _member_text(path, 'records')
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise ValueError(f'corrupt shard file {path}: {e}') from e
    return text.splitlines(keepends=True)


def shard_annots(path, header: Optional[dict] = None) -> Iterator[Tuple[str, list]]:
    """(img_id, released entry) pairs of a shard file, in write order."""
    header = header or read_shard_header(path)
    kinds = header['annot_kinds']
    try:
        arrays = {k: read_npz_member(path, _ANNOT + k) for k in kinds}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise ValueError(f'corrupt shard file {path}: {e}') from e
    start = 0
    for img_id, n in header['annots']:
        entry = []
        for k in range(start, start + n):
            person: dict = {}
            for leaf, kind in kinds.items():
                *parents, last = leaf.split('.')
                d = person
                for p in parents:
                    d = d.setdefault(p, {})
                v = arrays[leaf][k]
                d[last] = v.copy() if kind == 'array' else v.item()
            entry.append(person)
        start += n
        yield img_id, entry


def load_shard(path) -> dict:
    """A whole shard file as a dict (header fields, ``records``, ``annots``)."""
    header = read_shard_header(path)
    return {**header, 'records': [json.loads(x) for x in shard_record_lines(path)],
            'annots': dict(shard_annots(path, header))}


def shard_done(work_dir, j: int, fp: str, input_sigs: Optional[Sequence[str]] = None) -> bool:
    """True when shard j is finished with the same fingerprint (and, when ``input_sigs`` is
    given, the same input signatures: a changed or restored input file redoes the shard).
    Raises on a shard of another configuration."""
    p = shard_path(work_dir, j)
    if not p.is_file():
        return False
    header = read_shard_header(p)
    if header.get('fingerprint') != fp:
        raise ValueError(f'{p} was written by a run with another configuration or image list; '
                         'use a fresh work_dir (or delete its shards/ folder)')
    return input_sigs is None or header.get('inputs') == list(input_sigs)


# ----------------------------------------------------------------------------- merge
def check_shards(work_dir, fps: Sequence[str]) -> List[dict]:
    """Headers of shards 0..len(fps)-1 after checking them all; raises
    :class:`ShardMismatch` naming the first foreign, stray or missing shard."""
    work_dir = Path(work_dir)
    headers, missing = [], []
    for j, fp in enumerate(fps):
        p = shard_path(work_dir, j)
        if not p.is_file():
            missing.append(j)
            continue
        h = read_shard_header(p)
        if h.get('fingerprint') != fp or h.get('shard') != j:
            raise ShardMismatch(f'{p} was written by a run with another configuration '
                                '(resolved stages, DTO options, shard or batch size) or image '
                                'list; refusing to merge (rerun with this config in a fresh '
                                'work_dir)')
        headers.append(h)
    stray = sorted(p.name for p in (work_dir / 'shards').glob('shard_*.npz')
                   if int(re.sub(r'\D', '', p.stem) or -1) >= len(fps))
    if stray:
        raise ShardMismatch(f'{work_dir / "shards"} holds {len(stray)} shard(s) beyond the '
                            f'{len(fps)} of this configuration (first: {stray[0]}): written '
                            'with another shard_size or image list; use a fresh work_dir')
    if missing:
        raise ShardMismatch(f'{len(missing)} of {len(fps)} shard(s) not finished yet in '
                            f'{work_dir / "shards"} (first: {shard_path(work_dir, missing[0]).name}); '
                            'rerun the generation')
    return headers


class _StreamedDict:
    """Pickles as a plain ``dict`` whose items are pulled from an iterator while pickling
    (pickle's reduce protocol: callable ``dict``, no args, items iterator), so the merged
    released layout is never held in memory as a whole."""

    def __init__(self, items: Iterator[Tuple[str, list]]):
        self.items = items

    def __reduce__(self):
        return dict, (), None, None, self.items


class _ObjectScalar:
    """Pickles as the 0-d object array ``np.save`` writes for ``annots`` (same reduce
    value as ``ndarray.__reduce__``), wrapping a streamed dict."""

    def __init__(self, obj):
        self.obj = obj

    def __reduce__(self):
        from numpy.core.multiarray import _reconstruct
        return (_reconstruct, (np.ndarray, (0,), b'b'),
                (1, (), np.dtype(object), False, [self.obj]))


def write_released_stream(path, items: Iterator[Tuple[str, list]]) -> None:
    """Write ``{'annots': dict(items)}`` as the released npz (one ``annots.npy`` member,
    readable with ``np.load(p, allow_pickle=True)['annots'][()]``) while consuming
    ``items``; memory stays bounded (pickle's memo is off: nothing is shared)."""
    from numpy.lib import format as npf
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open('annots.npy', 'w', force_zip64=True) as f:
            npf.write_array_header_1_0(f, {'descr': '|O', 'fortran_order': False, 'shape': ()})
            # protocol 4 frames: the pickler hands each ~64 KB frame to the file as it goes
            # (protocols < 4 buffer the whole pickle); fast mode: no memo keeping every
            # written object alive
            pk = pickle.Pickler(f, protocol=4)
            pk.fast = True
            pk.dump(_ObjectScalar(_StreamedDict(items)))


def merge_shards(work_dir, fps: Sequence[str], name: str,
                 on_record: Optional[Callable[[dict], None]] = None,
                 key_map: Optional[Callable[[str], str]] = None) -> Tuple[Path, Path]:
    """Check all shards (:func:`check_shards`), then stream them into

    * ``<name>_CHMR_SMPL_OPT.npz`` (released layout, kept images, sorted image order),
    * ``<name>_records.jsonl`` (one record per input image, sorted image order);

    ``on_record`` sees every record once (summary, statistics).  ``key_map`` renames the
    images of the released file (e.g. to the authors' keys, :mod:`.keys`); two images
    mapping to one key is an error naming both.  Both outputs are written
    to temporary files and replace the old ones only when both are complete, so a failed
    merge leaves a previous good output untouched.  Returns (release path, records path).
    """
    work_dir = Path(work_dir)
    headers = check_shards(work_dir, fps)
    out_npz, out_jsonl = work_dir / f'{name}_CHMR_SMPL_OPT.npz', work_dir / f'{name}_records.jsonl'
    tmp_npz = out_npz.with_name(f'.{out_npz.name}.tmp')
    tmp_jsonl = out_jsonl.with_name(f'.{out_jsonl.name}.tmp')
    try:
        with open(tmp_jsonl, 'w') as f:
            for j in range(len(fps)):
                for line in shard_record_lines(shard_path(work_dir, j)):
                    f.write(line)
                    if on_record is not None:
                        on_record(json.loads(line))
        items = (kv for j, h in enumerate(headers) for kv in shard_annots(shard_path(work_dir, j), h))
        write_released_stream(tmp_npz, items if key_map is None else _renamed(items, key_map))
        for tmp in (tmp_npz, tmp_jsonl):
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp_npz, out_npz)
        os.replace(tmp_jsonl, out_jsonl)
    finally:
        for tmp in (tmp_npz, tmp_jsonl):
            if tmp.exists():
                tmp.unlink()
    return out_npz, out_jsonl


def _renamed(items: Iterator[Tuple[str, list]], key_map: Callable[[str], str]
             ) -> Iterator[Tuple[str, list]]:
    """(key_map(img_id), entry) pairs; a key reached twice is a ValueError naming both."""
    seen: Dict[str, str] = {}
    for img_id, entry in items:
        key = key_map(img_id)
        if key in seen:
            raise ValueError(f'images {seen[key]!r} and {img_id!r} both map to the output key '
                             f'{key!r}')
        seen[key] = img_id
        yield key, entry


# ----------------------------------------------------------------------------- summary
class Summary:
    """Counts accumulated one record at a time: images kept / rejected / skipped (by
    reason), persons in, persons published, persons left out (by reason), events."""

    def __init__(self):
        self.s = {'images': 0, 'kept': 0, 'rejected': 0, 'skipped': 0,
                  'rejected_by_reason': {}, 'skipped_by_reason': {}, 'persons_in': 0,
                  'persons_kept': 0, 'persons_published': 0, 'persons_unpublished_by_reason': {},
                  'events': {}, 'age_gender_sources': {}}

    def add(self, r: dict) -> None:
        s = self.s
        s['images'] += 1
        st = r['status']
        s[st] = s.get(st, 0) + 1
        if st in ('rejected', 'skipped'):
            _inc(s[f'{st}_by_reason'], _reason_key(r['reason']))
        s['persons_in'] += r['num_persons']
        if st == 'kept':
            s['persons_kept'] += r['num_persons']
            for p in r['persons']:
                if p.get('published', True):
                    s['persons_published'] += 1
                else:
                    _inc(s['persons_unpublished_by_reason'], _reason_key(p.get('unpublished_reason') or ''))
        for k, v in r['events'].items():
            _inc(s['events'], k, v)
        if r.get('age_gender_source'):      # images per age/gender source (issue 12)
            _inc(s['age_gender_sources'], r['age_gender_source'])

    def result(self) -> dict:
        out = dict(self.s)
        out['persons_per_kept_image'] = out['persons_kept'] / out['kept'] if out['kept'] else 0.0
        for k in ('rejected_by_reason', 'skipped_by_reason', 'events',
                  'persons_unpublished_by_reason', 'age_gender_sources'):
            out[k] = dict(sorted(out[k].items()))
        return out


def _inc(d: dict, key: str, n: int = 1) -> None:
    d[key] = d.get(key, 0) + n


def summarize(records) -> dict:
    """:class:`Summary` of an iterable of records."""
    acc = Summary()
    for r in records:
        acc.add(r)
    return acc.result()


def _reason_key(reason: str) -> str:
    """Group reasons by their head, numbers replaced ('dto_error: person 3: ...' ->
    'dto_error'; 'mean standardized residual 2.3 > 1.5' -> 'mean standardized residual # > #')."""
    head = reason.split(':')[0].strip()
    return re.sub(r'[-+]?\d+(\.\d*)?(e[-+]?\d+)?', '#', head) or 'unspecified'


def format_summary(s: dict) -> str:
    lines = [f"images: {s['images']}  kept: {s['kept']}  rejected: {s['rejected']}  "
             f"skipped: {s['skipped']}",
             f"persons: {s['persons_in']} in, {s['persons_kept']} in kept images "
             f"({s['persons_per_kept_image']:.2f} per kept image), "
             f"{s.get('persons_published', 0)} published"]
    for k in ('rejected_by_reason', 'skipped_by_reason', 'persons_unpublished_by_reason', 'events'):
        if s.get(k):
            lines.append(f"{k}: " + ', '.join(f'{a}={b}' for a, b in s[k].items()))
    for src, n in (s.get('age_gender_sources') or {}).items():
        lines.append(f'{src} ({n} images)')
    if not s.get('age_gender_sources'):
        lines.append('age/gender: source not recorded')
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
