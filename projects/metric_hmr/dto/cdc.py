"""Continuous-age height priors from the CDC 2000 LMS growth charts (supplement 6.4).

The LMS tables ship inside the PyPI package ``rcpchgrowth``
(``rcpchgrowth/data_tables/cdc_infants.json``: recumbent length, 0-24 months;
``cdc2-20.json``: stature, 2-20 years), half-month age grid, per sex.

LMS model (Cole 1990): a height at z-score Z is ``M (1 + L S Z)^(1/L)`` (``M exp(S Z)``
when L = 0), Z ~ N(0, 1).  We use:

* tables: infants below 2 years, 2-20 table from 2 years on (the infant table stops at
  24 months, so "the 2-20 table takes over" there); L, M, S linearly interpolated in age;
  ages outside [0, 20] are an error.
* moments of the LMS distribution by trapezoid quadrature of the normal density over
  Z in [-8, 8] (4001 points; error far below 1e-9 m), quantiles in closed form.
* sex unknown: equal-weight mixture of the male and female distributions.
* group priors (paper recipe): one Gaussian matched to the moments of the equal-weight
  mixture of the per-age distributions (both sexes equally weighted).

Heights are returned in metres.
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Dict, Iterable, NamedTuple, Optional, Sequence, Tuple

import numpy as np

__all__ = ['load_cdc_tables', 'lms_at_age', 'lms_quantile', 'lms_moments', 'cdc_height_prior',
           'mixture_moments', 'group_prior', 'rederive_group_priors', 'PAPER_RECIPE_AGES']

_INFANT_FILE = 'cdc_infants.json'
_CHILD_FILE = 'cdc2-20.json'
# quadrature over Z in [-8, 8] (mass outside ~1e-15): Gauss-Hermite's far nodes would
# leave the LMS formula's domain (1 + L S Z > 0) for some tables, this grid does not
_Z = np.linspace(-8.0, 8.0, 4001)
_ZW = np.exp(-0.5 * _Z ** 2)
_ZW[[0, -1]] *= 0.5                      # trapezoid rule
_ZW /= _ZW.sum()

# ages (years) of the paper's recipe: baby months 0,3,...,36; kid 3..8 and teen 8..15 each year
PAPER_RECIPE_AGES: Dict[str, Tuple[float, ...]] = {
    'baby': tuple(m / 12.0 for m in (0, 3, 6, 9, 12, 18, 24, 30, 36)),
    'kid': tuple(float(a) for a in range(3, 9)),
    'teen': tuple(float(a) for a in range(8, 16)),
}


class LMSTable(NamedTuple):
    age: np.ndarray   # (N,) years, increasing
    L: np.ndarray
    M: np.ndarray     # cm
    S: np.ndarray


def _read_table(filename: str):
    try:
        path = resources.files('rcpchgrowth') / 'data_tables' / filename
        text = path.read_text()
    except ModuleNotFoundError as e:
        raise FileNotFoundError('CDC priors need the PyPI package rcpchgrowth '
                                f'(its data_tables/{filename}); install it') from e
    data = json.loads(text)
    out = {}
    for sex in ('male', 'female'):
        rows = data['measurement']['height'][sex]
        if not rows:
            raise ValueError(f'rcpchgrowth data_tables/{filename}: no height rows for {sex}')
        out[sex] = LMSTable(*(np.array([r[k] for r in rows], dtype=np.float64)
                              for k in ('decimal_age', 'L', 'M', 'S')))
    return out


@functools.lru_cache(maxsize=1)
def load_cdc_tables():
    """{'infant': {sex: LMSTable}, 'child': {sex: LMSTable}} from rcpchgrowth."""
    return {'infant': _read_table(_INFANT_FILE), 'child': _read_table(_CHILD_FILE)}


def lms_at_age(age_years: float, is_male: bool) -> Tuple[float, float, float]:
    """(L, M [cm], S) at an age, linearly interpolated; infants table below 2 years."""
    age = float(age_years)
    tables = load_cdc_tables()
    sex = 'male' if is_male else 'female'
    tab = tables['infant'][sex] if age < tables['child'][sex].age[0] else tables['child'][sex]
    if not (tables['infant'][sex].age[0] <= age <= tables['child'][sex].age[-1]):
        raise ValueError(f'age {age} years is outside the CDC tables '
                         f'[{tables["infant"][sex].age[0]}, {tables["child"][sex].age[-1]}]')
    return tuple(float(np.interp(age, tab.age, col)) for col in (tab.L, tab.M, tab.S))


def _lms_value(L, M, S, z):
    z = np.asarray(z, dtype=np.float64)
    if abs(L) < 1e-12:
        return M * np.exp(S * z)
    return M * np.power(1.0 + L * S * z, 1.0 / L)


def lms_quantile(p, age_years: float, is_male: bool) -> np.ndarray:
    """Height quantile(s) in metres at probability ``p``."""
    from scipy.stats import norm
    L, M, S = lms_at_age(age_years, is_male)
    return _lms_value(L, M, S, norm.ppf(p)) / 100.0


def lms_moments(age_years: float, is_male: bool) -> Tuple[float, float]:
    """(mean, std) in metres of the LMS height distribution at an age and sex."""
    L, M, S = lms_at_age(age_years, is_male)
    if abs(L * S) * _Z[-1] >= 1.0:
        raise ValueError(f'LMS (L={L}, S={S}) at age {age_years} is undefined inside |Z| <= 8')
    x = _lms_value(L, M, S, _Z) / 100.0
    mean = float(_ZW @ x)
    return mean, float(np.sqrt(_ZW @ (x - mean) ** 2))


def mixture_moments(means: Sequence[float], stds: Sequence[float], weights=None) -> Tuple[float, float]:
    """Mean and std of a mixture of distributions given their moments."""
    m = np.asarray(means, np.float64)
    s = np.asarray(stds, np.float64)
    w = np.full(len(m), 1.0 / len(m)) if weights is None else np.asarray(weights, np.float64) / np.sum(weights)
    mean = float(w @ m)
    var = float(w @ (s ** 2 + m ** 2) - mean ** 2)
    return mean, float(np.sqrt(var))


def cdc_height_prior(age_years: float, is_male: Optional[bool] = None) -> Tuple[float, float]:
    """(mu, sigma) in metres for a continuous age; ``is_male=None``: 50/50 sex mixture."""
    if is_male is None:
        mm, ms = lms_moments(age_years, True)
        fm, fs = lms_moments(age_years, False)
        return mixture_moments([mm, fm], [ms, fs])
    return lms_moments(age_years, bool(is_male))


def group_prior(ages_years: Iterable[float]) -> Tuple[float, float]:
    """One Gaussian matched to the equal-weight mixture over ages and both sexes."""
    means, stds = [], []
    for a in ages_years:
        for male in (True, False):
            m, s = lms_moments(a, male)
            means.append(m)
            stds.append(s)
    return mixture_moments(means, stds)


def rederive_group_priors(recipe: Optional[Dict[str, Sequence[float]]] = None) -> Dict[str, Tuple[float, float]]:
    """The paper's minor-group priors re-derived from the CDC tables (default recipe:
    :data:`PAPER_RECIPE_AGES`).  Returns {group: (mu, sigma)} in metres."""
    recipe = PAPER_RECIPE_AGES if recipe is None else recipe
    return {g: group_prior(ages) for g, ages in recipe.items()}
