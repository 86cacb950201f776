"""``run_dto``: Depth-conditioned Translation Optimization of one image (paper Sec. 3.2).

Steps of :func:`run_dto` (each a module-level function; the math lives in its own module):

1. height priors mu_i, sigma_i                          (:func:`resolve_priors`, priors)
2. relative depth at raster resolution, z-buffer of all persons, per-person cues
   d_i, X_i, w_i                                        (:func:`image_cues`: depth, raster, cues)
3. which persons enter the fit, and their depths z_i     (:func:`usable_persons`, :func:`initial_depths`)
4. weighted scale X, quasi-planar test, bounds on s_d   (:func:`scale_and_bounds`)
5. closed-form fit of (s_d, t_d)                        (:func:`fit_image`: fit, solver)
6. corrected depth / height / translation, posterior std, verdict (:func:`assemble_result`)

DTO+ (issue 15, ``config.uses_plus_fit``): steps 5-6 are :func:`plus_result`
(:mod:`metric_hmr.dto.plus_fit`: disparity-space affine, Huber likelihood, focal).

``algorithm='released'`` (``preset='released'``) runs the authors' released sequence instead
(:mod:`metric_hmr.dto.released_algorithm`: near / far groups, 2.1 m rejection, feet fit),
after the same input checks.  Shape refit through a body model is a separate step
(:mod:`metric_hmr.dto.refine`).

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

from .config import BoundsConfig, DTOConfig
from .cues import PersonCues, extract_cues, is_quasi_planar, weighted_scale
from .depth_fusion import cue_relative_std, fuse_depths
from .depth_map import prepare_depth
from .fit import FitProblem, GroupFit, solve_group, solve_persons
from .ground_contact import foot_contact, ground_fusion
from .plus_fit import fit_plus
from .priors import height_priors
from .raster import RasterOutput, raster_size, rasterize_persons
from .solver import ACTIVE_NONE
from .verdict import image_verdict

__all__ = ['DTOResult', 'run_dto', 'dto_bounds', 'solve_persons', 'resolve_priors', 'image_cues',
           'usable_persons', 'initial_depths', 'ScaleCue', 'scale_and_bounds', 'ImageFit',
           'fit_image', 'assemble_result', 'plus_result']


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
    z_init: np.ndarray          # z_i: root depth T_z, or (z_source) the rendered / sampled surface's
    z_star: np.ndarray          # corrected depth of the same point (= z_init where not optimized)
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
    group: np.ndarray = None    # (K,) fitted group (released: 0 near / 1 far), -1 unused
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
    depth_fusion_weight: np.ndarray = None  # (K,) weight lambda_i of the size cue (None: no fusion)
    sigma_fit: np.ndarray = None        # (K,) height std of the likelihood (sigma widened by cue noise)
    # --- DTO+ ground contact (ground_contact.py; None / '' when off) ---
    ground_weight: np.ndarray = None    # (K,) weight of the ground plane's prediction (NaN: not fused)
    off_ground: np.ndarray = None       # (K,) bool, contact off the other persons' plane
    ground_plane: np.ndarray = None     # (3,) (A, B, C): 1/z = A x + B y + C, normalised pixels
    ground_tau: float = float('nan')    # relative spread of the contacts about one plane
    ground_reason: str = ''             # why the ground cue was not used ('' used / off)

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


# ------------------------------------------------------------------ 1. height priors
def resolve_priors(h_init: np.ndarray, age_years, p_male, age_group, mu, sigma,
                   cfg: DTOConfig) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(mu_i, sigma_i, source_i): explicit priors where given, else from the demographics."""
    K = len(h_init)
    if mu is not None and sigma is not None:
        return (np.asarray(mu, np.float64).reshape(K), np.asarray(sigma, np.float64).reshape(K),
                ['given'] * K)
    prior = height_priors(h_init, age_years, p_male, age_group=age_group, config=cfg.priors)
    mu_ = prior.mu if mu is None else np.asarray(mu, np.float64).reshape(K)
    sigma_ = prior.sigma if sigma is None else np.asarray(sigma, np.float64).reshape(K)
    return mu_, sigma_, prior.source


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


