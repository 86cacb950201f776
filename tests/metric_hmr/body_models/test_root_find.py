"""The batched bracketed root finder on functions with known roots."""
import numpy as np
import torch

from metric_hmr.body_models import find_root_bracketed


def _row_fn(f):
    """The same function for every person: ignore the person indices."""
    return lambda t, rows: f(t)


def test_nonlinear_monotone_and_tolerance():
    # h(t) = t^3 + t, roots of h = target known in closed form via numpy
    target = torch.tensor([-3.0, 0.5, 2.0, 9.0], dtype=torch.float64)
    B = len(target)
    lo, hi = torch.full((B,), -3.0, dtype=torch.float64), torch.full((B,), 3.0, dtype=torch.float64)
    res = find_root_bracketed(_row_fn(lambda t: t ** 3 + t), target, lo, hi,
                              torch.zeros(B, dtype=torch.float64), tol=1e-10)
    assert res.reached.all()
    for tt, x in zip(target.tolist(), res.t.tolist()):
        real = [r.real for r in np.roots([1, 0, 1, -tt]) if abs(r.imag) < 1e-9][0]
        assert abs(x - real) < 1e-8


def test_picks_root_closest_to_start_and_flags_out_of_range():
    # convex, non-monotone: (t - 1)^2 has two roots for target 4: t = -1 and t = 3
    f = _row_fn(lambda t: (t - 1.0) ** 2)
    d = dict(dtype=torch.float64)
    target = torch.tensor([4.0, 4.0, -1.0, 100.0], **d)
    lo, hi = torch.full((4,), -5.0, **d), torch.full((4,), 5.0, **d)
    start = torch.tensor([-2.0, 2.5, 0.0, 0.0], **d)
    res = find_root_bracketed(f, target, lo, hi, start, tol=1e-9)
    assert abs(res.t[0] + 1) < 1e-6 and abs(res.t[1] - 3) < 1e-6
    # target -1 below the minimum 0: closest reachable (t = 1, value 0), flagged below
    assert not res.reached[2] and res.below[2] and abs(res.t[2] - 1) < 1e-4
    assert res.value[2] < 1e-7
    # target 100 above the maximum 36 at t = -5
    assert not res.reached[3] and res.above[3] and abs(res.t[3] + 5) < 1e-12
    assert abs(res.value[3] - 36) < 1e-9


def test_piecewise_linear_kink_converges():
    # max/min extent functions are piecewise linear: check stalling does not occur
    f = _row_fn(lambda t: torch.maximum(2 * t, 0.1 * t + 1.0))
    d = dict(dtype=torch.float64)
    target = torch.linspace(0.0, 9.0, 50, **d)
    B = len(target)
    res = find_root_bracketed(f, target, torch.full((B,), -10.0, **d), torch.full((B,), 10.0, **d),
                              torch.zeros(B, **d), tol=1e-12, max_iter=80)
    assert res.reached.all()
    assert (f(res.t[:, None], None)[:, 0] - target).abs().max() < 1e-12


def test_per_person_functions_and_only_active_rows_evaluated():
    # person b solves slope_b * t = target_b; record how many rows each call evaluates
    d = dict(dtype=torch.float64)
    slope = torch.tensor([1.0, 2.0, 0.5, 3.0], **d)
    seen = []

    def fn(t, rows):
        seen.append(len(rows))
        return slope[rows, None] * torch.sign(t) * t.abs() ** 1.5

    target = torch.tensor([1.0, -2.0, 0.3, 100.0], **d)
    res = find_root_bracketed(fn, target, torch.full((4,), -4.0, **d), torch.full((4,), 4.0, **d),
                              torch.zeros(4, **d), tol=1e-12)
    assert res.reached[:3].all() and res.above[3] and abs(res.t[3] - 4) < 1e-12
    expect = torch.sign(target[:3] / slope[:3]) * (target[:3] / slope[:3]).abs() ** (2 / 3)
    torch.testing.assert_close(res.t[:3], expect, atol=1e-9, rtol=0)
    assert seen[0] == 4 and max(seen[1:]) <= 3      # person 3 (unreachable) never refined


def test_empty_and_bad_bounds():
    d = dict(dtype=torch.float64)
    res = find_root_bracketed(_row_fn(lambda t: t), torch.zeros(0, **d), torch.zeros(0, **d),
                              torch.ones(0, **d), torch.zeros(0, **d))
    assert res.t.shape == (0,) and res.reached.shape == (0,)
    import pytest
    with pytest.raises(ValueError, match='lo < hi'):
        find_root_bracketed(_row_fn(lambda t: t), torch.zeros(1, **d), torch.ones(1, **d),
                            torch.ones(1, **d), torch.zeros(1, **d))
