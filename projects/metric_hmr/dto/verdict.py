"""Image verdict of DTO-Humans (paper Sec. 3.2.4).

Standardized residual r_i = |h_i* - mu_i| / sigma_i for every optimized person; the image
is rejected when mean(r_i) exceeds the threshold (1.5).  The released code also counts
persons skipped inside the image with a fixed deviation (3): ``skipped_penalty``.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = ['Verdict', 'standardized_residuals', 'image_verdict']


class Verdict(NamedTuple):
    residual: np.ndarray    # (K,) standardized residual, NaN for persons not optimized
    image_score: float      # mean residual (with penalties), NaN if nothing to score
    kept: bool
    reason: str             # '' when kept, else why the image is rejected


def standardized_residuals(h_star, mu, sigma) -> np.ndarray:
    """r_i = |h_i* - mu_i| / sigma_i, shapes (K,)."""
    return np.abs(np.asarray(h_star, np.float64) - np.asarray(mu, np.float64)) / np.asarray(sigma, np.float64)


def image_verdict(h_star, mu, sigma, used, threshold: float = 1.5,
                  skipped_penalty: Optional[float] = None, skipped=None) -> Verdict:
    """Verdict of one image.

    Args:
        used: (K,) bool, persons that entered the optimization.
        skipped: (K,) bool, persons skipped inside the image (counted with
            ``skipped_penalty`` when it is not None).
    """
    used = np.asarray(used, dtype=bool)
    r = np.where(used, standardized_residuals(h_star, mu, sigma), np.nan)
    vals = list(r[used])
    if skipped_penalty is not None and skipped is not None:
        vals += [float(skipped_penalty)] * int(np.asarray(skipped, bool).sum())
    if not vals:
        return Verdict(r, float('nan'), False, 'no optimized person')
    score = float(np.mean(vals))
    if score > threshold:
        return Verdict(r, score, False, f'mean standardized residual {score:.3f} > {threshold}')
    return Verdict(r, score, True, '')
