#!/usr/bin/env python
"""Convert a SAT-HMR (or MA-HMR) checkpoint into an MMEngine checkpoint of this project's MAHMR.

    python tools/convert_sat_hmr.py SRC DST [--num-betas 10|11] [--no-dn] [--no-camera]
                                    [--table] [--allow-pickle]

SRC: the flat ``{key: tensor}`` state dict SAT-HMR's loader expects; a ``model`` /
``state_dict`` wrapper and a ``module.`` prefix are accepted.  Every key is reported as
mapped, alias (``decoder.decoder.bbox_embed.*`` = ``bbox_embed.*``, checked equal), rebuilt
(``cam_intrinsics``, ``z_order_map``, ``y_coords``, ``x_coords`` come from the config;
``human_model.*`` SMPL buffers are rebuilt from *your* SMPL files, never copied), dropped
(``--no-dn`` / ``--no-camera``) or unmapped.  ``--num-betas 11`` zero-pads the shape outputs
for the SMPL-A kid blend.  MA-HMR files (gouba2333/MA-HMR): ``fov_head.*`` -> ``camera_head.*``;
its kid model (``fov_kid``) already has 11 betas and needs ``--num-betas 11``.  SRC is read with
``weights_only=True`` unless ``--allow-pickle`` (only for files you trust).  DST is written
atomically.  The last line is ``converted mapped=<n> alias=<n> rebuilt=<n> dropped=<n> unmapped=<n>``.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    p.add_argument('src', help='SAT-HMR / MA-HMR checkpoint')
    p.add_argument('dst', help='output MMEngine checkpoint (.pth)')
    p.add_argument('--num-betas', type=int, default=10, choices=(10, 11))
    p.add_argument('--no-dn', action='store_true', help='drop dn_enc (models built without denoising)')
    p.add_argument('--no-camera', action='store_true', help='drop a FoV head (SAT-HMR-only models)')
    p.add_argument('--table', action='store_true', help='print the full key table')
    p.add_argument('--allow-pickle', action='store_true', help='unpickle SRC fully (trusted files only)')
    p.add_argument('--allow-unmapped', action='store_true', help='write DST even with unmapped keys')
    return p.parse_args(argv)


def convert(src: str, dst: str, num_betas: int = 10, keep_dn: bool = True, keep_camera: bool = True,
            allow_pickle: bool = False, allow_unmapped: bool = False):
    """Convert ``src`` to ``dst``; returns the :class:`ConversionReport`."""
    import torch

    from metric_hmr.models.sat_hmr_keys import convert_sat_hmr_state_dict, unwrap_state_dict
    from metric_hmr.utils.io import atomic_write
    if not osp.isfile(src):
        raise FileNotFoundError(f'SAT-HMR checkpoint not found: {src}')
    try:
        obj = torch.load(src, map_location='cpu', weights_only=not allow_pickle)
    except Exception as e:  # noqa: BLE001 - report the file, not a pickle traceback
        raise ValueError(f'{src}: cannot read as a weights-only checkpoint ({type(e).__name__}: '
                         f'{str(e).splitlines()[0]}); --allow-pickle reads trusted files fully') from None
    sd, report = convert_sat_hmr_state_dict(unwrap_state_dict(obj), num_betas, keep_dn, keep_camera)
    if report.count('unmapped') and not allow_unmapped:
        bad = [k for k, (s, _) in report.items() if s == 'unmapped']
        raise ValueError(f'{src}: {len(bad)} keys have no place in MAHMR: {bad[:10]} '
                         f'(not SAT-HMR ViT-B?); --allow-unmapped writes the rest')
    meta = dict(converted_from=osp.basename(src), converter='tools/convert_sat_hmr.py', num_betas=num_betas,
                counts={s: report.count(s) for s in ('mapped', 'alias', 'rebuilt', 'dropped', 'unmapped')})
    atomic_write(dst, lambda p: torch.save(dict(meta=meta, state_dict=sd), p))
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        report = convert(args.src, args.dst, args.num_betas, not args.no_dn, not args.no_camera,
                         args.allow_pickle, args.allow_unmapped)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    if args.table:
        print(report.table())
    print('rebuilt, not copied: cam_intrinsics / z-order maps (from the config), human_model.* (your SMPL files)')
    print('converted ' + ' '.join(f'{s}={report.count(s)}'
                                  for s in ('mapped', 'alias', 'rebuilt', 'dropped', 'unmapped')))
    return 0


if __name__ == '__main__':
    sys.exit(main())
