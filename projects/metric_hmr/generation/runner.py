"""Run DTO-Humans generation from a config: shards per rank, resume, merge, stats, summary.

Config keys (see ``configs/dto/dto_demo.py``)::

    work_dir = 'work_dirs/...'          # everything a run writes goes here
    reader = dict(type=...)              # DTO_STAGES reader
    stages = [dict(type=...), ...]       # DTO_STAGES stages, in order
    generation = dict(shard_size=64, batch_size=8, progress=True, vis_every=0,
                      report=True, debug_delay_per_shard=0.0, torch_threads=1)
    procedural_smpl = dict(seed=0, with_kid_template=False)   # optional: demo body model

``procedural_smpl`` writes the procedural SMPL-format stand-in
(:func:`metric_hmr.testing.make_smpl_model_file`, *not* SMPL) into ``work_dir`` and uses it
for every ``body_model`` whose ``model_path`` is None.
"""
from __future__ import annotations

import copy
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import List, Optional

from .pipeline import GenerationPipeline, build_component
from .shard_store import (fingerprint, format_summary, load_shard, make_shards, merge_shards,
                          rank_shards, remove_stale_tmp, shard_done, shard_path, summarize,
                          write_shard)

DEFAULT_GENERATION = dict(shard_size=64, batch_size=8, progress=True, vis_every=0, report=True,
                          debug_delay_per_shard=0.0, dist_timeout_s=7 * 24 * 3600,
                          torch_threads=1)


