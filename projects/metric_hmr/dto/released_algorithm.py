"""The authors' released DTO of one image, step by step (docs/dto_generate.md, "Released
algorithm", steps 12-23; upstream ``dto.py`` ``Optimizer.optimize``).

The paper path (:func:`metric_hmr.dto.run_dto` with ``preset='paper'``) and this one share
the rasteriser, the depth conversion and the closed-form idea, but the released code
differs in who is fitted, with which cues, and how the image is scored, so it is written
out here as its own sequence of small functions:

1. prior class per person (:func:`released_prior_classes`, :func:`released_priors`);
2. z-buffer composed from per-person buffers restricted to each person's mask, and the
   visible-vertex counts (:func:`released_raster`);
3. person filters and cues on filtered pixels (:func:`released_person_cues`);
4. near / far groups (:func:`split_groups`);
5. group fit with the 2.1 m rejection (:func:`fit_group`), near group with the feet fit,
   far group pushed behind the near one and re-checked (:func:`released_image`);
6. image score and verdict.

Everything is numpy; raster resolution replaces the upstream full-resolution pixels
(nearest upsampling there, so means and percentiles agree up to pixel weighting).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .raster import project_points_raster, raster_size, rasterize_persons, resize_mask_nearest

__all__ = ['RELEASED_MU', 'RELEASED_SIGMA', 'released_prior_classes', 'released_priors',
           'ReleasedRaster', 'released_raster', 'PersonCuesR', 'released_person_cues',
           'split_groups', 'GroupFitR', 'fit_group', 'ReleasedOptions', 'ReleasedOutcome',
           'released_image', 'options_from_config', 'run_released', 'released_shape_step']

# released class order: 0 baby, 1 kid, 2 teen, 3 female, 4 male, 5 neutral adult (dto.py 288-289)
RELEASED_MU = np.array([0.801, 1.122, 1.477, 1.647, 1.784, 1.715])
RELEASED_SIGMA = np.array([0.126, 0.12, 0.156, 0.0707, 0.0759, 0.1])
AGE_SPLIT = (3.0, 8.0, 15.0)
GENDER_THRESH = 0.33
AGNOSTIC_SIGMA = 0.073     # Table 8's D' (dto.py 307-312)


def released_prior_classes(age, p_male, use_age_prior: bool = True,
                           thresholds: Tuple[float, float] = (GENDER_THRESH, 1 - GENDER_THRESH)
                           ) -> np.ndarray:
    """Class per person (dto.py 428-452): female when P(male) < thresholds[0], male when
    >= thresholds[1].  Unknown age (NaN) uses the gender classes, as the released code
    does without the age prior; unknown gender (NaN) is neutral."""
    age = np.asarray(age, np.float64).reshape(-1)
    pm = np.asarray(p_male, np.float64).reshape(-1)
    out = np.empty(len(age), np.int64)
    for i, (a, p) in enumerate(zip(age, pm)):
        if use_age_prior and np.isfinite(a) and a < AGE_SPLIT[2]:
            out[i] = 2 if a >= AGE_SPLIT[1] else 1 if a >= AGE_SPLIT[0] else 0
        elif np.isfinite(p) and p < thresholds[0]:
            out[i] = 3
        elif np.isfinite(p) and p >= thresholds[1]:
            out[i] = 4
        else:
            out[i] = 5
    return out


def released_priors(h_init, classes, use_gender_prior: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) per person (dto.py 297-316): adults hybrid (h + mu) / 2; without the
    gender prior (D') every adult is N(h, 0.073^2)."""
    h = np.asarray(h_init, np.float64)
    c = np.asarray(classes, np.int64)
    mu, sigma = RELEASED_MU[c].copy(), RELEASED_SIGMA[c].copy()
    adult = c >= 3
    if use_gender_prior:
        mu[adult] = (h[adult] + mu[adult]) / 2
    else:
        mu[adult], sigma[adult] = h[adult], AGNOSTIC_SIGMA
    return mu, sigma