def _empty_result(h_init, mu, sigma) -> DTOResult:
    """Result of an image without persons (not kept)."""
    nan0 = np.full(0, np.nan)
    return DTOResult(s_d=np.nan, t_d=np.nan, d_i=nan0, X_i=nan0, w_i=nan0, X=np.nan,
                     quasi_planar=False, x_min=np.nan, x_max=np.nan, active=0, z_init=nan0,
                     z_star=nan0, transl_star=np.zeros((0, 3)), h_init=h_init, h_star=nan0,
                     mu=mu, sigma=sigma, std_z=nan0, std_h=nan0, residual=nan0,
                     image_score=np.nan, kept=False, reasons=[], used=np.zeros(0, bool),
                     optimized=False, flags=['no_persons'], image_reason='no persons',
                     prior_source=[], group=np.zeros(0, np.int64))


# ------------------------------------------------------------------ 2. cues
def image_cues(vertices, faces, focal, princpt, image_hw: Tuple[int, int], depth_map,
               masks: Optional[np.ndarray], cfg: DTOConfig
               ) -> Tuple[RasterOutput, PersonCues, float]:
    """Relative depth at raster resolution, the z-buffer of all persons and their cues;
    with ``shift_limit_percentile`` also the map's far end in disparity (else NaN)."""
    (hr, wr), _ = raster_size(image_hw, cfg.resolution)
    rel = prepare_depth(depth_map, (hr, wr), cfg.depth_convention, cfg.depth_resample,
                        image_hw=image_hw, aspect_tolerance=cfg.depth_aspect_tolerance)
    use_masks = masks if (cfg.use_masks and masks is not None) else None
    raster = rasterize_persons(vertices, faces, focal, princpt, image_hw, cfg.resolution,
                               masks=use_masks, depth_tol=cfg.depth_tol)
    cues = extract_cues(vertices, raster, rel, focal, princpt, masks=use_masks, config=cfg.cues,
                        relief_space=cfg.affine_space if cfg.uses_plus_fit else None)
    return raster, cues, map_far_disparity(rel, cfg.shift_limit_percentile)


def map_far_disparity(rel: np.ndarray, percentile: Optional[float], stride: int = 4) -> float:
    """The p-th percentile of the map's disparity 1 / D_rel (every ``stride``-th pixel per
    axis: a far end robust to a few noisy pixels, cheap).  The visible scene, not only the
    persons, must be in front of the camera, q - b > 0, so it bounds the fitted shift b
    from above.  NaN when off or without valid pixels."""
    if percentile is None:
        return float('nan')
    with np.errstate(divide='ignore', invalid='ignore'):
        q = 1.0 / np.asarray(rel, np.float64)[::stride, ::stride]
    q = q[np.isfinite(q)]
    return float(np.percentile(q, percentile)) if q.size else float('nan')


# ------------------------------------------------------------------ 3. usable persons, z_i
def usable_persons(cues: PersonCues, transl: np.ndarray, raster: RasterOutput,
                   masks: Optional[np.ndarray], image_hw: Tuple[int, int],
                   cfg: DTOConfig) -> List[str]:
    """Per person '' when it can enter the fit, else why not (first reason wins): no cue,
    ``behind_camera``, then the released-code size filters when configured: mask area
    (person mask, else rendered pixels in image pixels) below ``min_mask_area_frac`` of
    H*W, fewer than ``min_visible_vertices`` visible vertices."""
    K = len(transl)
    H, W = image_hw
    reasons = [r or ('behind_camera' if transl[i, 2] <= 0 else '')
               for i, r in enumerate(cues.reason)]
    if cfg.min_mask_area_frac is not None:
        area = (np.asarray(masks).reshape(K, -1).sum(1) if masks is not None
                else cues.n_pixels / raster.scale ** 2)
        for i in np.nonzero(area < cfg.min_mask_area_frac * H * W)[0]:
            reasons[i] = reasons[i] or f'mask_area<{cfg.min_mask_area_frac:.4g}*H*W'
    if cfg.min_visible_vertices is not None:
        for i in np.nonzero(cues.n_visible < cfg.min_visible_vertices)[0]:
            reasons[i] = reasons[i] or f'visible_vertices<{cfg.min_visible_vertices}'
    return reasons


