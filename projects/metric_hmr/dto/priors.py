"""Height priors of DTO (paper Sec. 3.2.2 "Height Prior", supplement 6.4).

Each person gets a Gaussian prior N(mu_i, sigma_i^2) on their height (metres):

* minors by age group (paper table, fitted by the authors to CDC growth charts):
  baby [0,3), kid [3,8), teen [8,15) years;
* adults (>= 15 years) by gender, *hybrid*: mu_i = (h_i_HMR + mu_gender) / 2,
  sigma_i = sigma_gender (the HMR height corrects the population mean a little);
* gender from P(male): with thresholds (female_below, male_above) the person is female
  when p < female_below, male when p > male_above, else neutral adult.  The paper's
  default (0.5, 0.5) is a hard split; the released code uses (0.33, 0.67);
* missing age (NaN) or missing gender (NaN p_male) of an adult -> the fallback prior
  (neutral adult N(1.715, 0.1^2) by default, hybrid like the other adults).

Alternatively ``mode='cdc'`` uses continuous-age CDC priors for minors
(:mod:`metric_hmr.dto.cdc`), with the person's sex when known and a 50/50 mixture otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

__all__ = ['PAPER_GROUP_PRIORS', 'AGE_GROUP_CODES', 'AGE_GROUP_SPLITS', 'age_group_of',
           'age_group_code', 'gender_of', 'HeightPrior', 'height_priors']

# (mu, sigma) in metres, supplement 6.4; 'adult_neutral' is the released code's middle class
PAPER_GROUP_PRIORS: Dict[str, Tuple[float, float]] = {
    'baby': (0.801, 0.126),
    'kid': (1.122, 0.120),
    'teen': (1.477, 0.156),
    'adult_male': (1.784, 0.076),
    'adult_female': (1.647, 0.071),
    'adult_neutral': (1.715, 0.100),
}

# integer codes of Relative Human (docs/ARCHITECTURE.md)
AGE_GROUP_CODES = {'adult': 0, 'teen': 1, 'kid': 2, 'baby': 3}
CODE_TO_GROUP = {v: k for k, v in AGE_GROUP_CODES.items()}
# lower edges in years: baby [0,3), kid [3,8), teen [8,15), adult >= 15
AGE_GROUP_SPLITS = (3.0, 8.0, 15.0)


def age_group_of(age_years) -> List[Optional[str]]:
    """Age group name per person; None where the age is NaN."""
    ages = np.atleast_1d(np.asarray(age_years, dtype=np.float64))
    names = []
    for i, a in enumerate(ages):
        if not np.isfinite(a):
            names.append(None)
        elif a < 0:
            raise ValueError(f'person {i}: negative age {a} years')
        elif a < AGE_GROUP_SPLITS[0]:
            names.append('baby')
        elif a < AGE_GROUP_SPLITS[1]:
            names.append('kid')
        elif a < AGE_GROUP_SPLITS[2]:
            names.append('teen')
        else:
            names.append('adult')
    return names


def age_group_code(age_years) -> np.ndarray:
    """Integer age-group codes (0 adult, 1 teen, 2 kid, 3 baby, -1 unknown)."""
    return np.array([AGE_GROUP_CODES[g] if g else -1 for g in age_group_of(age_years)], np.int64)


def gender_of(p_male, thresholds: Tuple[float, float] = (0.5, 0.5)) -> List[Optional[str]]:
    """'male' / 'female' / 'neutral' per person from P(male); None where p_male is NaN.

    thresholds = (female_below, male_above).  With (0.5, 0.5), p = 0.5 exactly is neutral.
    """
    lo, hi = thresholds
    if not (0.0 <= lo <= hi <= 1.0):
        raise ValueError(f'gender thresholds must satisfy 0 <= lo <= hi <= 1, got {thresholds}')
    out = []
    for p in np.atleast_1d(np.asarray(p_male, dtype=np.float64)):
        if not np.isfinite(p):
            out.append(None)
        elif p < lo:
            out.append('female')
        elif p > hi:
            out.append('male')
        else:
            out.append('neutral')
    return out


@dataclass
class HeightPrior:
    """Per-person prior, arrays (K,), and the name of the rule that produced each."""
    mu: np.ndarray
    sigma: np.ndarray
    source: List[str]
    age_group: np.ndarray     # integer codes, -1 unknown


def height_priors(h_hmr, age_years=None, p_male=None, *, age_group=None, mode: str = 'paper',
                  gender_thresholds: Tuple[float, float] = (0.5, 0.5),
                  adult_hybrid: bool = True, fallback: str = 'adult_neutral',
                  group_priors: Optional[Dict[str, Tuple[float, float]]] = None) -> HeightPrior:
    """Height priors of K persons.

    Args:
        h_hmr: (K,) initial T-pose heights (m), used by the adult hybrid prior.
        age_years: (K,) ages in years, NaN unknown (or None: all unknown).
        p_male: (K,) P(male) in [0,1], NaN unknown (or None).
        age_group: (K,) integer codes (0 adult, 1 teen, 2 kid, 3 baby, -1 unknown); used
            where ``age_years`` is NaN (datasets give groups, not ages).
        mode: 'paper' (group table) or 'cdc' (continuous-age CDC prior for minors).
        gender_thresholds: (female_below, male_above), see :func:`gender_of`.
        adult_hybrid: mu = (h_hmr + mu_gender) / 2 for adults (paper); False: mu_gender.
        fallback: key of ``group_priors`` used for unknown age or unknown adult gender.
        group_priors: table overriding :data:`PAPER_GROUP_PRIORS` entries.
    """
    table = dict(PAPER_GROUP_PRIORS)
    if group_priors:
        table.update({k: tuple(v) for k, v in group_priors.items()})
    if fallback not in table:
        raise ValueError(f'fallback prior {fallback!r} not in the prior table {sorted(table)}')
    if mode not in ('paper', 'cdc'):
        raise ValueError(f"prior mode must be 'paper' or 'cdc', got {mode!r}")
    h_hmr = np.atleast_1d(np.asarray(h_hmr, dtype=np.float64))
    K = len(h_hmr)
    ages = np.full(K, np.nan) if age_years is None else np.atleast_1d(np.asarray(age_years, np.float64))
    pm = np.full(K, np.nan) if p_male is None else np.atleast_1d(np.asarray(p_male, np.float64))
    codes_in = (np.full(K, -1) if age_group is None
                else np.atleast_1d(np.asarray(age_group)).astype(np.int64))
    if not (len(ages) == len(pm) == len(codes_in) == K):
        raise ValueError(f'h_hmr, age_years, p_male, age_group must all have K={K} entries')
    groups = age_group_of(ages)
    genders = gender_of(pm, gender_thresholds)
    mu = np.empty(K)
    sigma = np.empty(K)
    source, codes = [], np.full(K, -1)
    for i in range(K):
        g = groups[i]
        if g is None and codes_in[i] in CODE_TO_GROUP:
            g = CODE_TO_GROUP[int(codes_in[i])]
        if g is None:
            key = fallback
            src = f'fallback:{fallback}'
        elif g == 'adult':
            key = 'adult_neutral' if genders[i] in (None, 'neutral') else f'adult_{genders[i]}'
            if genders[i] is None:
                key = fallback
            src = key
        else:
            key = g
            src = g
        codes[i] = AGE_GROUP_CODES.get(g, -1) if g else -1
        if mode == 'cdc' and g in ('baby', 'kid', 'teen') and np.isfinite(ages[i]):
            from .cdc import cdc_height_prior  # lazy: needs rcpchgrowth's tables
            m, s = cdc_height_prior(ages[i], None if genders[i] in (None, 'neutral')
                                    else genders[i] == 'male')
            mu[i], sigma[i] = m, s
            source.append(f'cdc:{ages[i]:.2f}y')
            continue
        m, s = table[key]
        if key.startswith('adult') and adult_hybrid:
            m = 0.5 * (h_hmr[i] + m)
            src += '+hybrid'
        mu[i], sigma[i] = m, s
        source.append(src)
    return HeightPrior(mu=mu, sigma=sigma, source=source, age_group=codes)
