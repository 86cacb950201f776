"""DTO+ (issue 15): disparity-space fit, robust cues, Huber likelihood, focal refinement."""
import dataclasses
import os

import numpy as np
import pytest

from metric_hmr.dto import run_dto
from metric_hmr.dto.config import DTOConfig
from metric_hmr.dto.disparity_fit import disparity_objective, solve_disparity_batch
from metric_hmr.dto.focal_refine import estimate_focal_ratio
from metric_hmr.dto.plus_fit import fit_plus
from metric_hmr.dto.robust_cues import relief_slope, robust_location
from metric_hmr.dto.robust_likelihood import huber_rho, huber_weights, irls_fit
from metric_hmr.dto.solver import solve_dto_batch
from metric_hmr.testing.dto_scenes import person_mesh


def affine_disparity_problems(n, K=6, seed=0, noise=0.0):
    """Persons at true depths Z seen by a network q = A / Z + B (B != 0); the estimate is
    the true person scaled by k (and the focal bias rho), heights priors = true heights
    (times a relative noise)."""
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.5, 5.0, n)
    B = rng.choice([-1, 1], n) * rng.uniform(0.05, 0.5, n) / 15.0 * A   # up to half the far disparity
    Z = rng.uniform(2.0, 15.0, (n, K))
    q = A[:, None] / Z + B[:, None]
    H = rng.uniform(0.7, 1.95, (n, K))
    k = rng.uniform(0.6, 1.4, (n, K))
    rho = rng.uniform(0.9, 1.3, n)
    mu = H * (1.0 + noise * rng.standard_normal((n, K)))
    return dict(h=k * H, z=k * rho[:, None] * Z, q=q, mu=mu, sigma=np.full((n, K), 0.08),
                A=A, B=B, Z=Z, rho=rho)


def test_disparity_fit_recovers_shifted_affine_exactly_where_depth_fit_cannot():
    """Noise-free: z* = a / (q - b) recovers b = B and a = rho A (the heights live in the
    HMR's focal world) to machine precision; the paper's depth-space fit on d = 1 / q
    cannot represent the shift and leaves depth errors of several percent."""
    p = affine_disparity_problems(200, seed=1)
    sol = solve_disparity_batch(p['h'], p['z'], p['q'], p['mu'], p['sigma'])
    assert np.allclose(sol.b, p['B'], rtol=0, atol=1e-9 * p['A'].max())
    assert np.allclose(sol.a, p['rho'] * p['A'], rtol=1e-9)
    assert np.allclose(sol.z_star, p['rho'][:, None] * p['Z'], rtol=1e-9)
    assert sol.objective.max() < 1e-15 and not sol.at_limit.any()
    dep = solve_dto_batch(p['h'], p['z'], 1.0 / p['q'], p['mu'], p['sigma'], -np.inf, np.inf)
    rel = np.abs(dep.z_star / (p['rho'][:, None] * p['Z']) - 1)
    assert np.median(rel.max(1)) > 0.02 and dep.objective.min() > 1e-6


def _reference_profile(bs, h, z, q, mu, sigma, alpha=None, X=None, wX=None):
    """Independent profile F(b) for many shifts at once: a(b) from the normal equation of
    the one-column least squares, clamped to the bounds and to a >= 0."""
    bs = np.asarray(bs, np.float64)[:, None]
    g = (h / (z * sigma))[None] / (q[None] - bs)
    c = (mu / sigma)[None]
    a = np.einsum('nk,nk->n', g, c) / np.einsum('nk,nk->n', g, g)
    lo, hi = np.zeros(len(bs)), np.full(len(bs), np.inf)
    if alpha is not None:
        AX = ((wX * X)[None] * (q[None] - bs) ** 2).sum(1) / wX.sum()
        lo, hi = np.maximum(alpha[0] * AX, 0.0), alpha[1] * AX
    a = np.minimum(np.maximum(a, lo), hi)
    return ((a[:, None] * g - c) ** 2).sum(1)


def _dense_grid_min(h, z, q, mu, sigma, **bounds):
    """Global grid (20k points in t = 1 - z_near / z_far) zoomed 6 times around the best."""
    qmin, span = q.min(), q.max() - q.min()
    t = np.linspace(1e-6, 1 - 1e-9, 20001)
    for _ in range(7):
        bs = qmin - span * (1 - t) / t
        F = _reference_profile(bs, h, z, q, mu, sigma, **bounds)
        j = int(np.argmin(F))
        lo, hi = t[max(j - 2, 0)], t[min(j + 2, len(t) - 1)]
        t = np.linspace(lo, hi, 401)
    return bs[j], F[j]


