"""Per-person colours and labels (corrected height, depth, age group, posterior std).

Pure helpers shared by the overlay, the bird's-eye/side views, the exporters and the
HTML report, so a person has the same colour and the same label text everywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..conventions import AgeGroup
from ..conventions import age_group_from_years as _codes_from_years

# Distinct, saturated colours (RGB 0-255) that stay readable on photos and on white.
PALETTE = np.array([
    [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180],
    [70, 240, 240], [240, 50, 230], [210, 245, 60], [0, 128, 128], [170, 110, 40],
    [128, 0, 0], [0, 0, 128],
], dtype=np.uint8)

# Age groups (metric_hmr.conventions.AgeGroup): integer codes of Relative Human and names.
AGE_GROUP_NAMES = {int(g): g.label for g in AgeGroup if g != AgeGroup.UNKNOWN}
AGE_GROUP_CODES = {v: k for k, v in AGE_GROUP_NAMES.items()}


def person_color(k: int) -> np.ndarray:
    """RGB uint8 (3,) colour of person ``k`` (cycles through :data:`PALETTE`)."""
    return PALETTE[int(k) % len(PALETTE)]


def person_colors(n: int) -> np.ndarray:
    """(n, 3) uint8 colours of persons ``0..n-1``."""
    return np.stack([person_color(k) for k in range(n)]) if n else np.zeros((0, 3), np.uint8)


def age_group_code(value: Any) -> int:
    """Age group as integer code (0 adult, 1 teen, 2 kid, 3 baby, -1 unknown).

    Accepts a code, a name ('kid'), or None/NaN.
    """
    if value is None:
        return -1
    if isinstance(value, str):
        name = value.strip().lower()
        if name in ('', 'unknown', 'none'):
            return -1
        if name not in AGE_GROUP_CODES:
            raise ValueError(f'unknown age group {value!r} (expected one of {sorted(AGE_GROUP_CODES)})')
        return int(AgeGroup.from_label(name))
    v = float(value)
    if not math.isfinite(v) or int(v) not in (-1, 0, 1, 2, 3):
        return -1
    return int(v)


def age_group_name(value: Any) -> str:
    """Age group name ('adult', 'teen', 'kid', 'baby') or 'unknown'."""
    return AGE_GROUP_NAMES.get(age_group_code(value), 'unknown')


def age_group_from_years(age: Any) -> int:
    """Integer age group code of one age in years (``conventions.age_group_from_years``)."""
    return int(_codes_from_years(float(age))[0])


@dataclass
class PersonLabel:
    """What is written next to a person; None fields are left out of the text."""
    index: int
    height: Optional[float] = None      # corrected (or current) T-pose height, metres
    depth: Optional[float] = None       # camera-space z of the translation, metres
    age_group: int = -1                 # integer code, -1 unknown
    std: Optional[float] = None         # posterior std of the height (metres)

    def text(self) -> str:
        """One-line label, e.g. ``#0 1.74m±0.05 z4.3m adult``."""
        parts = [f'#{self.index}']
        if self.height is not None:
            h = f'{self.height:.2f}m'
            if self.std is not None:
                h += f'\u00b1{self.std:.2f}'
            parts.append(h)
        if self.depth is not None:
            parts.append(f'z{self.depth:.1f}m')
        if self.age_group >= 0:
            parts.append(AGE_GROUP_NAMES[self.age_group])
        return ' '.join(parts)

    def ascii_text(self) -> str:
        """:meth:`text` with '+-' instead of '±' (for OpenCV's Hershey fonts)."""
        return self.text().replace('\u00b1', '+-')


def _finite_or_none(x: Any) -> Optional[float]:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _per_person(values: Any, n: int, name: str) -> Optional[np.ndarray]:
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise ValueError(f'{name} must have one value per person ({n}), got shape {arr.shape}')
    return arr


def person_labels(pred: Mapping[str, Any], dto: Optional[Mapping[str, Any]] = None) -> list:
    """Build one :class:`PersonLabel` per person of a prediction dict.

    Sources, first found wins (docs/visualization.md):
      height: ``pred['height']``, ``dto['h_star']``;  depth: ``pred['transl'][:, 2]``;
      age group: ``pred['age_group']`` (codes or names), ``pred['age']`` (years);
      std: ``pred['std']``, ``dto['std_h']``.
    """
    transl = np.asarray(pred['transl'], dtype=np.float64).reshape(-1, 3)
    n = len(transl)
    dto = dto or {}
    height = _per_person(pred.get('height', dto.get('h_star')), n, 'height')
    std = _per_person(pred.get('std', dto.get('std_h')), n, 'std')
    groups = _per_person(pred.get('age_group'), n, 'age_group')
    ages = _per_person(pred.get('age'), n, 'age')
    labels = []
    for k in range(n):
        if groups is not None:
            g = age_group_code(groups[k])
        elif ages is not None:
            g = age_group_from_years(ages[k])
        else:
            g = -1
        labels.append(PersonLabel(
            index=k,
            height=None if height is None else _finite_or_none(height[k]),
            depth=_finite_or_none(transl[k, 2]),
            age_group=g,
            std=None if std is None else _finite_or_none(std[k])))
    return labels


def contrast_text_color(rgb: Sequence[int]) -> tuple:
    """Black or white, whichever reads better on ``rgb``."""
    r, g, b = (float(c) for c in rgb[:3])
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255)
