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


def _random_scenes(rng, n_scenes=40, noise_a=0.05, noise_b=0.3):
    """Hand-made per-scene outputs: method 'a' near the truth, 'b' noisier."""
    per = []
    for _ in range(n_scenes):
        K = int(rng.integers(2, 7))
        z = rng.uniform(2.0, 10.0, K)
        h = rng.uniform(0.8, 1.9, K)
        gt = dict(z=z, h=h, age_group=rng.integers(0, 4, K), layer=depth_layers_from_gt(z))
        per.append(dict(gt=gt,
                        a=dict(z=z + noise_a * rng.normal(size=K), h=h + 0.02 * rng.normal(size=K),
                               kept=None, runtime=0.0),
                        b=dict(z=z + noise_b * rng.normal(size=K), h=h + 0.08 * rng.normal(size=K),
                               kept=None, runtime=0.0)))
    return per


def test_paired_differences_match_summarize_and_are_reproducible():
    from metric_hmr.synthetic.benchmark import paired_differences
    per = _random_scenes(np.random.default_rng(3))
    S = summarize(per, methods=('a', 'b'))
    d = paired_differences(per, 'a', 'b', n_boot=500, seed=7)
    # the point estimates are summarize's numbers (computed there by PCDRAccumulator)
    assert d['pcdr']['diff'] == pytest.approx(S['a']['pcdr'] - S['b']['pcdr'], abs=1e-9)
    for g in ('baby', 'kid', 'teen', 'adult'):
        want = S['a']['height_err_cm_by_age'][g] - S['b']['height_err_cm_by_age'][g]
        assert d['height_cm'][g]['diff'] == pytest.approx(want, abs=1e-9)
        assert d['height_cm'][g]['lo'] <= d['height_cm'][g]['diff'] <= d['height_cm'][g]['hi']
    # a clearly better method: the interval excludes 0 on both metrics
    assert 0 < d['pcdr']['lo'] <= d['pcdr']['diff'] <= d['pcdr']['hi']
    assert d['height_cm']['adult']['hi'] < 0
    # seeded: identical inputs, identical intervals; another seed, other draws
    assert paired_differences(per, 'a', 'b', n_boot=500, seed=7) == d
    assert paired_differences(per, 'a', 'b', n_boot=500, seed=8)['pcdr']['lo'] != d['pcdr']['lo']
    # the level is the percentile interval of the same draws: 50 % inside 95 %
    half = paired_differences(per, 'a', 'b', n_boot=500, seed=7, level=0.5)['pcdr']
    assert d['pcdr']['lo'] < half['lo'] < half['hi'] < d['pcdr']['hi']


def test_paired_differences_of_a_method_with_itself_is_zero():
    from metric_hmr.synthetic.benchmark import paired_differences
    per = _random_scenes(np.random.default_rng(4), n_scenes=10)
    d = paired_differences(per, 'b', 'b', n_boot=200)
    assert (d['pcdr']['diff'], d['pcdr']['lo'], d['pcdr']['hi']) == (0.0, 0.0, 0.0)
    assert all(v['diff'] == 0.0 and v['lo'] == 0.0 == v['hi'] for v in d['height_cm'].values())


def test_paired_interval_widens_with_fewer_scenes():
    """The interval reflects scene-to-scene noise: 4x fewer scenes, about 2x wider."""
    from metric_hmr.synthetic.benchmark import paired_differences
    per = _random_scenes(np.random.default_rng(5), n_scenes=400, noise_a=0.2, noise_b=0.25)
    wide = paired_differences(per[:100], 'a', 'b', n_boot=1000)['pcdr']
    narrow = paired_differences(per, 'a', 'b', n_boot=1000)['pcdr']
    ratio = (wide['hi'] - wide['lo']) / (narrow['hi'] - narrow['lo'])
    assert 1.4 < ratio < 2.9