@pytest.mark.parametrize('bounded', [False, True])
def test_shift_solve_matches_dense_grid_search(bounded):
    """The bracketing + safeguarded regula falsi finds the global minimum of the profile:
    objective equal to an independent zoomed dense-grid search to 1e-9 (relative), never
    above it, and the same shift (to 1e-6: near the minimum F is flat, so the grid's own
    shift is only that precise)."""
    p = affine_disparity_problems(40, seed=2, noise=0.08)
    rng = np.random.default_rng(3)
    X = rng.uniform(1.0, 10.0, p['h'].shape)
    wX = rng.uniform(0.1, 1.0, p['h'].shape)
    kw = dict(alpha=(0.5, 3.0), X=X, wX=wX) if bounded else {}
    sol = solve_disparity_batch(p['h'], p['z'], p['q'], p['mu'], p['sigma'], **kw)
    n_active = 0
    for i in range(len(sol.b)):
        bk = dict(alpha=(0.5, 3.0), X=X[i], wX=wX[i]) if bounded else {}
        b_ref, F_ref = _dense_grid_min(p['h'][i], p['z'][i], p['q'][i], p['mu'][i], p['sigma'][i], **bk)
        F_ours = _reference_profile([sol.b[i]], p['h'][i], p['z'][i], p['q'][i], p['mu'][i],
                                    p['sigma'][i], **bk)[0]
        assert abs(F_ours - sol.objective[i]) <= 1e-9 * max(F_ref, 1.0)
        assert F_ours <= F_ref + 1e-9 * max(F_ref, 1.0), (i, F_ours, F_ref)
        assert abs(sol.b[i] - b_ref) <= 1e-6 * max(abs(b_ref), np.ptp(p['q'][i])), (i, sol.b[i], b_ref)
        n_active += sol.active[i] != 0
    if bounded:
        assert n_active > 0          # the bounded branch of the profile is exercised


def test_robust_likelihood_equals_gaussian_without_outliers_and_flags_one():
    """Huber IRLS: identical to the Gaussian fit when every |r_i| <= c; with one person's
    prior off by 10 sigma it is flagged as the outlier and pulls the others less."""
    p = affine_disparity_problems(30, seed=4, noise=0.02)
    args = (p['h'], p['z'], p['q'], p['mu'], p['sigma'], np.ones(p['h'].shape, bool))
    g = fit_plus(*args, height_loss='gaussian')
    hb = fit_plus(*args, height_loss='huber', huber_c=2.0)
    assert np.abs(g.residual).max() < 2.0
    for f in ('z_star', 'h_star', 'std_z', 'params', 'score'):
        assert np.array_equal(getattr(g, f), getattr(hb, f)), f
    assert hb.iterations == 1 and not hb.outlier.any()
    mu = p['mu'].copy()
    mu[:, 0] += 10 * p['sigma'][:, 0]                   # one wrong prior per image
    args = (p['h'], p['z'], p['q'], mu, p['sigma'], np.ones(p['h'].shape, bool))
    g = fit_plus(*args, height_loss='gaussian')
    hb = fit_plus(*args, height_loss='huber', huber_c=2.0)
    # with two free parameters an outlier is sometimes partly absorbed (b bends towards
    # it); in most images it is the one flagged
    assert (np.argmax(np.abs(hb.residual), 1) == 0).mean() > 0.7
    assert hb.outlier[:, 0].mean() > 0.7 and hb.outlier[:, 1:].mean() < 0.1
    truth = p['rho'][:, None] * p['Z']
    err = lambda f: np.median(np.abs(f.z_star[:, 1:] / truth[:, 1:] - 1))
    assert err(hb) < 0.7 * err(g)
    # image score on the likelihood's scale: sqrt(2 rho_c(r)) averaged
    r = hb.residual
    assert np.allclose(hb.score, np.sqrt(2 * huber_rho(r, 2.0)).mean(1))


def test_irls_weights_are_hubers():
    r = np.array([0.0, 1.0, -2.0, 4.0, -8.0])
    assert np.allclose(huber_weights(r, 2.0), [1, 1, 1, 0.5, 0.25])
    res = irls_fit(lambda w: dict(h=np.array([[1.0, 1.0]]) + 0 * w), lambda s: s['h'],
                   np.array([[1.0, 1.5]]), np.array([[0.1, 0.1]]), np.ones((1, 2), bool), c=2.0)
    assert res.outlier.tolist() == [[False, True]] and res.weights[0, 1] == pytest.approx(0.4)


