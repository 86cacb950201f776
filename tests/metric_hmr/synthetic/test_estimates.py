"""HMR-like initial estimates (metric_hmr.synthetic.estimates)."""
import numpy as np
import pytest

from metric_hmr.synthetic import disparity_to_depth, simulate_relative_depth
from metric_hmr.synthetic.benchmark import depth_layers_from_gt, evaluate_scene, summarize
from metric_hmr.synthetic.estimates import (EstimateParams, age_group_of, apply_estimate,
                                            sample_initial_estimates)


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