def initial_depths(transl: np.ndarray, cues: PersonCues, cfg: DTOConfig) -> np.ndarray:
    """z_i: translation z (paper), the mean rendered depth (released) or the mesh depth at
    the samples of d_i with d_i's statistic (DTO+), the latter two where the person has them.

    Why 'samples': d_i measures the depth of the person's *visible surface*; the fitted
    z_i* = f(d_i) is that surface's depth, and z_i* / z_i scales the mesh about the camera.
    With z_i the root depth the surface-to-root offset (about 0.1 m, varying with body size
    and orientation) is absorbed as if it were depth: persons side by side swap order."""
    z_init = transl[:, 2].copy()
    if cfg.z_source == 'rendered':
        z_init = np.where(np.isfinite(cues.z_render), cues.z_render, z_init)
    elif cfg.z_source == 'samples':
        z_init = np.where(np.isfinite(cues.z_sample) & (cues.z_sample > 0), cues.z_sample, z_init)
    return z_init


# ------------------------------------------------------------------ 4. scale cue and bounds
def dto_bounds(X: float, quasi_planar: bool, cfg: BoundsConfig) -> Tuple[float, float, str]:
    """Bounds on s_d (supplement 6.3), and a flag ('' or 'no_scale_cue...').

    ``cfg``: :class:`~metric_hmr.dto.config.BoundsConfig` (or a DTOConfig)."""
    flag = ''
    if not np.isfinite(X):
        if cfg.fallback_X is None:
            return 0.0, np.inf, 'no_scale_cue'
        X, flag = float(cfg.fallback_X), 'no_scale_cue:fallback_X'
    if quasi_planar:
        return X, X, flag
    if cfg.bounds_mode == 'paper':
        return cfg.alpha1 * X, cfg.alpha2 * X, flag
    return X, np.inf, flag          # 'lower_only' (released code)


@dataclass(frozen=True)
class ScaleCue:
    """Image-level scale cue X, the quasi-planar flag and the bounds on s_d."""
    X: float
    quasi_planar: bool
    x_min: float
    x_max: float
    X_singular: float          # s_d used if the normal equations are singular
    flags: List[str]


def scale_and_bounds(cues: PersonCues, usable: np.ndarray, z_init: np.ndarray,
                     cfg: DTOConfig) -> ScaleCue:
    """X = sum w_i X_i / sum w_i over usable persons, quasi-planar test, bounds."""
    X = weighted_scale(cues.X, cues.w, use=usable, min_corr=cfg.min_corr)
    if not cfg.use_X:    # Table 6's "+D without X": no scale cue from the persons' depth
        X = float('nan')
    quasi = is_quasi_planar(cues.d, cues.var_within, use=usable, test=cfg.quasi_planar_test)
    x_min, x_max, bflag = dto_bounds(X, quasi, cfg.bounds)
    flags = [bflag] if bflag else []
    if quasi:
        flags.append('quasi_planar')
    if np.isfinite(X):
        X_sing = X
    elif cfg.fallback_X is not None:
        X_sing = float(cfg.fallback_X)
    else:   # no scale cue at all: the scale that maps d to the current depths with t = 0
        X_sing = float(np.mean(z_init[usable]) / np.mean(cues.d[usable])) if usable.any() else np.nan
    return ScaleCue(X, quasi, x_min, x_max, X_sing, flags)