@dataclass
class ReleasedRaster:
    """pid (h,w) int (-1 none), depth (h,w) rendered z (inf none), n_visible (K,), scale."""
    pid: np.ndarray
    depth: np.ndarray
    n_visible: np.ndarray
    scale: float


def released_raster(vertices: Sequence[np.ndarray], faces, focal, princpt,
                    image_size: Tuple[int, int], resolution: Optional[int] = 512,
                    masks: Optional[np.ndarray] = None, tol: float = 1e-2) -> ReleasedRaster:
    """Per-person z-buffers, each kept only inside the person's mask, composed by nearest
    (dto.py 182-205); a vertex is visible when its z <= composed depth + 1 cm at its pixel
    (dto.py 207-233; no check of whose pixel it is)."""
    K = len(vertices)
    (h, w), scale = raster_size(image_size, resolution)
    stack = np.full((K, h, w), np.inf)
    for k in range(K):
        r = rasterize_persons([vertices[k]], faces, focal, princpt, image_size, resolution)
        stack[k] = np.where(r.person_id == 0, r.depth, np.inf)
    if masks is not None:
        stack = np.where(resize_mask_nearest(np.asarray(masks, bool), (h, w)), stack, np.inf)
    pid = np.argmin(stack, axis=0) if K else np.zeros((h, w), np.int64)
    depth = np.min(stack, axis=0) if K else np.full((h, w), np.inf)
    pid = np.where(np.isfinite(depth), pid, -1)
    n_vis = np.zeros(K, np.int64)
    for k in range(K):
        v = np.asarray(vertices[k], np.float64)
        p = project_points_raster(v, focal, princpt, scale)
        with np.errstate(invalid='ignore'):
            inside = np.isfinite(p).all(1) & (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
        r, c = p[inside, 1].astype(np.int64), p[inside, 0].astype(np.int64)
        dz = depth[r, c]
        n_vis[k] = int((np.isfinite(dz) & (v[inside, 2] <= dz + tol)).sum())
    return ReleasedRaster(pid=pid, depth=depth, n_visible=n_vis, scale=float(scale))


@dataclass
class PersonCuesR:
    """Cues of one person (dto.py 492-535); ``removed`` names why the person left (or '')."""
    removed: str = ''
    d: float = np.nan
    z: float = np.nan
    spread: float = np.nan
    X: float = np.nan
    r: float = 0.0
    d_feet: float = np.nan
    z_feet: float = np.nan


def _row_centred(rows: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Values minus the mean of their image row (dto.py 36-46)."""
    uniq, inv = np.unique(rows, return_inverse=True)
    means = np.bincount(inv, weights=vals) / np.bincount(inv)
    return vals - means[inv]


def _first_fit(dx: np.ndarray, zx: np.ndarray, inlier_thresh: float):
    """Slope, correlation and inliers of the first line fit (dto.py 48-57; no refit)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        slope, intercept = np.polyfit(dx, zx, 1)
        with np.errstate(invalid='ignore', divide='ignore'):
            corr = np.corrcoef(dx, zx)[0, 1]
    corr = 0.0 if not np.isfinite(corr) else float(corr)
    inl = np.abs(dx * slope + intercept - zx) <= inlier_thresh
    return float(slope), corr, inl


def released_person_cues(k: int, rr: ReleasedRaster, rel: np.ndarray, min_pixels: float,
                         min_visible: int = 500, inlier_thresh: float = 0.1,
                         feet_frac: float = 0.1) -> PersonCuesR:
    """Filters and cues of person ``k`` from the composed raster and relative depth ``rel``."""
    mask = rr.pid == k
    if mask.sum() < min_pixels:
        return PersonCuesR(removed=f'removed: {int(mask.sum())} raster pixels < {min_pixels:.0f}')
    if rr.n_visible[k] < min_visible:
        return PersonCuesR(removed=f'removed: {int(rr.n_visible[k])} visible vertices < {min_visible}')
    vals = rel[mask]
    q1, q3 = np.nanpercentile(vals, 25), np.nanpercentile(vals, 75)
    lo, hi = max(q1 - 1.5 * (q3 - q1), 0.0), q3 + 1.5 * (q3 - q1)
    with np.errstate(invalid='ignore'):
        mask = mask & (rel > lo) & (rel < hi)
    if mask.sum() < min_pixels:
        return PersonCuesR(removed=f'removed: {int(mask.sum())} pixels after the IQR fence')
    rows = np.nonzero(mask)[0]
    d_all, z_all = rel[mask], rr.depth[mask]
    slope, corr, inl = _first_fit(_row_centred(rows, d_all), _row_centred(rows, z_all), inlier_thresh)
    if not inl.any():
        return PersonCuesR(removed='removed: no inlier pixel')
    d_in, z_in, rows_in = d_all[inl], z_all[inl], rows[inl]
    low = rows_in >= np.percentile(rows_in, 100 * (1 - feet_frac))
    return PersonCuesR(d=float(d_in.mean()), z=float(z_in.mean()), spread=float(d_in.std()),
                       X=slope, r=corr, d_feet=float(d_in[low].mean()), z_feet=float(z_in[low].mean()))


def split_groups(cues: List[PersonCuesR], transl_z: np.ndarray, focal_y: float,
                 image_size: Tuple[int, int], far_rel_depth: float = 0.02,
                 far_size_frac: float = 0.25) -> Tuple[List[int], List[int]]:
    """(near, far) person indices among the kept ones (dto.py 537-563)."""
    H, W = image_size
    near, far = [], []
    for k, c in enumerate(cues):
        if c.removed:
            continue
        size = focal_y * 2 / transl_z[k] / min(H, W)
        (far if (c.d > far_rel_depth or size < far_size_frac) else near).append(k)
    return near, far


@dataclass
class GroupFitR:
    """Outcome of :func:`fit_group` (dto.py 293-398)."""
    s: float
    t: float
    count: int                  # persons counted as optimized (0: not an optimization)
    deviation: float            # mean |h* - mu| / sigma over the kept persons
    rejected: List[int]         # person indices rejected (> 2.1 m, or the abandoned group)
    forced_X: bool = False
    X: float = np.nan
    quasi_planar: bool = False


def _normal_equations(h, z, d, mu, sigma):
    """Closed-form (s, t) minimising sum ((h/z)(s d + t) - mu)^2 / sigma^2 (dto.py 322-339)."""
    w = 1.0 / sigma ** 2
    g = h / z
    A, B, C = np.sum(w * g * g * d * d), np.sum(w * g * g * d), np.sum(w * g * g)
    D, E = np.sum(w * g * d * mu), np.sum(w * g * mu)
    with np.errstate(divide='ignore', invalid='ignore'):
        den = A * C - B ** 2
        return (C * D - B * E) / den, (A * E - B * D) / den, B, C, E


def fit_group(ids: Sequence[int], h, z, d, mu, sigma, spread, X_i, r_i, use_X: bool = True,
              min_corr: float = 0.5, X_default: float = 20.0, max_height: float = 2.1,
              max_iter: int = 10) -> GroupFitR:
    """Released ``get_alpha_beta`` on the persons ``ids`` (arrays indexed by person)."""
    ids = np.asarray(ids, np.int64)
    sel_X = ids[np.asarray(r_i)[ids] > min_corr]     # all group persons, rejected ones too
    X = X_default
    if len(sel_X) and use_X:
        X = float(np.sum(X_i[sel_X] * r_i[sel_X]) / np.sum(r_i[sel_X]))
    rejected: List[int] = []
    s = t = np.nan
    forced = quasi = False
    num_opt = len(ids)
    for _ in range(max_iter):
        act = np.array([i for i in ids if i not in rejected])
        num_opt = len(act)     # counted at the start of the round, as released
        s, t, B, C, E = _normal_equations(h[act], z[act], d[act], mu[act], sigma[act])
        quasi = bool(np.std(d[act]) < np.mean(spread[act]))
        forced = bool(s < X or quasi)
        if forced:
            s, t = X, (E - B * X) / C
        elif len(act) == 2:      # two persons fit exactly: not counted as an optimization
            return GroupFitR(s, t, 0, 0.0, rejected, False, X, quasi)
        hs = h[act] * (s * d[act] + t) / z[act]
        if np.any(hs > max_height):
            rejected.append(int(act[int(np.argmax(hs))]))
            if len(act) <= 2:    # the group is abandoned
                return GroupFitR(0.0, float(np.max(z[ids])), 0, 0.0, [int(i) for i in ids],
                                 forced, X, quasi)
            continue
        break
    act = np.array([i for i in ids if i not in rejected])
    dev = np.abs(h[act] * (s * d[act] + t) / z[act] - mu[act]) / sigma[act]
    return GroupFitR(float(s), float(t), num_opt, float(dev.mean()) if len(dev) else 0.0,
                     rejected, forced, X, quasi)


@dataclass
class ReleasedOptions:
    """Switches of the released generator (docs/dto_generate.md)."""
    use_X: bool = True               # False: Table 6's "+D without X" (X stays 20)
    feet_fit: bool = True            # use_down (dto.py 475)
    min_area_frac: float = 1 / 400   # H/20 * W/20
    min_visible: int = 500
    inlier_thresh: float = 0.1
    far_rel_depth: float = 0.02
    far_size_frac: float = 0.25
    max_height: float = 2.1
    score_threshold: float = 1.5
    rejected_penalty: float = 3.0


@dataclass
class ReleasedOutcome:
    """Per person (K,): ``status`` 'fitted' | 'lone' | 'rejected' | 'removed: ...';
    ``shift`` z*/z (1 where unchanged); ``group`` 0 near / 1 far / -1; d, z the values
    used by the fit.  Image: ``optimized`` (a group fitted >= 2 persons), ``score``
    (mean of the deviation list), ``kept`` = optimized and score < threshold."""
    status: List[str]
    shift: np.ndarray
    group: np.ndarray
    d: np.ndarray
    z: np.ndarray
    cues: List[PersonCuesR]
    optimized: bool
    score: float
    kept: bool
    fits: List[Tuple[str, GroupFitR]] = field(default_factory=list)


def _fit_near(near, cues, h, mu, sigma, opt):
    """Near group: whole-body fit and feet fit, the feet one taken when it keeps at least
    as many persons with a lower deviation (dto.py 581-592) -> (fit, d, z) of the choice."""
    arr = lambda f: np.array([getattr(c, f) for c in cues])  # noqa: E731
    d, z, dfe, zfe = arr('d'), arr('z'), arr('d_feet'), arr('z_feet')
    common = (mu, sigma, arr('spread'), arr('X'), arr('r'), opt.use_X)
    kw = dict(max_height=opt.max_height)
    body = fit_group(near, h, z, d, *common, **kw)
    if opt.feet_fit:
        feet = fit_group(near, h, zfe, dfe, *common, **kw)
        if feet.count >= body.count and feet.deviation < body.deviation:
            return feet, dfe, zfe
    return body, d, z


def _push_far_behind(fit: GroupFitR, far, near, near_fit, d_near, d_far, z_far, h, opt):
    """t_far >= max_near(s_n d + t_n) - s_far min_far(d), then re-check 2.1 m (dto.py 661-675)."""
    fit.t = max(fit.t, np.max(d_near[near]) * near_fit.s + near_fit.t - np.min(d_far[far]) * fit.s)
    for k in far:
        if k not in fit.rejected and h[k] * (d_far[k] * fit.s + fit.t) / z_far[k] > opt.max_height:
            fit.count -= 1
            fit.rejected.append(int(k))


def released_image(cues: List[PersonCuesR], h, mu, sigma, transl_z, focal_y: float,
                   image_size: Tuple[int, int], opt: ReleasedOptions = ReleasedOptions()
                   ) -> ReleasedOutcome:
    """Steps 18-22 on the person cues (``optimize`` from dto.py 565 on)."""
    K = len(cues)
    h, mu, sigma = (np.asarray(a, np.float64) for a in (h, mu, sigma))
    status = [c.removed or 'lone' for c in cues]
    shift, group = np.ones(K), np.full(K, -1)
    d_used = np.array([c.d for c in cues])
    z_used = np.array([c.z for c in cues])
    near, far = split_groups(cues, np.asarray(transl_z, np.float64), focal_y, image_size,
                             opt.far_rel_depth, opt.far_size_frac)
    deviations: List[float] = []
    fits: List[Tuple[str, GroupFitR]] = []
    optimized = False
    near_fit, d_near = None, None
    if len(near) >= 2:
        near_fit, d_near, z_near = _fit_near(near, cues, h, mu, sigma, opt)
        d_used[near], z_used[near] = d_near[near], z_near[near]
        fits.append(('near', near_fit))
    elif len(near) == 1:     # lone near person: the far push uses s = 0, t = its z
        near_fit, d_near = GroupFitR(0.0, float(z_used[near[0]]), 0, 0.0, []), d_used.copy()
    if len(far) >= 2:
        fit = fit_group(far, h, z_used, d_used, mu, sigma, np.array([c.spread for c in cues]),
                        np.array([c.X for c in cues]), np.array([c.r for c in cues]), opt.use_X,
                        max_height=opt.max_height)
        if near_fit is not None:
            _push_far_behind(fit, far, near, near_fit, d_near, d_used, z_used, h, opt)
        fits.append(('far', fit))
    for name, fit in fits:
        ids = near if name == 'near' else far
        optimized |= fit.count >= 2
        deviations += [fit.deviation] * max(fit.count, 0) + [opt.rejected_penalty] * len(fit.rejected)
        for k in ids:
            group[k] = 0 if name == 'near' else 1
            if k in fit.rejected:
                status[k] = 'rejected'
                continue
            status[k] = 'fitted'
            shift[k] = (d_used[k] * fit.s + fit.t) / z_used[k]
    score = float(np.mean(deviations)) if deviations else 0.0
    return ReleasedOutcome(status=status, shift=shift, group=group, d=d_used, z=z_used, cues=cues,
                           optimized=bool(optimized), score=score,
                           kept=bool(optimized and score < opt.score_threshold), fits=fits)


# ------------------------------------------------------------------ run_dto(preset='released')
_CLASS_NAMES = ('baby', 'kid', 'teen', 'adult_female', 'adult_male', 'adult_neutral')
_CODE_YEARS = {0: 30.0, 1: 11.5, 2: 5.5, 3: 1.5}    # RH age-group code -> a representative age


def options_from_config(cfg) -> ReleasedOptions:
    """:class:`ReleasedOptions` from a :class:`~metric_hmr.dto.config.DTOConfig`."""
    return ReleasedOptions(
        use_X=cfg.use_X, feet_fit=cfg.feet_fit,
        min_area_frac=cfg.min_mask_area_frac if cfg.min_mask_area_frac is not None else 0.0,
        min_visible=cfg.min_visible_vertices if cfg.min_visible_vertices is not None else 0,
        inlier_thresh=cfg.inlier_thresh if cfg.inlier_thresh is not None else np.inf,
        far_rel_depth=cfg.far_rel_depth if cfg.far_rel_depth is not None else np.inf,
        far_size_frac=cfg.far_size_frac,
        max_height=cfg.max_height if cfg.max_height is not None else np.inf,
        score_threshold=cfg.score_threshold,
        rejected_penalty=cfg.skipped_penalty if cfg.skipped_penalty is not None else 3.0)


def _released_demographics(K, h_init, age_years, p_male, age_group, mu, sigma, cfg):
    """(mu, sigma, source) per person: explicit priors, else the released classes."""
    if mu is not None and sigma is not None:
        return (np.asarray(mu, np.float64).reshape(K), np.asarray(sigma, np.float64).reshape(K),
                ['given'] * K)
    age = np.full(K, np.nan) if age_years is None else np.asarray(age_years, np.float64).reshape(K).copy()
    if age_group is not None:
        codes = np.asarray(age_group).reshape(K)
        for i in np.flatnonzero(~np.isfinite(age)):
            age[i] = _CODE_YEARS.get(int(codes[i]), np.nan)
    pm = np.full(K, np.nan) if p_male is None else np.asarray(p_male, np.float64).reshape(K)
    cls = released_prior_classes(age, pm, thresholds=cfg.gender_thresholds)
    mu_, sigma_ = released_priors(h_init, cls, use_gender_prior=cfg.gender_prior)
    return mu_, sigma_, ['released:' + _CLASS_NAMES[c] for c in cls]


def _reason(status: str, cfg) -> str:
    if status == 'fitted':
        return ''
    if status == 'lone':      # written unchanged (dto.py 572-579, 652-657, 730-747)
        return 'unchanged: lone in its group'
    if status == 'rejected':  # written unchanged, scored 3
        return f'unchanged: rejected, corrected height > {cfg.max_height} m'
    return status


def run_released(vertices, faces, focal, princpt, image_hw: Tuple[int, int], depth_map,
                 transl: np.ndarray, h_init: np.ndarray, age_years=None, p_male=None,
                 age_group=None, masks=None, mu=None, sigma=None, cfg=None):
    """:func:`metric_hmr.dto.run_dto` for ``algorithm='released'`` -> ``DTOResult``.

    Persons: ``reasons`` '' (fitted), 'unchanged: lone in its group', 'unchanged:
    rejected, ...' (both written with their input parameters; rejected ones scored 3) or
    'removed: ...' (left out of the score *and* of the released output).  ``optimized`` False -> the image is never written (dto_framework.py
    505-509), whatever its score."""
    from .depth_map import prepare_depth
    from .dto import DTOResult
    K = len(vertices)
    H, W = image_hw
    mu_, sigma_, source = _released_demographics(K, h_init, age_years, p_male, age_group, mu, sigma, cfg)
    if K == 0:
        from .dto import _empty_result
        return _empty_result(h_init, mu_, sigma_)
    opt = options_from_config(cfg)
    rr = released_raster(list(vertices), faces, focal, princpt, image_hw, cfg.resolution,
                         masks if cfg.use_masks else None)
    rel = prepare_depth(depth_map, rr.pid.shape, cfg.depth_convention, cfg.depth_resample)
    min_px = opt.min_area_frac * H * W * rr.scale ** 2
    cues = [released_person_cues(k, rr, rel, min_px, opt.min_visible, opt.inlier_thresh,
                                 cfg.feet_frac) for k in range(K)]
    fy = float(np.broadcast_to(np.asarray(focal, np.float64), (2,))[1])
    out = released_image(cues, h_init, mu_, sigma_, transl[:, 2], fy, image_hw, opt)
    used = np.array([st == 'fitted' for st in out.status])
    h_star = h_init * out.shift
    residual = np.where(used, np.abs(h_star - mu_) / sigma_, np.nan)
    first = out.fits[0][1] if out.fits else None
    flags = ['released_algorithm'] + (['near_far_split'] if len(out.fits) == 2 else [])
    for name, f in out.fits:     # why a group did not count as an optimization
        if f.count < 2:
            flags.append(f'{name}_group_abandoned' if f.s == 0.0 and f.rejected
                         else f'{name}_group_exact_fit' if not f.forced_X else f'{name}_group_too_small')
    if not out.fits:
        flags.append('no_group_of_two')
    reason = '' if out.kept else ('not optimized (no group fitted >= 2 persons)' if not out.optimized
                                  else f'mean deviation {out.score:.3f} >= {cfg.score_threshold}')
    nan = np.full(K, np.nan)
    return DTOResult(
        s_d=first.s if first else np.nan, t_d=first.t if first else np.nan, d_i=out.d,
        X_i=np.array([c.X for c in cues]), w_i=np.array([c.r for c in cues]),
        X=first.X if first else np.nan, quasi_planar=bool(first.quasi_planar) if first else False,
        x_min=first.X if first else np.nan, x_max=np.inf, active=-1 if (first and first.forced_X) else 0,
        z_init=out.z, z_star=out.z * out.shift, transl_star=transl * out.shift[:, None],
        h_init=h_init, h_star=h_star, mu=mu_, sigma=sigma_, std_z=nan, std_h=nan.copy(),
        residual=residual, image_score=out.score if out.fits else np.nan, kept=out.kept,
        reasons=[_reason(st, cfg) for st in out.status], used=used, optimized=out.optimized,
        flags=flags, image_reason=reason, prior_source=source, group=out.group,
        group_params=[(f.s, f.t, -1 if f.forced_X else 0) for _, f in out.fits])


# ------------------------------------------------------------------ step 24: the shape edit
def released_shape_step(betas: np.ndarray, transl: np.ndarray, global_orient: np.ndarray,
                        body_pose: np.ndarray, shift: np.ndarray, minor: np.ndarray,
                        height_fn, joints_fn, smpla: bool = True
                        ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The released shape update of moved persons (dto.py 606-646, 688-726), batched.

    Per person with z*/z = ``shift``: one linear step on one coefficient,
    b_j += h (shift - 1) / (h - h(b with b_j - 1)), where j is the SMPL-A age blend (last)
    when ``smpla`` and ((``minor`` and shift < 1) or h shift < 1.45 m), else beta_0; the
    translation is T shift; after an age-blend step x, y of T move by the mean over the
    24 joints of (shift x input joints - new joints).

    Args:
        betas (N,nb), transl (N,3), global_orient (N,3), body_pose (N,69), shift (N,),
        minor (N,) bool (released classes baby / kid / teen);
        height_fn: betas (M,nb) -> (M,) T-pose heights;
        joints_fn: (betas, global_orient, body_pose, transl) -> (M,J>=24,3) posed joints.
    Returns:
        (new betas, new transl, age_blend_used (N,) bool).
    """
    betas = np.array(betas, np.float64)
    transl = np.asarray(transl, np.float64)
    shift = np.asarray(shift, np.float64)
    h = np.asarray(height_fn(betas), np.float64)
    blend = np.asarray(smpla & (((np.asarray(minor, bool)) & (shift < 1)) | (h * shift < 1.45)), bool)
    col = np.where(blend, betas.shape[1] - 1, 0)
    rows = np.arange(len(betas))
    minus = betas.copy()
    minus[rows, col] -= 1.0
    h_minus = np.asarray(height_fn(minus), np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        step = h * (shift - 1.0) / (h - h_minus)
    new = betas.copy()
    new[rows, col] += np.where(np.isfinite(step), step, 0.0)
    new_t = transl * shift[:, None]
    if blend.any():
        b = np.flatnonzero(blend)
        j_in = np.asarray(joints_fn(betas[b], global_orient[b], body_pose[b], transl[b]))[:, :24]
        j_new = np.asarray(joints_fn(new[b], global_orient[b], body_pose[b], new_t[b]))[:, :24]
        new_t[b, :2] += (j_in[..., :2] * shift[b, None, None] - j_new[..., :2]).mean(1)
    return new, new_t, blend