def test_estimate_with_focal_bias_remakes_the_stored_estimate(anny_gen, anny_scenes):
    """rho_new = the scene's rho gives back the stored estimate exactly; rho_new = 1 moves
    only the root depth (by 1 / rho) and the focal (to the true one): the 2D projection,
    size error and body relief are those of the stored estimate."""
    from metric_hmr.geometry import project_points
    from metric_hmr.synthetic.benchmark import estimate_with_focal_bias
    checked = 0
    for scene in anny_scenes:
        det = np.nonzero(np.asarray(scene['n_pixels']) >= 30)[0]
        if not len(det):
            continue
        rho = float(scene['est_rho'])
        assert abs(rho - 1.0) > 1e-3                  # the case where a difference would show
        vg = anny_gen.scene_vertices(scene)
        vi = anny_gen.initial_vertices(scene, vg)
        v, t, f = estimate_with_focal_bias(scene, det, vg, rho)
        np.testing.assert_array_equal(t, np.asarray(scene['est_root'])[det])
        np.testing.assert_allclose(f, np.asarray(scene['focal']) * rho, rtol=1e-15)
        for k, i in enumerate(det):
            np.testing.assert_array_equal(v[k], vi[i])
        v1, t1, f1 = estimate_with_focal_bias(scene, det, vg, 1.0)
        np.testing.assert_allclose(f1, scene['focal'], rtol=1e-15)
        np.testing.assert_allclose(t1[:, :2], t[:, :2], rtol=1e-12)
        np.testing.assert_allclose(t1[:, 2], t[:, 2] / rho, rtol=1e-12)
        princpt = np.asarray(scene['princpt'])
        for k in range(len(det)):
            # same relief about the root, same projected root
            np.testing.assert_allclose(v1[k] - t1[k], v[k] - t[k], atol=1e-12)
            np.testing.assert_allclose(project_points(t1[k], f1, princpt),
                                       project_points(t[k], f, princpt), atol=1e-9)
        checked += 1
    assert checked


def test_gt_focal_rows_run_their_dto_variant_on_the_true_focal_estimate(anny_gen, anny_scenes):
    """plus_gt_focal is DTO+ (not the paper) on the re-made estimate, dto_paper_gt_focal the
    paper: at severity 0 the true focal removes most of DTO+'s depth error, and the two
    rows differ (different presets) on at least one scene."""
    from metric_hmr.synthetic.benchmark import GT_FOCAL_METHODS
    assert GT_FOCAL_METHODS == {'dto_paper_gt_focal': 'dto_paper', 'plus_gt_focal': 'dto_plus'}
    methods = ('initial', 'dto_plus', 'dto_paper_gt_focal', 'plus_gt_focal')
    per = [evaluate_scene(anny_gen, s, methods=methods, min_pixels=30) for s in anny_scenes]
    per = [p for p in per if len(p['gt']['z'])]
    S = summarize(per, methods=methods)
    assert S['plus_gt_focal']['depth_err_mean'] < 0.5 * S['dto_plus']['depth_err_mean']
    assert any(np.abs(p['plus_gt_focal']['z'] - p['dto_paper_gt_focal']['z']).max() > 1e-6 for p in per)


def test_retarget_is_the_synthetic_estimates_focal_model(anny_gen, anny_scenes):
    """The HMR failure model of metric_hmr.synthetic.estimates moves the root with the focal
    exactly this way: retargeting a stored estimate from the HMR's focal to the true one gives
    the estimate re-made with the true focal (benchmark.estimate_with_focal_bias)."""
    from metric_hmr.geometry import retarget_translation_to_intrinsics
    from metric_hmr.synthetic.benchmark import estimate_with_focal_bias
    scene = anny_scenes[1]
    det = np.nonzero(np.asarray(scene['n_pixels']) >= 30)[0]
    assert len(det) and abs(float(scene['est_rho']) - 1) > 1e-3
    vg = anny_gen.scene_vertices(scene)
    _, t_true_focal, f_true = estimate_with_focal_bias(scene, det, vg, 1.0)
    f_hmr = np.asarray(scene['focal']) * float(scene['est_rho'])
    t = retarget_translation_to_intrinsics(np.asarray(scene['est_root'])[det], f_hmr, scene['princpt'],
                                           f_true, scene['princpt'])
    np.testing.assert_allclose(t, t_true_focal, rtol=1e-12)
