#!/usr/bin/env python
"""DTO-Humans generation: scene-consistent pseudo-ground truth from single-person pGT or images.

    python tools/dto_generate.py CONFIG [--cfg-options k=v ...] [--work-dir DIR]
    python tools/dto_generate.py CONFIG --merge          # merge finished shards only
    python tools/dto_generate.py CONFIG --retry-skipped  # redo images skipped for bad inputs
    bash tools/dist_dto_generate.sh CONFIG NPROC         # torchrun, one process per rank

Each rank processes its shards of the sorted image list (shard j -> rank j % world size),
writes one file per finished shard under ``work_dir/shards`` (atomic; a rerun skips them),
and rank 0 merges them into the released layout ``<name>_CHMR_SMPL_OPT.npz``, per-image
records, statistics/plots and a summary.  See docs/dto_generate.md.
"""
import argparse
import os
import os.path as osp
import sys
import time

from mmengine.config import DictAction


def parse_args():
    p = argparse.ArgumentParser(description='DTO-Humans pseudo-ground-truth generation')
    p.add_argument('config', help='generation config (e.g. configs/dto/dto_demo.py)')
    p.add_argument('--work-dir', help='output folder (overrides the config work_dir)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, e.g. generation.shard_size=128')
    p.add_argument('--merge', action='store_true',
                   help='only merge finished shards (and write stats/summary); refuses shards '
                        'of another configuration and missing shards')
    p.add_argument('--retry-skipped', action='store_true',
                   help='also rerun finished shards with images skipped for a missing or '
                        'unreadable input (e.g. after restoring the files)')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default=None,
                   help='default: pytorch when started by torchrun (WORLD_SIZE > 1), else none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    p.add_argument('--debug', action='store_true', help='show full tracebacks')
    args = p.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.launcher is None:
        args.launcher = 'pytorch' if int(os.environ.get('WORLD_SIZE', '1')) > 1 else 'none'
    return args


def exit_with_parent(poll_s: float = 1.0) -> None:
    """A torchrun worker stops when torchrun is gone (killed, even with SIGKILL): torchrun
    starts workers in their own session, so nothing else would stop them writing the work
    dir.  Finished shards are atomic files, so stopping mid-shard loses only that shard."""
    import signal
    import threading
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                print(f'rank {os.environ.get("RANK", "?")}: torchrun ({parent}) is gone; stopping',
                      file=sys.stderr)
                os.kill(os.getpid(), signal.SIGTERM)
                return
    threading.Thread(target=watch, daemon=True, name='exit-with-torchrun').start()


def main():
    args = parse_args()
    if args.launcher == 'pytorch' and 'TORCHELASTIC_RUN_ID' in os.environ:
        exit_with_parent()
    os.environ.setdefault('ANNY_CACHE_DIR', osp.join(osp.expanduser('~'), '.cache', 'metric_hmr', 'anny'))
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from metric_hmr.utils.cli import load_config, one_line_errors
    with one_line_errors(args.debug):
        from metric_hmr import register_all_modules
        from metric_hmr.generation.runner import run_generation
        register_all_modules(init_default_scope=True)
        cfg = load_config(args.config, args.cfg_options)
        if args.work_dir is not None:
            cfg.work_dir = args.work_dir
        elif cfg.get('work_dir') is None:
            cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
        run_generation(cfg, launcher=args.launcher, merge_only=args.merge,
                       retry_skipped=args.retry_skipped)


if __name__ == '__main__':
    main()
