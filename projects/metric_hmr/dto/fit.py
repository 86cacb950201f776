"""The closed-form DTO fit of one group of persons of one image (paper Eq. 3).

:func:`metric_hmr.dto.solver.solve_dto_batch` solves padded batches of images; DTO on one
image solves one batch row per group of persons (all usable persons, or the near / far
groups of the released code).  :class:`FitProblem` holds what every group of the image
shares, :class:`GroupFit` the solution of one group.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .solver import solve_dto_batch

__all__ = ['FitProblem', 'GroupFit', 'solve_persons', 'solve_group', 'corrected_heights',
           'mean_deviation']


@dataclass(frozen=True)
class FitProblem:
    """Per-person inputs (K,) of the fit of one image and its bounds on s_d."""
    h: np.ndarray           # T-pose heights h_i (m)
    z: np.ndarray           # initial depths z_i (m)
    d: np.ndarray           # relative depths d_i
    mu: np.ndarray          # prior means (m)
    sigma: np.ndarray       # prior stds (m)
    x_min: float
    x_max: float
    X_singular: float       # s_d used when the normal equations are singular


@dataclass(frozen=True)
class GroupFit:
    """(s_d, t_d) of one group of persons ``sel`` and the posterior std of their z_i*."""
    s: float
    t: float
    active: int             # 0 none, -1 lower, +1 upper bound active
    singular: bool
    std_z: np.ndarray       # (n,) for the persons sel
    sel: np.ndarray         # (n,) person indices


def solve_persons(sel, h, z, d, mu, sigma, x_min, x_max, X_singular) -> GroupFit:
    """Closed-form fit over the persons ``sel`` of one image (one row of the batch solver)."""
    sel = np.asarray(sel, dtype=np.int64)
    sol = solve_dto_batch(h[None, sel], z[None, sel], d[None, sel], mu[None, sel], sigma[None, sel],
                          np.array([x_min]), np.array([x_max]), X=np.array([X_singular]))
    return GroupFit(float(sol.s_d[0]), float(sol.t_d[0]), int(sol.active[0]), bool(sol.singular[0]),
                    sol.std_z[0], sel)


def solve_group(problem: FitProblem, sel, d: Optional[np.ndarray] = None) -> GroupFit:
    """:func:`solve_persons` on ``problem`` (``d`` replaces the problem's d_i if given)."""
    p = problem
    return solve_persons(sel, p.h, p.z, p.d if d is None else d, p.mu, p.sigma,
                         p.x_min, p.x_max, p.X_singular)


def corrected_heights(problem: FitProblem, fit: GroupFit, d: np.ndarray) -> np.ndarray:
    """h_i* = h_i (s_d d_i + t_d) / z_i for the persons of ``fit``."""
    sel = fit.sel
    return problem.h[sel] * (fit.s * d[sel] + fit.t) / problem.z[sel]


def mean_deviation(problem: FitProblem, fit: GroupFit, d: np.ndarray) -> float:
    """mean_i |h_i* - mu_i| / sigma_i over the persons of ``fit``."""
    sel = fit.sel
    return np.mean(np.abs(corrected_heights(problem, fit, d) - problem.mu[sel]) / problem.sigma[sel])
