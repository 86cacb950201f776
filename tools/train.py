#!/usr/bin/env python
"""Train a metric_hmr model with an MMEngine Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher none|pytorch|slurm]
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args():
    p = argparse.ArgumentParser(description='Train a metric_hmr model')
    p.add_argument('config', help='train config file path')
    p.add_argument('--work-dir', help='folder for logs and checkpoints')
    p.add_argument('--resume', nargs='?', type=str, const='auto',
                   help='resume from CKPT, or from the latest checkpoint in work_dir when no path is given')
    p.add_argument('--amp', action='store_true', help='automatic mixed precision')
    p.add_argument('--auto-scale-lr', action='store_true', help='scale lr with the total batch size')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, e.g. train_dataloader.batch_size=2')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    p.add_argument('--debug', action='store_true', help='show full tracebacks')
    args = p.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    from metric_hmr.utils.cli import ToolError, load_config, one_line_errors, setup_launcher
    with one_line_errors(args.debug):
        from mmengine.runner import Runner

        from metric_hmr import register_all_modules
        register_all_modules(init_default_scope=False)

        cfg = load_config(args.config, args.cfg_options)
        setup_launcher(cfg, args.launcher)
        if args.work_dir is not None:
            cfg.work_dir = args.work_dir
        elif cfg.get('work_dir') is None:
            cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
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

        runner = Runner.from_cfg(cfg)
        runner.train()


if __name__ == '__main__':
    main()
