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
  The dilution is measured per estimator on synthetic scenes
  (docs/dto.md, DTO+).

Both work on one person's 1-D sample arrays (per-person sample counts differ).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ['robust_location', 'ReliefSlope', 'relief_slope', 'relief_residual_spread', 'LOCATIONS',
           'SLOPE_ESTIMATORS']

LOCATIONS = ('mean', 'median', 'trimmed')
SLOPE_ESTIMATORS = ('ols', 'inverse', 'rma')


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


def relief_slope(z, v, estimator: str = 'inverse') -> ReliefSlope:
    """Slope of a person's mesh depth z against the network value v (see module docstring).

    NaN fields when fewer than 3 samples or a constant variable (also one whose spread is
    at float round-off level).
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
    else:
        slope = float(np.sign(szv) * np.sqrt(szz / svv))
    return ReliefSlope(float(slope), float(corr), float(beta), se, n)


def relief_residual_spread(z, v, dv_dz: float) -> float:
    """Robust spread (1.4826 MAD) of a person's values v about its relief line.

    The line is v = mean(v) + dv_dz (z - mean(z)) (the inverse regression of
    :func:`relief_slope`), so the body's own depth relief is removed and what remains is
    the network's error at this person: pixel noise, and background mixed in by blur or
    bleeding.  NaN for fewer than 3 samples or a non-finite slope."""
    z = np.asarray(z, np.float64)
    v = np.asarray(v, np.float64)
    if z.size < 3 or not np.isfinite(dv_dz):
        return float('nan')
    res = (v - v.mean()) - dv_dz * (z - z.mean())
    return float(1.4826 * np.median(np.abs(res - np.median(res))))
