"""Closed-form DTO solver vs an independent bounded least-squares solver (scipy)."""
import numpy as np
import pytest
from scipy.optimize import lsq_linear

from metric_hmr.dto import solver as solver_mod
from metric_hmr.dto.solver import (ACTIVE_LOWER, ACTIVE_NONE, ACTIVE_UPPER, dto_coefficients,
                              dto_objective, solve_dto_batch)


def random_problems(n, seed=0, kmax=8):
    """n padded well-posed problems with bounds chosen so each case occurs."""
    rng = np.random.default_rng(seed)
    K = kmax
    valid = np.zeros((n, K), bool)
    for b in range(n):
        valid[b, :rng.integers(2, K + 1)] = True
    h = rng.uniform(1.0, 2.0, (n, K))
    z = rng.uniform(2.0, 15.0, (n, K))
    d = rng.uniform(0.3, 10.0, (n, K))
    d[:, 1] = d[:, 0] + rng.choice([-1, 1], n) * rng.uniform(0.5, 3.0, n)   # >= 0.5 apart
    mu = rng.uniform(1.0, 1.9, (n, K))
    sigma = rng.uniform(0.05, 0.16, (n, K))
    unb = solve_dto_batch(h, z, d, mu, sigma, -np.inf, np.inf, valid)
    # well-posed: normal equations well conditioned (persons at clearly different depths)
    a, bb, _ = dto_coefficients(h, z, d, mu, sigma, valid)
    P = np.stack([np.stack([(a * a).sum(1), (a * bb).sum(1)], 1), np.stack([(a * bb).sum(1), (bb * bb).sum(1)], 1)], 1)
    assert np.linalg.cond(P).max() < 1e7
    case = np.arange(n) % 4                  # 0 interior, 1 lower active, 2 upper active, 3 one-sided
    u = rng.uniform(0.05, 1.0, n)
    x_min = np.where(case == 0, unb.s_d - u * np.abs(unb.s_d), np.where(case == 1, unb.s_d + u, unb.s_d - 2 * u - 1))
    x_max = np.where(case == 0, unb.s_d + u * np.abs(unb.s_d), np.where(case == 1, unb.s_d + 3 * u, unb.s_d - u))
    x_max = np.where(case == 3, np.inf, x_max)
    x_min = np.where(case == 3, unb.s_d + u, x_min)
    return dict(h=h, z=z, d=d, mu=mu, sigma=sigma, x_min=x_min, x_max=x_max, valid=valid), case


def scipy_solve(p, b):
    v = p['valid'][b]
    a, bb, c = dto_coefficients(p['h'][b][v][None], p['z'][b][v][None], p['d'][b][v][None],
                                p['mu'][b][v][None], p['sigma'][b][v][None])
    A = np.stack([a[0], bb[0]], 1)
    res = lsq_linear(A, c[0], bounds=([p['x_min'][b], -np.inf], [p['x_max'][b], np.inf]),
                     method='bvls', tol=1e-15, lsmr_tol=None)
    return res.x, float(np.sum((A @ res.x - c[0]) ** 2))


def close(x, y, tol=1e-6):
    """relative above magnitude 1, absolute below."""
    return abs(x - y) <= tol * max(1.0, abs(y))


BACKENDS = ['numpy'] + (['numba'] if solver_mod._HAVE_NUMBA else [])


@pytest.mark.parametrize('backend', BACKENDS)
def test_matches_scipy_on_1000_problems(backend):
    p, case = random_problems(1200, seed=1)
    sol = solve_dto_batch(p['h'], p['z'], p['d'], p['mu'], p['sigma'], p['x_min'], p['x_max'], p['valid'],
                          backend=backend)
    assert set(np.unique(sol.active)) == {ACTIVE_NONE, ACTIVE_LOWER, ACTIVE_UPPER}
    assert (sol.active[case == 1] == ACTIVE_LOWER).all()
    assert (sol.active[case == 2] == ACTIVE_UPPER).all()
    assert (sol.active[case == 0] == ACTIVE_NONE).all()
    bad = []
    for b in range(len(case)):
        (s, t), obj = scipy_solve(p, b)
        c2 = np.sum(np.where(p['valid'][b], p['mu'][b] / p['sigma'][b], 0) ** 2)
        # relative objective agreement; exact fits (L ~ 0) are compared against a floor of
        # 1e-12 of L(0, 0) = sum c_i^2, the scale of the problem
        ok = (close(sol.s_d[b], s) and close(sol.t_d[b], t)
              and abs(sol.objective[b] - obj) <= 1e-9 * max(obj, 1e-12 * c2))
        if not ok:
            bad.append((b, sol.s_d[b], s, sol.t_d[b], t, sol.objective[b], obj))
    assert not bad, bad[:5]


def test_objective_matches_direct_formula():
    p, _ = random_problems(50, seed=2)
    sol = solve_dto_batch(p['h'], p['z'], p['d'], p['mu'], p['sigma'], p['x_min'], p['x_max'], p['valid'])
    h, z, d, mu, sg, v = p['h'], p['z'], p['d'], p['mu'], p['sigma'], p['valid']
    direct = np.sum(np.where(v, ((h * (sol.s_d[:, None] * d + sol.t_d[:, None]) / z - mu) / sg) ** 2, 0), 1)
    np.testing.assert_allclose(sol.objective, direct, rtol=1e-12)
    np.testing.assert_allclose(dto_objective(sol.s_d, sol.t_d, h, z, d, mu, sg, v), direct, rtol=1e-12)
    np.testing.assert_allclose(sol.h_star[v], (h * sol.z_star / z)[v], rtol=1e-12)


