"""Focal refinement from two independent depth cues (DTO+, issue 15).

Heights fix depth *per focal length*: a person of height h spanning p pixels is at
z = f h / p, so with the HMR's focal f_hmr = rho f the fitted depths z* are rho times the
metric ones.  A person's depth *relief* is metric and focal-free: the network value v
changes across the body by dv/dz_true, while the fitted model says dz*/dv at that person.
Their product is rho (the mesh relief is the estimate's, k_i = h_i / h_i* times the true
one, hence the factor k_i):

    rho_i = |dz*/dv (v_i)| * |dv/dz_mesh,i| * k_i,     k_i = z_i / z_i*.

Per image, log rho is the inverse-variance mean of log rho_i over persons whose relief is
informative (correlation >= ``min_corr``), var(log rho_i) = (se(dv/dz) / dv/dz)^2; its
std is inflated by the observed scatter (sqrt(chi^2 / (n - 1)) when > 1).  The estimate
is used (focal f_hmr / rho, depths z* / rho) only when identifiable: at least
``min_persons`` informative persons, std(log rho) <= ``max_rel_std`` and rho inside
``ratio_range``; otherwise the focal is left unchanged and the reason recorded.
Batched over B images with at most K persons.
"""
from __future__ import annotations

from typing import List, NamedTuple

import numpy as np

__all__ = ['FocalEstimate', 'estimate_focal_ratio']


class FocalEstimate(NamedTuple):
    ratio: np.ndarray          # (B,) rho_hat = f_used / f_true estimate (1 where declined)
    ratio_raw: np.ndarray      # (B,) the estimate even when declined (NaN without persons)
    std_log: np.ndarray        # (B,) std of log rho_hat (NaN without persons)
    n_used: np.ndarray         # (B,) informative persons
    refined: np.ndarray        # (B,) bool, the estimate is applied
    reason: List[str]          # per image: '' refined, else why declined
    ratio_i: np.ndarray        # (B, K) per-person rho_i (NaN where not informative)


def estimate_focal_ratio(dz_dv_fit, dv_dz, dv_dz_se, corr, k, use, informative=None,
                         min_persons: int = 3, max_rel_std: float = 0.1,
                         ratio_range=(0.5, 2.0), min_corr: float = 0.3) -> FocalEstimate:
    """rho_hat per image (see module docstring).

    Args:
        dz_dv_fit: (B, K) slope of the fitted depth model at each person (rho-world).
        dv_dz, dv_dz_se, corr: (B, K) relief regression of the network value on the mesh
            depth (:func:`metric_hmr.dto.robust_cues.relief_slope`).
        k: (B, K) estimate scale z_i / z_i*.
        use: (B, K) persons of the fit.
        informative: (B,) bool, the height fit constrains the scale (optimized, no active
            bound); images where it is False decline with 'heights_not_informative'.
    """
    arrs = [np.asarray(x, np.float64) for x in (dz_dv_fit, dv_dz, dv_dz_se, corr, k)]
    g, beta, se, r, k = arrs
    use = np.asarray(use, bool)
    B = g.shape[0]
    with np.errstate(invalid='ignore', divide='ignore'):
        prod = g * beta
        ok = (use & np.isfinite(prod) & (prod > 0) & np.isfinite(se) & (se > 0)
              & np.isfinite(k) & (k > 0) & (np.abs(r) >= min_corr))
        log_rho_i = np.where(ok, np.log(np.abs(prod) * k), 0.0)
        wgt = np.where(ok, (beta / np.where(ok, se, 1.0)) ** 2, 0.0)
    n = ok.sum(1)
    sw = wgt.sum(1)
    mean = np.where(sw > 0, (wgt * log_rho_i).sum(1) / np.where(sw > 0, sw, 1.0), np.nan)
    chi2 = (wgt * (log_rho_i - np.nan_to_num(mean)[:, None]) ** 2).sum(1)
    infl = np.where(n > 1, np.sqrt(np.maximum(chi2 / np.maximum(n - 1, 1), 1.0)), 1.0)
    std_log = np.where(sw > 0, infl / np.sqrt(np.where(sw > 0, sw, 1.0)), np.nan)
    raw = np.exp(mean)
    reasons = []
    informative = np.ones(B, bool) if informative is None else np.asarray(informative, bool)
    for i in range(B):
        if not informative[i]:
            reasons.append('heights_not_informative')
        elif n[i] < min_persons:
            reasons.append(f'too_few_relief_persons ({int(n[i])} < {min_persons})')
        elif not std_log[i] <= max_rel_std:
            reasons.append(f'relief_too_noisy (std log rho {std_log[i]:.3f} > {max_rel_std})')
        elif not ratio_range[0] <= raw[i] <= ratio_range[1]:
            reasons.append(f'ratio_out_of_range ({raw[i]:.3f})')
        else:
            reasons.append('')
    refined = np.array([s == '' for s in reasons])
    return FocalEstimate(ratio=np.where(refined, raw, 1.0), ratio_raw=raw, std_log=std_log,
                         n_used=n, refined=refined, reason=reasons,
                         ratio_i=np.where(ok, np.exp(log_rho_i), np.nan))
