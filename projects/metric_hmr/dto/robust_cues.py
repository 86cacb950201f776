"""Robust per-person depth cues for DTO+ (issue 15).

* :func:`robust_location`: the depth statistic of a person from its interior samples
  (``'mean'`` as the paper, ``'median'``, or a symmetric ``'trimmed'`` mean).  Blur and
  bleeding mix background values into a person's samples; those are few and one-sided,
  which moves the mean but hardly the median.
* :func:`relief_slope`: the intra-human depth scale from a person's own depth relief.
  Samples pair the mesh depth z (metres, exact for the mesh) with the network value v
  (noisy).  The paper regresses z on v (``'ols'``), an errors-in-variables setting with
  the error in the regressor, so the slope dz/dv shrinks by var(v_true) / var(v)
  (regression dilution).  ``'inverse'`` regresses v on z, where the error sits in the
  response and does not bias the slope, and inverts it: dz/dv = 1 / (dv/dz).
  ``'rma'`` (reduced major axis, sign(r) sd(z) / sd(v)) splits the error between the two.
  ``'rma_denoised'``: RMA with the network's per-pixel noise variance (estimated from
  second differences inside the person, :func:`pixel_noise_variance`) removed from
  var(v) (method of moments).  The dilution is measured per estimator on synthetic scenes
  (docs/dto.md, DTO+).

Both work on one person's 1-D sample arrays (per-person sample counts differ).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ['robust_location', 'ReliefSlope', 'relief_slope', 'pixel_noise_variance', 'LOCATIONS',
           'SLOPE_ESTIMATORS']

LOCATIONS = ('mean', 'median', 'trimmed')
SLOPE_ESTIMATORS = ('ols', 'inverse', 'rma', 'rma_denoised')


def robust_location(x, method: str = 'median', trim: float = 0.2) -> float:
    """Location of 1-D samples: 'mean', 'median' or 'trimmed' (drop ``trim`` at each end).

    NaN for no sample."""
    x = np.asarray(x, np.float64)
    if x.size == 0:
        return float('nan')
    if method == 'mean':
        return float(x.mean())
    if method == 'median':
        return float(np.median(x))
    if method == 'trimmed':
        if not 0.0 <= trim < 0.5:
            raise ValueError(f'trim must be in [0, 0.5), got {trim}')
        xs = np.sort(x)
        k = int(np.floor(trim * x.size))
        return float(xs[k:x.size - k].mean())
    raise ValueError(f'depth statistic must be one of {LOCATIONS}, got {method!r}')


class ReliefSlope(NamedTuple):
    dz_dv: float       # intra-human scale (metres per network unit), by the chosen estimator
    corr: float        # Pearson r of (v, z)
    dv_dz: float       # OLS slope of v on z (the inverse regression)
    dv_dz_se: float    # its standard error (independent-sample formula)
    n: int


def pixel_noise_variance(v_map: np.ndarray, pid: np.ndarray, inner: np.ndarray, K: int) -> np.ndarray:
    """(K,) per-pixel noise variance of a map inside each person.

    Horizontal second difference e = v(c) - (v(c-1) + v(c+1)) / 2 over pixels whose three
    taps are interior pixels of the same person: for white noise var(e) = 1.5 var(noise),
    while a smooth surface contributes only its (small) curvature.  NaN with < 10 pixels.
    """
    e = v_map[:, 1:-1] - 0.5 * (v_map[:, :-2] + v_map[:, 2:])
    p = pid[:, 1:-1]
    ok = (inner[:, 1:-1] & inner[:, :-2] & inner[:, 2:] & (pid[:, :-2] == p) & (pid[:, 2:] == p)
          & (p >= 0) & np.isfinite(e))
    ids, ev = p[ok], e[ok]
    n = np.bincount(ids, minlength=K)[:K].astype(np.float64)
    s1 = np.bincount(ids, ev, minlength=K)[:K]
    s2 = np.bincount(ids, ev * ev, minlength=K)[:K]
    var = (s2 - s1 * s1 / np.maximum(n, 1)) / np.maximum(n - 1, 1)
    return np.where(n >= 10, var / 1.5, np.nan)


def relief_slope(z, v, estimator: str = 'inverse', noise_var: float = 0.0) -> ReliefSlope:
    """Slope of a person's mesh depth z against the network value v (see module docstring).

    ``noise_var``: per-pixel noise variance of v ('rma_denoised'; NaN or <= 0 -> plain RMA;
    var(v) is kept at >= 10 % of its raw value).  NaN fields when fewer than 3 samples or
    a constant variable.
    """
    z = np.asarray(z, np.float64)
    v = np.asarray(v, np.float64)
    if estimator not in SLOPE_ESTIMATORS:
        raise ValueError(f'scale estimator must be one of {SLOPE_ESTIMATORS}, got {estimator!r}')
    nan = float('nan')
    n = int(z.size)
    if n < 3:
        return ReliefSlope(nan, nan, nan, nan, n)
    zc, vc = z - z.mean(), v - v.mean()
    szz, svv, szv = float(zc @ zc), float(vc @ vc), float(zc @ vc)
    # a spread at float round-off level is no relief (e.g. a person painted flat)
    tiny = lambda sxx, x: sxx <= n * (1e-9 * max(abs(float(x.mean())), 1e-300)) ** 2
    if szz <= 0 or svv <= 0 or tiny(szz, z) or tiny(svv, v):
        return ReliefSlope(nan, nan, nan, nan, n)
    corr = szv / np.sqrt(szz * svv)
    beta = szv / szz                                   # dv/dz
    res = vc - beta * zc
    se = float(np.sqrt(max(float(res @ res), 0.0) / max(n - 2, 1) / szz))
    if estimator == 'ols':
        slope = szv / svv
    elif estimator == 'inverse':
        slope = 1.0 / beta if beta != 0 else nan
    elif estimator == 'rma':
        slope = float(np.sign(szv) * np.sqrt(szz / svv))
    else:
        nv = noise_var if np.isfinite(noise_var) and noise_var > 0 else 0.0
        svv_true = max(svv - n * nv, 0.1 * svv)
        slope = float(np.sign(szv) * np.sqrt(szz / svv_true))
    return ReliefSlope(float(slope), float(corr), float(beta), se, n)
