"""DTO quality on synthetic crowds: per-scene evaluation and aggregation.

Used by ``tools/benchmarks/dto_synthetic.py``.  Every method places the *detected* persons
(``n_pixels >= min_pixels``) of a scene starting from the same HMR-like initial estimate:

* ``initial``: the estimate itself;
* ``dto_paper``: :func:`metric_hmr.dto.run_dto` with the paper defaults;
* ``dto_released``: the released-code preset (``DTOConfig.released()``);
* ``no_intra_bound``: paper DTO without the intra-human bound on s_d (its cues d_i, h_i,
  z_i, mu_i, sigma_i re-solved with s_d in [0, inf));
* ``gender_agnostic``: paper DTO with unknown gender (adults get the neutral prior);
* ``no_age_prior``: paper DTO with every person treated as an adult of the estimated gender;
* ``oracle``: the true scale and shift of the relative disparity: the (corrupted) map is
  turned into metric depth exactly, ``z* = mean metric depth at the person's visible
  vertices`` and the translation is scaled by ``z* / (mean z of those vertices)``; at
  severity 0 this recovers the true depth (up to the estimate's pose/shape noise);
* diagnostics ``initial_gt_focal`` / ``dto_paper_gt_focal`` / ``plus_gt_focal``: the same
  estimate without the focal-length bias (rho = 1, true focal,
  :func:`estimate_with_focal_bias`), to separate the focal error from DTO's own;
* ``dto_plus``: DTO+ (``preset='plus'``, issue 15) and one ablation per piece
  (``PLUS_ABLATIONS``: DTO+ with that piece set back to the paper's choice, or an opt-in
  piece switched on).

All methods get the ground-truth visible person masks (a perfect instance segmenter).
Metrics: PCDR_0.2 (Relative-Human protocol, depth layers derived from the ground-truth root
depths by :func:`depth_layers_from_gt`), absolute root-depth error, height error per age
group, share of images kept by the 1.5 filter, runtime.
"""
from __future__ import annotations

import time
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from .estimates import AGE_GROUP_NAMES, age_group_of
from .relative_depth import disparity_to_depth

__all__ = ['METHODS', 'PLUS_ABLATIONS', 'GT_FOCAL_METHODS', 'depth_layers_from_gt', 'evaluate_scene',
           'summarize', 'oracle_depths', 'paired_differences', 'estimate_with_focal_bias', 'dto_kwargs',
           'SceneInputs', 'scene_inputs', 'run_method_dto', 'add_scene_set_args', 'open_scene_set']

# DTO+ and one row per piece: the preset with that option toggled (back to the paper's
# value, or on for the opt-in focal refinement and cue-noise height std)
PLUS_ABLATIONS = {
    'dto_plus': {},
    'plus_no_robust_stat': dict(depth_statistic='mean', edge_erosion=1),
    'plus_fixed_erosion': dict(erosion_min_samples=3),
    'plus_depth_space': dict(affine_space='depth', bound_softness=0.0,     # disparity-only options off
                             shift_limit_percentile=None),
    'plus_ols_scale': dict(scale_estimator='ols'),
    'plus_gaussian': dict(height_loss='gaussian'),
    'plus_focal': dict(focal_refine=True),
    'plus_no_fusion': dict(depth_fusion='none'),
    'plus_cue_noise': dict(cue_noise_scale=1.0),
    'plus_bound_all_persons': dict(bound_min_corr=0.0),
    'plus_hard_bound': dict(bound_softness=0.0),
    'plus_no_shift_limit': dict(shift_limit_percentile=None),
    'plus_no_ground': dict(ground_contact='none'),
    'plus_root_reference': dict(z_source='transl'),
}

# diagnostics: a DTO variant run on the estimate re-made with the true focal
GT_FOCAL_METHODS = {'dto_paper_gt_focal': 'dto_paper', 'plus_gt_focal': 'dto_plus'}

METHODS = ('initial', 'dto_paper', 'dto_released', 'no_intra_bound', 'gender_agnostic',
           'no_age_prior', 'oracle', 'initial_gt_focal') + tuple(GT_FOCAL_METHODS) + tuple(PLUS_ABLATIONS)


