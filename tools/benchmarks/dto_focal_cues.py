"""Could a geometric cue fix the HMR's focal length?  Feasibility, with oracles (issue 15).

    python tools/benchmarks/dto_focal_cues.py --scenes 300 --severity 1

``dto_focal_requirement.py`` says how much better than the HMR's focal a focal estimate must
be for DTO+ to reach a depth-error target.  This benchmark measures, on the same cached
scenes, the geometric cues of :mod:`metric_hmr.synthetic.focal_cues` (the focal-free relief
is DTO+'s own ``focal_refine`` and is reported by ``dto_synthetic.py``):

* ``horizon``: the floor plane DTO+ fits through the persons' foot contacts
  (``DTOResult.ground_plane``) and the persons' up vectors as the HMR estimates them (the
  world up rotated by each estimate's orientation error); ``horizon_true_up``: the same
  with the camera's true up vector (an oracle pitch);
* ``floor_wall``: the floor and wall fitted in the relative disparity with the *true*
  floor / wall pixels (an oracle segmentation, background eroded by ``--erode`` px) and the
  *true* disparity shift (oracle); ``floor_wall_fit_shift``: the same with DTO+'s fitted
  shift;
* ``floor_wall_up``: floor, wall and the persons' HMR up vectors, which determine the shift
  too (oracle segmentation only); ``floor_wall_up_true``: with the true up vector.

Per cue: the share of images where it gives an estimate, its mean |log error| there and the
HMR's on the same images, and bounds over all images that are optimistic because they are
tuned on these very scenes: ``selection`` (per image the better of the HMR's focal and the
cue's, known only to an oracle), ``fusion`` (the best fixed weight
``(1 - w) log f_hmr + w log f_cue``), ``gated_fusion`` (the best weight applied only where
the pitch estimated from the HMR up vectors is at least a threshold, both chosen here; the
cues degenerate for a level camera) and ``precision_fusion`` (per-image inverse-variance
weights ``w = s^2 / (s^2 + v)``, the cue's variance ``v = c / (sin^2(2 p_hat) K^kappa)`` growing
as the estimated pitch p_hat nears 0 and falling with the K persons; s, c and kappa chosen
here).  ``all_selection``: the best of the HMR and every cue
per image.  Written to ``--out-dir``: ``dto_focal_cues_sev<S>.json/.md``.  The last line:

    hmr_focal_log_err=.. horizon_selection=.. horizon_true_up_selection=..
    floor_wall_selection=.. floor_wall_up_selection=.. all_selection=.. best_fusion=..
    best_gated_fusion=.. best_precision_fusion=..
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault('ANNY_CACHE_DIR', os.path.expanduser('~/.cache/metric_hmr/anny'))

CUES = ('horizon', 'horizon_true_up', 'floor_wall', 'floor_wall_fit_shift', 'floor_wall_up',
        'floor_wall_up_true')
GATES_DEG = (-90.0, 0.0, 4.0, 8.0, 12.0, 16.0, 20.0)   # thresholds on the estimated pitch (-90: none)
WEIGHTS = np.linspace(0.0, 1.0, 21)
# precision model of a cue (module doc): prior std of the HMR's log focal, log of the cue's
# variance constant, exponent of the person count
PRIOR_STDS = (0.10, 0.15, 0.20, 0.30)
LOG_VAR_CONSTS = np.linspace(-8.0, 2.0, 41)
PERSON_EXPONENTS = (0.0, 1.0)


def parse_args(argv=None):
    from metric_hmr.synthetic.benchmark import add_scene_set_args
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scene_set_args(p)
    p.add_argument('--severity', type=float, default=1.0)
    p.add_argument('--erode', type=int, default=4,
                   help='background pixels this close (>= 1 px) to a person or to the floor/wall fold '
                        'are not fitted')
    p.add_argument('--out-dir', default='work_dirs/benchmarks/dto_focal_cues')
    return p.parse_args(argv)


def scene_cue_errors(gen, scene, min_pixels: int, erode: int) -> dict:
    """log(focal estimate / true focal) of the HMR and of each cue for one scene (NaN where
    a cue gives none); None when no person is detected."""
    from scipy import ndimage

    from metric_hmr.synthetic.benchmark import run_method_dto, scene_inputs
    from metric_hmr.synthetic.focal_cues import (fit_disparity_plane, focal_and_shift_from_planes_and_up,
                                                 focal_from_floor_and_wall, focal_ratio_from_horizon,
                                                 pitch_from_up)
    from metric_hmr.synthetic.generator import scene_camera
    from metric_hmr.synthetic.render import background_is_ground

    inp = scene_inputs(gen, scene, min_pixels)
    det, rho, rel = inp.det, inp.rho, inp.rel
    if not len(det):
        return None
    # 1. DTO+ on the stored estimate (HMR focal rho f), as in dto_synthetic.py
    cam = scene_camera(scene)
    res = run_method_dto(gen, inp, 'dto_plus')
    # 2. horizon: rho_hat = f_hmr / f, so the refined focal f_hmr / rho_hat has error log rho - log rho_hat
    up_true = cam.R[:, 1]
    up_hmr = hmr_up_vectors(scene, det)
    out = dict(hmr=np.log(rho), pitch_deg=float(np.rad2deg(cam.pitch)), persons=len(det),
               pitch_hat_deg=float(np.rad2deg(pitch_from_up(up_hmr))))
    for name, up in (('horizon', up_hmr), ('horizon_true_up', up_true)):
        r = focal_ratio_from_horizon(res.ground_plane, up) if res.ground_plane is not None else np.nan
        out[name] = np.log(rho) - np.log(r) if np.isfinite(r) else np.nan
    # 3. floor and wall in the disparity (oracle segmentation)
    ground = background_is_ground(cam, float(scene['wall_z']))
    fold = ndimage.binary_dilation(ground ^ ndimage.binary_erosion(ground, border_value=1),
                                   iterations=erode)
    bg = ndimage.binary_erosion(np.asarray(scene['person_id']) < 0, iterations=erode) & ~fold
    cf = fit_disparity_plane(rel, bg & ground, cam.princpt)
    cw = fit_disparity_plane(rel, bg & ~ground, cam.princpt)
    fit_shift = res.t_d if res.affine_space == 'disparity' and res.optimized else np.nan
    planes = cf is not None and cw is not None
    for name, b in (('floor_wall', float(scene['rel_shift'])), ('floor_wall_fit_shift', fit_shift)):
        f = focal_from_floor_and_wall(cf, cw, b) if planes and np.isfinite(b) else np.nan
        out[name] = np.log(f / cam.focal[0]) if np.isfinite(f) else np.nan
    for name, up in (('floor_wall_up', up_hmr), ('floor_wall_up_true', up_true)):
        f = focal_and_shift_from_planes_and_up(cf, cw, up)[0] if planes else np.nan
        out[name] = np.log(f / cam.focal[0]) if np.isfinite(f) else np.nan
    return out


def hmr_up_vectors(scene, det) -> np.ndarray:
    """(K, 3) the detected persons' up vectors as their HMR-like estimates have them: the
    world up in camera space (``cam_R[:, 1]``) turned by each estimate's orientation error
    (``est_rot``, applied about the root by :func:`metric_hmr.synthetic.estimates.apply_estimate`)."""
    up = np.asarray(scene['cam_R'], np.float64)[:, 1]
    return np.einsum('kij,j->ki', np.asarray(scene['est_rot'], np.float64)[det], up)


def _fused_error(e_hmr, e_cue, use, w) -> np.ndarray:
    """|log error| per image of (1 - w) log f_hmr + w log f_cue where ``use``, else the HMR's."""
    return np.where(use, np.abs((1 - w) * e_hmr + w * np.where(use, e_cue, 0.0)), np.abs(e_hmr))