# ------------------------------------------------------------------ 5. the fit
@dataclass
class ImageFit:
    """Outcome of the fit of one image, per person (K,) unless stated."""
    z_star: np.ndarray          # corrected depth (= z_i where not fitted)
    std_z: np.ndarray           # posterior std of z*, NaN where not fitted
    used: np.ndarray            # bool, entered the final fit
    group: np.ndarray           # 0 near / 1 far, -1 unused
    d_used: np.ndarray          # the d_i that entered the fit
    reasons: List[str]
    flags: List[str] = field(default_factory=list)
    s_d: float = np.nan
    t_d: float = np.nan
    active: int = ACTIVE_NONE
    group_params: List[Tuple[float, float, int]] = field(default_factory=list)
    optimized: bool = False


def _pass_through(problem: FitProblem, reasons: List[str]) -> ImageFit:
    """Nothing fitted yet: every person keeps its initial depth."""
    K = len(problem.z)
    return ImageFit(z_star=problem.z.copy(), std_z=np.full(K, np.nan), used=np.zeros(K, bool),
                    group=np.full(K, -1, np.int64), d_used=problem.d.copy(), reasons=list(reasons))


def fit_image(problem: FitProblem, reasons: List[str], cfg: DTOConfig) -> ImageFit:
    """Fit (s_d, t_d) over the usable persons (``reasons[i] == ''``) of one image.

    0 usable persons: nothing; 1: pass-through; else one closed-form fit (paper Sec. 3.2)."""
    out = _pass_through(problem, reasons)
    idx = np.nonzero(np.array([r == '' for r in reasons], bool))[0]
    if len(idx) == 0:
        out.flags.append('no_usable_person')
        return out
    if len(idx) == 1:
        out.flags.append('single_person_pass_through')
        out.reasons[int(idx[0])] = 'single_person_pass_through'
        return out
    fit = solve_group(problem, idx)
    out.z_star[fit.sel] = fit.s * problem.d[fit.sel] + fit.t
    out.std_z[fit.sel] = fit.std_z
    out.used[fit.sel] = True
    out.group[fit.sel] = 0
    _summarize_fits(out, [fit])
    return out


def _summarize_fits(out: ImageFit, fits: List[GroupFit]) -> None:
    """Image-level (s_d, t_d, active) from the first group, flags of degenerate fits."""
    out.s_d, out.t_d, out.active = fits[0].s, fits[0].t, fits[0].active
    out.group_params = [(f.s, f.t, f.active) for f in fits]
    if any(f.singular for f in fits):
        out.flags.append('singular_fallback')
    # two persons and two unknowns: an exact fit that the prior cannot check
    exact = [len(f.sel) == 2 and f.active == ACTIVE_NONE and not f.singular for f in fits]
    if any(exact):
        out.flags.append('two_persons_exact_fit')
    out.optimized = not all(exact)


# ------------------------------------------------------------------ 6. result and verdict
def assemble_result(problem: FitProblem, fit: ImageFit, scale: ScaleCue, cues: PersonCues,
                    transl: np.ndarray, prior_source: List[str], cfg: DTOConfig) -> DTOResult:
    """Corrected heights and translations, posterior std, verdict."""
    K = len(problem.z)
    used, z_init, h_init = fit.used, problem.z, problem.h
    ratio = np.ones(K)
    ratio[used] = fit.z_star[used] / z_init[used]
    h_star = h_init * ratio
    std_h = np.where(used, np.abs(h_init / np.where(used, z_init, 1.0)) * fit.std_z, np.nan)
    skipped = np.array([bool(r) and r != 'single_person_pass_through' for r in fit.reasons])
    score_used = used if used.any() else np.array([r == 'single_person_pass_through'
                                                   for r in fit.reasons])
    verdict = image_verdict(h_star, problem.mu, problem.sigma, score_used, cfg.score_threshold,
                            cfg.skipped_penalty, skipped)
    return DTOResult(s_d=float(fit.s_d), t_d=float(fit.t_d), d_i=fit.d_used, X_i=cues.X, w_i=cues.w,
                     X=float(scale.X), quasi_planar=bool(scale.quasi_planar),
                     x_min=float(scale.x_min), x_max=float(scale.x_max), active=int(fit.active),
                     z_init=z_init, z_star=fit.z_star, transl_star=transl * ratio[:, None],
                     h_init=h_init, h_star=h_star, mu=problem.mu, sigma=problem.sigma,
                     std_z=fit.std_z, std_h=std_h, residual=verdict.residual,
                     image_score=verdict.image_score, kept=verdict.kept, reasons=fit.reasons,
                     used=used, optimized=fit.optimized, flags=scale.flags + fit.flags,
                     image_reason=verdict.reason, prior_source=list(prior_source),
                     group=fit.group, group_params=fit.group_params)


