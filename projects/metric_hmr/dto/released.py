"""Behaviour of the authors' released code that the paper does not describe.

Each variant is off by default (:class:`~metric_hmr.dto.config.DTOConfig`) and switched on
by ``DTOConfig.released()`` (method.md, 'Released-code behaviour'):

* person filters: too small a mask (``min_mask_area_frac`` of H*W) or too few visible
  vertices (``min_visible_vertices``) -> the person is skipped;
* near / far split (``near_far``): persons whose 2 m height would project smaller than
  ``far_size_frac`` of the short image side (or with d_i > ``far_rel_depth``) are fitted
  as a second group, kept behind the near group;
* greedy rejection (``max_height``): while a corrected height exceeds 2.1 m, drop the
  person with the largest standardized deviation and refit;
* feet fit (``feet_fit``): a second fit with d_i from the bottom ``feet_frac`` of each
  person's pixel rows, kept when its mean deviation from the priors is smaller.

:func:`metric_hmr.dto.dto.run_dto` calls these; the paper path never does.
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .config import DTOConfig
from .fit import FitProblem, GroupFit, corrected_heights, mean_deviation, solve_group

__all__ = ['person_filters', 'split_near_far', 'reject_too_tall', 'feet_depths', 'try_feet_fit',
           'keep_far_behind_near', 'rejection_reason']


def person_filters(reasons: Sequence[str], cfg: DTOConfig, masks: Optional[np.ndarray],
                   n_pixels: np.ndarray, n_visible: np.ndarray, raster_scale: float,
                   image_hw: Tuple[int, int]) -> List[str]:
    """``reasons`` with the released-code skips added (a person keeps its first reason).

    Mask area is the person mask when given, else the rendered pixels in image pixels.
    """
    out = list(reasons)
    K = len(out)
    H, W = image_hw
    if cfg.min_mask_area_frac is not None:
        area = (np.asarray(masks).reshape(K, -1).sum(1) if masks is not None
                else n_pixels / raster_scale ** 2)
        for i in np.nonzero(area < cfg.min_mask_area_frac * H * W)[0]:
            out[i] = out[i] or f'mask_area<{cfg.min_mask_area_frac:.4g}*H*W'
    if cfg.min_visible_vertices is not None:
        for i in np.nonzero(n_visible < cfg.min_visible_vertices)[0]:
            out[i] = out[i] or f'visible_vertices<{cfg.min_visible_vertices}'
    return out


def _focal_y(focal) -> float:
    return float(np.broadcast_to(np.asarray(focal, dtype=np.float64), (2,))[1])


def split_near_far(idx: np.ndarray, problem: FitProblem, focal, image_hw: Tuple[int, int],
                   cfg: DTOConfig) -> List[np.ndarray]:
    """Groups of person indices: ``[idx]``, or ``[near, far]`` when both have >= 2 persons."""
    H, W = image_hw
    far = 2.0 * _focal_y(focal) / problem.z[idx] < cfg.far_size_frac * min(H, W)
    if cfg.far_rel_depth is not None:
        far |= problem.d[idx] > cfg.far_rel_depth
    near_idx, far_idx = idx[~far], idx[far]
    if len(near_idx) >= 2 and len(far_idx) >= 2:
        return [near_idx, far_idx]
    return [idx]


def rejection_reason(cfg: DTOConfig) -> str:
    return f'rejected: corrected height > {cfg.max_height} m'


def reject_too_tall(problem: FitProblem, sel: np.ndarray, cfg: DTOConfig
                    ) -> Tuple[GroupFit, List[int]]:
    """Fit ``sel``; while a corrected height exceeds ``cfg.max_height`` (and more than two
    persons remain, at most ``max_reject_rounds`` times) drop the person with the largest
    standardized deviation and refit.  Returns the last fit and the dropped persons."""
    sel = np.asarray(sel, np.int64)
    rejected: List[int] = []
    while True:
        fit = solve_group(problem, sel)
        hs = corrected_heights(problem, fit, problem.d)
        if (cfg.max_height is None or len(rejected) >= cfg.max_reject_rounds or len(sel) <= 2
                or not np.any(hs > cfg.max_height)):
            return fit, rejected
        worst = int(np.argmax(np.abs(hs - problem.mu[sel]) / problem.sigma[sel]))
        rejected.append(int(sel[worst]))
        sel = np.delete(sel, worst)


def feet_depths(d: np.ndarray, sel: np.ndarray, pixel_samples: list, feet_frac: float) -> np.ndarray:
    """d_i replaced, for the persons ``sel`` with pixel samples, by the mean relative depth
    of their bottom ``feet_frac`` pixel rows (where they stand on the ground)."""
    d_feet = d.copy()
    for i in sel:
        smp = pixel_samples[i]
        if smp is not None and len(smp[0]):
            rows, relp, _ = smp
            low = rows >= np.quantile(rows, 1.0 - feet_frac)
            d_feet[i] = relp[low].mean()
    return d_feet


def try_feet_fit(problem: FitProblem, fit: GroupFit, pixel_samples: list, cfg: DTOConfig
                 ) -> Tuple[GroupFit, np.ndarray, bool]:
    """(fit, d_i used, whether the feet fit won) for the persons of ``fit``."""
    d_feet = feet_depths(problem.d, fit.sel, pixel_samples, cfg.feet_frac)
    fit_f = solve_group(problem, fit.sel, d=d_feet)
    if mean_deviation(problem, fit_f, d_feet) < mean_deviation(problem, fit, problem.d):
        return fit_f, d_feet, True
    return fit, problem.d, False


def keep_far_behind_near(z_star: np.ndarray, near: GroupFit, far: GroupFit
                         ) -> Tuple[np.ndarray, GroupFit, bool]:
    """Raise the far group's shift t_d so that it starts behind the near group's last person.

    Returns the new z* (copy), the new far fit and whether the shift was raised.
    """
    near_max = z_star[near.sel].max()
    far_min = z_star[far.sel].min()
    if far_min >= near_max:
        return z_star, far, False
    z_new = z_star.copy()
    z_new[far.sel] += near_max - far_min
    return z_new, dataclasses.replace(far, t=far.t + (near_max - far_min)), True
