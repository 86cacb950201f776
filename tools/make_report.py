#!/usr/bin/env python
"""Build the offline HTML report of a run folder.

    python tools/make_report.py RUN_DIR [--out RUN_DIR/report] [--title ...]

RUN_DIR is a dto_generate or synthetic-benchmark output folder holding ``records*.jsonl``
(written by ``metric_hmr.visualization.VisualizationWriter``) directly or in ``vis/``;
several records files (shards, ranks) are merged.  The report (index.html, plots/,
images/, exports/) needs no network; open index.html in a browser.  Record format:
docs/visualization.md.
"""
import argparse
import sys
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('run_dir',
                   help='run folder with records*.jsonl (or vis/records*.jsonl), or a records file')
    p.add_argument('--out', default=None, help='report folder (default: RUN_DIR/report)')
    p.add_argument('--title', default=None, help='page title (default: the run folder name)')
    p.add_argument('--n-gallery', type=int, default=6, help='best and worst images shown (each)')
    p.add_argument('--n-scenes', type=int, default=3, help='interactive 3D scenes')
    p.add_argument('--score-threshold', type=float, default=1.5,
                   help='image-score threshold line on the histogram (DTO-Humans filter: 1.5)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from metric_hmr.visualization.report import load_run, write_report
    run = Path(args.run_dir)
    try:
        records = load_run(run)
    except (FileNotFoundError, ValueError) as e:
        print(f'make_report: error: {e}', file=sys.stderr)
        return 2
    run_folder = run.parent if run.is_file() else run
    out = Path(args.out) if args.out else run_folder / 'report'
    index = write_report(out, records, title=args.title or f'metric-hmr report: {run_folder.resolve().name}',
                         n_gallery=args.n_gallery, n_scenes=args.n_scenes,
                         score_threshold=args.score_threshold,
                         run_info={'run folder': str(run_folder.resolve())})
    print(f'report with {len(records)} images written to {index}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
