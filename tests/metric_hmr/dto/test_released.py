"""Released-code variants (metric_hmr.dto.released) on hand-made fit problems."""
import numpy as np
import pytest

from metric_hmr.dto import DTOConfig, FitProblem
from metric_hmr.dto.fit import corrected_heights, solve_group, solve_persons
from metric_hmr.dto.released import (feet_depths, keep_far_behind_near, person_filters,
                                     reject_too_tall, split_near_far)


def _problem(K=5, seed=0, x_min=0.5, x_max=np.inf):
    rng = np.random.default_rng(seed)
    z = rng.uniform(3, 9, K)
    d = (z - 1.0) / 2.0 + rng.normal(0, 0.02, K)     # true map z = 2 d + 1
    return FitProblem(h=np.full(K, 1.7), z=z, d=d, mu=np.full(K, 1.7), sigma=np.full(K, 0.07),
                      x_min=x_min, x_max=x_max, X_singular=2.0)


def test_solve_group_is_one_row_of_the_batch_solver():
    p = _problem()
    sel = np.array([0, 2, 3])
    a = solve_group(p, sel)
    b = solve_persons(sel, p.h, p.z, p.d, p.mu, p.sigma, p.x_min, p.x_max, p.X_singular)
    assert (a.s, a.t, a.active) == (b.s, b.t, b.active)
    assert a.s == pytest.approx(2.0, rel=0.05)


def test_rejection_drops_the_implausible_person_only():
    p = _problem()
    h = p.h.copy()
    h[1] = 3.4                                       # twice too tall at its depth
    p = FitProblem(h, p.z, p.d, p.mu, p.sigma, p.x_min, p.x_max, p.X_singular)
    cfg = DTOConfig(max_height=2.1)
    fit, rejected = reject_too_tall(p, np.arange(5), cfg)
    assert rejected == [1] and fit.sel.tolist() == [0, 2, 3, 4]
    assert np.all(corrected_heights(p, fit, p.d) <= 2.1)
    # rounds are bounded, and two persons are never split further
    assert reject_too_tall(p, np.arange(5), DTOConfig(max_height=2.1, max_reject_rounds=0))[1] == []
    assert reject_too_tall(p, np.array([0, 1]), cfg)[1] == []


def test_near_far_split_needs_two_persons_per_group():
    p = _problem(K=5)
    p = FitProblem(p.h, np.array([3.0, 3.5, 4.0, 30.0, 35.0]), p.d, p.mu, p.sigma, 0.5, np.inf, 2.0)
    cfg = DTOConfig(near_far=True)
    groups = split_near_far(np.arange(5), p, (500.0, 500.0), (480, 640), cfg)
    assert [g.tolist() for g in groups] == [[0, 1, 2], [3, 4]]   # 2*500/30 = 33 px < 0.25*480
    assert len(split_near_far(np.arange(4), p, (500.0, 500.0), (480, 640), cfg)) == 1


def test_far_group_kept_behind_near():
    p = _problem(K=4)
    near, far = solve_group(p, np.array([0, 1])), solve_group(p, np.array([2, 3]))
    z = np.array([5.0, 6.0, 4.0, 8.0])
    z2, far2, raised = keep_far_behind_near(z, near, far)
    assert raised and z2[[2, 3]].tolist() == [6.0, 10.0] and far2.t == pytest.approx(far.t + 2.0)
    assert z.tolist() == [5.0, 6.0, 4.0, 8.0]         # input untouched
    assert keep_far_behind_near(z2, near, far2)[2] is False


def test_feet_depths_use_bottom_rows():
    rows = np.arange(100)
    rel = np.where(rows >= 90, 7.0, 5.0)
    d = feet_depths(np.array([5.0, 1.0]), np.array([0, 1]), [(rows, rel, rel), None], 0.1)
    assert d.tolist() == [7.0, 1.0]


def test_person_filters_keep_first_reason():
    cfg = DTOConfig(min_mask_area_frac=0.01, min_visible_vertices=10)
    out = person_filters(['', 'outside_image', ''], cfg, None, np.array([50, 0, 5000]),
                         np.array([5, 0, 50]), 1.0, (100, 100))
    assert out == ['mask_area<0.01*H*W', 'outside_image', '']
