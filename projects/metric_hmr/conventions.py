"""One home for the domain conventions shared by DTO, datasets, metrics and reports.

* Age groups (:class:`AgeGroup`): Relative Human's integer codes, 0 adult, 1 teen, 2 kid,
  3 baby, -1 unknown; from years with the released code's splits baby [0,3), kid [3,8),
  teen [8,15), adult >= 15.
* Minors: age < :data:`MINOR_AGE` = 15 years (the released code's kid-template rule).
* Adult height priors by sex (paper supplement 6.4) and the neutral adult of the released code.
* Gender from P(male): thresholds (female_below, male_above).
* Body-shape widths: :func:`adapt_betas` between 10-D SMPL and 11-D SMPL-A (last value is the
  kid-template "age blend").

Framework-free: numpy only.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = ['AgeGroup', 'AGE_GROUP_SPLITS', 'MINOR_AGE', 'ADULT_PRIORS', 'NEUTRAL_ADULT_PRIOR',
           'age_group_from_years', 'age_group_name', 'is_minor', 'gender_from_p_male',
           'adapt_betas']


class AgeGroup(IntEnum):
    """Relative Human age-group codes (``int(AgeGroup.KID) == 2``)."""
    UNKNOWN = -1
    ADULT = 0
    TEEN = 1
    KID = 2
    BABY = 3

    @property
    def label(self) -> str:
        """Lower-case name ('adult', 'teen', 'kid', 'baby', 'unknown')."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> 'AgeGroup':
        try:
            return cls[str(label).upper()]
        except KeyError:
            raise ValueError(f'unknown age group {label!r}; known: '
                             f'{[g.label for g in cls]}') from None


# lower edges in years of kid, teen, adult: baby [0,3), kid [3,8), teen [8,15), adult >= 15
AGE_GROUP_SPLITS: Tuple[float, float, float] = (3.0, 8.0, 15.0)
MINOR_AGE = 15.0

# (mu, sigma) metres, paper supplement 6.4; the neutral adult is the released code's middle class
ADULT_PRIORS: Dict[str, Tuple[float, float]] = {'male': (1.784, 0.076), 'female': (1.647, 0.071)}
NEUTRAL_ADULT_PRIOR: Tuple[float, float] = (1.715, 0.100)


def age_group_from_years(age_years) -> np.ndarray:
    """(K,) ages in years -> (K,) int64 :class:`AgeGroup` codes; NaN -> -1.

    Raises ValueError naming the person for a negative age.
    """
    a = np.atleast_1d(np.asarray(age_years, dtype=np.float64))
    neg = np.flatnonzero(a < 0)
    if neg.size:
        raise ValueError(f'person {int(neg[0])}: negative age {a[neg[0]]} years')
    b, k, t = AGE_GROUP_SPLITS
    codes = np.where(a < b, AgeGroup.BABY, np.where(a < k, AgeGroup.KID,
                     np.where(a < t, AgeGroup.TEEN, AgeGroup.ADULT)))
    return np.where(np.isfinite(a), codes, AgeGroup.UNKNOWN).astype(np.int64)


def age_group_name(code) -> str:
    """Name of one code ('adult', ..., 'unknown' for -1 or anything else)."""
    try:
        return AgeGroup(int(code)).label
    except (ValueError, TypeError):
        return AgeGroup.UNKNOWN.label


def is_minor(age_years, unknown: bool = False) -> np.ndarray:
    """(K,) bool: age < 15 years; NaN ages give ``unknown``."""
    a = np.atleast_1d(np.asarray(age_years, dtype=np.float64))
    return np.where(np.isfinite(a), a < MINOR_AGE, unknown)


def gender_from_p_male(p_male, thresholds: Tuple[float, float] = (0.5, 0.5)
                       ) -> Sequence[Optional[str]]:
    """'male' / 'female' / 'neutral' per person from P(male); None where p_male is NaN.

    thresholds = (female_below, male_above): female when p < female_below, male when
    p > male_above, else neutral.  The paper's (0.5, 0.5) is a hard split (p = 0.5 is
    neutral); the released code uses (0.33, 0.67).
    """
    lo, hi = thresholds
    if not (0.0 <= lo <= hi <= 1.0):
        raise ValueError(f'gender thresholds must satisfy 0 <= lo <= hi <= 1, got {thresholds}')
    p = np.atleast_1d(np.asarray(p_male, dtype=np.float64))
    bad = np.flatnonzero(np.isfinite(p) & ((p < 0) | (p > 1)))
    if bad.size:
        raise ValueError(f'person {int(bad[0])}: p_male must be in [0, 1], got {p[bad[0]]}')
    return [None if not np.isfinite(x) else 'female' if x < lo else 'male' if x > hi
            else 'neutral' for x in p]


def adapt_betas(betas, n: int, *, age_blend=None, context: str = '', atol: float = 0.0,
                widths: Optional[Sequence[int]] = None) -> np.ndarray:
    """(..., 10|11) -> (..., n) float64 for a body model taking ``n`` shape values.

    Widening appends zeros (for 10 -> 11 the age blend, default 0 = adult; ``age_blend``
    (...,) sets it).  Narrowing drops trailing values only when they are all zero (``|x| <=
    atol``; the evaluator allows 1e-8 of numerical noise): a non-zero age blend cannot be
    represented without a kid template, so it is a ValueError naming the person (and
    ``context``, e.g. the image id).  ``widths`` (e.g. ``(10, 11)``): the input sizes
    accepted; any other is a ValueError (None: any size).
    """
    b = np.asarray(betas, dtype=np.float64)
    m = b.shape[-1]
    if widths is not None and m not in widths:
        where = f'{context}: ' if context else ''
        raise ValueError(f'{where}betas must have {" or ".join(map(str, widths))} values, got shape {b.shape}')
    if m == n:
        return b
    if m < n:
        pad = np.zeros(b.shape[:-1] + (n - m,))
        if age_blend is not None and n - m >= 1 and m == 10:
            pad[..., 0] = np.asarray(age_blend, np.float64).reshape(b.shape[:-1])
        return np.concatenate([b, pad], axis=-1)
    extra = b[..., n:].reshape(-1, m - n)
    nz = np.flatnonzero(np.any(~(np.abs(extra) <= atol), axis=1))   # NaN counts as non-zero
    if nz.size:
        where = f'{context}, ' if context else ''
        raise ValueError(f'{where}person {int(nz[0])}: shape has {m} values with a non-zero '
                         f'age blend, but the body model takes {n}; configure a kid template '
                         '(SMPL-A)')
    return b[..., :n]
