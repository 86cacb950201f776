#!/usr/bin/env python
"""Conformance of this project's network with SAT-HMR's own forward pass (ViT-B, default config).

    python tools/benchmarks/sat_hmr_conformance.py [--fixture DIR] [--out-npz FILE] [--threads N]

Reads everything from DIR (default ``../shared/fixtures/sat_hmr`` next to the repository):

1. regenerates SAT-HMR's full state dict from ``DIR/weights_manifest.json`` by the seeded rule of
   ``DIR/README.md`` (randn * 0.02 with seed 2026 + sorted index, LayerNorm weights 1 + that,
   layer scales 0.1, the manifest's overrides, aliases, as-built buffers) and checks the
   manifest's checksums;
2. writes it as a flat SAT-HMR checkpoint and converts it with ``tools/convert_sat_hmr.py``;
3. builds MAHMR as SAT-HMR (no camera branch, with ``dn_enc``) and loads the result strictly;
4. runs it on the image in ``DIR/input/`` with SAT-HMR's preprocessing (cv2 read, long side to
   1288 with INTER_LINEAR, zero padding bottom/right to a multiple of 56, RGB, ImageNet
   normalisation) and compares with ``DIR/sat_hmr_reference_outputs.npz``: integer / mask
   arrays exactly, floats within atol 1e-4 (post_boxes_xyxy_px 0.05 px, pred_intrinsics 1e-3,
   input_chan_sum 1.0), as the README states.

Last line: ``conformance max_abs_err=<e> tokens_equal=<True|False> unmapped_keys=<n>``, where
max_abs_err is the largest deviation over the float keys with the 1e-4 tolerance.
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import math
import os
import os.path as osp
import sys
import tempfile

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_FIXTURE = osp.join(REPO, '..', 'shared', 'fixtures', 'sat_hmr')
SPECIAL_ATOL = {'post_boxes_xyxy_px': 0.05, 'pred_intrinsics': 1e-3, 'input_chan_sum': 1.0}
TOKEN_KEYS = ('num_tokens_per_level', 'lvl1_sat_idx', 'tok_lvl', 'tok_grid_y', 'tok_grid_x',
              'lvl1_valid_mask', 'lvl1_sat_mask', 'scale_map_pos_y', 'scale_map_pos_x', 'post_idx')


# ------------------------------------------------------------------------- weights rule
def generate_weights(manifest: dict):
    """The fixture's state dict from its manifest (rule of the fixture README, re-implemented)."""
    import torch
    seed, scale, ls_value = manifest['seed'], manifest['scale'], manifest['layer_scale_value']
    sd = {}
    for e in manifest['keys']:
        kind, shape = e['kind'], tuple(e['shape'])
        if kind == 'layer_scale':
            sd[e['name']] = torch.full(shape, float(ls_value))
        elif kind == 'const':
            sd[e['name']] = torch.tensor(e['value'], dtype=torch.float32).reshape(shape)
        elif kind in ('randn', 'ln_weight', 'randn_std'):
            g = torch.Generator().manual_seed(seed + e['index'])
            t = torch.randn(shape, generator=g, dtype=torch.float32) * (e.get('std', 1.0) if kind == 'randn_std'
                                                                         else scale)
            sd[e['name']] = 1.0 + t if kind == 'ln_weight' else t
        elif kind == 'as_built' and 'value' in e:
            sd[e['name']] = torch.tensor(e['value'], dtype=getattr(torch, e['dtype'])).reshape(shape)
        elif kind == 'as_built':  # the z-order grids: the model builds them (build_z_map)
            from metric_hmr.models.sat_encoder import build_z_map
            z, ys, xs = build_z_map(int(math.log2(shape[0])))
            sd[e['name']] = dict(z_order_map=z, y_coords=ys, x_coords=xs)[e['name']]
        elif kind != 'alias':
            raise ValueError(f'weights_manifest.json: unknown kind {kind!r} of {e["name"]}')
    for e in manifest['keys']:
        if e['kind'] == 'alias':
            sd[e['name']] = sd[e['canonical']]
    bad = [e['name'] for e in manifest['keys'] if 'checksum' in e and not _checksum_ok(sd[e['name']], e['checksum'])]
    if bad:
        raise ValueError(f'weights rule does not reproduce the manifest checksums of {len(bad)} keys: {bad[:5]}')
    return sd


def _checksum_ok(t, ref) -> bool:
    t64 = t.double()
    c = [float(t64.sum()), float(t64.abs().sum()), float(t64.flatten()[0])]
    return all(abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(c, ref))