def _precision_fusion(e_hmr, e_cue, ok, p_hat_deg, n_persons) -> float:
    """Mean |log error| of the best inverse-variance fusion of the precision model (module
    doc) over its grid of constants."""
    s2p = np.maximum(np.sin(2.0 * np.deg2rad(np.abs(np.nan_to_num(p_hat_deg, nan=0.0)))), 1e-3) ** 2
    best = float(np.mean(np.abs(e_hmr)))
    for s in PRIOR_STDS:
        for lc in LOG_VAR_CONSTS:
            for kappa in PERSON_EXPONENTS:
                v = np.exp(lc) / (s2p * n_persons ** kappa)
                w = np.where(ok, s ** 2 / (s ** 2 + v), 0.0)
                best = min(best, float(np.mean(np.abs((1 - w) * e_hmr + w * np.where(ok, e_cue, 0.0)))))
    return best


def summarize_cues(records) -> dict:
    """Per cue: availability, mean |log error| there vs the HMR's, and the bounds of the
    module doc (selection, fixed-weight fusion, pitch-gated fusion)."""
    e_hmr = np.array([r['hmr'] for r in records])
    p_hat = np.array([r.get('pitch_hat_deg', np.inf) for r in records])
    n_persons = np.array([r.get('persons', 1) for r in records], np.float64)
    res = dict(images=len(records), hmr_focal_log_err=float(np.mean(np.abs(e_hmr))), cues={})
    best_all = np.abs(e_hmr)
    best = dict(fusion=(float(np.mean(np.abs(e_hmr))), 'hmr', 0.0),
                gated=(float(np.mean(np.abs(e_hmr))), 'hmr', 0.0, 0.0),
                precision=(float(np.mean(np.abs(e_hmr))), 'hmr'))
    for c in CUES:
        e = np.array([r.get(c, np.nan) for r in records])
        ok = np.isfinite(e)
        sel = np.where(ok, np.minimum(np.abs(e_hmr), np.abs(np.where(ok, e, 0.0))), np.abs(e_hmr))
        fus = min((float(np.mean(_fused_error(e_hmr, e, ok, w))), float(w)) for w in WEIGHTS)
        gated = min((float(np.mean(_fused_error(e_hmr, e, ok & (p_hat >= g), w))), float(w), g)
                    for w in WEIGHTS for g in GATES_DEG)
        prec = _precision_fusion(e_hmr, e, ok, p_hat, n_persons)
        res['cues'][c] = dict(share=float(ok.mean()),
                              log_err=float(np.mean(np.abs(e[ok]))) if ok.any() else float('nan'),
                              hmr_log_err_there=(float(np.mean(np.abs(e_hmr[ok]))) if ok.any()
                                                 else float('nan')),
                              selection=float(np.mean(sel)), fusion=fus[0], fusion_weight=fus[1],
                              gated_fusion=gated[0], gated_weight=gated[1], gate_deg=gated[2],
                              precision_fusion=prec)
        best_all = np.where(ok, np.minimum(best_all, np.abs(np.where(ok, e, 0.0))), best_all)
        if fus[0] < best['fusion'][0]:
            best['fusion'] = (fus[0], c, fus[1])
        if gated[0] < best['gated'][0]:
            best['gated'] = (gated[0], c, gated[1], gated[2])
        if prec < best['precision'][0]:
            best['precision'] = (prec, c)
    res['all_selection'] = float(np.mean(best_all))
    res['best_fusion'] = dict(log_err=best['fusion'][0], cue=best['fusion'][1], weight=best['fusion'][2])
    res['best_gated_fusion'] = dict(log_err=best['gated'][0], cue=best['gated'][1],
                                    weight=best['gated'][2], gate_deg=best['gated'][3])
    res['best_precision_fusion'] = dict(log_err=best['precision'][0], cue=best['precision'][1])
    return res


