"""Relative-depth simulation (metric_hmr.synthetic.relative_depth)."""
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