def depth_layers_from_gt(z: np.ndarray, tau: float = 0.2) -> np.ndarray:
    """Ordinal depth layers from ground-truth depths, consistent with PCDR_tau.

    Persons sorted by depth are chained while consecutive gaps are <= tau; a chain whose
    depth span is < tau is one layer; a longer chain is ambiguous (its members would be
    "same layer" with one neighbour and "behind" another) and gets layer -1 (unknown, as
    unannotated persons in Relative Human).  So any two persons with known layers are
    either < tau apart (same layer) or > tau apart (different layers), and the ground
    truth itself scores 100 %.
    """
    z = np.asarray(z, np.float64)
    layer = np.full(len(z), -1, np.int64)
    if len(z) == 0:
        return layer
    order = np.argsort(z, kind='stable')
    chains, cur = [], [order[0]]
    for a, b in zip(order[:-1], order[1:]):
        if z[b] - z[a] <= tau:
            cur.append(b)
        else:
            chains.append(cur)
            cur = [b]
    chains.append(cur)
    next_layer = 0
    for ch in chains:
        if z[ch].max() - z[ch].min() < tau:
            layer[ch] = next_layer
        next_layer += 1
    return layer


def oracle_depths(vertices_init, faces, focal, princpt, image_size, metric_depth, masks,
                  resolution: Optional[int] = 512):
    """Per person: (mean metric depth at visible vertices, mean z of those vertices)."""
    from metric_hmr.dto.raster import rasterize_persons
    from metric_hmr.geometry import project_points
    ras = rasterize_persons(vertices_init, faces, focal, princpt, image_size, resolution,
                            masks=masks)
    H, W = image_size
    d_i = np.full(len(vertices_init), np.nan)
    z_i = np.full(len(vertices_init), np.nan)
    for k, (v, vis) in enumerate(zip(vertices_init, ras.vertex_visible)):
        if vis.sum() < 3:
            continue
        uv = project_points(v[vis], focal, princpt)     # image pixel coords (OpenCV centres)
        c = np.clip(np.round(uv[:, 0]).astype(int), 0, W - 1)
        r = np.clip(np.round(uv[:, 1]).astype(int), 0, H - 1)
        d_i[k] = float(metric_depth[r, c].mean())
        z_i[k] = float(v[vis, 2].mean())
    return d_i, z_i


def estimate_with_focal_bias(scene: dict, det, verts_gt, rho_new: float):
    """The scene's HMR-like estimate re-made as if the focal bias were ``rho_new``.

    The stored estimate has focal ``rho f`` (``scene['est_rho']``) and root
    ``(k X, k Y, k rho Z)`` (:func:`metric_hmr.synthetic.estimates.apply_estimate`); the same
    size factor, rotation and girth errors with ``rho_new`` give root ``(k X, k Y, k rho_new Z)``
    and focal ``rho_new f`` (``rho_new = 1``: the true focal).  Everything else about the
    person (2D projection, size error, body relief) is unchanged.

    Args:
        scene: stored scene; det: (K,) indices of the detected persons;
        verts_gt: per person (V, 3) true camera-space vertices (``gen.scene_vertices``).
    Returns:
        (vertices: list of K (V, 3), transl: (K, 3) roots, focal: (2,) pixels).
    """
    from .estimates import apply_estimate
    up = np.asarray(scene['cam_R'])[:, 1]
    verts, roots = [], []
    for i in det:
        v, r = apply_estimate(verts_gt[i], scene['root'][i], up, scene['est_size_factor'][i],
                              float(rho_new), scene['est_rot'][i], scene['est_girth'][i])
        verts.append(v)
        roots.append(r)
    transl = np.stack(roots) if roots else np.zeros((0, 3))
    return verts, transl, np.asarray(scene['focal'], np.float64) * float(rho_new)


def _resolve_no_bound(res):
    """Re-solve a paper DTO result without the intra-human bound (s_d in [0, inf))."""
    from metric_hmr.dto.solver import solve_dto_batch
    used = np.asarray(res.used, bool)
    z = res.z_init.copy()
    if used.sum() < 2:
        return z, res.h_init.copy()
    sel = np.nonzero(used)[0]
    X = res.X if np.isfinite(res.X) else 1.0
    sol = solve_dto_batch(res.h_init[None, sel], res.z_init[None, sel], res.d_i[None, sel],
                          res.mu[None, sel], res.sigma[None, sel], np.array([0.0]),
                          np.array([np.inf]), X=np.array([X]))
    z[sel] = sol.s_d[0] * res.d_i[sel] + sol.t_d[0]
    ratio = np.ones(len(z))
    ratio[sel] = z[sel] / res.z_init[sel]
    return res.z_init * ratio, res.h_init * ratio