# ------------------------------------------------------------------------ preprocessing
def preprocess(path: str, input_size: int = 1288):
    """SAT-HMR's ``infer`` preprocessing -> (3, H_pad, W_pad) float tensor, valid (h, w)."""
    import cv2
    import torch
    img = cv2.imread(path)
    if img is None:
        raise FileNotFoundError(f'cannot read image {path}')
    h, w = img.shape[:2]
    if w >= h:
        size = (input_size, int(input_size / w * h))
    else:
        size = (int(input_size / h * w), input_size)
    img = cv2.resize(img, dsize=size)  # INTER_LINEAR, as SAT-HMR
    rh, rw = img.shape[:2]
    ph, pw = math.ceil(rh / 56) * 56, math.ceil(rw / 56) * 56
    canvas = np.zeros((ph, pw, 3), np.uint8)
    canvas[:rh, :rw] = img
    x = torch.from_numpy(canvas[..., ::-1].copy()).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return (x - mean) / std, (rh, rw)


# ------------------------------------------------------------------------------- model
def build_sat_hmr_model(input_size: int = 1288):
    """MAHMR configured as SAT-HMR ViT-B (no camera branch, denoising encoder present)."""
    import torch
    from mmengine.config import Config

    import metric_hmr.models  # noqa: F401
    from metric_hmr.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'mahmr_model.py'))
    m = cfg.model.to_dict()
    m.update(camera_head=None, input_size=input_size)
    m['decoder']['dn_param_dim'] = 72 + m['heads']['num_betas']
    m['heads']['mean_params'] = None
    torch.manual_seed(0)
    return MODELS.build(m)


