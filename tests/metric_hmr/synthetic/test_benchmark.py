"""Depth layers and the oracle of metric_hmr.synthetic.benchmark."""
import numpy as np
import pytest

from metric_hmr.synthetic import disparity_to_depth, simulate_relative_depth
from metric_hmr.synthetic.benchmark import depth_layers_from_gt, evaluate_scene, summarize
from metric_hmr.synthetic.estimates import (EstimateParams, age_group_of, apply_estimate,
                                            sample_initial_estimates)


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