def dto_kwargs(method: str, age, p_male) -> dict:
    """Demographics and config of one DTO variant."""
    from metric_hmr.dto.config import DTOConfig
    kw = dict(age_years=age, p_male=p_male, config=None)
    if method == 'dto_released':
        kw['config'] = DTOConfig.released()
    elif method == 'gender_agnostic':
        kw['p_male'] = np.full(len(age), np.nan)
    elif method == 'no_age_prior':
        kw['age_years'] = np.full(len(age), 30.0)
    elif method in PLUS_ABLATIONS:
        kw['config'] = dict(preset='plus', **PLUS_ABLATIONS[method])
    return kw


class SceneInputs(NamedTuple):
    """What every method gets for one scene, over its K detected persons.

    Attributes:
        det: (K,) indices of the detected persons (``n_pixels >= min_pixels``).
        image_hw: (H, W); focal: (2,) the HMR's (long) focal ``rho f``; princpt: (2,).
        rho: the scene's focal bias ``f_hmr / f``.
        verts_gt: per scene person (V, 3) true camera-space vertices.
        vertices: K (V, 3) HMR-like vertices; transl: (K, 3) their roots; h0: (K,) heights.
        age, p_male: (K,) estimated demographics; masks: (K, H, W) visible masks (ground
            truth: a perfect segmenter); rel: (H, W) the network's relative disparity.
        gt: dict(z, h, age_group, layer) of the detected persons.
    """
    det: np.ndarray
    image_hw: Tuple[int, int]
    focal: np.ndarray
    princpt: np.ndarray
    rho: float
    verts_gt: list
    vertices: list
    transl: np.ndarray
    h0: np.ndarray
    age: np.ndarray
    p_male: np.ndarray
    masks: np.ndarray
    rel: np.ndarray
    gt: dict


def scene_inputs(gen, scene: dict, min_pixels: int = 150) -> SceneInputs:
    """The inputs and ground truth of one stored scene (:class:`SceneInputs`)."""
    det = np.nonzero(np.asarray(scene['n_pixels']) >= min_pixels)[0]
    H, W = (int(x) for x in scene['image_size'])
    verts_gt = gen.scene_vertices(scene)
    verts_init_all = gen.initial_vertices(scene, verts_gt)
    rho = float(scene['est_rho'])
    pid = np.asarray(scene['person_id'])
    gt_z = np.asarray(scene['root'], np.float64)[det, 2]
    return SceneInputs(
        det=det, image_hw=(H, W), focal=np.asarray(scene['focal'], np.float64) * rho,
        princpt=np.asarray(scene['princpt'], np.float64), rho=rho, verts_gt=verts_gt,
        vertices=[verts_init_all[i] for i in det],
        transl=np.asarray(scene['est_root'], np.float64)[det],
        h0=np.asarray(scene['est_height'], np.float64)[det],
        age=np.asarray(scene['est_age'], np.float64)[det],
        p_male=np.asarray(scene['est_p_male'], np.float64)[det],
        masks=np.stack([pid == i for i in det]) if len(det) else np.zeros((0, H, W), bool),
        rel=np.asarray(scene['rel_disparity'], np.float64),
        gt=dict(z=gt_z, h=np.asarray(scene['height'], np.float64)[det],
                age_group=age_group_of(np.asarray(scene['age'])[det]),
                layer=depth_layers_from_gt(gt_z)))


def run_method_dto(gen, inp: SceneInputs, method: str, vertices=None, transl=None, focal=None):
    """:func:`metric_hmr.dto.run_dto` with ``method``'s config (:func:`dto_kwargs`) on the
    scene's estimate, or on another estimate of the same persons (``vertices``, ``transl``,
    ``focal``, e.g. :func:`estimate_with_focal_bias`'s)."""
    from metric_hmr.dto import run_dto
    return run_dto(inp.vertices if vertices is None else vertices, gen.faces,
                   inp.focal if focal is None else focal, inp.princpt, inp.image_hw, inp.rel,
                   inp.transl if transl is None else transl, inp.h0, masks=inp.masks,
                   **dto_kwargs(method, inp.age, inp.p_male))


