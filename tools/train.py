#!/usr/bin/env python
"""Train a metric_hmr model with an MMEngine Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--non-strict]
                          [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

``load_from`` is loaded strictly: every checkpoint key must fit the model and every model key
must come from it, except the prefixes a config names in ``load_drop_prefixes`` (checkpoint
keys to drop, e.g. the denoising encoder after stage 1) and ``load_new_prefixes`` (model keys
that start fresh, e.g. the FoV head of stage 2).  ``--non-strict`` loads whatever matches and
prints the missing and unexpected keys.
"""
import argparse
import os.path as osp

from metric_hmr.utils.cli import (ToolError, add_common_args, close_distributed, one_line_errors,
                                  prepare_runner_config)


def parse_args():
    p = argparse.ArgumentParser(description='Train a metric_hmr model')
    p.add_argument('config', help='train config file path')
    p.add_argument('--resume', nargs='?', type=str, const='auto',
                   help='resume from CKPT, or from the latest checkpoint in work_dir when no path is given')
    p.add_argument('--amp', action='store_true', help='automatic mixed precision')
    p.add_argument('--auto-scale-lr', action='store_true', help='scale lr with the total batch size')
    p.add_argument('--non-strict', action='store_true',
                   help='load load_from non-strictly (missing / unexpected keys are printed)')
    add_common_args(p)
    return p.parse_args()


def main():
    args = parse_args()
    with one_line_errors(args.debug):
        from metric_hmr.utils.checkpoint import strict_runner_class
        cfg = prepare_runner_config(args)
        if args.amp:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if args.auto_scale_lr:
            cfg.setdefault('auto_scale_lr', {})['enable'] = True
        if args.resume == 'auto':
            cfg.resume, cfg.load_from = True, None
        elif args.resume is not None:
            if not osp.isfile(args.resume):
                raise ToolError(f'checkpoint to resume from not found: {args.resume}')
            cfg.resume, cfg.load_from = True, args.resume
        runner_cls = strict_runner_class(not args.non_strict, cfg.get('load_drop_prefixes', ()),
                                         cfg.get('load_new_prefixes', ()))
        runner_cls.from_cfg(cfg).train()
        close_distributed()


if __name__ == '__main__':
    main()