def _plain(cfg):
    """Config (mmengine ConfigDict) -> plain python containers."""
    if hasattr(cfg, 'to_dict'):
        return cfg.to_dict()
    if isinstance(cfg, dict):
        return {k: _plain(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [_plain(v) for v in cfg]
    return cfg


def dist_info():
    """(rank, world_size) from torch.distributed when initialised, else the environment."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get('RANK', 0)), int(os.environ.get('WORLD_SIZE', 1))


def init_distributed(launcher: str, timeout_s: float) -> None:
    """gloo process group (only barriers are needed, so gloo also serves GPU runs)."""
    if launcher == 'none':
        return
    import torch.distributed as dist
    if launcher == 'slurm':
        from ..utils.cli import _export_slurm_env
        _export_slurm_env()
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo', timeout=timedelta(seconds=timeout_s))


def barrier() -> None:
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def prepare_body_models(cfg: dict, work_dir: Path) -> dict:
    """Fill ``model_path=None`` body models with the procedural stand-in (see module doc)."""
    proc = cfg.get('procedural_smpl')
    if not proc:
        return cfg
    from ..testing import make_smpl_model_file
    out = work_dir / 'procedural_smpl'
    path = make_smpl_model_file(str(out), seed=int(proc.get('seed', 0)),
                                with_kid_template=bool(proc.get('with_kid_template', False)))
    kid = None
    if proc.get('with_kid_template'):
        from ..testing import kid_template_path
        kid = kid_template_path(str(out))
    cfg = copy.deepcopy(cfg)
    for st in cfg['stages']:
        bm = st.get('body_model') if isinstance(st, dict) else None
        if isinstance(bm, dict) and bm.get('model_path') is None:
            bm['model_path'] = str(path)
            if kid is not None and bm.get('kid_template_path', 'unset') is None:
                bm['kid_template_path'] = kid
    return cfg


class _Progress:
    """tqdm bar per rank (images/s and ETA); silent when disabled."""

    def __init__(self, total: int, rank: int, enabled: bool):
        self.bar = None
        if enabled and total:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=f'rank {rank}', unit='img', position=rank,
                            dynamic_ncols=True, file=sys.stderr, smoothing=0.1)

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_generation(cfg, launcher: str = 'none', merge_only: bool = False) -> Optional[dict]:
    """Process this rank's unfinished shards, then (rank 0, after a barrier) merge them.

    Returns the summary dict on the merging rank, else None.
    """
    cfg = _plain(cfg)
    gen = {**DEFAULT_GENERATION, **(cfg.get('generation') or {})}
    work_dir = Path(cfg['work_dir'])
    work_dir.mkdir(parents=True, exist_ok=True)
    init_distributed(launcher, gen['dist_timeout_s'])
    if gen['torch_threads']:
        # CPU float32 results depend on the number of threads that split a reduction; a fixed
        # count makes shards bit-identical whatever the load, rank count or restart history
        import torch
        torch.set_num_threads(int(gen['torch_threads']))
    rank, world = dist_info()

    # the run's identity: what determines the outputs (not work_dir, batch size, progress)
    run_cfg = {'reader': cfg['reader'], 'stages': cfg['stages'], 'shard_size': gen['shard_size'],
               'procedural_smpl': cfg.get('procedural_smpl')}
    reader = build_component(cfg['reader'])
    shards = make_shards(reader.image_ids(), int(gen['shard_size']))
    fps = [fingerprint(run_cfg, ids) for ids in shards]
    mine = rank_shards(len(shards), rank, world)

    if not merge_only:
        remove_stale_tmp(work_dir, mine)
        todo = [j for j in mine if not shard_done(work_dir, j, fps[j])]
        if todo:
            run_cfg_built = prepare_body_models(cfg, work_dir)
            on_image = _visualizer(cfg, gen, work_dir)
            pipe = GenerationPipeline(reader, run_cfg_built['stages'], gen['batch_size'], on_image)
            if on_image is not None:   # meshes for the visuals come from the DTO stage's model
                on_image.body_model = next((getattr(st, 'body_model', None) for st in pipe.stages
                                            if getattr(st, 'body_model', None) is not None), None)
            prog = _Progress(sum(len(shards[j]) for j in todo), rank, gen['progress'])
            try:
                for j in todo:
                    t0 = time.perf_counter()
                    records, annots = pipe.run(shards[j], prog)
                    if gen['debug_delay_per_shard']:
                        time.sleep(max(0.0, gen['debug_delay_per_shard'] - (time.perf_counter() - t0)))
                    write_shard(work_dir, j, fps[j], shards[j], records, annots)
            finally:
                prog.close()
        barrier()
    if rank != 0:   # rank 0 merges (also with --merge under a launcher)
        return None
    return finalize(cfg, gen, work_dir, reader.name, len(shards))


def finalize(cfg: dict, gen: dict, work_dir: Path, name: str, num_shards: int) -> dict:
    """Merge all shards, write stats/plots, summary and (optionally) the HTML report."""
    from ..utils.io import atomic_save_json
    from .stats import write_stats
    npz, jsonl, records = merge_shards(work_dir, num_shards, name)
    summary = summarize(records)
    summary['outputs'] = {'released': str(npz), 'records': str(jsonl)}
    write_stats(records, work_dir / 'stats', name)
    summary['outputs']['stats'] = str(work_dir / 'stats')
    if gen.get('report'):
        try:
            rep = _write_report(work_dir, name, summary, records)
            summary['outputs']['report'] = str(rep)
        except ImportError as e:  # visualization package unavailable: say so, keep the data
            summary['outputs']['report'] = f'not written: {e}'
    atomic_save_json(work_dir / 'summary.json', summary, indent=2, sort_keys=True)
    print(format_summary(summary))
    print(f'outputs: {work_dir}')
    return summary


def _visualizer(cfg: dict, gen: dict, work_dir: Path):
    """Per-image visualisation callback (every ``vis_every``-th image), or None."""
    every = int(gen.get('vis_every') or 0)
    if every <= 0:
        return None
    from .vis import make_visualizer
    return make_visualizer(cfg, work_dir / 'vis', every, work_dir)


def _write_report(work_dir: Path, name: str, summary: dict, records):
    from .vis import write_generation_report
    return write_generation_report(work_dir, name, summary, records)


def shard_records(work_dir, j: int) -> List[dict]:
    """Records of one finished shard (for inspection and tests)."""
    return load_shard(shard_path(work_dir, j))['records']
