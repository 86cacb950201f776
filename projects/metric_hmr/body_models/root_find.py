"""Batched, bracketed 1-D root finding used by the body-shape height refit.

DTO (paper Eq. 1-3, ``docs/method.md`` §1) ends by changing each person's body shape so
that its T-pose height equals the corrected height ``h_i z_i* / z_i``.  Along one shape
direction ``t`` the T-pose height ``h(t)`` is a continuous scalar function, so the refit
is a root find of ``h(t) - target`` on a bounded interval ``[lo, hi]``.

The function here is generic (it only calls ``fn``) and batched over persons:

1. *grid scan*: evaluate ``h`` on ``n_grid`` points of ``[lo, hi]``; every sign change of
   ``h - target`` brackets a root.  The bracket closest to the start value is used, so
   the shape changes as little as possible.
2. *bracketed refinement*: Illinois false position (superlinear; exact in one step on a
   linear piece) with a bisection step every ``bisect_every`` iterations, which
   guarantees the bracket shrinks.  Only persons not yet within ``tol`` are evaluated.
3. no sign change: the target is outside the reachable range; the grid point closest to
   the target is returned with ``reached=False`` (the caller flags it), refined with a
   golden-section search on ``|h - target|`` when it is not at a bound.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch

__all__ = ['RootResult', 'find_root_bracketed']

# fn(t, rows): parameters t (B', n) of the persons ``rows`` (B',) -> values (B', n)
HeightFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class RootResult(NamedTuple):
    """Per-person outcome of :func:`find_root_bracketed` (all (B,) tensors).

    Attributes:
        t: the parameter value found.
        value: ``fn(t)``.
        reached: ``|value - target| <= tol``.
        below: True when no root exists and the target is below every reachable value.
        above: True when no root exists and the target is above every reachable value.
    """
    t: torch.Tensor
    value: torch.Tensor
    reached: torch.Tensor
    below: torch.Tensor
    above: torch.Tensor


def _eval(fn: HeightFn, t: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Evaluate ``fn`` on (B', n) parameters of persons ``rows`` and check the shape."""
    out = fn(t, rows)
    if out.shape != t.shape:
        raise ValueError(f'height function returned shape {tuple(out.shape)} for '
                         f'parameters of shape {tuple(t.shape)}')
    return out


def find_root_bracketed(fn: HeightFn, target: torch.Tensor, lo: torch.Tensor,
                        hi: torch.Tensor, start: torch.Tensor, tol: float = 1e-4,
                        n_grid: int = 17, max_iter: int = 60,
                        bisect_every: int = 4) -> RootResult:
    """Solve ``fn(t) = target`` per person on ``t in [lo, hi]``.

    Args:
        fn: ``fn(t, rows)`` maps parameters t (B', n) of the persons ``rows`` (B',) long
            to values (B', n); only persons still being solved are evaluated.
        target: (B,) target values.
        lo, hi: (B,) interval bounds (lo < hi).
        start: (B,) current parameter; among several roots the one whose grid bracket is
            closest to ``start`` is returned.
        tol: absolute tolerance on ``|fn(t) - target|``.
        n_grid: number of grid points of the initial scan (>= 2).
        max_iter: refinement iterations (each costs one ``fn`` call on the active persons).
        bisect_every: every k-th iteration is a bisection step (guaranteed shrink).

    Returns:
        :class:`RootResult`.
    """
    if n_grid < 2:
        raise ValueError(f'n_grid must be >= 2, got {n_grid}')
    B = target.shape[0]
    device = target.device
    if B == 0:
        empty = torch.zeros(0, dtype=torch.bool, device=device)
        return RootResult(t=lo.clone(), value=target.clone(), reached=empty, below=empty,
                          above=empty)
    if bool((hi <= lo).any()):
        raise ValueError('find_root_bracketed: every bound needs lo < hi')
    rows = torch.arange(B, device=device)
    # 1. grid scan: the sign change closest to ``start``, and the better end of it
    grid, res, bracketed, (a, b, fa, fb) = _grid_scan(fn, target, lo, hi, start, n_grid, rows)
    use_a = fa.abs() <= fb.abs()
    t_best = torch.where(use_a, a, b)
    f_best = torch.where(use_a, fa, fb)
    # 2. Illinois false position + periodic bisection, on the unsolved bracketed persons
    t_best, f_best = _refine_brackets(fn, target, (a, b, fa, fb), bracketed, t_best, f_best,
                                      rows, tol, max_iter, bisect_every)
    # 3. unbracketed persons: the closest grid value, refined where the function turns
    if bool((~bracketed).any()):
        t_best, f_best = _closest_unbracketed(fn, target, grid, res, bracketed, t_best, f_best, rows)

    below = ~bracketed & (f_best > 0)
    above = ~bracketed & (f_best < 0)
    return RootResult(t=t_best, value=f_best + target, reached=f_best.abs() <= tol,
                      below=below, above=above)


