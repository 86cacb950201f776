"""Relative-depth simulation, HMR-like estimates, depth layers and the oracle."""
import numpy as np
import pytest

from metric_hmr.synthetic import disparity_to_depth, simulate_relative_depth
from metric_hmr.synthetic.benchmark import depth_layers_from_gt, evaluate_scene, summarize
from metric_hmr.synthetic.estimates import (EstimateParams, age_group_of, apply_estimate,
                                            sample_initial_estimates)


def _toy_maps(seed=0):
    rng = np.random.default_rng(seed)
    H, W = 60, 80
    bg = np.linspace(30.0, 3.0, H)[:, None] * np.ones((1, W))
    depth = bg.copy()
    pid = np.full((H, W), -1)
    depth[20:50, 10:20], pid[20:50, 10:20] = 5.0, 0
    depth[25:55, 40:52], pid[25:55, 40:52] = 8.0, 1
    return depth, pid, bg, rng


def test_severity_zero_is_exact_affine_disparity():
    depth, pid, bg, rng = _toy_maps()
    rel = simulate_relative_depth(depth, pid, bg, 0.0, rng)
    np.testing.assert_allclose(rel.rel_disparity, rel.scale / depth + rel.shift, rtol=1e-5)
    np.testing.assert_allclose(disparity_to_depth(rel.rel_disparity, rel.scale, rel.shift), depth,
                               rtol=1e-4)
    assert np.all(rel.rel_disparity > 0)


def test_corruption_grows_with_severity_and_keeps_scale_shift():
    errs, scales = [], []
    for sev in (0.0, 0.5, 1.0, 2.0):
        depth, pid, bg, rng = _toy_maps(1)
        rel = simulate_relative_depth(depth, pid, bg, sev, rng)
        errs.append(np.mean(np.abs(rel.corrupted_depth - depth) / depth))
        scales.append(rel.shift / rel.scale)   # the shift (in disparity units) is severity-free
    assert errs[0] < 1e-6 and errs[1] < errs[2] < errs[3]
    with pytest.raises(ValueError, match='severity'):
        simulate_relative_depth(*_toy_maps()[:3], -1.0, np.random.default_rng(0))


def test_hmr_estimates_pull_heights_to_adult_mean():
    rng = np.random.default_rng(0)
    h = np.array([0.8, 1.1, 1.7, 1.95])
    est = sample_initial_estimates(rng, h, np.array([1.0, 5.0, 30.0, 30.0]),
                                   np.array([1, 0, 1, 1], bool), EstimateParams(sigma_h=0.0))
    assert est.size_factor[0] > 1.5 and est.size_factor[1] > 1.2      # children enlarged
    assert est.size_factor[3] < 1.0                                    # tall person shrunk
    np.testing.assert_allclose(est.height, est.size_factor * h)
    assert est.rho > 0 and np.all((est.p_male >= 0) & (est.p_male <= 1))


def test_estimate_keeps_root_projection_and_depth_follows_height():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(50, 3)) * 0.3 + [0.5, 0.2, 6.0]
    root = np.array([0.5, 0.2, 6.0])
    k, rho = 1.4, 1.2
    v2, r2 = apply_estimate(v, root, np.array([0.0, -1.0, 0.0]), k, rho, np.eye(3), 1.0)
    f = 500.0
    np.testing.assert_allclose(r2[:2] / r2[2] * f * rho, root[:2] / root[2] * f)   # same pixel
    assert r2[2] / root[2] == pytest.approx(k * rho)
    np.testing.assert_allclose(v2 - r2, k * (v - root))


def test_age_confusion_moves_to_neighbouring_groups():
    rng = np.random.default_rng(2)
    n = 4000
    age = rng.uniform(0, 80, n)
    est = sample_initial_estimates(rng, np.full(n, 1.5), age, rng.uniform(size=n) < 0.5,
                                   EstimateParams(p_confuse=0.3))
    diff = np.abs(est.age_group - age_group_of(age))
    assert diff.max() <= 2 and (diff == 1).mean() > 0.2 and (diff == 0).mean() > 0.55


def test_depth_layers_are_consistent_with_pcdr():
    z = np.array([3.0, 3.1, 5.0, 5.15, 5.3, 8.0])
    layer = depth_layers_from_gt(z)
    assert layer[0] == layer[1] and layer[5] > layer[0]
    assert np.all(layer[2:5] == -1)          # chain 5.0-5.3 spans > 0.2 m: ambiguous
    from metric_hmr.evaluation.functional.relative import ordinal_pairs
    assert ordinal_pairs(z, layer, np.zeros(6, int)).correct.all()   # GT scores 100 %


def test_oracle_is_near_exact_at_severity_zero(anny_gen, anny_scenes):
    per = [evaluate_scene(anny_gen, s, methods=('initial', 'oracle'), min_pixels=30)
           for s in anny_scenes]
    per = [p for p in per if len(p['gt']['z'])]
    assert per
    res = summarize(per, methods=('initial', 'oracle'))
    assert res['oracle']['depth_err_mean'] < 0.05
    assert res['initial']['depth_err_mean'] > 4 * res['oracle']['depth_err_mean']
    assert res['oracle']['pcdr'] >= res['initial']['pcdr']
