"""Per-person fusion of the two depth measurements DTO has (DTO+, issue 15).

After the affine fit each person has two independent measurements of its depth:

* the depth cue, z_i* from the fitted affine of the relative depth map; its error is the
  network's error at that person (blur, bleeding, warp, noise), relative std tau_c,i;
* the size cue, z_i^h = z_i* mu_i / h_i*: the depth at which the person would have the
  prior mean height; relative std tau_h,i = sigma_i / mu_i (the prior's spread).

The paper's DTO keeps z_i* (it trusts the cue fully, tau_c = 0).  With both in log space
the posterior mean is the precision-weighted mean

    log z_i = log z_i* - lambda_i log(h_i* / mu_i),  lambda_i = tau_c,i^2 / (tau_c,i^2 + tau_h,i^2),

with relative std sqrt(lambda_i) tau_h,i.  The person's height moves with its depth
(h = h_i z / z_i), so h_i is pulled toward mu_i by the same factor.

tau_c,i comes from the person's own samples (``DTOConfig.depth_fusion='spread'``): the
robust spread s_i of the network values about the person's relief line
(:func:`metric_hmr.dto.robust_cues.relief_residual_spread`) is what blur, bleeding and
noise add at that person; a cue error of one spread moves the depth by
|dz*/dv| s_i / z_i* (relative), optionally scaled and added in quadrature to a floor.
Batched over (B, K) arrays.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ['DepthFusion', 'cue_relative_std', 'fuse_depths']


class DepthFusion(NamedTuple):
    factor: np.ndarray     # (B, K) z_i / z_i* (1 where not used)
    lam: np.ndarray        # (B, K) weight lambda_i of the size cue
    rel_std: np.ndarray    # (B, K) relative std of the fused depth (NaN where not used)


def cue_relative_std(dz_dv, spread, z_star, floor: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """tau_c,i = floor (+) scale |dz*/dv| s_i / z_i* (in quadrature); 0 spread where unknown."""
    with np.errstate(divide='ignore', invalid='ignore'):
        rel = np.abs(np.asarray(dz_dv, np.float64)) * np.asarray(spread, np.float64) \
            / np.abs(np.asarray(z_star, np.float64))
    rel = np.where(np.isfinite(rel), rel, 0.0)
    return np.hypot(float(floor), float(scale) * rel)


def fuse_depths(h_star, mu, sigma, valid, cue_std) -> DepthFusion:
    """Posterior depth factor per person (module docstring).

    Args:
        h_star, mu, sigma: (B, K) fitted heights and the height prior.
        valid: (B, K) persons of the fit.
        cue_std: relative std tau_c of the depth cue, a float or (B, K) per person.
    """
    h_star, mu, sigma = (np.asarray(x, np.float64) for x in (h_star, mu, sigma))
    valid = np.asarray(valid, bool) & (h_star > 0) & (mu > 0) & (sigma > 0)
    tau_c = np.broadcast_to(np.asarray(cue_std, np.float64), h_star.shape)
    if np.any(tau_c[valid] < 0) or not np.all(np.isfinite(tau_c[valid])):
        raise ValueError('cue_std must be finite and >= 0 for every used person')
    # 1. both measurements in log space: d_i = log z_i* - log z_i^h = log(h_i* / mu_i)
    with np.errstate(divide='ignore', invalid='ignore'):
        d = np.where(valid, np.log(h_star / mu), 0.0)
        tau_h = np.where(valid, sigma / mu, 1.0)
    # 2. precision-weighted mean in log space and its std
    tc2 = np.where(valid, tau_c, 0.0) ** 2
    lam = np.where(valid, tc2 / (tc2 + tau_h ** 2), 0.0)
    factor = np.where(valid, np.exp(-lam * d), 1.0)
    rel_std = np.where(valid, np.sqrt(lam) * tau_h, np.nan)
    return DepthFusion(factor=factor, lam=lam, rel_std=rel_std)
