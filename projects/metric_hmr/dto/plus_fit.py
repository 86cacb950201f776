"""The DTO+ fit of a padded batch of images (issue 15): one function joining the pieces.

1. affine model: paper's z* = s_d d_i + t_d (``affine_space='depth'``, closed form of
   :mod:`solver`) or z* = a / (q_i - b) (``'disparity'``, :mod:`disparity_fit`);
2. height likelihood: Gaussian (one fit) or Huber by IRLS over that fit
   (:mod:`robust_likelihood`); outliers per person; optionally each person's cue noise
   carried into its height std (``cue_noise_scale``): an error e_i in the statistic v_i
   moves h_i* by mu_i |dz*/dv| e_i / z_i*, so sigma_i^2 += (mu_i |dz*/dv| c s_i / z_i*)^2
   with s_i the person's residual spread about its relief line (evaluated at a first fit,
   then the fit is repeated once with the widened sigma);
3. posterior std from the final weights, image score sqrt(2 rho(r_i)) averaged;
4. focal refinement from the persons' depth relief where identifiable
   (:mod:`focal_refine`): depths divided by rho_hat, focal f / rho_hat, std widened by
   the uncertainty of rho_hat.

Inputs are (B, K) arrays of the used persons (``valid``), outputs :class:`PlusFit`.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from .disparity_fit import solve_disparity_batch
from .focal_refine import FocalEstimate, estimate_focal_ratio
from .robust_likelihood import huber_score, irls_fit
from .solver import ACTIVE_NONE, solve_dto_batch

__all__ = ['PlusFit', 'fit_plus']


class PlusFit(NamedTuple):
    params: np.ndarray        # (B, 2): (s_d, t_d) or (a, b) per affine space
    active: np.ndarray        # (B,) bound code
    limited: np.ndarray       # (B,) singular (depth) or shift at the search limit (disparity)
    z_star: np.ndarray        # (B, K) depth under the HMR's focal
    h_star: np.ndarray        # (B, K)
    z_final: np.ndarray       # (B, K) z_star / rho_hat (= z_star where the focal is kept)
    std_z: np.ndarray         # (B, K) posterior std of z_final
    std_h: np.ndarray         # (B, K) posterior std of h_star
    weights: np.ndarray       # (B, K) final Huber weights (1 for the Gaussian likelihood)
    residual: np.ndarray      # (B, K) signed standardized residual (h* - mu) / sigma
    outlier: np.ndarray       # (B, K) bool
    score: np.ndarray         # (B,) image score on the likelihood's scale
    dz_dv: np.ndarray         # (B, K) local slope of the fitted model at each person
    iterations: int
    focal: Optional[FocalEstimate]
    sigma_fit: Optional[np.ndarray] = None   # (B, K) height std of the likelihood (with cue noise)


def _depth_space(h, z, v, mu, sigma, valid, x_min, x_max, X_sing):
    """fit(w) and its outputs in the paper's depth space."""
    def fit(w):
        sol = solve_dto_batch(h, z, v, mu, sigma / np.sqrt(np.where(valid, w, 1.0)),
                              x_min, x_max, valid, X=X_sing)
        return dict(params=np.stack([sol.s_d, sol.t_d], 1), active=sol.active,
                    limited=sol.singular, z_star=sol.z_star, h_star=sol.h_star,
                    std_z=sol.std_z, std_h=sol.std_h,
                    dz_dv=np.where(valid, sol.s_d[:, None], 0.0))
    return fit


def _disparity_space(h, z, v, mu, sigma, valid, X_v, wX, alpha, softness, b_max):
    def fit(w):
        sol = solve_disparity_batch(h, z, v, mu, sigma, valid, w=w, X=X_v, wX=wX, alpha=alpha,
                                    bound_softness=softness, b_max=b_max)
        return dict(params=np.stack([sol.a, sol.b], 1), active=sol.active, limited=sol.at_limit,
                    z_star=sol.z_star, h_star=sol.h_star, std_z=sol.std_z, std_h=sol.std_h,
                    dz_dv=sol.dz_dq)
    return fit


def _refit(affine_space, h, z, v, mu, sigma, valid, x_min, x_max, X_sing, X_v, wX, alpha,
           softness=0.0, b_max=None):
    """fit(w) of the chosen affine space."""
    B = h.shape[0]
    if affine_space == 'depth':
        lo = np.full(B, -np.inf) if x_min is None else x_min
        hi = np.full(B, np.inf) if x_max is None else x_max
        return _depth_space(h, z, v, mu, sigma, valid, lo, hi, X_sing)
    if affine_space == 'disparity':
        return _disparity_space(h, z, v, mu, sigma, valid, X_v, wX, alpha, softness, b_max)
    raise ValueError(f"affine_space must be 'depth' or 'disparity', got {affine_space!r}")


