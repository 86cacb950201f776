"""``run_dto``: Depth-conditioned Translation Optimization of one image (paper Sec. 3.2).

Pipeline (each step a pure function of its own module):

1. relative depth at raster resolution             (depth.prepare_depth)
2. z-buffer of all persons, vertex visibility      (raster.rasterize_persons)
3. cues d_i, X_i, w_i, X, quasi-planar flag        (cues)
4. height priors mu_i, sigma_i                     (priors.height_priors)
5. bounds [alpha1 X, alpha2 X] and closed-form fit (solver.solve_dto_batch)
6. corrected depth / height / translation, posterior std, verdict (verdict)

Shape refit through a body model is a separate step (:mod:`metric_hmr.dto.refine`).

Edge cases (each flagged in ``DTOResult.flags`` or a per-person ``reasons`` entry):
0 persons -> empty result, image not kept; 1 usable person -> pass-through (unchanged);
2 usable persons -> exact fit unless a bound is active ('two_persons_exact_fit');
identical d_i -> singular normal equations, s_d = X ('singular_fallback'); persons outside
the image / fully occluded / without valid depth -> skipped with reason;
non-positive or non-finite heights or sigma -> ValueError naming the person.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .config import DTOConfig
from .cues import extract_cues, is_quasi_planar, weighted_scale
from .depth import prepare_depth
from .priors import height_priors
from .plus_fit import fit_plus
from .raster import raster_size, rasterize_persons
from .solver import ACTIVE_NONE, solve_dto_batch
from .verdict import image_verdict

__all__ = ['DTOResult', 'run_dto', 'dto_bounds', 'solve_persons']


@dataclass
class DTOResult:
    """DTO outcome of one image; per-person arrays have shape (K,) in input order."""
    s_d: float
    t_d: float
    d_i: np.ndarray
    X_i: np.ndarray
    w_i: np.ndarray
    X: float
    quasi_planar: bool
    x_min: float
    x_max: float
    active: int                 # 0 none, -1 lower, +1 upper bound active
    z_init: np.ndarray
    z_star: np.ndarray          # corrected depth (= z_init where not optimized)
    transl_star: np.ndarray     # (K, 3) translation scaled by z*/z
    h_init: np.ndarray
    h_star: np.ndarray          # corrected height h_i z*/z
    mu: np.ndarray
    sigma: np.ndarray
    std_z: np.ndarray           # posterior std of z*, NaN where not optimized
    std_h: np.ndarray
    residual: np.ndarray        # standardized residual, NaN where not optimized
    image_score: float
    kept: bool
    reasons: List[str]          # per person: '' optimized, else why skipped / unchanged
    used: np.ndarray            # (K,) bool, persons that entered the fit
    optimized: bool             # False for pass-through / exact-fit / empty images
    flags: List[str] = field(default_factory=list)
    image_reason: str = ''
    prior_source: List[str] = field(default_factory=list)
    group: np.ndarray = None    # (K,) 0 near / 1 far (near_far option), -1 unused
    group_params: List[Tuple[float, float, int]] = field(default_factory=list)  # (s_d, t_d, active) per group
    # --- DTO+ (config.uses_plus_fit); for affine_space='disparity', (s_d, t_d) hold (a, b)
    # of z* = a / (q_i - b) and d_i holds q_i ---
    affine_space: str = 'depth'
    z_fit: np.ndarray = None            # (K,) depth under the input focal (h* = h z_fit / z)
    robust_weight: np.ndarray = None    # (K,) final Huber weights (NaN where not optimized)
    outlier: np.ndarray = None          # (K,) bool, |h* - mu| / sigma > huber_c
    focal_ratio: float = 1.0            # f_input / f_refined applied (1: focal kept)
    focal_ratio_est: float = float('nan')   # the estimate, also when declined
    focal_ratio_std: float = float('nan')   # std of log(focal_ratio_est)
    focal_refined: bool = False
    focal_reason: str = ''              # why the focal was kept ('' when refined / not tried)
    focal_star: np.ndarray = None       # (2,) refined focal (None when kept)
    relief_dv_dz: np.ndarray = None     # (K,) slope of the network value on the mesh depth

    @property
    def depth_ratio(self) -> np.ndarray:
        """Scale of each person about the camera centre, z_fit/z (= z*/z unless the focal
        was refined; 1 where unchanged)."""
        z = self.z_star if self.z_fit is None else self.z_fit
        return np.where(self.used, z / np.where(self.used, self.z_init, 1.0), 1.0)

    def to_record(self) -> dict:
        """JSON-friendly dict of the result."""
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, np.ndarray):
                out[k] = v.tolist()
            elif isinstance(v, (np.floating, np.integer, np.bool_)):
                out[k] = v.item()
            elif k == 'group_params':
                out[k] = [[float(a), float(b), int(c)] for a, b, c in v]
            else:
                out[k] = v
        return out


def dto_bounds(X: float, quasi_planar: bool, cfg: DTOConfig) -> Tuple[float, float, str]:
    """Bounds on s_d (supplement 6.3), and a flag ('' or 'no_scale_cue')."""
    flag = ''
    if not np.isfinite(X):
        if cfg.fallback_X is None:
            return 0.0, np.inf, 'no_scale_cue'
        X, flag = float(cfg.fallback_X), 'no_scale_cue:fallback_X'
    if quasi_planar:
        return X, X, flag
    if cfg.bounds_mode == 'paper':
        return cfg.alpha1 * X, cfg.alpha2 * X, flag
    if cfg.bounds_mode == 'lower_only':
        return X, np.inf, flag
    raise ValueError(f"bounds_mode must be 'paper' or 'lower_only', got {cfg.bounds_mode!r}")


@dataclass
class _Fit:
    s: float
    t: float
    active: int
    singular: bool
    std_z: np.ndarray      # (n,) for the selected persons
    sel: np.ndarray        # indices


def solve_persons(sel, h, z, d, mu, sigma, x_min, x_max, X_singular) -> _Fit:
    """Closed-form fit over the persons ``sel`` of one image."""
    sel = np.asarray(sel, dtype=np.int64)
    sol = solve_dto_batch(h[None, sel], z[None, sel], d[None, sel], mu[None, sel], sigma[None, sel],
                          np.array([x_min]), np.array([x_max]), X=np.array([X_singular]))
    return _Fit(float(sol.s_d[0]), float(sol.t_d[0]), int(sol.active[0]), bool(sol.singular[0]),
                sol.std_z[0], sel)


def _validate(h_init, mu, sigma, z_init):
    for name, arr in (('T-pose height h_i', h_init), ('prior sigma_i', sigma)):
        bad = np.nonzero(~(np.isfinite(arr) & (arr > 0)))[0]
        if bad.size:
            i = int(bad[0])
            raise ValueError(f'person {i}: {name} = {arr[i]!r} must be positive and finite')
    bad = np.nonzero(~np.isfinite(mu))[0]
    if bad.size:
        raise ValueError(f'person {int(bad[0])}: prior mu_i = {mu[bad[0]]!r} must be finite')
    bad = np.nonzero(~np.isfinite(z_init))[0]
    if bad.size:
        raise ValueError(f'person {int(bad[0])}: initial depth z_i = {z_init[bad[0]]!r} must be finite')


def run_dto(vertices: Sequence[np.ndarray], faces, focal, princpt, image_size: Tuple[int, int],
            depth_map: np.ndarray, transl: np.ndarray, h_init: np.ndarray,
            age_years=None, p_male=None, age_group=None, masks: Optional[np.ndarray] = None,
            mu: Optional[np.ndarray] = None, sigma: Optional[np.ndarray] = None,
            config: Optional[DTOConfig] = None) -> DTOResult:
    """DTO of one image.

    Args:
        vertices: K arrays (V, 3) (or (K, V, 3)), posed meshes in camera space, metres.
        faces: (F, 3) mesh faces (or K arrays).
        focal, princpt: (2,) intrinsics in image pixels.
        image_size: (H, W).
        depth_map: (h, w) relative depth network output (convention: ``config.depth_convention``).
        transl: (K, 3) initial translations T_i; z_i = transl[:, 2] (``z_source='transl'``).
        h_init: (K,) T-pose heights of the initial shapes, metres.
        age_years, p_male, age_group: (K,) optional demographics (NaN / -1 unknown).
        masks: optional (K, H, W) bool person masks.
        mu, sigma: optional (K,) explicit priors (override the demographics).
        config: :class:`DTOConfig` or dict (default: paper behaviour).
    """
    cfg = DTOConfig.from_dict(config) if not isinstance(config, DTOConfig) else config
    K = len(vertices)
    transl = np.asarray(transl, dtype=np.float64).reshape(K, 3)
    h_init = np.asarray(h_init, dtype=np.float64).reshape(K)
    H, W = int(image_size[0]), int(image_size[1])

    if mu is None or sigma is None:
        prior = height_priors(h_init, age_years, p_male, age_group=age_group, mode=cfg.prior_mode,
                              gender_thresholds=cfg.gender_thresholds, adult_hybrid=cfg.adult_hybrid,
                              fallback=cfg.fallback_prior, group_priors=cfg.group_priors)
        mu_ = prior.mu if mu is None else np.asarray(mu, np.float64).reshape(K)
        sigma_ = prior.sigma if sigma is None else np.asarray(sigma, np.float64).reshape(K)
        prior_source = prior.source
    else:
        mu_, sigma_ = np.asarray(mu, np.float64).reshape(K), np.asarray(sigma, np.float64).reshape(K)
        prior_source = ['given'] * K
    _validate(h_init, mu_, sigma_, transl[:, 2])

    nanK = np.full(K, np.nan)
    if K == 0:
        return DTOResult(s_d=np.nan, t_d=np.nan, d_i=nanK, X_i=nanK, w_i=nanK, X=np.nan,
                         quasi_planar=False, x_min=np.nan, x_max=np.nan, active=0, z_init=nanK,
                         z_star=nanK, transl_star=np.zeros((0, 3)), h_init=h_init, h_star=nanK,
                         mu=mu_, sigma=sigma_, std_z=nanK, std_h=nanK, residual=nanK,
                         image_score=np.nan, kept=False, reasons=[], used=np.zeros(0, bool),
                         optimized=False, flags=['no_persons'], image_reason='no persons',
                         prior_source=[], group=np.zeros(0, np.int64))

    # 1-3: visibility and cues
    (hr, wr), _ = raster_size((H, W), cfg.resolution)
    rel = prepare_depth(depth_map, (hr, wr), cfg.depth_convention, cfg.depth_resample)
    use_masks = masks if (cfg.use_masks and masks is not None) else None
    raster = rasterize_persons(vertices, faces, focal, princpt, (H, W), cfg.resolution,
                               masks=use_masks, depth_tol=cfg.depth_tol)
    cues = extract_cues(vertices, raster, rel, focal, princpt, masks=use_masks,
                        regression_source=cfg.regression_source, iqr_fence=cfg.iqr_fence,
                        row_mean_removal=cfg.row_mean_removal, inlier_thresh=cfg.inlier_thresh,
                        keep_pixel_samples=cfg.feet_fit, edge_erosion=cfg.edge_erosion,
                        statistic=cfg.depth_statistic, trim=cfg.trim_frac,
                        scale_estimator=cfg.scale_estimator,
                        relief_space=cfg.affine_space if cfg.uses_plus_fit else None)
    reasons = list(cues.reason)
    for i in range(K):
        if not reasons[i] and transl[i, 2] <= 0:
            reasons[i] = 'behind_camera'
    # released-code person filters
    if cfg.min_mask_area_frac is not None:
        area = (np.asarray(masks).reshape(K, -1).sum(1) if masks is not None
                else cues.n_pixels / raster.scale ** 2)
        for i in np.nonzero(area < cfg.min_mask_area_frac * H * W)[0]:
            reasons[i] = reasons[i] or f'mask_area<{cfg.min_mask_area_frac:.4g}*H*W'
    if cfg.min_visible_vertices is not None:
        for i in np.nonzero(cues.n_visible < cfg.min_visible_vertices)[0]:
            reasons[i] = reasons[i] or f'visible_vertices<{cfg.min_visible_vertices}'

    z_init = transl[:, 2].copy()
    if cfg.z_source == 'rendered':
        z_init = np.where(np.isfinite(cues.z_render), cues.z_render, z_init)
    elif cfg.z_source != 'transl':
        raise ValueError(f"z_source must be 'transl' or 'rendered', got {cfg.z_source!r}")
    usable = np.array([r == '' for r in reasons])

    X = weighted_scale(cues.X, cues.w, use=usable, min_corr=cfg.min_corr)
    quasi = is_quasi_planar(cues.d, cues.var_within, use=usable, test=cfg.quasi_planar_test)
    x_min, x_max, bflag = dto_bounds(X, quasi, cfg)
    flags = [bflag] if bflag else []
    if quasi:
        flags.append('quasi_planar')
    d = cues.d
    if np.isfinite(X):
        X_sing = X
    elif cfg.fallback_X is not None:
        X_sing = float(cfg.fallback_X)
    else:   # no scale cue at all: the scale that maps d to the current depths with t = 0
        X_sing = float(np.mean(z_init[usable]) / np.mean(d[usable])) if usable.any() else np.nan

    if cfg.uses_plus_fit and int(usable.sum()) >= 2:
        return _run_plus(cfg, cues, usable, reasons, flags, quasi, X, x_min, x_max, X_sing,
                         z_init, h_init, mu_, sigma_, transl, focal, prior_source)

    z_star = z_init.copy()
    std_z = np.full(K, np.nan)
    used = np.zeros(K, bool)
    group = np.full(K, -1, np.int64)
    s_d, t_d, active, optimized = np.nan, np.nan, ACTIVE_NONE, False
    group_params = []
    d_used = d.copy()        # the d_i that entered the fit (the feet fit may replace some)
    n_usable = int(usable.sum())

    def fit_group(sel):
        """Fit persons ``sel`` with the optional greedy rejection and feet fit."""
        sel = np.asarray(sel, np.int64)
        rounds = 0
        while True:
            fit = solve_persons(sel, h_init, z_init, d, mu_, sigma_, x_min, x_max, X_sing)
            hs = h_init[sel] * (fit.s * d[sel] + fit.t) / z_init[sel]
            if (cfg.max_height is None or rounds >= cfg.max_reject_rounds or len(sel) <= 2
                    or not np.any(hs > cfg.max_height)):
                break
            worst = int(np.argmax(np.abs(hs - mu_[sel]) / sigma_[sel]))
            reasons[sel[worst]] = f'rejected: corrected height > {cfg.max_height} m'
            sel = np.delete(sel, worst)
            rounds += 1
        dd = d
        if cfg.feet_fit and cues.pixel_samples is not None:
            d_feet = d.copy()
            for i in sel:
                smp = cues.pixel_samples[i]
                if smp is not None and len(smp[0]):
                    rows, relp, _ = smp
                    low = rows >= np.quantile(rows, 1.0 - cfg.feet_frac)
                    d_feet[i] = relp[low].mean()
            fit_f = solve_persons(sel, h_init, z_init, d_feet, mu_, sigma_, x_min, x_max, X_sing)
            dev = lambda f, dv: np.mean(np.abs(h_init[sel] * (f.s * dv[sel] + f.t) / z_init[sel] - mu_[sel]) / sigma_[sel])
            if dev(fit_f, d_feet) < dev(fit, d):
                fit, dd = fit_f, d_feet
                flags.append('feet_fit')
        return fit, dd

    if n_usable == 0:
        flags.append('no_usable_person')
    elif n_usable == 1:
        flags.append('single_person_pass_through')
        i = int(np.nonzero(usable)[0][0])
        reasons[i] = 'single_person_pass_through'
    else:
        idx = np.nonzero(usable)[0]
        groups = [idx]
        if cfg.near_far:
            far = np.zeros(K, bool)
            far[idx] = 2.0 * focal_y(focal) / z_init[idx] < cfg.far_size_frac * min(H, W)
            if cfg.far_rel_depth is not None:
                far[idx] |= d[idx] > cfg.far_rel_depth
            near_idx, far_idx = idx[~far[idx]], idx[far[idx]]
            if len(near_idx) >= 2 and len(far_idx) >= 2:
                groups = [near_idx, far_idx]
                flags.append('near_far_split')
        fits = []
        for gi, sel in enumerate(groups):
            fit, dd = fit_group(sel)
            z_star[fit.sel] = fit.s * dd[fit.sel] + fit.t
            d_used[fit.sel] = dd[fit.sel]
            std_z[fit.sel] = fit.std_z
            used[fit.sel] = True
            group[fit.sel] = gi
            fits.append(fit)
        if len(fits) == 2:
            # keep the far group behind the near one: raise its shift if needed
            near_max = z_star[fits[0].sel].max()
            far_min = z_star[fits[1].sel].min()
            if far_min < near_max:
                z_star[fits[1].sel] += near_max - far_min
                fits[1].t += near_max - far_min
                flags.append('far_group_shift_raised')
        s_d, t_d, active = fits[0].s, fits[0].t, fits[0].active
        group_params = [(f.s, f.t, f.active) for f in fits]
        if any(f.singular for f in fits):
            flags.append('singular_fallback')
        # two persons and two unknowns: an exact fit that the prior cannot check
        exact = [len(f.sel) == 2 and f.active == ACTIVE_NONE and not f.singular for f in fits]
        if any(exact):
            flags.append('two_persons_exact_fit')
        optimized = not all(exact)

    ratio = np.ones(K)
    ratio[used] = z_star[used] / z_init[used]
    h_star = h_init * ratio
    std_h = np.where(used, np.abs(h_init / np.where(used, z_init, 1.0)) * std_z, np.nan)
    skipped = np.array([bool(r) and r != 'single_person_pass_through' for r in reasons])
    score_used = used if used.any() else np.array([r == 'single_person_pass_through' for r in reasons])
    verdict = image_verdict(h_star, mu_, sigma_, score_used, cfg.score_threshold,
                            cfg.skipped_penalty, skipped)
    transl_star = transl * ratio[:, None]
    return DTOResult(s_d=float(s_d), t_d=float(t_d), d_i=d_used, X_i=cues.X, w_i=cues.w, X=float(X),
                     quasi_planar=bool(quasi), x_min=float(x_min), x_max=float(x_max),
                     active=int(active), z_init=z_init, z_star=z_star, transl_star=transl_star,
                     h_init=h_init, h_star=h_star, mu=mu_, sigma=sigma_, std_z=std_z, std_h=std_h,
                     residual=verdict.residual, image_score=verdict.image_score, kept=verdict.kept,
                     reasons=reasons, used=used, optimized=optimized, flags=flags,
                     image_reason=verdict.reason, prior_source=list(prior_source), group=group,
                     group_params=group_params)


def _plus_scale_bounds(cfg, cues, sel, quasi):
    """Disparity-space bound inputs: per-person |dz/dq|, weights, (alpha1, alpha2) or None."""
    sign = -1.0 if cfg.affine_space == 'disparity' else 1.0   # expected sign of r(v, z)
    wX = np.maximum(sign * np.nan_to_num(cues.corr_v[sel]), 0.0)
    wX = np.where(np.isfinite(cues.X_v[sel]), wX, 0.0)
    if not (wX > 0).any():
        return cues.X_v[sel], wX, None, 'no_scale_cue'
    alpha = (1.0, 1.0) if quasi else (cfg.alpha1, cfg.alpha2)
    return cues.X_v[sel], wX, alpha, ''


def _run_plus(cfg, cues, usable, reasons, flags, quasi, X, x_min, x_max, X_sing, z_init,
              h_init, mu_, sigma_, transl, focal, prior_source) -> DTOResult:
    """DTO+ fit of the usable persons (>= 2) of one image (plus_fit.fit_plus)."""
    K = len(h_init)
    sel = np.nonzero(usable)[0]
    row = lambda x: np.asarray(x, np.float64)[None, sel]
    disp = cfg.affine_space == 'disparity'
    Xv, wX, alpha, bflag = _plus_scale_bounds(cfg, cues, sel, quasi)
    if disp and bflag and 'no_scale_cue' not in flags:
        flags.append(bflag)
    relief = None
    if cfg.focal_refine:
        # the chosen estimator's relief slope dv/dz = 1 / (dz/dv), with the relative
        # standard error of the regression of v on z
        with np.errstate(divide='ignore', invalid='ignore'):
            dv_dz = np.sign(cues.dv_dz) / cues.X_v
            se = np.abs(cues.dv_dz_se / cues.dv_dz) * np.abs(dv_dz)
        relief = dict(dv_dz=row(dv_dz), dv_dz_se=row(se), corr=row(cues.corr_v))
    fk = dict(min_persons=cfg.focal_min_persons, max_rel_std=cfg.focal_max_rel_std,
              ratio_range=tuple(cfg.focal_ratio_range), min_corr=cfg.focal_min_corr)
    fit = fit_plus(row(h_init), row(z_init), row(cues.v), row(mu_), row(sigma_),
                   np.ones((1, len(sel)), bool), affine_space=cfg.affine_space,
                   height_loss=cfg.height_loss, huber_c=cfg.huber_c, irls_max_iter=cfg.irls_max_iter,
                   x_min=np.array([x_min]), x_max=np.array([x_max]), X_sing=np.array([X_sing]),
                   X_v=Xv[None], wX=wX[None], alpha=alpha, relief=relief, focal_kw=fk)
    used = np.zeros(K, bool)
    used[sel] = True
    full = lambda v, fill=np.nan: _scatter(K, sel, v[0], fill)
    z_fit, z_fin = full(fit.z_star), full(fit.z_final)
    z_fit[~used], z_fin[~used] = z_init[~used], z_init[~used]
    ratio = np.where(used, z_fit / z_init, 1.0)
    h_star = h_init * ratio
    if fit.limited[0]:
        flags.append('disparity_shift_at_limit' if disp else 'singular_fallback')
    if len(sel) == 2:
        flags.append('two_persons_exact_fit')
    fr = fit.focal
    if fr is not None and fr.refined[0]:
        flags.append('focal_refined')
    transl_star = transl * ratio[:, None]
    transl_star[:, 2] = np.where(used, z_fin, transl_star[:, 2])
    residual = np.abs(full(fit.residual))
    score = float(fit.score[0])
    kept = score <= cfg.score_threshold
    return DTOResult(
        s_d=float(fit.params[0, 0]), t_d=float(fit.params[0, 1]), d_i=cues.v if disp else cues.d,
        X_i=cues.X_v if disp else cues.X, w_i=cues.corr_v if disp else cues.w, X=float(X),
        quasi_planar=bool(quasi), x_min=float(x_min), x_max=float(x_max), active=int(fit.active[0]),
        z_init=z_init, z_star=z_fin, transl_star=transl_star, h_init=h_init, h_star=h_star,
        mu=mu_, sigma=sigma_, std_z=full(fit.std_z), std_h=full(fit.std_h), residual=residual,
        image_score=score, kept=bool(kept),
        reasons=reasons, used=used, optimized=len(sel) >= 3, flags=flags,
        image_reason='' if kept else f'mean robust deviation {score:.3f} > {cfg.score_threshold}',
        prior_source=list(prior_source), group=np.where(used, 0, -1),
        group_params=[(float(fit.params[0, 0]), float(fit.params[0, 1]), int(fit.active[0]))],
        affine_space=cfg.affine_space, z_fit=z_fit, robust_weight=full(fit.weights),
        outlier=full(fit.outlier.astype(float), 0.0).astype(bool),
        focal_ratio=float(fr.ratio[0]) if fr else 1.0,
        focal_ratio_est=float(fr.ratio_raw[0]) if fr else float('nan'),
        focal_ratio_std=float(fr.std_log[0]) if fr else float('nan'),
        focal_refined=bool(fr.refined[0]) if fr else False, focal_reason=fr.reason[0] if fr else '',
        focal_star=(np.broadcast_to(np.asarray(focal, np.float64), (2,)) / fr.ratio[0]
                    if fr is not None and fr.refined[0] else None),
        relief_dv_dz=cues.dv_dz)


def _scatter(K, sel, values, fill):
    out = np.full(K, fill, dtype=np.float64)
    out[sel] = values
    return out


def focal_y(focal) -> float:
    f = np.broadcast_to(np.asarray(focal, dtype=np.float64), (2,))
    return float(f[1])
