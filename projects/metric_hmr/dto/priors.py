"""Height priors of DTO (paper Sec. 3.2.2 "Height Prior", supplement 6.4).

Each person gets a Gaussian prior N(mu_i, sigma_i^2) on their height (metres):

* minors by age group (paper table, fitted by the authors to CDC growth charts):
  baby [0,3), kid [3,8), teen [8,15) years;
* adults (>= 15 years) by gender, *hybrid*: mu_i = (h_i_HMR + mu_gender) / 2,
  sigma_i = sigma_gender (the HMR height corrects the population mean a little);
* gender from P(male): with thresholds (female_below, male_above) the person is female
  when p < female_below, male when p > male_above, else neutral adult.  The paper's
  default (0.5, 0.5) is a hard split; the released code uses (0.33, 0.67);
* missing gender (NaN p_male) of an adult, or missing age and gender -> the fallback prior
  (neutral adult N(1.715, 0.1^2) by default, hybrid like the other adults); missing age
  with a known male / female gender -> that adult prior (issue 12, finding 2);
* ``gender_prior=False`` (Table 8's D'): every adult gets N(h_i_HMR, 0.073^2).

Alternatively ``mode='cdc'`` uses continuous-age CDC priors for minors
(:mod:`metric_hmr.dto.cdc`), with the person's sex when known and a 50/50 mixture otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..conventions import (ADULT_PRIORS, AGE_GROUP_SPLITS, NEUTRAL_ADULT_PRIOR, AgeGroup,
                           age_group_from_years, gender_from_p_male)
from .config import PriorConfig

__all__ = ['PAPER_GROUP_PRIORS', 'AGE_GROUP_SPLITS', 'AGNOSTIC_ADULT_SIGMA', 'age_group_code',
           'gender_of', 'HeightPrior', 'height_priors']

AGNOSTIC_ADULT_SIGMA = 0.073   # m, Table 8's gender-agnostic adult prior D' (released dto.py 311)

# (mu, sigma) in metres, supplement 6.4; the adults come from metric_hmr.conventions
PAPER_GROUP_PRIORS: Dict[str, Tuple[float, float]] = {
    'baby': (0.801, 0.126),
    'kid': (1.122, 0.120),
    'teen': (1.477, 0.156),
    'adult_male': ADULT_PRIORS['male'],
    'adult_female': ADULT_PRIORS['female'],
    'adult_neutral': NEUTRAL_ADULT_PRIOR,
}
_MINORS = (AgeGroup.BABY, AgeGroup.KID, AgeGroup.TEEN)

# Deprecated names (one release): the conventions module owns these rules.
age_group_code = age_group_from_years
gender_of = gender_from_p_male


@dataclass
class HeightPrior:
    """Per-person prior, arrays (K,), and the name of the rule that produced each."""
    mu: np.ndarray
    sigma: np.ndarray
    source: List[str]
    age_group: np.ndarray     # integer AgeGroup codes, -1 unknown


def _as_k(x, K: int, fill, dtype) -> np.ndarray:
    return np.full(K, fill, dtype) if x is None else np.atleast_1d(np.asarray(x)).astype(dtype)


def person_age_groups(ages: np.ndarray, given: np.ndarray) -> np.ndarray:
    """(K,) AgeGroup codes: from the age in years, else the given code (datasets give
    groups, not ages), else -1."""
    codes = age_group_from_years(ages)
    given_ok = np.isin(given, [int(g) for g in AgeGroup if g != AgeGroup.UNKNOWN])
    return np.where((codes == AgeGroup.UNKNOWN) & given_ok, given, codes).astype(np.int64)


def _table_key(code: int, gender: Optional[str], fallback: str) -> Tuple[str, str]:
    """(key of the prior table, source label) of one person.

    Unknown age with a known male / female gender takes that adult prior (as the released
    code does without an age prior, dto.py 446-452); unknown both -> the fallback."""
    if code == AgeGroup.UNKNOWN:
        if gender in ('male', 'female'):
            return f'adult_{gender}', f'age_unknown:adult_{gender}'
        return fallback, f'fallback:{fallback}'
    if code == AgeGroup.ADULT:
        if gender is None:
            return fallback, fallback
        key = 'adult_neutral' if gender == 'neutral' else f'adult_{gender}'
        return key, key
    label = AgeGroup(code).label
    return label, label


def height_priors(h_hmr, age_years=None, p_male=None, *, age_group=None,
                  config: Optional[PriorConfig] = None) -> HeightPrior:
    """Height priors of K persons.

    Args:
        h_hmr: (K,) initial T-pose heights (m), used by the adult hybrid prior.
        age_years: (K,) ages in years, NaN unknown (or None: all unknown).
        p_male: (K,) P(male) in [0,1], NaN unknown (or None).
        age_group: (K,) :class:`~metric_hmr.conventions.AgeGroup` codes, -1 unknown; used
            where ``age_years`` is NaN.
        config: :class:`~metric_hmr.dto.config.PriorConfig` (mode, gender thresholds,
            adult hybrid, fallback prior, table overrides); default: paper.
    """
    cfg = config if config is not None else PriorConfig()
    # 1. the prior table with the configured overrides
    table = dict(PAPER_GROUP_PRIORS)
    if cfg.group_priors:
        table.update({k: tuple(v) for k, v in cfg.group_priors.items()})
    # 2. per-person demographics: age group code and gender
    h_hmr = np.atleast_1d(np.asarray(h_hmr, dtype=np.float64))
    K = len(h_hmr)
    ages = _as_k(age_years, K, np.nan, np.float64)
    pm = _as_k(p_male, K, np.nan, np.float64)
    given = _as_k(age_group, K, -1, np.int64)
    if not (len(ages) == len(pm) == len(given) == K):
        raise ValueError(f'h_hmr, age_years, p_male, age_group must all have K={K} entries')
    codes = person_age_groups(ages, given)
    genders = gender_from_p_male(pm, cfg.gender_thresholds)
    # 3. one prior per person: CDC for minors of known age (mode 'cdc'), else the table
    mu, sigma, source = np.empty(K), np.empty(K), []
    for i in range(K):
        if cfg.prior_mode == 'cdc' and codes[i] in _MINORS and np.isfinite(ages[i]):
            from .cdc import cdc_height_prior  # lazy: needs rcpchgrowth's tables
            male = None if genders[i] in (None, 'neutral') else genders[i] == 'male'
            mu[i], sigma[i] = cdc_height_prior(ages[i], male)
            source.append(f'cdc:{ages[i]:.2f}y')
            continue
        key, src = _table_key(int(codes[i]), genders[i], cfg.fallback_prior)
        m, sigma[i] = table[key]
        if key.startswith('adult') and not cfg.gender_prior:
            # Table 8's D': gender-agnostic adults N(h_HMR, 0.073^2) (released dto.py 307-312)
            mu[i], sigma[i] = h_hmr[i], AGNOSTIC_ADULT_SIGMA
            source.append('adult_agnostic')
            continue
        if key.startswith('adult') and cfg.adult_hybrid:
            m = 0.5 * (h_hmr[i] + m)          # hybrid: the HMR height corrects the mean a little
            src += '+hybrid'
        mu[i] = m
        source.append(src)
    return HeightPrior(mu=mu, sigma=sigma, source=source, age_group=codes)