# ------------------------------------------------------------------ 5-6. DTO+
def _plus_scale_bounds(cfg, cues, sel, quasi):
    """Disparity-space bound inputs: per-person |dz/dq|, weights, (alpha1, alpha2) or None."""
    sign = -1.0 if cfg.affine_space == 'disparity' else 1.0   # expected sign of r(v, z)
    wX = np.maximum(sign * np.nan_to_num(cues.corr_v[sel]), 0.0)
    # a person whose relief barely correlates with its mesh says nothing about the scale;
    # alone it would still set the whole bound (the weights are normalised)
    wX = np.where(np.isfinite(cues.X_v[sel]) & (wX >= cfg.bound_min_corr), wX, 0.0)
    if not (wX > 0).any():
        return cues.X_v[sel], wX, None, 'no_scale_cue'
    alpha = (1.0, 1.0) if quasi else (cfg.alpha1, cfg.alpha2)
    return cues.X_v[sel], wX, alpha, ''


def plus_result(cues: PersonCues, usable: np.ndarray, reasons: List[str], scale: ScaleCue,
                z_init, h_init, mu_, sigma_, transl, focal, prior_source, cfg: DTOConfig,
                vertices=None, princpt=None, image_hw=None, q_far: float = float('nan')) -> DTOResult:
    """Steps 5-6 of DTO+: fit of the usable persons (>= 2) of one image (plus_fit.fit_plus),
    per-person fusion with the size cue and the ground plane, corrected heights /
    translations (focal refined where identifiable) and the verdict.  ``vertices``,
    ``princpt``, ``image_hw``: needed by ``ground_contact='plane'``."""
    K = len(h_init)
    flags = list(scale.flags)
    quasi, X, x_min, x_max, X_sing = (scale.quasi_planar, scale.X, scale.x_min, scale.x_max,
                                      scale.X_singular)
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
                   X_v=Xv[None], wX=wX[None], alpha=alpha, relief=relief, focal_kw=fk,
                   cue_spread=row(cues.v_spread), cue_noise_scale=cfg.cue_noise_scale,
                   # a quasi-planar image pins a = A_X(b) (alpha 1, 1): the pin stays hard on
                   # both sides, not soft below and hard above
                   bound_softness=0.0 if quasi else cfg.bound_softness,
                   shift_max=np.array([q_far]))
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
    # per-person fusion with the size cue (depth_fusion.py): moves z and h* together
    std_z, std_h = full(fit.std_z), full(fit.std_h)
    fusion = _fuse(h_star, mu_, sigma_, used, cfg, fit, cues, sel)
    if fusion is not None:
        ratio, h_star, z_fit, z_fin, std_z, std_h = _apply_fusion(fusion, ratio, h_star, z_fit,
                                                                 z_fin, std_z)
        flags.append('depth_fused')
    ground = None
    if cfg.ground_contact == 'plane':
        own_std, own_in_std = _own_depth_std(fusion, fit, cues, sel, K, cfg)
        ground = ground_fusion(foot_contact(vertices, focal, princpt), ratio, own_std, used, focal,
                               princpt, image_hw, pixel_noise=cfg.ground_pixel_noise,
                               min_persons=cfg.ground_min_persons,
                               roll_min_persons=cfg.ground_roll_min_persons,
                               outlier_c=cfg.ground_outlier_c)
        ratio, h_star, z_fit, z_fin, std_z, std_h = _apply_ground(ground, own_in_std, ratio,
                                                                 h_star, z_fit, z_fin, std_z)
        if not ground.reason:
            flags.append('ground_fused')
    transl_star = transl * ratio[:, None]
    # z_fin is the final depth of what z_init measures (the root, or with z_source='samples'
    # the sampled surface); it differs from z_fit only by a refined focal (z_fit / rho)
    with np.errstate(invalid='ignore', divide='ignore'):
        root_per_ref = np.where(used, transl[:, 2] / np.where(used, z_init, 1.0), 1.0)
    transl_star[:, 2] = np.where(used, z_fin * root_per_ref, transl_star[:, 2])
    residual = np.abs(full(fit.residual))
    score = float(fit.score[0])
    kept = score <= cfg.score_threshold
    return DTOResult(
        s_d=float(fit.params[0, 0]), t_d=float(fit.params[0, 1]), d_i=cues.v if disp else cues.d,
        X_i=cues.X_v if disp else cues.X, w_i=cues.corr_v if disp else cues.w, X=float(X),
        quasi_planar=bool(quasi), x_min=float(x_min), x_max=float(x_max), active=int(fit.active[0]),
        z_init=z_init, z_star=z_fin, transl_star=transl_star, h_init=h_init, h_star=h_star,
        mu=mu_, sigma=sigma_, std_z=std_z, std_h=std_h, residual=residual,
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
        relief_dv_dz=cues.dv_dz,
        depth_fusion_weight=None if fusion is None else np.where(used, fusion.lam[0], np.nan),
        sigma_fit=np.where(used, full(fit.sigma_fit), sigma_) if fit.sigma_fit is not None else None,
        **_ground_fields(ground))