def _grid_scan(fn: HeightFn, target, lo, hi, start, n_grid: int, rows):
    """Grid of n points on [lo, hi], residuals, which persons have a sign change, and the
    bracket (a, b, fa, fb) closest to ``start`` (arbitrary where none)."""
    dtype, device = target.dtype, target.device
    frac = torch.linspace(0, 1, n_grid, dtype=dtype, device=device)
    grid = lo[:, None] + (hi - lo)[:, None] * frac[None]              # (B, n)
    res = _eval(fn, grid, rows) - target[:, None]                      # (B, n)
    change = (res[:, :-1] * res[:, 1:]) <= 0                            # (B, n-1)
    mid = 0.5 * (grid[:, :-1] + grid[:, 1:])
    dist = torch.where(change, (mid - start[:, None]).abs(),
                       torch.full_like(mid, float('inf')))
    k = dist.argmin(dim=1)
    bracket = (grid[rows, k], grid[rows, k + 1], res[rows, k], res[rows, k + 1])
    return grid, res, change.any(dim=1), bracket


def _refine_brackets(fn: HeightFn, target, bracket, bracketed, t_best, f_best, rows,
                     tol: float, max_iter: int, bisect_every: int):
    """Illinois false position with a bisection every ``bisect_every`` steps, on the
    bracketed persons not yet within ``tol``; returns the best (t, residual)."""
    a, b, fa, fb = bracket
    side = torch.zeros(len(rows), dtype=torch.long, device=target.device)   # end kept last
    for it in range(max_iter):
        active = bracketed & (f_best.abs() > tol)
        if not bool(active.any()):
            break
        denom = fb - fa
        secant = b - fb * (b - a) / torch.where(denom == 0, torch.ones_like(denom), denom)
        bisect = 0.5 * (a + b)
        inside = (secant > torch.minimum(a, b)) & (secant < torch.maximum(a, b)) & (denom != 0)
        use_bisect = (~inside) | ((it + 1) % bisect_every == 0)
        x = torch.where(use_bisect, bisect, secant)
        fx = f_best.clone()
        idx = rows[active]
        fx[idx] = _eval(fn, x[idx, None], idx)[:, 0] - target[idx]
        # keep the bracket: replace the end whose residual has the same sign as fx
        same_as_a = (fx * fa) > 0
        new_a = torch.where(active & same_as_a, x, a)
        new_fa = torch.where(active & same_as_a, fx, fa)
        new_b = torch.where(active & ~same_as_a, x, b)
        new_fb = torch.where(active & ~same_as_a, fx, fb)
        # Illinois: halve the residual of the end kept twice in a row (avoids stagnation)
        kept_b = active & same_as_a & ~use_bisect
        kept_a = active & ~same_as_a & ~use_bisect
        new_fb = torch.where(kept_b & (side == 1), 0.5 * new_fb, new_fb)
        new_fa = torch.where(kept_a & (side == -1), 0.5 * new_fa, new_fa)
        side = torch.where(kept_b, torch.ones_like(side),
                           torch.where(kept_a, -torch.ones_like(side), torch.zeros_like(side)))
        a, fa, b, fb = new_a, new_fa, new_b, new_fb
        better = active & (fx.abs() < f_best.abs())
        t_best = torch.where(better, x, t_best)
        f_best = torch.where(better, fx, f_best)
    return t_best, f_best


def _closest_unbracketed(fn: HeightFn, target, grid, res, bracketed, t_best, f_best, rows):
    """Persons without a sign change: the grid value closest to the target; when it is not
    at a bound (the function turns inside the interval), refined by golden section on
    |residual|."""
    n_grid = grid.shape[1]
    best = res.abs().argmin(dim=1)
    t_best = torch.where(bracketed, t_best, grid[rows, best])
    f_best = torch.where(bracketed, f_best, res[rows, best])
    interior = ~bracketed & (best > 0) & (best < n_grid - 1)
    if bool(interior.any()):
        idx = rows[interior]
        g_t, g_f = _golden_min_abs(fn, target[idx], grid[idx, best[idx] - 1],
                                   grid[idx, best[idx] + 1], idx)
        take = g_f.abs() < f_best[idx].abs()
        t_best[idx] = torch.where(take, g_t, t_best[idx])
        f_best[idx] = torch.where(take, g_f, f_best[idx])
    return t_best, f_best


def _golden_min_abs(fn: HeightFn, target: torch.Tensor, left: torch.Tensor,
                    right: torch.Tensor, rows: torch.Tensor, n_iter: int = 40):
    """Golden-section search of ``min |fn(t) - target|`` on [left, right] per person.

    All arguments are (B',) for the persons ``rows``.  Returns (t, residual), (B',).
    """
    ratio = (5 ** 0.5 - 1) / 2
    a, b = left.clone(), right.clone()
    c = b - ratio * (b - a)
    d = a + ratio * (b - a)
    fc = _eval(fn, c[:, None], rows)[:, 0] - target
    fd = _eval(fn, d[:, None], rows)[:, 0] - target
    for _ in range(n_iter):
        go_left = fc.abs() < fd.abs()
        # shrink towards the better interior point, re-using one evaluation
        b = torch.where(go_left, d, b)
        a = torch.where(go_left, a, c)
        new_c = torch.where(go_left, b - ratio * (b - a), d)
        new_d = torch.where(go_left, c, a + ratio * (b - a))
        new_t = torch.where(go_left, new_c, new_d)
        f_new = _eval(fn, new_t[:, None], rows)[:, 0] - target
        fd, fc = torch.where(go_left, fc, f_new), torch.where(go_left, f_new, fd)
        c, d = new_c, new_d
    use_c = fc.abs() < fd.abs()
    return torch.where(use_c, c, d), torch.where(use_c, fc, fd)