def test_padding_does_not_change_solution():
    p, _ = random_problems(20, seed=3)
    sol = solve_dto_batch(p['h'], p['z'], p['d'], p['mu'], p['sigma'], p['x_min'], p['x_max'], p['valid'])
    for key in ('h', 'z', 'd', 'mu', 'sigma'):   # garbage at padding must not leak
        p[key] = np.where(p['valid'], p[key], np.nan)
    sol2 = solve_dto_batch(p['h'], p['z'], p['d'], p['mu'], p['sigma'], p['x_min'], p['x_max'], p['valid'])
    np.testing.assert_allclose(sol.s_d, sol2.s_d, rtol=1e-13)
    np.testing.assert_allclose(sol.t_d, sol2.t_d, rtol=1e-13)
    assert np.all(sol2.std_z[~p['valid']] == 0)


def test_identical_d_falls_back_to_X():
    h = np.array([[1.7, 1.6, 1.8]])
    z = np.array([[4.0, 5.0, 6.0]])
    d = np.full((1, 3), 2.5)
    mu = np.array([[1.75, 1.65, 1.70]])
    sigma = np.full((1, 3), 0.07)
    sol = solve_dto_batch(h, z, d, mu, sigma, 0.5, 5.0, X=np.array([1.3]))
    assert sol.singular[0] and sol.s_d[0] == pytest.approx(1.3)
    # t solves dL/dt = 0 for s = X
    a, b, c = dto_coefficients(h, z, d, mu, sigma)
    assert np.sum(b * (a * 1.3 + b * sol.t_d[0] - c)) == pytest.approx(0, abs=1e-9)


def test_fixed_scale_when_bounds_equal():
    p, _ = random_problems(10, seed=4)
    X = np.full(10, 1.7)
    sol = solve_dto_batch(p['h'], p['z'], p['d'], p['mu'], p['sigma'], X, X, p['valid'])
    np.testing.assert_allclose(sol.s_d, 1.7)


def test_posterior_covariance_is_inverse_hessian():
    p, case = random_problems(40, seed=5)
    sol = solve_dto_batch(p['h'], p['z'], p['d'], p['mu'], p['sigma'], p['x_min'], p['x_max'], p['valid'])
    a, b, c = dto_coefficients(p['h'], p['z'], p['d'], p['mu'], p['sigma'], p['valid'])
    for i in range(40):
        P = np.array([[a[i] @ a[i], a[i] @ b[i]], [a[i] @ b[i], b[i] @ b[i]]])
        if sol.active[i] == ACTIVE_NONE:
            np.testing.assert_allclose(sol.cov[i], np.linalg.inv(P), rtol=1e-9)
        else:   # conditional on the active bound: s fixed, var(t) = 1 / Sbb
            assert sol.cov[i, 0, 0] == 0 and sol.cov[i, 1, 1] == pytest.approx(1 / P[1, 1])
        v = p['valid'][i]
        J = np.stack([p['d'][i][v], np.ones(v.sum())], 1)
        np.testing.assert_allclose(sol.std_z[i][v], np.sqrt(np.einsum('kj,jl,kl->k', J, sol.cov[i], J)), rtol=1e-9)
        np.testing.assert_allclose(sol.std_h[i][v], sol.std_z[i][v] * p['h'][i][v] / p['z'][i][v], rtol=1e-12)


def test_posterior_std_matches_monte_carlo():
    """Unconstrained: sample mu ~ N(mu, sigma), re-solve, std of z* matches the propagated std."""
    rng = np.random.default_rng(6)
    K = 6
    h = rng.uniform(1.5, 1.9, K)
    z = rng.uniform(3, 10, K)
    d = rng.uniform(1, 5, K)
    mu = rng.uniform(1.6, 1.8, K)
    sigma = rng.uniform(0.05, 0.1, K)
    n = 20000
    mus = mu + sigma * rng.standard_normal((n, K))
    sol = solve_dto_batch(np.tile(h, (n, 1)), np.tile(z, (n, 1)), np.tile(d, (n, 1)), mus,
                          np.tile(sigma, (n, 1)), -np.inf, np.inf)
    ref = solve_dto_batch(h[None], z[None], d[None], mu[None], sigma[None], -np.inf, np.inf)
    np.testing.assert_allclose(sol.z_star.std(0), ref.std_z[0], rtol=0.03)


def test_rejects_bad_shape():
    with pytest.raises(ValueError, match='expects'):
        solve_dto_batch(np.ones(3), np.ones(3), np.ones(3), np.ones(3), np.ones(3), 0, 1)


@pytest.mark.skipif(not solver_mod._HAVE_NUMBA, reason='numba not installed')
def test_numba_kernel_equals_numpy_path():
    p, _ = random_problems(400, seed=7)
    p['d'][::7, :] = 2.0                         # singular problems
    p['valid'][::11] = False                     # empty images
    for key in ('h', 'z', 'd', 'mu', 'sigma'):   # garbage at padding
        p[key] = np.where(p['valid'], p[key], np.nan)
    args = (p['h'], p['z'], p['d'], p['mu'], p['sigma'], p['x_min'], p['x_max'], p['valid'])
    a = solve_dto_batch(*args, backend='numpy')
    b = solve_dto_batch(*args, backend='numba')
    for name in a._fields:
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-9, atol=1e-12, err_msg=name)
    assert a.singular[::7].all() and a.singular[::11].all()