def evaluate_scene(gen, scene: dict, methods=METHODS, min_pixels: int = 150,
                   resolution: Optional[int] = 512) -> Dict[str, dict]:
    """Run every method on one scene.

    Returns ``{method: dict(z (K,), h (K,), kept bool|None, score, runtime)}`` plus a
    ``'gt'`` entry ``dict(z, h, age_group, layer)`` over the K detected persons and a
    ``'dto_results'`` entry with the raw DTO results (paper / released) for visualisation.
    """
    inp = scene_inputs(gen, scene, min_pixels)
    det, transl, h0, rho = inp.det, inp.transl, inp.h0, inp.rho
    out: Dict[str, dict] = dict(gt=inp.gt, dto_results={}, detected=det, vertices_init=inp.vertices)
    paper_res = None
    for m in methods:
        t0 = time.perf_counter()
        if m == 'initial':
            z, h, kept, score = transl[:, 2].copy(), h0.copy(), None, None
        elif m == 'initial_gt_focal':
            z, h, kept, score = transl[:, 2] / rho, h0.copy(), None, None
        elif m in GT_FOCAL_METHODS:
            # the estimate re-made with the true focal (rho = 1)
            v1, tr1, f1 = estimate_with_focal_bias(scene, det, inp.verts_gt, 1.0)
            res = run_method_dto(gen, inp, GT_FOCAL_METHODS[m], v1, tr1, f1)
            z, h = res.transl_star[:, 2].copy(), res.h_star.copy()
            kept, score = bool(res.kept), float(res.image_score)
        elif m == 'oracle':
            metric = disparity_to_depth(inp.rel, float(scene['rel_scale']), float(scene['rel_shift']))
            d_i, z_vis = oracle_depths(inp.vertices, gen.faces, inp.focal, inp.princpt, inp.image_hw,
                                       metric, inp.masks, resolution)
            ratio = np.where(np.isfinite(d_i) & np.isfinite(z_vis), d_i / z_vis, 1.0)
            z, h, kept, score = transl[:, 2] * ratio, h0 * ratio, None, None
        else:
            if m == 'no_intra_bound' and paper_res is not None:
                res = paper_res
            else:
                res = run_method_dto(gen, inp, m)
            if m == 'dto_paper':
                paper_res = res
            if m == 'no_intra_bound':
                z, h = _resolve_no_bound(res)
            else:
                z, h = res.transl_star[:, 2].copy(), res.h_star.copy()
            kept, score = bool(res.kept), float(res.image_score)
            if m in ('dto_paper', 'dto_released'):
                out['dto_results'][m] = res
        out[m] = dict(z=z, h=h, kept=kept, score=score, runtime=time.perf_counter() - t0)
        if m in ('dto_plus', 'plus_focal'):
            out[m]['diag'] = _plus_diagnostics(res, scene, det)
    return out


def _plus_diagnostics(res, scene, det) -> dict:
    """Focal estimate vs the true bias and the intra-human slope vs the true one.

    True mesh slope in disparity: the estimate's mesh is the true body scaled by k, so
    |dz_mesh / dq| = k Z^2 / A (A the hidden disparity scale, Z the true root depth).
    From one person's (beta = dq/dz, r) the three estimators give |dz/dq| = 1/|beta|
    (inverse), |r|/|beta| (RMA), r^2/|beta| (OLS of z on q).
    """
    k = np.asarray(scene['est_size_factor'], np.float64)[det]
    Z = np.asarray(scene['root'], np.float64)[det, 2]
    true = k * Z ** 2 / float(scene['rel_scale'])
    beta = np.asarray(res.relief_dv_dz if res.relief_dv_dz is not None else np.full(len(det), np.nan), np.float64)
    disp = res.affine_space == 'disparity'
    with np.errstate(divide='ignore', invalid='ignore'):
        inv = 1.0 / np.abs(beta) / true if disp else np.full(len(det), np.nan)
    r = np.abs(np.asarray(res.w_i, np.float64))
    ok = np.asarray(res.used, bool) & np.isfinite(inv)
    return dict(rho=float(scene['est_rho']), rho_est=float(res.focal_ratio_est),
                refined=bool(res.focal_refined), slope_ratio_inverse=inv[ok],
                slope_ratio_rma=(r * inv)[ok], slope_ratio_ols=(r * r * inv)[ok],
                outliers=int(np.sum(res.outlier)) if res.outlier is not None else 0)


