#!/usr/bin/env python
"""Run an MA-HMR checkpoint on images and write per-person SMPL parameters and the camera.

    python tools/infer.py CONFIG CHECKPOINT IMAGE_OR_FOLDER [...] --out-dir DIR
                          [--score-thr 0.3] [--device cpu|cuda] [--cfg-options k=v ...] [--non-strict]

The checkpoint is loaded strictly (every key must match the model; SAT-HMR files go through
tools/convert_sat_hmr.py first); ``--non-strict`` loads what matches and prints the rest.

For every image ``<name>.npz`` and ``<name>.json`` are written (atomically) to ``--out-dir``
with the standard export keys of docs/ARCHITECTURE.md -- ``global_orient (N,3)``,
``body_pose (N,69)``, ``betas (N,10|11)``, ``transl (N,3)`` (OpenCV camera space, metres),
``focal (2,)``, ``princpt (2,)`` (pixels of the original image), ``height (N,)`` (T-pose
height of the predicted shape, m), ``age_group`` (-1: MA-HMR does not predict it), ``std``
(NaN: no uncertainty estimate) -- plus ``fov_v`` (predicted vertical FoV, radians),
``scores (N,)`` and ``boxes (N,4)`` (xyxy pixels).  The principal point is the image
centre (the network assumes it).
"""
import argparse
import os
import os.path as osp
import sys

IMG_EXT = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='MA-HMR inference on images')
    p.add_argument('config')
    p.add_argument('checkpoint', help='checkpoint file (state_dict or MMEngine checkpoint)')
    p.add_argument('inputs', nargs='+', help='image files and/or folders of images')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--score-thr', type=float, default=None, help='confidence threshold (config: 0.3)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--non-strict', action='store_true',
                   help='load the checkpoint non-strictly (missing / unexpected keys are printed)')
    p.add_argument('--cfg-options', nargs='+', action=_dict_action(), default=None)
    p.add_argument('--debug', action='store_true', help='show full tracebacks')
    return p.parse_args(argv)


def _dict_action():
    from mmengine.config import DictAction
    return DictAction


def list_images(inputs):
    files = []
    for item in inputs:
        if osp.isdir(item):
            files += sorted(osp.join(item, f) for f in os.listdir(item) if f.lower().endswith(IMG_EXT))
        elif osp.isfile(item):
            files.append(item)
        else:
            from metric_hmr.utils.cli import ToolError
            raise ToolError(f'input not found: {item}')
    if not files:
        from metric_hmr.utils.cli import ToolError
        raise ToolError(f'no images found in {inputs}')
    return files


def image_sample(path: str) -> dict:
    """Training-sample dict of an image without annotations (camera unknown)."""
    import numpy as np

    from metric_hmr.datasets.train.datasets import empty_gt, image_size
    H, W = image_size(path)
    return dict(img_path=path, img=None, ori_shape=(H, W), focal=np.array([np.nan, np.nan]),
                princpt=np.array([W / 2.0, H / 2.0]), fov_v=float('nan'), gt=empty_gt(0))


def run(args) -> int:
    import numpy as np
    import torch

    from metric_hmr import register_all_modules
    from metric_hmr.datasets.train import CanvasHMR, LoadHMRImage, PackHMRInputs, mahmr_collate
    from metric_hmr.registry import MODELS
    from metric_hmr.utils.cli import ToolError, load_config
    from metric_hmr.utils.io import atomic_save_json, atomic_save_npz
    from metric_hmr.visualization.export import EXPORT_KEYS, _json_value, export_arrays

    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.cfg_options)
    if not osp.isfile(args.checkpoint):
        raise ToolError(f'checkpoint not found: {args.checkpoint}')
    from metric_hmr.utils.checkpoint import load_model_weights
    model = MODELS.build(cfg.model)
    try:
        load_model_weights(model, args.checkpoint, strict=not args.non_strict)
    except RuntimeError as e:
        raise ToolError(str(e)) from None
    model.to(args.device).eval()
    if args.score_thr is not None:
        model.score_thresh = args.score_thr
    pipeline = [LoadHMRImage(), CanvasHMR(model.input_size), PackHMRInputs()]
    os.makedirs(args.out_dir, exist_ok=True)
    for path in list_images(args.inputs):
        sample = image_sample(path)
        for t in pipeline:
            sample = t(sample)
        with torch.no_grad():
            res = model.test_step(mahmr_collate([sample]))[0]
        arrays = export_arrays(res)
        pred = res['pred']
        arrays.update(fov_v=np.float64(pred['fov']), scores=np.asarray(pred['scores'], np.float64),
                      boxes=np.asarray(pred['boxes'], np.float64).reshape(-1, 4))
        stem = osp.join(args.out_dir, osp.splitext(osp.basename(path))[0])
        atomic_save_npz(stem + '.npz', **arrays)
        doc = dict(img_path=path, image_size=list(res['ori_shape']), camera='opencv',
                   num_persons=int(len(arrays['transl'])))
        doc.update({k: _json_value(arrays[k]) for k in list(EXPORT_KEYS) + ['fov_v', 'scores', 'boxes']})
        atomic_save_json(stem + '.json', doc, indent=1)
        print(f'{path}: {doc["num_persons"]} persons, vertical FoV {np.degrees(arrays["fov_v"]):.1f} deg '
              f'-> {stem}.npz/.json')
    return 0


def main(argv=None):
    args = parse_args(argv)
    from metric_hmr.utils.cli import one_line_errors
    with one_line_errors(args.debug):
        return run(args)


if __name__ == '__main__':
    sys.exit(main())