def markdown(S, args) -> str:
    lines = [f"# Geometric focal cues (severity {args.severity:g}, {S['images']} images, "
             f"seed {args.seed})", '',
             f"HMR focal: mean |log(f / true f)| {S['hmr_focal_log_err']:.3f} over all images.  "
             'Bounds over all images, tuned on these scenes (module doc).', '',
             '| cue | images with an estimate | its mean abs log error there | HMR there '
             '| oracle selection | fixed-weight fusion (weight) | pitch-gated fusion (weight, gate) '
             '| precision-weighted fusion |', '|---|---|---|---|---|---|---|---|']
    for c, d in S['cues'].items():
        lines.append(f"| {c} | {100 * d['share']:.0f} % | {d['log_err']:.3f} | "
                     f"{d['hmr_log_err_there']:.3f} | "
                     f"{d['selection']:.3f} | {d['fusion']:.3f} ({d['fusion_weight']:.2f}) | "
                     f"{d['gated_fusion']:.3f} ({d['gated_weight']:.2f}, >= {d['gate_deg']:g} deg) | "
                     f"{d['precision_fusion']:.3f} |")
    b, g = S['best_fusion'], S['best_gated_fusion']
    lines += ['', f"Best of the HMR and every cue per image (oracle): {S['all_selection']:.3f}; best "
              f"fixed-weight fusion: {b['log_err']:.3f} ({b['cue']}, weight {b['weight']:.2f}); best "
              f"pitch-gated fusion: {g['log_err']:.3f} ({g['cue']}, weight {g['weight']:.2f}, pitch >= "
              f"{g['gate_deg']:g} deg); best precision-weighted fusion: "
              f"{S['best_precision_fusion']['log_err']:.3f} ({S['best_precision_fusion']['cue']})."]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    from metric_hmr.synthetic.benchmark import open_scene_set
    from metric_hmr.utils.io import atomic_save_json, atomic_write
    args = parse_args(argv)
    if args.erode < 1:      # scipy repeats a 0-iteration erosion until nothing changes
        raise SystemExit(f'--erode must be >= 1 pixel, got {args.erode}')
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen, store, _ = open_scene_set(args, args.severity)
    records, t0 = [], time.perf_counter()
    for i in range(len(store)):
        if i and i % 50 == 0:
            print(f'[dto_focal_cues] {i}/{len(store)} scenes ({time.perf_counter() - t0:.0f} s)', flush=True)
        rec = scene_cue_errors(gen, store[i], args.min_pixels, args.erode)
        if rec is not None:
            records.append(rec)
    S = summarize_cues(records)
    tag = f'sev{args.severity:g}'
    atomic_save_json(out / f'dto_focal_cues_{tag}.json', dict(args=vars(args), summary=S, records=records),
                     indent=1)
    md = markdown(S, args)
    atomic_write(out / f'dto_focal_cues_{tag}.md', md)
    print(md, flush=True)
    c = S['cues']
    print(f"hmr_focal_log_err={S['hmr_focal_log_err']:.3f} horizon_selection={c['horizon']['selection']:.3f} "
          f"horizon_true_up_selection={c['horizon_true_up']['selection']:.3f} "
          f"floor_wall_selection={c['floor_wall']['selection']:.3f} "
          f"floor_wall_up_selection={c['floor_wall_up']['selection']:.3f} "
          f"all_selection={S['all_selection']:.3f} best_fusion={S['best_fusion']['log_err']:.3f} "
          f"best_gated_fusion={S['best_gated_fusion']['log_err']:.3f} "
          f"best_precision_fusion={S['best_precision_fusion']['log_err']:.3f}")
    return S


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
