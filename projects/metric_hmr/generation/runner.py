"""Run DTO-Humans generation from a config: shards per rank, resume, merge, stats, summary.

Config keys (see ``configs/dto/dto_demo.py``)::

    work_dir = 'work_dirs/...'          # everything a run writes goes here
    reader = dict(type=...)              # DTO_STAGES reader
    stages = [dict(type=...), ...]       # DTO_STAGES stages, in order
    generation = dict(shard_size=64, batch_size=8, progress=True, vis_every=0,
                      report=True, debug_delay_per_shard=0.0, torch_threads=1,
                      check_inputs=True)   # unknown keys are an error
    procedural_smpl = dict(seed=0, with_kid_template=False)   # optional: demo body model

``procedural_smpl`` writes the procedural SMPL-format stand-in
(:func:`metric_hmr.testing.make_smpl_model_file`, *not* SMPL) into ``work_dir`` and uses it
for every ``body_model`` whose ``model_path`` is None.
"""
from __future__ import annotations

import copy
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import List, Optional

from .config_check import (DEFAULT_GENERATION, ConfigError, check_components,
                           check_generation_keys, component_list, resolved_run_config)
from .pipeline import GenerationPipeline, build_component
from .shard_store import (INPUT_SKIP_REASONS, Summary, fingerprint, format_summary, load_shard,
                          make_shards, merge_shards, rank_shards, read_shard_header,
                          remove_stale_tmp, shard_path, shard_record_lines, write_shard)

__all__ = ['DEFAULT_GENERATION', 'run_generation', 'finalize', 'shard_records', 'dist_info']

# report rows kept in memory at merge: every image with visuals, others up to this many
REPORT_MAX_PLAIN_RECORDS = 5000


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


def prepare_work_dir(path) -> Path:
    """Create ``work_dir``; a path that is a file or not writable is a one-line error."""
    work_dir = Path(path)
    if work_dir.exists() and not work_dir.is_dir():
        raise ConfigError(f'work_dir {work_dir} exists and is not a folder')
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f'cannot create work_dir {work_dir}: {e.strerror or e}') from e
    if not os.access(work_dir, os.W_OK | os.X_OK):
        raise ConfigError(f'work_dir {work_dir} is not writable')
    return work_dir


def run_generation(cfg, launcher: str = 'none', merge_only: bool = False,
                   retry_skipped: bool = False) -> Optional[dict]:
    """Process this rank's unfinished shards, then (rank 0, after a barrier) merge them.

    The config is checked first (unknown ``generation`` keys, unknown constructor keywords).
    ``retry_skipped`` also reruns finished shards holding images skipped for a missing or
    unreadable input (:data:`INPUT_SKIP_REASONS`).  Returns the summary dict on the merging
    rank, else None.
    """
    cfg = _plain(cfg)
    gen = check_generation_keys(cfg.get('generation'))
    check_components(component_list(cfg))
    work_dir = prepare_work_dir(cfg['work_dir'])
    init_distributed(launcher, gen['dist_timeout_s'])
    if gen['torch_threads']:
        # CPU float32 results depend on the number of threads that split a reduction; a fixed
        # count makes shards bit-identical whatever the load, rank count or restart history
        import torch
        torch.set_num_threads(int(gen['torch_threads']))
    rank, world = dist_info()

    # the run's identity: what determines the outputs (resolved config, image ids)
    run_cfg = resolved_run_config(cfg, gen)
    reader = build_component(cfg['reader'])
    shards = make_shards(reader.image_ids(), int(gen['shard_size']))
    fps = [fingerprint(run_cfg, ids) for ids in shards]
    if not merge_only:
        mine = rank_shards(len(shards), rank, world)
        remove_stale_tmp(work_dir, mine)
        sig = _input_signer(cfg, reader) if gen['check_inputs'] else None
        todo = [j for j in mine if _needs_run(work_dir, j, fps[j], shards[j], sig, retry_skipped)]
        if todo:
            _process(cfg, gen, work_dir, reader, shards, fps, todo, sig, rank)
        barrier()
    if rank != 0:   # rank 0 merges (also with --merge under a launcher)
        return None
    return finalize(cfg, gen, work_dir, reader.name, fps)


def _input_signer(cfg: dict, reader):
    """img_id -> signature of its input files (reader + stages reading per-image files;
    only those cheap stages are built here)."""
    from ..registry import DTO_STAGES
    stages = [build_component(s) for s in cfg['stages']
              if isinstance(s, dict) and isinstance(s.get('type'), str)
              and hasattr(DTO_STAGES.get(s['type']), 'input_signature')]

    def sign(img_id: str) -> str:
        return '|'.join([reader.input_signature(img_id)] + [st.input_signature(img_id) for st in stages])
    return sign


