#!/usr/bin/env python
"""Evaluate a metric_hmr model (or precomputed predictions) with an MMEngine Runner.

    python tools/test.py CONFIG [CHECKPOINT] [--work-dir DIR] [--cfg-options k=v ...]
                         [--launcher none|pytorch|slurm] [--out results.json]

CHECKPOINT may be omitted for models that need no weights (e.g. the precomputed
prediction scorer).  A checkpoint of another model is reported as one error line.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args():
    p = argparse.ArgumentParser(description='Test (evaluate) a metric_hmr model')
    p.add_argument('config', help='test config file path')
    p.add_argument('checkpoint', nargs='?', default=None, help='checkpoint file')
    p.add_argument('--work-dir', help='folder for logs and metrics')
    p.add_argument('--out', help='also write the metrics to this JSON file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, e.g. test_dataloader.dataset.data_root=...')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    p.add_argument('--debug', action='store_true', help='show full tracebacks')
    args = p.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    from metric_hmr.utils.cli import check_checkpoint_matches, load_config, one_line_errors, setup_launcher
    with one_line_errors(args.debug):
        from mmengine.runner import Runner

        from metric_hmr import register_all_modules
        from metric_hmr.utils.io import atomic_save_json
        register_all_modules(init_default_scope=False)

        cfg = load_config(args.config, args.cfg_options)
        setup_launcher(cfg, args.launcher)
        if args.work_dir is not None:
            cfg.work_dir = args.work_dir
        elif cfg.get('work_dir') is None:
            cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
        cfg.load_from = args.checkpoint
        cfg.resume = False

        runner = Runner.from_cfg(cfg)
        if args.checkpoint is not None:
            # fail with one clear line before MMEngine's lenient (strict=False) load
            check_checkpoint_matches(runner.model.module if hasattr(runner.model, 'module')
                                     else runner.model, args.checkpoint)
        metrics = runner.test()
        if args.out:
            atomic_save_json(args.out, metrics, indent=2)


if __name__ == '__main__':
    main()