def _fuse(h_star, mu, sigma, used, cfg: DTOConfig, fit, cues: PersonCues, sel):
    """DepthFusion of one image's used persons (depth_fusion.py), or None when off."""
    if cfg.depth_fusion == 'none' or used.sum() < 2:
        return None
    cue_std = cfg.fusion_cue_std
    if cfg.depth_fusion == 'spread':
        tau = cue_relative_std(fit.dz_dv[0], cues.v_spread[sel], fit.z_star[0],
                               cfg.fusion_cue_std, cfg.fusion_spread_scale)
        cue_std = _scatter(len(h_star), sel, tau, 0.0)[None]
    return fuse_depths(h_star[None], mu[None], sigma[None], used[None], cue_std)


def _apply_fusion(fusion, ratio, h_star, z_fit, z_fin, std_z):
    """Scale depths and heights by the fusion factor; std: the fit's share (1 - lambda)
    of its relative std and the fused measurement's, in quadrature."""
    f, lam, rel = fusion.factor[0], fusion.lam[0], fusion.rel_std[0]
    with np.errstate(invalid='ignore', divide='ignore'):
        fit_rel = np.abs(std_z / z_fin)
    ratio, h_star, z_fit, z_fin = (x * f for x in (ratio, h_star, z_fit, z_fin))
    rel_all = np.sqrt(((1 - lam) * fit_rel) ** 2 + np.nan_to_num(rel) ** 2)
    return ratio, h_star, z_fit, z_fin, np.abs(z_fin) * rel_all, np.abs(h_star) * rel_all