def _summarize_plus_diag(diags) -> dict:
    """Share of images with a refined focal, error of the focal estimate, slope ratios."""
    if not diags:
        return {}
    est = np.array([d['rho_est'] for d in diags])
    rho = np.array([d['rho'] for d in diags])
    ref = np.array([d['refined'] for d in diags])
    err = np.abs(np.log(est / rho))
    out = dict(focal_refined_share=float(ref.mean()),
               focal_log_err_median_refined=float(np.median(err[ref])) if ref.any() else float('nan'),
               focal_log_err_median_initial=float(np.median(np.abs(np.log(rho)))),
               outliers=int(sum(d['outliers'] for d in diags)))
    for e in ('inverse', 'rma', 'ols'):
        v = np.concatenate([d[f'slope_ratio_{e}'] for d in diags])
        v = v[np.isfinite(v)]
        out[f'slope_ratio_{e}_median'] = float(np.median(v)) if v.size else float('nan')
        out[f'slope_ratio_{e}_iqr'] = ([float(x) for x in np.percentile(v, [25, 75])]
                                       if v.size else [float('nan')] * 2)
    return out


def paired_differences(per_scene: List[Dict[str, dict]], a: str = 'dto_plus', b: str = 'dto_paper',
                       n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                       tau: float = 0.2) -> dict:
    """Method ``a`` minus method ``b`` on the same scenes, with a paired scene bootstrap.

    Both methods are scored on the same persons, so the scenes are resampled together
    (``n_boot`` draws of S scenes with replacement, ``numpy.random.default_rng(seed)``:
    identical inputs give identical intervals).  Returns
    ``dict(pcdr=dict(diff, lo, hi), height_cm={group: dict(diff, lo, hi)}, n_scenes, level)``:
    the PCDR_tau difference in points (as :func:`summarize`, no missed persons) and the
    difference of the mean absolute height error per age group in cm; ``lo`` / ``hi`` are
    the percentile interval at ``level``.  A difference whose interval contains 0 is not
    resolved by these scenes.
    """
    from metric_hmr.evaluation.functional.relative import ordinal_pairs
    S = len(per_scene)
    G = len(AGE_GROUP_NAMES)
    # 1. per-scene sufficient statistics: correct pairs of a and b, pairs, and per age group
    #    the summed |height error| of a and b and the person count
    ca, cb, npairs = np.zeros(S), np.zeros(S), np.zeros(S)
    ha, hb, nh = np.zeros((S, G)), np.zeros((S, G)), np.zeros((S, G))
    for i, s in enumerate(per_scene):
        gt = s['gt']
        oa = ordinal_pairs(s[a]['z'], gt['layer'], gt['age_group'], tau)
        ob = ordinal_pairs(s[b]['z'], gt['layer'], gt['age_group'], tau)
        ca[i], cb[i], npairs[i] = oa.correct.sum(), ob.correct.sum(), len(oa.correct)
        da = np.abs(np.asarray(s[a]['h']) - gt['h']) * 100.0
        db = np.abs(np.asarray(s[b]['h']) - gt['h']) * 100.0
        for g in range(G):
            sel = np.asarray(gt['age_group']) == g
            ha[i, g], hb[i, g], nh[i, g] = da[sel].sum(), db[sel].sum(), sel.sum()

    def stat(idx):
        """(..., ) PCDR difference and (..., G) height-error differences of scene sets idx."""
        with np.errstate(invalid='ignore', divide='ignore'):
            pc = 100.0 * (ca[idx].sum(-1) - cb[idx].sum(-1)) / npairs[idx].sum(-1)
            n = nh[idx].sum(-2)
            he = (ha[idx].sum(-2) - hb[idx].sum(-2)) / n
        return pc, he

    # 2. the observed differences and the bootstrap distribution of both
    pc0, he0 = stat(np.arange(S))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, S, size=(n_boot, S)) if S else np.zeros((n_boot, 0), int)
    pcb, heb = stat(idx)
    q = 100.0 * np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0])

    def ci(x0, xb):
        xb = xb[np.isfinite(xb)]
        lo, hi = np.percentile(xb, q) if xb.size else (np.nan, np.nan)
        return dict(diff=float(x0), lo=float(lo), hi=float(hi))

    return dict(pcdr=ci(pc0, pcb),
                height_cm={AGE_GROUP_NAMES[g]: ci(he0[g], heb[:, g]) for g in range(G)},
                n_scenes=S, level=level, methods=(a, b))


