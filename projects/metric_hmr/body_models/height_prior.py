"""Population height distributions used to *sample* body shapes (synthetic crowds).

* age < 20 years: CDC growth charts (stature/length-for-age LMS tables shipped in
  ``rcpchgrowth``), read through the DTO engine's :func:`metric_hmr.dto.cdc.lms_at_age`
  (infant table below 2 years, 2-20 table above, L/M/S linear in age).  A height at
  z-score ``z`` is ``M (1 + L S z)^(1/L)`` (``M exp(S z)`` when L = 0), in cm.
* age >= 20 years: the paper's adult priors (supplement 6.4, ``metric_hmr.conventions``):
  male N(1.784, 0.076^2), female N(1.647, 0.071^2).
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from ..conventions import ADULT_PRIORS as _ADULT_BY_NAME
from ..dto.cdc import lms_at_age

__all__ = ['ADULT_PRIORS', 'CDC_MAX_AGE', 'cdc_height_quantile', 'sample_heights']

# keyed by is_male, as the samplers use it
ADULT_PRIORS: Dict[bool, Tuple[float, float]] = {True: _ADULT_BY_NAME['male'],
                                                 False: _ADULT_BY_NAME['female']}
CDC_MAX_AGE = 20.0


def cdc_height_quantile(age_years, is_male, z) -> np.ndarray:
    """Height (metres) at z-score ``z`` for each age (years, 0-20) and sex; arrays (B,)."""
    age = np.atleast_1d(np.asarray(age_years, dtype=np.float64))
    male = np.broadcast_to(np.asarray(is_male, bool), age.shape)
    z = np.broadcast_to(np.asarray(z, np.float64), age.shape)
    out = np.empty(age.shape)
    for i in range(age.shape[0]):
        L, M, S = lms_at_age(float(age[i]), bool(male[i]))
        if abs(L) < 1e-12:
            out[i] = M * np.exp(S * z[i])
        else:
            out[i] = M * max(1.0 + L * S * z[i], 1e-6) ** (1.0 / L)
    return out / 100.0


def sample_heights(age_years, is_male, rng: np.random.Generator,
                   z_clip: float = 3.0) -> np.ndarray:
    """Random heights (metres), (B,), for ages (years) and sexes (bool), z clipped at 3.

    Raises ValueError naming the person for negative / non-finite ages.
    """
    age = np.atleast_1d(np.asarray(age_years, dtype=np.float64))
    male = np.broadcast_to(np.asarray(is_male, bool), age.shape)
    bad = np.where(~np.isfinite(age) | (age < 0))[0]
    if bad.size:
        raise ValueError(f'age_years must be finite and >= 0; person(s) {bad.tolist()} have '
                         f'{age[bad].tolist()}')
    z = np.clip(rng.standard_normal(age.shape), -z_clip, z_clip)
    heights = np.empty(age.shape)
    child = age < CDC_MAX_AGE
    if child.any():
        heights[child] = cdc_height_quantile(age[child], male[child], z[child])
    for sex in (True, False):
        m = ~child & (male == sex)
        mu, sd = ADULT_PRIORS[sex]
        heights[m] = mu + sd * z[m]
    return heights