def _own_depth_std(fusion, fit, cues: PersonCues, sel, K: int, cfg: DTOConfig):
    """t_i: relative std of each person's own depth error (not the image-wide affine's):
    the fused std when the size cue was fused, else the depth cue's spread, combined in
    quadrature with ``ground_depth_std_floor`` (what the cues do not see: the mesh's own
    errors).  Also returns the share of t_i already in the published std (the fused std;
    0 without fusion, where std_z is the fit's alone)."""
    if fusion is not None:
        own = np.nan_to_num(fusion.rel_std[0])
        in_std = own
    else:
        own = _scatter(K, sel, cue_relative_std(fit.dz_dv[0], cues.v_spread[sel], fit.z_star[0]), 0.0)
        in_std = np.zeros(K)
    return np.hypot(cfg.ground_depth_std_floor, own), in_std


def _apply_ground(ground, own_in_std, ratio, h_star, z_fit, z_fin, std_z):
    """Scale depths and heights by the ground factor; std: the person's own share in the
    published std replaced by the fused std of the ground step."""
    f = ground.factor
    fused = np.isfinite(ground.rel_std)
    with np.errstate(invalid='ignore', divide='ignore'):
        rel = np.abs(std_z / z_fin)
        rel = np.where(fused, np.sqrt(np.maximum(rel ** 2 - own_in_std ** 2, 0.0)
                                      + np.nan_to_num(ground.rel_std) ** 2), rel)
    ratio, h_star, z_fit, z_fin = (x * f for x in (ratio, h_star, z_fit, z_fin))
    return ratio, h_star, z_fit, z_fin, np.abs(z_fin) * rel, np.abs(h_star) * rel


def _ground_fields(ground) -> dict:
    if ground is None:
        return {}
    return dict(ground_weight=ground.weight, off_ground=ground.off_ground,
                ground_plane=ground.plane, ground_tau=ground.tau, ground_reason=ground.reason)


def _scatter(K, sel, values, fill):
    out = np.full(K, fill, dtype=np.float64)
    out[sel] = values
    return out


# ------------------------------------------------------------------ run_dto
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
    cfg = DTOConfig.from_dict(config)
    K = len(vertices)
    transl = np.asarray(transl, dtype=np.float64).reshape(K, 3)
    h_init = np.asarray(h_init, dtype=np.float64).reshape(K)
    image_hw = (int(image_size[0]), int(image_size[1]))
    if cfg.algorithm == 'released':   # the authors' sequence (docs/dto_generate.md)
        from .released_algorithm import run_released
        return run_released(vertices, faces, focal, princpt, image_hw, depth_map, transl, h_init,
                            age_years, p_male, age_group, masks, mu, sigma, cfg)
    # 1. height priors
    mu_, sigma_, prior_source = resolve_priors(h_init, age_years, p_male, age_group, mu, sigma, cfg)
    _validate(h_init, mu_, sigma_, transl[:, 2])
    if K == 0:
        return _empty_result(h_init, mu_, sigma_)
    # 2. visibility and cues
    raster, cues, q_far = image_cues(vertices, faces, focal, princpt, image_hw, depth_map, masks, cfg)
    # 3. persons that enter the fit, their initial depths
    reasons = usable_persons(cues, transl, raster, masks, image_hw, cfg)
    usable = np.array([r == '' for r in reasons])
    z_init = initial_depths(transl, cues, cfg)
    # 4. scale cue and bounds on s_d
    scale = scale_and_bounds(cues, usable, z_init, cfg)
    if cfg.uses_plus_fit and int(usable.sum()) >= 2:    # 5-6. DTO+ fit and result
        return plus_result(cues, usable, reasons, scale, z_init, h_init, mu_, sigma_, transl,
                           focal, prior_source, cfg, vertices=vertices, princpt=princpt,
                           image_hw=image_hw, q_far=q_far)
    # 5. closed-form fit
    problem = FitProblem(h_init, z_init, cues.d, mu_, sigma_, scale.x_min, scale.x_max,
                         scale.X_singular)
    fit = fit_image(problem, reasons, cfg)
    # 6. corrected heights / translations and the verdict
    return assemble_result(problem, fit, scale, cues, transl, prior_source, cfg)