def run_model(model, image, valid_hw):
    """Forward of the network; returns the fixture's output keys as numpy arrays."""
    import torch

    from metric_hmr.geometry import matrix_to_axis_angle, rot6d_interleaved_to_matrix
    h, w = valid_hw
    sample = dict(img_h=model.input_size, princpt_input=(w / 2, h / 2))
    with torch.no_grad():
        net = model._network(image[None], [sample])
    enc, last = net['enc'], net['layers'][-1]
    info = enc.tokens[0]
    f = float(net['focal'][0])
    pose6d = last['pose6d'][0].reshape(50, -1)
    aa = matrix_to_axis_angle(rot6d_interleaved_to_matrix(last['pose6d'][0])).reshape(50, -1)
    transl = last['transl'][0]
    confs = last['logits'][0].sigmoid()
    keep = torch.nonzero(confs > model.score_thresh)[:, 0]
    boxes = last['boxes'][0, keep] * model.input_size
    xyxy = torch.cat([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], 1)
    K = torch.tensor([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]])
    lvl1_feat, final_feat = info['lvl1_features'], info['final_features']
    memory = enc.memory[0]
    hs = net['hs'][:, 0]
    out = dict(
        pred_conf_logits=last['logits'][0], pred_confs=confs, pred_boxes=last['boxes'][0], pred_pose_6d=pose6d,
        pred_poses_aa=aa, pred_betas=last['betas'][0], pred_cam_raw=last['cam'][0], pred_transl=transl,
        pred_depths=torch.stack([transl[:, 2], transl[:, 2] / f], 1), pred_intrinsics=K,
        dec_hs_last=hs[-1], dec_hs_norms=hs.norm(dim=-1), dec_ref_points=net['refs'][:, 0],
        scale_logits=enc.scale_logits[0], scale_map=enc.scale_logits[0].sigmoid(),
        scale_map_pos_y=enc.lvl1_pos[0][:, 0].int(), scale_map_pos_x=enc.lvl1_pos[0][:, 1].int(),
        scale_map_hw=torch.tensor(enc.lvl1_hw[0]).int(), lvl1_valid_mask=info['valid'].to(torch.uint8),
        lvl1_sat_mask=info['sat'].to(torch.uint8), lvl1_sat_idx=info['sat_idx'].int(),
        num_tokens_per_level=info['num_per_level'].int(), tok_lvl=info['lvl'].to(torch.int8),
        tok_pos_y=info['pos_y'], tok_pos_x=info['pos_x'], tok_grid_y=info['grid_y'].int(),
        tok_grid_x=info['grid_x'].int(), enc_inter_prenorm_norms=lvl1_feat.norm(dim=-1),
        enc_inter_norms=model.backbone.inter_norm(lvl1_feat).norm(dim=-1),
        enc_final_prenorm_norms=final_feat.norm(dim=-1),
        enc_final_norms=model.backbone.norm(final_feat).norm(dim=-1), memory_norms=memory.norm(dim=-1),
        memory_rows=memory[[0, len(memory) // 2, len(memory) - 1]], post_idx=keep.int(), post_confs=confs[keep],
        post_boxes_xyxy_px=xyxy, input_chan_sum=image.double().sum(dim=(1, 2)).float(),
        input_shape=torch.tensor(image.shape).int(), img_size_hw=torch.tensor([h, w]).int())
    return {k: v.detach().cpu().numpy() for k, v in out.items()}


def compare(ref, cand):
    """Per key (ok, max |diff|, tolerance) with the README's tolerances."""
    rows = {}
    for k in ref.files:
        r = ref[k]
        if k not in cand:
            rows[k] = (False, float('inf'), 'missing')
            continue
        c = np.asarray(cand[k])
        if r.shape != c.shape:
            rows[k] = (False, float('inf'), f'shape {c.shape} != {r.shape}')
        elif r.dtype.kind in 'iub':
            same = np.array_equal(r.astype(np.int64), c.astype(np.int64))
            rows[k] = (same, 0.0 if same else float(np.abs(r.astype(np.int64) - c.astype(np.int64)).max()), 'exact')
        else:
            d = float(np.abs(r.astype(np.float64) - c.astype(np.float64)).max()) if r.size else 0.0
            tol = SPECIAL_ATOL.get(k, 1e-4)
            rows[k] = (d <= tol, d, tol)
    return rows


def convert_tool():
    spec = importlib.util.spec_from_file_location('convert_sat_hmr', osp.join(REPO, 'tools', 'convert_sat_hmr.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description='SAT-HMR conformance of the MA-HMR network')
    p.add_argument('--fixture', default=DEFAULT_FIXTURE)
    p.add_argument('--out-npz', help='also write our outputs (same keys as the reference)')
    p.add_argument('--threads', type=int, default=None)
    args = p.parse_args(argv)
    import torch

    from metric_hmr.geometry import vfov_to_focal
    from metric_hmr.utils.checkpoint import load_model_weights
    if args.threads:
        torch.set_num_threads(args.threads)
    fx = osp.abspath(args.fixture)
    if not osp.isdir(fx):
        print(f'error: fixture folder not found: {fx}', file=sys.stderr)
        return 2
    with open(osp.join(fx, 'weights_manifest.json')) as f:
        manifest = json.load(f)
    images = sorted(glob.glob(osp.join(fx, 'input', '*.png')) + glob.glob(osp.join(fx, 'input', '*.jp*g')))
    if len(images) != 1:
        print(f'error: expected one input image in {fx}/input, found {len(images)}', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        # 1-2. weights -> SAT-HMR checkpoint -> our checkpoint
        src, dst = osp.join(tmp, 'sat_hmr.pth'), osp.join(tmp, 'mahmr.pth')
        torch.save(generate_weights(manifest), src)
        report = convert_tool().convert(src, dst, num_betas=10, keep_dn=True, keep_camera=False,
                                        allow_unmapped=True)
        # 3. strict load
        model = build_sat_hmr_model().eval()
        load_model_weights(model, dst, strict=True)
    # SAT-HMR's as-built camera must be the one our model uses without a camera branch
    K = next(e for e in manifest['keys'] if e['name'] == 'cam_intrinsics')['value']
    buffers_ok = abs(vfov_to_focal(model.default_fov, model.input_size) - K[0]) < 1e-3
    # 4. forward and compare
    image, valid_hw = preprocess(images[0], model.input_size)
    cand = run_model(model, image, valid_hw)
    if args.out_npz:
        np.savez(args.out_npz, **cand)
    rows = compare(np.load(osp.join(fx, 'sat_hmr_reference_outputs.npz')), cand)
    for k, (ok, d, tol) in rows.items():
        print(f'{k:26s} {"ok  " if ok else "FAIL"} max|diff|={d:.3g} (tol {tol})')
    print(f'SAT-HMR focal (cam_intrinsics) equals the rebuilt camera: {buffers_ok}')
    print(report.table().splitlines()[-1])
    max_err = max(d for k, (ok, d, tol) in rows.items() if tol == 1e-4)
    tokens_equal = all(rows[k][0] for k in TOKEN_KEYS if k in rows) and buffers_ok
    all_ok = all(ok for ok, _, _ in rows.values())
    print(f'all keys within tolerance: {all_ok}')
    print(f'conformance max_abs_err={max_err:.3g} tokens_equal={tokens_equal} '
          f'unmapped_keys={report.count("unmapped")}')
    return 0 if (all_ok and tokens_equal and report.count('unmapped') == 0) else 1


if __name__ == '__main__':
    sys.exit(main())