def test_disparity_posterior_std_matches_monte_carlo():
    """std_z of the (unbounded, Gaussian) disparity fit vs the spread of refits under prior
    noise mu_i ~ N(mu_i, sigma_i^2): the Gauss-Newton covariance is the right one near the
    optimum."""
    p = affine_disparity_problems(1, K=8, seed=5)
    rng = np.random.default_rng(6)
    base = solve_disparity_batch(p['h'], p['z'], p['q'], p['mu'], p['sigma'])
    n = 3000
    mu = p['mu'] + p['sigma'] * rng.standard_normal((n, 8)) * 0.2
    rep = lambda x: np.repeat(x, n, 0)
    mc = solve_disparity_batch(rep(p['h']), rep(p['z']), rep(p['q']), mu, rep(p['sigma']))
    emp = mc.z_star.std(0)
    assert np.allclose(emp, 0.2 * base.std_z[0], rtol=0.1)


def test_robust_location_and_relief_slope():
    """Median / trimmed mean ignore one-sided background contamination; the inverse
    (errors-in-variables) slope is unbiased with noise in the network value where OLS is
    diluted by var(v_true) / var(v)."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(1.0, 0.01, 900), np.full(100, 3.0)])
    assert abs(robust_location(x, 'median') - 1.0) < 0.005
    assert abs(robust_location(x, 'trimmed', 0.2) - 1.0) < 0.005
    assert robust_location(x, 'mean') > 1.15
    z = rng.normal(5.0, 0.1, 20000)
    v_true = 0.3 - 0.04 * z
    v = v_true + rng.normal(0, 0.004, z.size)          # noise variance = signal variance
    ols, inv, rma = (relief_slope(z, v, e).dz_dv for e in ('ols', 'inverse', 'rma'))
    assert inv == pytest.approx(-25.0, rel=0.03)
    assert ols == pytest.approx(-25.0 * 0.5, rel=0.05)
    assert rma == pytest.approx(-25.0 * np.sqrt(0.5), rel=0.05)
    with pytest.raises(ValueError, match='statistic'):
        robust_location(x, 'mode')


def disparity_scene(seed=0, K=6, A=2.0, B=0.05, rho=1.2, flat_persons=False, H=480, W=640,
                    thickness=0.25):
    """True persons (ellipsoids) rendered with the true focal f into a metric depth map D;
    the network sees q = A / D + B.  The HMR-like estimate: focal rho f, person i scaled by
    k_i about its root, placed at (k X, k Y, k rho Z) (same pixel).  ``flat_persons``: the
    network gives each person a constant disparity (no relief).  ``thickness``: one value or
    one per person (depth semi-axis = thickness x height / 1.7)."""
    from metric_hmr.dto.raster import rasterize_persons
    rng = np.random.default_rng(seed)
    f, c = np.array([600.0, 600.0]), np.array([W / 2, H / 2])
    Z = np.sort(rng.uniform(3.0, 9.0, K))
    Ht = rng.uniform(1.0, 1.9, K)
    roots = np.stack([(np.arange(K) - (K - 1) / 2) * 0.8 * Z / 4.0, 0.9 - 0.5 * Ht, Z], 1)
    thick = np.broadcast_to(np.asarray(thickness, np.float64), (K,))
    meshes = [person_mesh(Ht[i], roots[i], 32, 48, thickness=thick[i]) for i in range(K)]
    faces = meshes[0][1]
    bg = np.array([[-80, -80, 30.0], [80, -80, 30.0], [80, 80, 30.0], [-80, 80, 30.0]])
    ras = rasterize_persons([m[0] for m in meshes] + [bg], [faces] * K + [np.array([[0, 1, 2], [0, 2, 3]])],
                            f, c, (H, W), resolution=None)
    disp = A / ras.depth.astype(np.float64) + B
    if flat_persons:
        for i in range(K):
            sel = ras.person_id == i
            disp[sel] = np.median(disp[sel])
    k = rng.uniform(0.75, 1.3, K)
    root_est = roots * np.array([1.0, 1.0, rho]) * k[:, None]
    verts = [(m[0] - roots[i]) * k[i] + root_est[i] for i, m in enumerate(meshes)]
    return dict(verts=verts, faces=faces, focal=f * rho, princpt=c, image_size=(H, W),
                disparity=disp, transl=root_est, h_init=Ht * k, H_true=Ht, Z_true=Z, f_true=f)


def _run(sc, **cfg):
    """DTO+ with focal refinement; the ground cue off unless asked for (these scenes test
    the affine fit, the focal and the size fusion)."""
    cfg.setdefault('ground_contact', 'none')
    return run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                   sc['disparity'], sc['transl'], sc['h_init'], mu=sc['H_true'],
                   sigma=np.full(len(sc['H_true']), 0.05), config=dict(dict(preset='plus', focal_refine=True), **cfg))


def test_focal_refinement_recovers_true_focal_on_noise_free_scene():
    """Exact disparity (A / D + B), exact priors: the focal bias rho = 1.2 is found, the
    focal and the metric depths come back to within 2 %, and the reported std is small."""
    sc = disparity_scene(seed=0)
    res = _run(sc, resolution=None)
    assert res.focal_refined and 'focal_refined' in res.flags and res.focal_reason == ''
    assert res.focal_star == pytest.approx(sc['f_true'], rel=0.02)
    assert res.focal_ratio_std < 0.05
    assert np.allclose(res.transl_star[:, 2], sc['Z_true'], rtol=0.03)
    # the root moves with the sampled surface's depth (z_source='samples')
    assert np.allclose(res.transl_star[:, 2], sc['transl'][:, 2] * res.z_star / res.z_init)
    assert np.allclose(res.h_star, sc['H_true'], rtol=0.03)        # heights do not move
    off = _run(sc, resolution=None, focal_refine=False)
    assert np.allclose(off.transl_star[:, 2], 1.2 * sc['Z_true'], rtol=0.03) and off.focal_star is None


def test_focal_refinement_declines_when_not_identifiable():
    """No relief in the depth map (persons flat) -> declined with the reason recorded and
    the focal kept; two persons (heights fit exactly, no check) -> declined too."""
    flat = _run(disparity_scene(seed=0, flat_persons=True), resolution=None)
    assert not flat.focal_refined and flat.focal_star is None and flat.focal_ratio == 1.0
    assert flat.focal_reason.startswith('too_few_relief_persons')
    two = _run(disparity_scene(seed=1, K=2), resolution=None)
    assert not two.focal_refined and two.focal_reason == 'heights_not_informative'
    est = estimate_focal_ratio(np.ones((1, 4)), np.ones((1, 4)), np.full((1, 4), 0.5),
                               np.ones((1, 4)), np.ones((1, 4)), np.ones((1, 4), bool))
    assert est.reason[0].startswith('relief_too_noisy') and est.ratio[0] == 1.0


def test_plus_preset_and_paper_default_unchanged():
    paper = DTOConfig()
    assert (paper.affine_space, paper.height_loss, paper.focal_refine, paper.depth_statistic,
            paper.scale_estimator, paper.edge_erosion, paper.alpha1, paper.alpha2) == \
        ('depth', 'gaussian', False, 'mean', 'ols', 1, 1.0, 5.0)
    assert not paper.uses_plus_fit
    plus = DTOConfig.from_dict(dict(preset='plus'))
    assert plus == DTOConfig.plus_preset() and plus.uses_plus_fit
    assert DTOConfig.from_dict(dict(preset='plus', focal_refine=False)).focal_refine is False
    with pytest.raises(ValueError, match='released-code'):
        DTOConfig.from_dict(dict(preset='plus', feet_fit=True))
    with pytest.raises(ValueError, match='affine_space'):
        DTOConfig.from_dict(dict(affine_space='log'))


def test_base_config_file_has_the_plus_overrides():
    from mmengine.config import Config
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'dto.py')
    cfg = Config.fromfile(path)
    norm = lambda d: {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
    assert norm(cfg.dto_cfg.to_dict()) == norm(dataclasses.asdict(DTOConfig()))
    merged = dict(cfg.dto_cfg.to_dict(), **cfg.dto_plus.to_dict())
    assert norm(DTOConfig.from_dict(merged).to_dict()) == norm(DTOConfig.plus_preset().to_dict())


def test_refiner_applies_plus_and_the_refined_focal():
    from dto_hooks import DTORefiner
    sc = disparity_scene(seed=0)
    K = len(sc['verts'])
    sample = dict(img_path='scene0', ori_shape=sc['image_size'],
                  pred=dict(transl=sc['transl'], focal=sc['focal'], princpt=sc['princpt'],
                            vertices=np.stack(sc['verts']), height=sc['h_init'],
                            age=np.full(K, 30.0), p_male=np.full(K, 0.5)))
    ref = DTORefiner(dto=dict(preset='plus', resolution=None, focal_refine=True), body_model=None, faces=sc['faces'],
                     refit_shape=False)
    out, res = ref(sample, sc['disparity'])
    assert res.affine_space == 'disparity' and out['dto']['affine_space'] == 'disparity'
    assert res.focal_refined
    if res.focal_refined:
        assert np.allclose(out['pred']['focal'], res.focal_star)
        # meshes follow their translation along z
        shift = out['pred']['vertices'].mean(1) - np.stack(sc['verts']).mean(1) * res.depth_ratio[:, None]
        assert np.allclose(shift[:, 2], res.transl_star[:, 2] - sc['transl'][:, 2] * res.depth_ratio)
    else:
        assert np.allclose(out['pred']['focal'], sc['focal'])


# ------------------------------------------------------------------ soft lower bound
def _reference_soft_profile(bs, h, z, q, mu, sigma, alpha, X, wX, s):
    """Independent profile with the soft lower bound: for each shift, a from the augmented
    one-column least squares [g; 1 / (s lo)] a ~ [c; 1 / s] (np.linalg.lstsq) where the
    plain solution falls below lo = alpha1 A_X(b); upper bound hard."""
    F, A = np.empty(len(bs)), np.empty(len(bs))
    for n, b in enumerate(np.asarray(bs, np.float64)):
        g = h / (z * sigma) / (q - b)
        c = mu / sigma
        AX = (wX * X * (q - b) ** 2).sum() / wX.sum()
        lo, hi = alpha[0] * AX, alpha[1] * AX
        a = np.linalg.lstsq(g[:, None], c, rcond=None)[0][0]
        pen = 0.0
        if a < lo:
            A_aug = np.r_[g, 1.0 / (s * lo)][:, None]
            a = np.linalg.lstsq(A_aug, np.r_[c, 1.0 / s], rcond=None)[0][0]
            pen = ((a / lo - 1.0) / s) ** 2
        A[n] = a = min(a, hi)
        F[n] = ((a * g - c) ** 2).sum() + pen
    return F, A


def _mis_set_bound_problems(n, K=6, seed=11, x_factor=4.0):
    """Affine problems whose mesh slopes X are ``x_factor`` times the true |dz/dq| (a relief
    cue inflated by blur): the lower bound 0.5 A_X lies above the true scale."""
    p = affine_disparity_problems(n, K=K, seed=seed, noise=0.03)
    true_slope = p['rho'][:, None] * p['A'][:, None] / (p['q'] - p['B'][:, None]) ** 2
    p['X'] = x_factor * true_slope
    p['wX'] = np.ones_like(p['X'])
    return p


def test_soft_bound_shift_solve_matches_independent_profile():
    """The soft bound's profile (closed-form a(b), derivative by the envelope theorem) is
    minimised globally: objective equal to the independent augmented least squares at our
    shift, and not above a dense scan of that independent profile."""
    p = _mis_set_bound_problems(12, x_factor=3.0)
    kw = dict(alpha=(0.5, 3.0), X=p['X'], wX=p['wX'], bound_softness=0.1)
    sol = solve_disparity_batch(p['h'], p['z'], p['q'], p['mu'], p['sigma'], **kw)
    assert (sol.active == -1).sum() >= 6            # the soft branch is exercised
    for i in range(len(sol.b)):
        args = (p['h'][i], p['z'][i], p['q'][i], p['mu'][i], p['sigma'][i], (0.5, 3.0),
                p['X'][i], p['wX'][i], 0.1)
        F_ours, a_ref = (x[0] for x in _reference_soft_profile([sol.b[i]], *args))
        qmin, span = p['q'][i].min(), np.ptp(p['q'][i])
        t = np.linspace(1e-4, 1 - 1e-6, 4001)
        F_scan = _reference_soft_profile(qmin - span * (1 - t) / t, *args)[0]
        assert F_ours <= F_scan.min() * (1 + 1e-9) + 1e-12, (i, F_ours, F_scan.min())
        # a(b) of the solver equals the independent one at the solver's shift
        assert sol.a[i] == pytest.approx(a_ref, rel=1e-10)
        assert np.allclose(sol.z_star[i], sol.a[i] / (p['q'][i] - sol.b[i]), rtol=1e-12)


def test_soft_bound_limits_hard_bound_and_unbounded():
    """s -> 0 gives the hard bound's fit; a bound the heights satisfy is never engaged
    (identical to the hard fit); a huge s gives the fit without the lower bound."""
    p = _mis_set_bound_problems(20, x_factor=3.0)
    args = (p['h'], p['z'], p['q'], p['mu'], p['sigma'])
    hard = solve_disparity_batch(*args, alpha=(0.5, 3.0), X=p['X'], wX=p['wX'])
    for s in (1e-7, 1e-9):          # the closed form has no cancellation as s -> 0
        tiny = solve_disparity_batch(*args, alpha=(0.5, 3.0), X=p['X'], wX=p['wX'], bound_softness=s)
        assert np.allclose(tiny.z_star, hard.z_star, rtol=1e-5)
        np.testing.assert_allclose(tiny.std_z, hard.std_z, rtol=1e-3)   # the posterior too
    huge = solve_disparity_batch(*args, alpha=(0.5, 3.0), X=p['X'], wX=p['wX'], bound_softness=1e6)
    free = solve_disparity_batch(*args, alpha=(1e-9, 3.0), X=p['X'], wX=p['wX'])
    assert np.allclose(huge.z_star, free.z_star, rtol=1e-4)
    # true slopes: the bound 0.5 A_X is below the truth, never engaged -> identical
    ok = _mis_set_bound_problems(20, x_factor=1.0)
    a1 = (ok['h'], ok['z'], ok['q'], ok['mu'], ok['sigma'])
    h1 = solve_disparity_batch(*a1, alpha=(0.5, 3.0), X=ok['X'], wX=ok['wX'])
    s1 = solve_disparity_batch(*a1, alpha=(0.5, 3.0), X=ok['X'], wX=ok['wX'], bound_softness=0.05)
    assert (h1.active == 0).all()
    for f in ('a', 'b', 'z_star', 'std_z'):
        assert np.array_equal(getattr(h1, f), getattr(s1, f)), f


def test_soft_bound_lets_consistent_heights_overrule_a_mis_set_bound():
    """Relief slopes 4x too large (the lower bound 2x above the true scale): the hard bound
    forces the persons ~35 % too far (median); with the soft bound (s = 0.05) six consistent heights
    pull the depths back (the case of the development scene in docs/dto.md, DTO+)."""
    p = _mis_set_bound_problems(30, x_factor=4.0)
    truth = p['rho'][:, None] * p['Z']
    args = (p['h'], p['z'], p['q'], p['mu'], p['sigma'], np.ones(p['h'].shape, bool))
    kw = dict(affine_space='disparity', height_loss='huber', X_v=p['X'], wX=p['wX'],
              alpha=(0.5, 3.0))
    hard = fit_plus(*args, **kw)
    soft = fit_plus(*args, **kw, bound_softness=0.05)
    err = lambda f: np.median(np.abs(np.log(f.z_star / truth)))
    assert (hard.active == -1).all()
    assert err(hard) > 0.25 and err(soft) < 0.4 * err(hard)
    assert np.isfinite(soft.std_z).all() and (soft.std_z > 0).all()


# --------------------------------------------------------- shift limited by the map
def test_shift_limit_from_the_map_is_respected_and_the_profile_minimised_below_it():
    """With b_max below the persons' unconstrained optimum the solver returns the
    minimum of the (independent) profile over b < b_max: not above a dense scan of that
    range, and b <= b_max; with b_max above the optimum (or NaN) the fit is unchanged."""
    p = affine_disparity_problems(15, seed=21, noise=0.08)
    args = (p['h'], p['z'], p['q'], p['mu'], p['sigma'])
    free = solve_disparity_batch(*args)
    qmin = p['q'].min(1)
    b_max = free.b - 0.5 * (qmin - free.b)              # well below the free optimum
    capped = solve_disparity_batch(*args, b_max=b_max)
    assert (capped.b <= b_max + 1e-12).all()
    for i in range(len(b_max)):
        t = np.linspace(1e-5, 1 - 1e-7, 20001)
        bs = b_max[i] - (p['q'][i].max() - b_max[i]) * (1 - t) / t
        F_scan = _reference_profile(bs, p['h'][i], p['z'][i], p['q'][i], p['mu'][i], p['sigma'][i])
        F_ours = _reference_profile([capped.b[i]], p['h'][i], p['z'][i], p['q'][i], p['mu'][i],
                                    p['sigma'][i])[0]
        assert F_ours <= F_scan.min() * (1 + 1e-9) + 1e-12
    loose = solve_disparity_batch(*args, b_max=np.where(np.arange(len(b_max)) % 2 == 0,
                                                        0.5 * (free.b + qmin), np.nan))
    np.testing.assert_allclose(loose.z_star, free.z_star, rtol=1e-9)


def test_map_far_disparity_is_a_low_percentile_of_the_disparity():
    from metric_hmr.dto.dto import map_far_disparity
    rng = np.random.default_rng(0)
    q = rng.uniform(0.2, 3.0, (64, 80))
    rel = 1.0 / q                                      # relative depth as image_cues holds it
    rel[:4] = np.nan                                   # invalid rows are ignored
    assert np.isnan(map_far_disparity(rel, None))
    assert map_far_disparity(rel, 1.0, stride=1) == pytest.approx(np.nanpercentile(q[4:], 1.0))
    assert map_far_disparity(rel, 0.0, stride=1) == pytest.approx(q[4:].min())
    assert abs(map_far_disparity(rel, 1.0) - np.nanpercentile(q[4:], 1.0)) < 0.05
    assert np.isnan(map_far_disparity(np.full((8, 8), np.nan), 1.0))


def test_soft_bound_posterior_is_gauss_newton_of_the_augmented_residuals():
    """Covariance of (a, b) where the soft bound is engaged: (J^T J)^-1 of the residuals
    [a g_i(b) - c_i, (a / lo(b) - 1) / s], J by central finite differences (independent of
    the solver's analytic rows)."""
    p = _mis_set_bound_problems(20, x_factor=3.0, seed=9)
    s, alpha = 0.05, (0.5, 3.0)
    sol = solve_disparity_batch(p['h'], p['z'], p['q'], p['mu'], p['sigma'], alpha=alpha,
                                X=p['X'], wX=p['wX'], bound_softness=s)
    rows = np.nonzero(sol.active == -1)[0]
    assert len(rows) >= 5
    for i in rows:
        h, z, q, mu, sg, X, wX = (p[k][i] for k in ('h', 'z', 'q', 'mu', 'sigma', 'X', 'wX'))

        def res(a, b):
            lo = alpha[0] * (wX * X * (q - b) ** 2).sum() / wX.sum()
            return np.r_[a * h / (z * sg) / (q - b) - mu / sg, (a / lo - 1) / s]
        a, b = sol.a[i], sol.b[i]
        ea, eb = 1e-6 * a, 1e-6 * np.ptp(q)
        J = np.c_[(res(a + ea, b) - res(a - ea, b)) / (2 * ea), (res(a, b + eb) - res(a, b - eb)) / (2 * eb)]
        cov = np.linalg.inv(J.T @ J)
        np.testing.assert_allclose(sol.cov[i], cov, rtol=1e-5, atol=1e-7 * np.abs(cov).max())


def test_fit_plus_refit_with_cue_noise_keeps_the_soft_bound_and_the_shift_limit():
    """With a zero cue spread the cue-noise refit repeats the first fit: the result equals
    the fit without cue noise (it would fall back to the hard bound / no limit if the refit
    lost the options)."""
    p = _mis_set_bound_problems(10, x_factor=3.0)
    valid = np.ones(p['h'].shape, bool)
    kw = dict(affine_space='disparity', height_loss='huber', X_v=p['X'], wX=p['wX'],
              alpha=(0.5, 3.0), bound_softness=0.05, shift_max=p['q'].min(1) - 0.01)
    base = fit_plus(p['h'], p['z'], p['q'], p['mu'], p['sigma'], valid, **kw)
    refit = fit_plus(p['h'], p['z'], p['q'], p['mu'], p['sigma'], valid, **kw,
                     cue_spread=np.zeros(p['h'].shape), cue_noise_scale=1.0)
    hard = fit_plus(p['h'], p['z'], p['q'], p['mu'], p['sigma'], valid,
                    **dict(kw, bound_softness=0.0))
    np.testing.assert_allclose(refit.z_star, base.z_star, rtol=1e-12)
    assert not np.allclose(base.z_star, hard.z_star, rtol=1e-3)


def test_run_dto_plus_uses_the_soft_bound_and_the_map_shift_limit():
    """Wiring into run_dto.  (1) A lower bound far above the truth (alpha1 = 2): the hard
    bound keeps every depth >= 2x too far, the preset's soft bound lets the exact heights
    pull them back.  (2) Priors that grow with depth push the shift b beyond the far end of
    the depth map; the preset's limit keeps b below it (flagged), without it b passes it."""
    from metric_hmr.dto.depth_map import to_relative_depth
    from metric_hmr.dto.dto import map_far_disparity
    sc = disparity_scene(seed=0)
    cfg = dict(ground_contact='none', focal_refine=False, resolution=None, alpha1=2.0, alpha2=3.0)
    err = lambda r: np.median(np.abs(np.log(r.z_star / (1.2 * sc['Z_true']))))    # rho = 1.2
    hard = _run(sc, **cfg, bound_softness=0.0)
    soft = _run(sc, **cfg)
    assert hard.active == -1 and soft.active == -1
    assert err(hard) > 0.25 and err(soft) < 0.3 * err(hard)
    q_far = map_far_disparity(to_relative_depth(sc['disparity']), 1.0)
    n_cap = n_beyond = 0
    for seed in range(6):
        k = np.random.default_rng(seed).uniform(0.5, 1.5)
        mu = sc['H_true'] * (sc['Z_true'] / sc['Z_true'].mean()) ** k
        run = lambda **c: run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                                  sc['disparity'], sc['transl'], sc['h_init'], mu=mu,
                                  sigma=np.full(len(mu), 0.05),
                                  config=dict(preset='plus', ground_contact='none', resolution=None, **c))
        lim, free = run(), run(shift_limit_percentile=None)
        assert lim.t_d <= q_far + 1e-12
        n_beyond += free.t_d > q_far
        n_cap += 'disparity_shift_at_limit' in lim.flags
    assert n_beyond >= 3 and n_cap >= 3


