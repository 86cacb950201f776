#!/usr/bin/env python
"""Evaluate a metric_hmr model (or precomputed predictions) with an MMEngine Runner.

    python tools/test.py CONFIG [CHECKPOINT] [--work-dir DIR] [--cfg-options k=v ...]
                         [--launcher none|pytorch|slurm] [--out metrics.json] [--non-strict]

The checkpoint is loaded strictly (``--non-strict``: whatever matches, the rest printed).

CHECKPOINT may be omitted for models that need no weights (e.g. the precomputed
prediction scorer).  A checkpoint of another model is reported as one error line.
"""
import argparse

from metric_hmr.utils.cli import (add_common_args, check_checkpoint_matches, close_distributed,
                                  one_line_errors, prepare_runner_config)


def parse_args():
    p = argparse.ArgumentParser(description='Test (evaluate) a metric_hmr model')
    p.add_argument('config', help='test config file path')
    p.add_argument('checkpoint', nargs='?', default=None, help='checkpoint file')
    p.add_argument('--out', help='also write the metrics to this JSON file')
    p.add_argument('--non-strict', action='store_true',
                   help='load the checkpoint non-strictly (missing / unexpected keys are printed)')
    add_common_args(p)
    return p.parse_args()


def main():
    args = parse_args()
    with one_line_errors(args.debug):
        from metric_hmr.utils.checkpoint import strict_runner_class
        from metric_hmr.utils.io import atomic_save_json
        cfg = prepare_runner_config(args)
        cfg.load_from, cfg.resume = args.checkpoint, False
        runner = strict_runner_class(not args.non_strict).from_cfg(cfg)
        if args.checkpoint is not None and not args.non_strict:
            # fail with one clear line before MMEngine's lenient (strict=False) load
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            check_checkpoint_matches(model, args.checkpoint)
        metrics = runner.test()
        if args.out:
            atomic_save_json(args.out, metrics, indent=2)
        close_distributed()            # last: a distributed run exits here


if __name__ == '__main__':
    main()