def _with_cue_noise(sigma, mu, sol, spread, valid, scale):
    """sigma_i widened by the height error a cue error of scale * spread_i would cause."""
    with np.errstate(divide='ignore', invalid='ignore'):
        rel = np.abs(sol['dz_dv']) * spread / np.abs(sol['z_star'])
    extra = np.where(valid & np.isfinite(rel), scale * np.abs(mu) * rel, 0.0)
    return np.sqrt(sigma ** 2 + extra ** 2)


def fit_plus(h, z, v, mu, sigma, valid, *, affine_space: str = 'disparity',
             height_loss: str = 'huber', huber_c: float = 2.0, irls_max_iter: int = 10,
             x_min=None, x_max=None, X_sing=None, X_v=None, wX=None, alpha=None,
             relief: Optional[dict] = None, focal_kw: Optional[dict] = None,
             cue_spread=None, cue_noise_scale: float = 0.0,
             bound_softness: float = 0.0, shift_max=None) -> PlusFit:
    """DTO+ fit (module docstring).

    Args:
        v: (B, K) the person statistic of the fitted space (d_i or the disparity q_i).
        x_min, x_max, X_sing: (B,) bounds / singular scale of the depth-space fit.
        X_v, wX, alpha: per-person |dz/dq| mesh slopes, their weights and (alpha1, alpha2)
            bounding the disparity-space scale (None: a >= 0 only).
        bound_softness: > 0: the lower bound as a one-sided prior (:mod:`disparity_fit`).
        shift_max: (B,) upper limit of the disparity shift b (the map's far end; NaN: none).
        relief: dict(dv_dz, dv_dz_se, corr) (B, K) for the focal refinement (None: off).
        focal_kw: options of :func:`estimate_focal_ratio`.
        cue_spread: (B, K) spread s_i of each person's values about its relief line
            (NaN: no cue-noise term for that person); used when ``cue_noise_scale > 0``.
    """
    arr = lambda x: np.asarray(x, np.float64)
    h, z, v, mu, sigma = (arr(x) for x in (h, z, v, mu, sigma))
    valid = np.asarray(valid, bool)
    B = h.shape[0]
    # 1. the affine model
    fit = _refit(affine_space, h, z, v, mu, sigma, valid, x_min, x_max, X_sing, X_v, wX, alpha,
                 bound_softness, shift_max)
    # 2. likelihood
    if height_loss == 'gaussian':
        c, max_iter = np.inf, 1
    elif height_loss == 'huber':
        c, max_iter = float(huber_c), int(irls_max_iter)
    else:
        raise ValueError(f"height_loss must be 'gaussian' or 'huber', got {height_loss!r}")
    res = irls_fit(fit, lambda s: s['h_star'], mu, sigma, valid, c=c, max_iter=max_iter)
    sol = res.solution
    if cue_noise_scale > 0 and cue_spread is not None:
        sigma = _with_cue_noise(sigma, mu, sol, np.asarray(cue_spread, np.float64), valid,
                                cue_noise_scale)
        refit = _refit(affine_space, h, z, v, mu, sigma, valid, x_min, x_max, X_sing, X_v, wX,
                       alpha, bound_softness, shift_max)
        res = irls_fit(refit, lambda s: s['h_star'], mu, sigma, valid, c=c, max_iter=max_iter)
        sol = res.solution
    # 3. image score on the likelihood's scale (= mean |r| when nobody is beyond c)
    dev = np.where(valid, huber_score(res.residual, c) if np.isfinite(c) else np.abs(res.residual), 0.0)
    score = dev.sum(1) / np.maximum(valid.sum(1), 1)
    # 4. focal refinement
    z_final, std_z, focal = sol['z_star'], sol['std_z'], None
    if relief is not None:
        informative = (sol['active'] == ACTIVE_NONE) & ~sol['limited'] & (valid.sum(1) >= 3)
        k = np.where(valid, z / np.where(valid & (sol['z_star'] > 0), sol['z_star'], np.nan), np.nan)
        focal = estimate_focal_ratio(sol['dz_dv'], relief['dv_dz'], relief['dv_dz_se'],
                                     relief['corr'], k, valid, informative, **(focal_kw or {}))
        rho = focal.ratio[:, None]
        z_final = np.where(valid, sol['z_star'] / rho, 0.0)
        var_log = np.where(focal.refined, focal.std_log, 0.0)[:, None] ** 2
        zs = np.where(valid & (sol['z_star'] != 0), sol['z_star'], 1.0)
        std_z = np.where(valid, np.abs(z_final) * np.sqrt((sol['std_z'] / zs) ** 2 + var_log), 0.0)
    return PlusFit(params=sol['params'], active=sol['active'], limited=sol['limited'],
                   z_star=sol['z_star'], h_star=sol['h_star'], z_final=z_final, std_z=std_z,
                   std_h=sol['std_h'], weights=res.weights, residual=res.residual,
                   outlier=res.outlier, score=score, dz_dv=sol['dz_dv'],
                   iterations=res.iterations, focal=focal, sigma_fit=sigma)
