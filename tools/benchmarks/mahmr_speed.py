#!/usr/bin/env python
"""MA-HMR speed on this machine: training step time and inference images/s.

    python tools/benchmarks/mahmr_speed.py [--device cpu] [--full-iters 2] [--small-iters 5]
    python tools/benchmarks/mahmr_speed.py --params-only

``--params-only`` builds the stage-3 model with SAT-HMR's 10-beta shape head (no SMPL files
needed) and prints as its last line ``params_total=<n> params_sat_hmr=<n> params_camera=<n>
params_smpla=<n>``: the SAT-HMR part counts everything but the FoV head, plus SAT-HMR's
denoising encoder ``dn_enc`` (Linear(72 + 10, 768), not built in stage 3) so that it equals
SAT-HMR ViT-B; ``params_smpla`` is the 11-beta (SMPL-A) model the training configs build.

Models are built from ``configs/mahmr_small_synthetic.py`` (tiny) and
``configs/mahmr_stage3.py`` (full size, 1288-px canvas) with random weights and the
procedural SMPL-format stand-in body (no files needed).  Inputs are toy scenes with 3
persons (``metric_hmr.datasets.train.make_toy_scene``) at 480x640.  A training step is
forward + loss + backward + AdamW update; inference is ``predict`` on one image.  Times
are medians over the timed iterations after one warm-up.  The last line is
``train_step_s=<x> infer_img_per_s=<y>`` for the full-size config.
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def build(config: str, body_dir: str, device: str):
    import torch
    from mmengine.config import Config

    from metric_hmr.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.body_model = dict(type='DemoSMPLBodyModel', cache_dir=body_dir)
    if cfg.model.heads.get('num_betas', 10) != 10:
        cfg.model.heads.num_betas = 10  # the stand-in has no kid template
    torch.manual_seed(0)
    return MODELS.build(cfg.model.to_dict()).to(device)


def make_batch(model, batch_size: int, body_model):
    from metric_hmr.datasets.train import CanvasHMR, LoadHMRImage, PackHMRInputs, mahmr_collate, make_toy_scene
    items = []
    for i in range(batch_size):
        s = make_toy_scene(body_model, i, (480, 640), num_persons=(3, 3))
        for t in (LoadHMRImage(), CanvasHMR(model.input_size), PackHMRInputs()):
            s = t(s)
        items.append(s)
    return mahmr_collate(items)


def time_model(name, config, batch_size, iters, body_dir, device):
    import torch
    model = build(config, body_dir, device)
    n_params = sum(p.numel() for p in model.parameters())
    batch = make_batch(model, batch_size, model.body_model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=1e-4)

    def train_step():
        model.train()
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()

    def infer():
        model.eval()
        with torch.no_grad():
            model.test_step({'inputs': batch['inputs'][:1], 'data_samples': batch['data_samples'][:1]})

    times = {}
    for label, fn in (('train', train_step), ('infer', infer)):
        fn()  # warm-up
        ts = []
        for _ in range(iters):
            if device.startswith('cuda'):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if device.startswith('cuda'):
                torch.cuda.synchronize()
            ts.append(time.perf_counter() - t0)
        times[label] = statistics.median(ts)
    print(f'{name}: {config} params={n_params / 1e6:.1f}M canvas={model.input_size} batch={batch_size} '
          f'train_step={times["train"]:.3f}s ({batch_size / times["train"]:.2f} img/s) '
          f'infer={1.0 / times["infer"]:.2f} img/s', flush=True)
    return times


def count_params(device: str = 'cpu') -> dict:
    """Parameter counts of the stage-3 model (FoV branch, no denoising encoder).

    Counted with SAT-HMR's 10-beta shape head (the issue-14 target); ``params_smpla`` is the
    training configs' SMPL-A model (11 betas): one more output row (weights + bias) in each
    decoder layer's shape head.
    """
    import torch
    from mmengine.config import Config

    from metric_hmr.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'mahmr_stage3.py'))
    cfg.model.heads.num_betas = 10                      # SAT-HMR-equivalent head
    torch.manual_seed(0)
    model = MODELS.build(cfg.model.to_dict())
    total = sum(p.numel() for p in model.parameters())
    camera = sum(p.numel() for p in model.camera_head.parameters())
    d = model.decoder.d_model
    dn_enc = (72 + model.heads.num_betas) * d + d if model.decoder.dn_enc is None else 0
    smpla_extra = sum(h.layers[-1].in_features + 1 for h in model.heads.shape_head)
    return dict(params_total=total, params_sat_hmr=total - camera + dn_enc, params_camera=camera,
                params_smpla=total + smpla_extra)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cpu')
    p.add_argument('--small-iters', type=int, default=5)
    p.add_argument('--full-iters', type=int, default=2)
    p.add_argument('--full-batch', type=int, default=1, help='training batch of the full model')
    p.add_argument('--params-only', action='store_true', help='only count the stage-3 parameters')
    args = p.parse_args(argv)
    import torch

    from metric_hmr import register_all_modules
    register_all_modules(init_default_scope=True)
    counts = count_params()
    print(' '.join(f'{k}={v}' for k, v in counts.items()), flush=True)
    if args.params_only:
        return 0
    print(f'torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}', flush=True)
    with tempfile.TemporaryDirectory() as body_dir:
        time_model('small', 'configs/mahmr_small_synthetic.py', 2, args.small_iters, body_dir, args.device)
        full = time_model('full', 'configs/mahmr_stage3.py', args.full_batch, args.full_iters, body_dir, args.device)
    print(f'train_step_s={full["train"]:.3f} infer_img_per_s={1.0 / full["infer"]:.3f} '
          f'params_total={counts["params_total"]}')
    return 0


if __name__ == '__main__':
    os.environ.setdefault('ANNY_CACHE_DIR', osp.expanduser('~/.cache/metric_hmr/anny'))
    sys.exit(main())
