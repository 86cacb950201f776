"""Sharded on-disk storage of synthetic crowd scenes (format: docs/synthetic.md).

A set is a folder with ``index.json`` and ``shard_%05d.npz`` files.  Each shard holds
``scenes_per_shard`` consecutive scenes:

* scene keys (``SCENE_KEYS``) stacked along a leading scene axis (S, ...);
* person keys (``PERSON_KEYS``) concatenated over the scenes' persons (P, ...), with
  ``person_offsets`` (S+1,) delimiting scene s as ``[offsets[s], offsets[s+1])``;
* maps (``MAP_KEYS`` present) stacked (S, H, W[, 3]).

Shards are written deterministically (fixed zip timestamps, sorted keys, deflate), so the
same seed and config give byte-identical files, and atomically (temporary file, then
``os.replace``).  ``index.json`` is written last and records the generator config and its
hash; :func:`generate_set` reuses shards of an interrupted run with the same config.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from metric_hmr.utils.io import atomic_save_json, atomic_write

from .generator import MAP_KEYS, PERSON_KEYS, SCENE_KEYS, SyntheticCrowdGenerator

__all__ = ['write_shard', 'read_shard', 'generate_set', 'SceneStore', 'FORMAT_NAME',
           'FORMAT_VERSION']

FORMAT_NAME = 'metric_hmr.synthetic_crowds'
FORMAT_VERSION = 1
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _pack(scenes: List[Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
    if not scenes:
        raise ValueError('a shard needs at least one scene')
    out = {}
    for k in SCENE_KEYS:
        out[k] = np.stack([np.asarray(s[k]) for s in scenes])
    counts = [len(s['age']) for s in scenes]
    out['person_offsets'] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    for k in PERSON_KEYS:
        out[k] = np.concatenate([np.asarray(s[k]) for s in scenes], axis=0)
    for k in MAP_KEYS:
        present = [k in s for s in scenes]
        if any(present):
            if not all(present):
                raise ValueError(f'map {k!r} present in some scenes of a shard but not all')
            out[k] = np.stack([s[k] for s in scenes])
    return out


def _npz_bytes(arrays: Dict[str, np.ndarray]) -> bytes:
    """Deterministic .npz bytes (fixed timestamps, sorted member order, deflate)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + '.npy', date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            arr_buf = io.BytesIO()
            np.lib.format.write_array(arr_buf, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            zf.writestr(info, arr_buf.getvalue(), compresslevel=1)
    return buf.getvalue()


def write_shard(path, scenes: List[Dict[str, np.ndarray]]) -> Path:
    """Write scenes into one shard file atomically."""
    return atomic_write(path, _npz_bytes(_pack(scenes)))


def read_shard(path) -> List[Dict[str, np.ndarray]]:
    """Read a shard back into a list of scene dicts (the inverse of :func:`write_shard`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'synthetic-crowd shard not found: {path}')
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    for k in SCENE_KEYS + PERSON_KEYS + ('person_offsets',):
        if k not in data:
            raise ValueError(f'{path}: missing field {k!r} (not a synthetic-crowd shard?)')
    off = data['person_offsets']
    scenes = []
    for s in range(len(off) - 1):
        sc = {k: data[k][s] for k in SCENE_KEYS}
        sc.update({k: data[k][off[s]:off[s + 1]] for k in PERSON_KEYS})
        sc.update({k: data[k][s] for k in MAP_KEYS if k in data})
        scenes.append(sc)
    return scenes


def _shard_name(i: int) -> str:
    return f'shard_{i:05d}.npz'


def generate_set(out_dir, num_scenes: int, seed: int = 0, scenes_per_shard: int = 50,
                 generator: Optional[SyntheticCrowdGenerator] = None, progress: bool = False,
                 **cfg) -> Path:
    """Generate ``num_scenes`` scenes into ``out_dir`` (shards + index.json).

    Shards already on disk from a run with the same seed / config / sizes are kept
    (resumable); a folder holding a different set raises instead of being overwritten.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen = generator or SyntheticCrowdGenerator(seed=seed, **cfg)
    seed = gen.seed
    meta = dict(format=FORMAT_NAME, version=FORMAT_VERSION, seed=seed, num_scenes=int(num_scenes),
                scenes_per_shard=int(scenes_per_shard), config=gen.cfg,
                config_hash=gen.config_hash, body_model=gen.bodies.name,
                has_smpl=bool(gen.bodies.has_smpl))
    stamp = out / '.generating.json'
    index_path = out / 'index.json'
    for prior_path in (index_path, stamp):
        if prior_path.is_file():
            prior = json.loads(prior_path.read_text())
            same = all(prior.get(k) == meta[k] for k in ('seed', 'config_hash', 'num_scenes',
                                                          'scenes_per_shard'))
            if not same:
                raise ValueError(f'{out} already holds a different synthetic set '
                                 f'({prior_path.name}: seed={prior.get("seed")}, '
                                 f'config_hash={prior.get("config_hash")}); use another folder')
    if index_path.is_file():
        return out
    atomic_save_json(stamp, meta)
    faces_path = out / 'faces.npy'
    if not faces_path.is_file():
        atomic_write(faces_path, lambda p: np.save(open(p, 'wb'), gen.faces.astype(np.int64)))
    shards = []
    n_shards = (num_scenes + scenes_per_shard - 1) // scenes_per_shard
    for si in range(n_shards):
        first = si * scenes_per_shard
        count = min(scenes_per_shard, num_scenes - first)
        path = out / _shard_name(si)
        if not path.is_file():
            write_shard(path, [gen.generate(i) for i in range(first, first + count)])
        if progress:
            print(f'[synthetic] shard {si + 1}/{n_shards} ({first + count} scenes)', flush=True)
        shards.append(dict(file=path.name, first=first, count=count))
    meta['shards'] = shards
    meta['faces'] = faces_path.name
    atomic_save_json(index_path, meta, indent=1)
    stamp.unlink(missing_ok=True)
    return out


class SceneStore:
    """Random access to the scenes of a generated set (shards loaded lazily, one cached)."""

    def __init__(self, root):
        self.root = Path(root)
        index_path = self.root / 'index.json'
        if not index_path.is_file():
            raise FileNotFoundError(f'synthetic-crowd index not found: {index_path}')
        self.meta = json.loads(index_path.read_text())
        if self.meta.get('format') != FORMAT_NAME:
            raise ValueError(f'{index_path}: format {self.meta.get("format")!r} is not {FORMAT_NAME!r}')
        self.shards = self.meta['shards']
        self._starts = np.array([s['first'] for s in self.shards])
        self._cache_id = None
        self._cache: List[dict] = []
        self.faces = np.load(self.root / self.meta['faces'])

    def __len__(self) -> int:
        return int(self.meta['num_scenes'])

    def __getitem__(self, i: int) -> Dict[str, np.ndarray]:
        if not 0 <= i < len(self):
            raise IndexError(f'scene {i} out of range [0, {len(self)})')
        si = int(np.searchsorted(self._starts, i, side='right') - 1)
        if self._cache_id != si:
            self._cache = read_shard(self.root / self.shards[si]['file'])
            self._cache_id = si
        return self._cache[i - self.shards[si]['first']]


def generate_from_config(config_path: str) -> Path:
    """Generate the set described by an MMEngine config (see configs/synthetic/)::

        generator = dict(type='SyntheticCrowdGenerator', seed=0, ...)   # TASK_UTILS config
        output = dict(out_dir=..., num_scenes=..., scenes_per_shard=...)
    """
    from mmengine.config import Config
    from metric_hmr.registry import TASK_UTILS
    cfg = Config.fromfile(config_path)
    for key in ('generator', 'output'):
        if key not in cfg:
            raise ValueError(f'{config_path}: missing {key!r} section')
    gen = TASK_UTILS.build(cfg.generator.to_dict())
    out = cfg.output
    return generate_set(out['out_dir'], int(out['num_scenes']),
                        scenes_per_shard=int(out.get('scenes_per_shard', 50)), generator=gen,
                        progress=True)


if __name__ == '__main__':
    import sys
    if len(sys.argv) != 2:
        raise SystemExit('usage: python -m metric_hmr.synthetic.shards CONFIG')
    print(generate_from_config(sys.argv[1]))