def test_quasi_planar_pin_stays_hard_with_the_soft_bound(monkeypatch):
    """A quasi-planar image pins a = A_X(b) (alpha 1, 1).  With priors 20 % low the heights
    pull a below the pin: the soft bound (preset) would give way on that side only, so for
    a quasi-planar image the fit equals the hard one; the same pin as ordinary bounds
    (alpha1 = alpha2 = 1, not quasi-planar) does give way."""
    import metric_hmr.dto.dto as dto_mod
    sc = disparity_scene(seed=3)
    mu = 0.8 * sc['H_true']
    run = lambda **c: run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                              sc['disparity'], sc['transl'], sc['h_init'], mu=mu,
                              sigma=np.full(len(mu), 0.05),
                              config=dict(preset='plus', ground_contact='none', resolution=None, **c))
    pin = dict(alpha1=1.0, alpha2=1.0)
    assert not np.allclose(run(**pin).z_star, run(**pin, bound_softness=0.0).z_star, rtol=1e-4)
    monkeypatch.setattr(dto_mod, 'is_quasi_planar', lambda *a, **k: True)
    soft, hard = run(), run(bound_softness=0.0)
    assert soft.quasi_planar and soft.active != 0
    np.testing.assert_array_equal(soft.z_star, hard.z_star)