def summarize(per_scene: List[Dict[str, dict]], methods=METHODS, tau: float = 0.2) -> dict:
    """Aggregate per-scene outputs into the benchmark table (see module docstring)."""
    from metric_hmr.evaluation.functional.relative import PCDRAccumulator
    res = {}
    gz = np.concatenate([s['gt']['z'] for s in per_scene]) if per_scene else np.zeros(0)
    gh = np.concatenate([s['gt']['h'] for s in per_scene]) if per_scene else np.zeros(0)
    ga = np.concatenate([s['gt']['age_group'] for s in per_scene]) if per_scene else np.zeros(0, int)
    for m in methods:
        acc = PCDRAccumulator(tau=tau, miss_penalty=0.3)
        for s in per_scene:
            acc.add_image(s[m]['z'], s['gt']['layer'], s['gt']['age_group'], [])
        pz = np.concatenate([s[m]['z'] for s in per_scene]) if per_scene else np.zeros(0)
        ph = np.concatenate([s[m]['h'] for s in per_scene]) if per_scene else np.zeros(0)
        dz = np.abs(pz - gz)
        dh = np.abs(ph - gh) * 100.0
        kept = [s[m]['kept'] for s in per_scene if s[m]['kept'] is not None and len(s['gt']['z'])]
        pc = acc.result()
        row = dict(pcdr=100 * pc['all'],
                   pcdr_by_age={g: 100 * pc[g] for g in AGE_GROUP_NAMES},
                   n_pairs=acc.pairs['all'],
                   depth_err_median=float(np.median(dz)) if dz.size else float('nan'),
                   depth_err_mean=float(np.mean(dz)) if dz.size else float('nan'),
                   height_err_cm_mean=float(np.mean(dh)) if dh.size else float('nan'),
                   height_err_cm_by_age={}, depth_err_by_age={},
                   kept_share=float(np.mean(kept)) if kept else None,
                   runtime_ms=1000 * float(np.mean([s[m]['runtime'] for s in per_scene])) if per_scene else float('nan'))
        for code, g in enumerate(AGE_GROUP_NAMES):
            sel = ga == code
            row['height_err_cm_by_age'][g] = float(np.mean(dh[sel])) if sel.any() else float('nan')
            row['depth_err_by_age'][g] = float(np.mean(dz[sel])) if sel.any() else float('nan')
        if m in ('dto_plus', 'plus_focal'):
            row['diag'] = _summarize_plus_diag([s[m]['diag'] for s in per_scene if 'diag' in s[m]])
        res[m] = row
    res['_counts'] = dict(images=len(per_scene), persons=int(len(gz)),
                          persons_by_age={g: int((ga == c).sum()) for c, g in enumerate(AGE_GROUP_NAMES)})
    return res


# ---------------------------------------------------------------- the benchmark scripts' scene sets
def add_scene_set_args(parser, scenes: int = 300) -> None:
    """The options every synthetic benchmark script shares (tools/benchmarks/dto_*.py): which
    scenes (seed, count, image size, layout), which persons are detected, where they are cached."""
    import os
    parser.add_argument('--scenes', type=int, default=scenes, help=f'number of scenes (default {scenes})')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--image-size', type=int, nargs=2, default=(384, 512), metavar=('H', 'W'))
    parser.add_argument('--min-pixels', type=int, default=150,
                        help='persons with fewer visible pixels are not detected (not evaluated)')
    parser.add_argument('--layout', default='groups', choices=('groups', 'uniform'))
    parser.add_argument('--cache-dir', default=os.path.expanduser('~/.cache/metric_hmr/synthetic_bench'))
    parser.add_argument('--scenes-per-shard', type=int, default=50)


def open_scene_set(args, severity: float, **generator_options):
    """Generate (once) and open the cached scene set of ``args`` (:func:`add_scene_set_args`)
    at ``severity``: ``<cache-dir>/seed<S>_n<N>_sev<severity>_<config hash>``, so every script
    reuses the same scenes.  Returns (generator, SceneStore, cache path)."""
    from pathlib import Path

    from .generator import SyntheticCrowdGenerator
    from .shards import SceneStore, generate_set
    gen = SyntheticCrowdGenerator(seed=args.seed, image_size=tuple(args.image_size), severity=severity,
                                  layout=args.layout, **generator_options)
    cache = Path(args.cache_dir) / f'seed{args.seed}_n{args.scenes}_sev{severity:g}_{gen.config_hash}'
    generate_set(cache, args.scenes, scenes_per_shard=args.scenes_per_shard, generator=gen, progress=True)
    return gen, SceneStore(cache), cache