def _needs_run(work_dir: Path, j: int, fp: str, ids, sig, retry_skipped: bool) -> bool:
    """Does shard j need (re)computing?  Missing or corrupt: yes; another configuration:
    error; changed inputs or (``retry_skipped``) input-skipped images: yes."""
    p = shard_path(work_dir, j)
    if not p.is_file():
        return True
    try:
        header = read_shard_header(p)
    except ValueError as e:
        print(f'note: {e}; recomputing shard {j}', file=sys.stderr)
        return True
    if header.get('fingerprint') != fp:
        raise ConfigError(f'{p} was written by a run with another configuration or image list; '
                          'use a fresh work_dir (or delete its shards/ folder)')
    if sig is not None and header.get('inputs') != [sig(i) for i in ids]:
        print(f'note: inputs of shard {j} changed since it was written; recomputing it',
              file=sys.stderr)
        return True
    if retry_skipped:
        for line in shard_record_lines(p):
            r = json.loads(line)
            if r['status'] == 'skipped' and r['reason'].split(':')[0] in INPUT_SKIP_REASONS:
                return True
    return False


def check_kid_template(reader, stages) -> None:
    """An 11-D input shape with a non-zero age blend needs a body model with a kid
    template (11 betas): checked before any image is processed."""
    hit = reader.first_age_blend() if hasattr(reader, 'first_age_blend') else None
    if hit is None:
        return
    for st in stages:
        nb = getattr(st, 'nb', None)
        if nb is not None and nb < 11:
            raise ConfigError(f'input image {hit[0]}, person {hit[1]}: 11-D shape with a non-zero '
                              f'age blend, but the body model of {type(st).__name__} takes {nb} '
                              'betas; configure a kid template (SMPL-A: kid_template_path, '
                              'num_betas=11)')


def _process(cfg, gen, work_dir: Path, reader, shards, fps, todo, sig, rank) -> None:
    """Build the pipeline once and run the shards ``todo`` of this rank."""
    built = prepare_body_models(cfg, work_dir)
    on_image = _visualizer(cfg, gen, work_dir)
    pipe = GenerationPipeline(reader, built['stages'], gen['batch_size'], on_image)
    check_kid_template(reader, pipe.stages)
    if on_image is not None:   # meshes for the visuals come from the DTO stage's model
        on_image.body_model = next((getattr(st, 'body_model', None) for st in pipe.stages
                                    if getattr(st, 'body_model', None) is not None), None)
    prog = _Progress(sum(len(shards[j]) for j in todo), rank, gen['progress'])
    try:
        for j in todo:
            t0 = time.perf_counter()
            sigs = None if sig is None else [sig(i) for i in shards[j]]
            records, annots = pipe.run(shards[j], prog)
            if gen['debug_delay_per_shard']:
                time.sleep(max(0.0, gen['debug_delay_per_shard'] - (time.perf_counter() - t0)))
            write_shard(work_dir, j, fps[j], shards[j], records, annots, sigs)
    finally:
        prog.close()


def finalize(cfg: dict, gen: dict, work_dir: Path, name: str, fps) -> dict:
    """Check and stream-merge all shards, then write stats/plots, summary and (optionally)
    the HTML report.  Nothing is written when a shard is missing or foreign."""
    from ..utils.io import atomic_save_json
    from ..visualization.plots import StatsCollector, write_stats
    acc, stats, report_recs = Summary(), StatsCollector(), []

    def on_record(r: dict) -> None:
        acc.add(r)
        stats.add(r)
        if gen.get('report') and ('vis' in r or len(report_recs) < REPORT_MAX_PLAIN_RECORDS):
            report_recs.append(r)
    key_map = None
    if gen.get('output_keys'):      # the authors' image keys (generation/keys.py)
        from functools import partial

        from .keys import released_key
        key_map = partial(released_key, dataset=gen['output_keys'])
    npz, jsonl = merge_shards(work_dir, fps, name, on_record, key_map=key_map)
    summary = acc.result()
    summary['outputs'] = {'released': str(npz), 'records': str(jsonl)}
    write_stats(stats, work_dir / 'stats', name)
    summary['outputs']['stats'] = str(work_dir / 'stats')
    if gen.get('report'):
        try:
            rep = _write_report(work_dir, name, summary, report_recs)
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