def test_samples_depth_reference_places_roots_where_the_root_reference_cannot():
    """``z_source='samples'`` (dto.initial_depths): d_i is the depth of the person's sampled
    *surface*, so z_i must be the mesh's depth at the same samples (same statistic); the
    scaling z_i* / z_i about the camera then puts the root where it belongs.  Exact
    disparity, exact priors, persons of different thickness: the roots come back to 0.1 %
    with the sample reference; the root reference (the paper's z_i = T_z) is off by the
    surface-to-root offset, which differs between persons (seen from the front or the
    side: thickness 0.15 vs 0.45) and which no affine absorbs."""
    sc = disparity_scene(seed=3, rho=1.0, thickness=[0.15, 0.45, 0.45, 0.15, 0.45, 0.15])
    kw = dict(resolution=None, focal_refine=False, depth_fusion='none')
    z_true = sc['Z_true']
    samples = _run(sc, z_source='samples', **kw)
    root = _run(sc, z_source='transl', **kw)
    err_s = np.abs(samples.transl_star[:, 2] / z_true - 1)
    err_r = np.abs(root.transl_star[:, 2] / z_true - 1)
    assert err_s.max() < 0.001, err_s
    assert err_r.max() > 0.02 and err_r.max() > 5 * err_s.max(), (err_r, err_s)
    # z_init is the mesh depth at the samples: in front of the root, behind the nearest vertex
    used = samples.used
    zmin = np.array([v[:, 2].min() for v in sc['verts']])
    assert np.all(samples.z_init[used] < sc['transl'][used, 2])
    assert np.all(samples.z_init[used] > zmin[used])
    # heights follow the same ratio: exact priors, exact heights
    assert np.allclose(samples.h_star[used], sc['H_true'][used], rtol=0.005)
