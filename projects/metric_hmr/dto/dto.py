"""``run_dto``: Depth-conditioned Translation Optimization of one image (paper Sec. 3.2).

Steps of :func:`run_dto` (each a module-level function; the math lives in its own module):

1. height priors mu_i, sigma_i                          (:func:`resolve_priors`, priors)
2. relative depth at raster resolution, z-buffer of all persons, per-person cues
   d_i, X_i, w_i                                        (:func:`image_cues`: depth, raster, cues)
3. which persons enter the fit, and their depths z_i     (:func:`usable_persons`, :func:`initial_depths`)
4. weighted scale X, quasi-planar test, bounds on s_d   (:func:`scale_and_bounds`)
5. closed-form fit of (s_d, t_d)                        (:func:`fit_image`: fit, solver)
6. corrected depth / height / translation, posterior std, verdict (:func:`assemble_result`)

The released-code variants (person filters, near / far groups, 2.1 m rejection, feet fit)
are in :mod:`metric_hmr.dto.released`.  Shape refit through a body model is a separate step
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

from . import released
from .config import BoundsConfig, DTOConfig
from .cues import PersonCues, extract_cues, is_quasi_planar, weighted_scale
from .depth import prepare_depth
from .fit import FitProblem, GroupFit, solve_group, solve_persons
from .priors import height_priors
from .raster import RasterOutput, raster_size, rasterize_persons
from .solver import ACTIVE_NONE
from .verdict import image_verdict

__all__ = ['DTOResult', 'run_dto', 'dto_bounds', 'solve_persons', 'resolve_priors', 'image_cues',
           'usable_persons', 'initial_depths', 'ScaleCue', 'scale_and_bounds', 'ImageFit',
           'fit_group', 'fit_image', 'assemble_result']


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

    @property
    def depth_ratio(self) -> np.ndarray:
        """z*/z per person (1 where unchanged)."""
        return np.where(self.used, self.z_star / np.where(self.used, self.z_init, 1.0), 1.0)

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
               masks: Optional[np.ndarray], cfg: DTOConfig) -> Tuple[RasterOutput, PersonCues]:
    """Relative depth at raster resolution, the z-buffer of all persons and their cues."""
    (hr, wr), _ = raster_size(image_hw, cfg.resolution)
    rel = prepare_depth(depth_map, (hr, wr), cfg.depth_convention, cfg.depth_resample)
    use_masks = masks if (cfg.use_masks and masks is not None) else None
    raster = rasterize_persons(vertices, faces, focal, princpt, image_hw, cfg.resolution,
                               masks=use_masks, depth_tol=cfg.depth_tol)
    cues = extract_cues(vertices, raster, rel, focal, princpt, masks=use_masks, config=cfg.cues,
                        keep_pixel_samples=cfg.feet_fit)
    return raster, cues


# ------------------------------------------------------------------ 3. usable persons, z_i
def usable_persons(cues: PersonCues, transl: np.ndarray, raster: RasterOutput,
                   masks: Optional[np.ndarray], image_hw: Tuple[int, int],
                   cfg: DTOConfig) -> List[str]:
    """Per person '' when it can enter the fit, else why not."""
    reasons = [r or ('behind_camera' if transl[i, 2] <= 0 else '')
               for i, r in enumerate(cues.reason)]
    return released.person_filters(reasons, cfg, masks, cues.n_pixels, cues.n_visible,
                                   raster.scale, image_hw)


def initial_depths(transl: np.ndarray, cues: PersonCues, cfg: DTOConfig) -> np.ndarray:
    """z_i: translation z (paper) or the mean rendered depth where the person has pixels."""
    z_init = transl[:, 2].copy()
    if cfg.z_source == 'rendered':
        z_init = np.where(np.isfinite(cues.z_render), cues.z_render, z_init)
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
    d_used: np.ndarray          # the d_i that entered the fit (the feet fit may replace some)
    reasons: List[str]
    flags: List[str] = field(default_factory=list)
    s_d: float = np.nan
    t_d: float = np.nan
    active: int = ACTIVE_NONE
    group_params: List[Tuple[float, float, int]] = field(default_factory=list)
    optimized: bool = False


def fit_group(problem: FitProblem, sel: np.ndarray, pixel_samples: Optional[list],
              cfg: DTOConfig) -> Tuple[GroupFit, np.ndarray, List[int], List[str]]:
    """Fit one group of persons: (fit, d_i used, persons rejected, flags).

    Paper: one closed-form fit.  Released code: greedy rejection of persons corrected
    above ``max_height`` and the feet fit, when configured."""
    if cfg.max_height is not None:
        fit, rejected = released.reject_too_tall(problem, sel, cfg)
    else:
        fit, rejected = solve_group(problem, sel), []
    if cfg.feet_fit and pixel_samples is not None:
        fit, d, won = released.try_feet_fit(problem, fit, pixel_samples, cfg)
        return fit, d, rejected, (['feet_fit'] if won else [])
    return fit, problem.d, rejected, []


def _pass_through(problem: FitProblem, reasons: List[str]) -> ImageFit:
    """Nothing fitted yet: every person keeps its initial depth."""
    K = len(problem.z)
    return ImageFit(z_star=problem.z.copy(), std_z=np.full(K, np.nan), used=np.zeros(K, bool),
                    group=np.full(K, -1, np.int64), d_used=problem.d.copy(), reasons=list(reasons))


def fit_image(problem: FitProblem, reasons: List[str], pixel_samples: Optional[list], focal,
              image_hw: Tuple[int, int], cfg: DTOConfig) -> ImageFit:
    """Fit (s_d, t_d) over the usable persons (``reasons[i] == ''``) of one image.

    0 usable persons: nothing; 1: pass-through; else one fit per group of persons."""
    out = _pass_through(problem, reasons)
    idx = np.nonzero(np.array([r == '' for r in reasons], bool))[0]
    if len(idx) == 0:
        out.flags.append('no_usable_person')
        return out
    if len(idx) == 1:
        out.flags.append('single_person_pass_through')
        out.reasons[int(idx[0])] = 'single_person_pass_through'
        return out
    # 5a. groups: all usable persons, or near / far (released code)
    groups = released.split_near_far(idx, problem, focal, image_hw, cfg) if cfg.near_far else [idx]
    if len(groups) == 2:
        out.flags.append('near_far_split')
    # 5b. one closed-form fit per group
    fits = []
    for gi, sel in enumerate(groups):
        fit, d, rejected, flags = fit_group(problem, sel, pixel_samples, cfg)
        for i in rejected:
            out.reasons[i] = released.rejection_reason(cfg)
        out.flags += flags
        out.z_star[fit.sel] = fit.s * d[fit.sel] + fit.t
        out.d_used[fit.sel] = d[fit.sel]
        out.std_z[fit.sel] = fit.std_z
        out.used[fit.sel] = True
        out.group[fit.sel] = gi
        fits.append(fit)
    # 5c. keep the far group behind the near one
    if len(fits) == 2:
        out.z_star, fits[1], raised = released.keep_far_behind_near(out.z_star, fits[0], fits[1])
        if raised:
            out.flags.append('far_group_shift_raised')
    _summarize_fits(out, fits)
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
    raster, cues = image_cues(vertices, faces, focal, princpt, image_hw, depth_map, masks, cfg)
    # 3. persons that enter the fit, their initial depths
    reasons = usable_persons(cues, transl, raster, masks, image_hw, cfg)
    usable = np.array([r == '' for r in reasons])
    z_init = initial_depths(transl, cues, cfg)
    # 4. scale cue and bounds on s_d
    scale = scale_and_bounds(cues, usable, z_init, cfg)
    # 5. closed-form fit
    problem = FitProblem(h_init, z_init, cues.d, mu_, sigma_, scale.x_min, scale.x_max,
                         scale.X_singular)
    fit = fit_image(problem, reasons, cues.pixel_samples, focal, image_hw, cfg)
    # 6. corrected heights / translations and the verdict
    return assemble_result(problem, fit, scale, cues, transl, prior_source, cfg)
