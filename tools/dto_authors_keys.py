#!/usr/bin/env python
"""Rename the images of generated DTO-Humans files to the authors' keys (and merge parts).

    python tools/dto_authors_keys.py --dataset insta1 work_dirs/a/insta1_CHMR_SMPL_OPT.npz \
        --dataset insta2 work_dirs/b/insta2_CHMR_SMPL_OPT.npz --out data/insta/INSTA_CHMR_SMPL_OPT.npz

Each input is a released-layout file written by ``tools/dto_generate.py`` (keys = the
release ``imgname``); its keys become the authors' keys (last 1 or 3 path parts, the
``insta-train/`` prefix for insta; ``metric_hmr.generation.keys``), and all inputs are
merged into one file (insta1 + insta2 -> ``INSTA_CHMR_SMPL_OPT.npz``).  A key present in
two inputs is an error unless ``--overwrite`` (the authors' preparation keeps the later).
Last line: ``images=<n> repeated=<m> out=<path>``.
"""
import argparse
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', nargs=2, action='append', metavar=('NAME', 'NPZ'), required=True,
                   help='release name (insta1, insta2, coco, aic, mpii) and a generated npz')
    p.add_argument('--out', required=True, help='output npz (released layout)')
    p.add_argument('--overwrite', action='store_true', help='later inputs win on repeated keys')
    return p.parse_args(argv)


def main(argv=None) -> int:
    from metric_hmr.generation.keys import merge_released, released_key
    from metric_hmr.generation.release import load_released_annots, save_released_annots
    args = parse_args(argv)
    parts = []
    for name, path in args.dataset:
        annots = load_released_annots(path)
        renamed = {}
        for key, persons in annots.items():
            new = released_key(key, name)
            if new in renamed:
                raise SystemExit(f'{path}: images {key!r} and another map to the same key {new!r}')
            renamed[new] = persons
        parts.append(renamed)
    merged, repeats = merge_released(parts, 'overwrite' if args.overwrite else 'error') \
        if len(parts) > 1 or args.overwrite else (parts[0], [])
    out = save_released_annots(args.out, merged)
    print(f'images={len(merged)} repeated={len(repeats)} out={out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
