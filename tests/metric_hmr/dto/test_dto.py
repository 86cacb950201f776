"""run_dto: synthetic recovery, edge cases, released-code options."""
import numpy as np
import pytest

from metric_hmr.dto import DTOConfig, run_dto


def _run(sc, **cfg):
    return run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                   sc['disparity'], sc['transl'], sc['h_init'], mu=sc['H_true'],
                   sigma=np.full(len(sc['h_init']), 0.07), config=cfg or None)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_recovers_scale_and_shift_within_2_percent(make_scene, seed):
    """Known metric depth, affine-corrupted relative depth, wrongly scaled persons.

    With z_i the mean rendered depth (the same surface quantity d_i measures) the fitted
    (s_d, t_d) is the true affine map."""
    sc = make_scene(seed=seed)
    res = _run(sc, z_source='rendered')
    assert res.s_d == pytest.approx(sc['s_true'], rel=0.02)
    assert res.t_d == pytest.approx(sc['t_true'], rel=0.02)
    assert res.kept and res.optimized and all(r == '' for r in res.reasons)
    # persons regain their true height and (surface) depth
    np.testing.assert_allclose(res.h_star, sc['H_true'], rtol=0.02)


@pytest.mark.parametrize('seed', [0, 1])
def test_paper_default_recovers_heights_and_depths(make_scene, seed):
    """Paper default z_i = translation z: (s_d, t_d) absorb the body half-thickness, but the
    corrected heights and root depths are right within 2 %."""
    sc = make_scene(seed=seed)
    res = _run(sc)
    np.testing.assert_allclose(res.h_star, sc['H_true'], rtol=0.02)
    np.testing.assert_allclose(res.transl_star[:, 2], sc['Z_true'], rtol=0.02)
    # the 2D projection of the root is unchanged
    p0 = sc['transl'][:, :2] / sc['transl'][:, 2:]
    p1 = res.transl_star[:, :2] / res.transl_star[:, 2:]
    np.testing.assert_allclose(p0, p1, atol=1e-12)
    assert np.all(res.std_h > 0) and np.all(np.isfinite(res.std_z))
    assert res.x_min == pytest.approx(res.X) and res.x_max == pytest.approx(5 * res.X)


def test_depth_convention_depth_equals_disparity(make_scene):
    sc = make_scene(seed=3)
    a = _run(sc)
    b = run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], sc['rel'],
                sc['transl'], sc['h_init'], mu=sc['H_true'], sigma=np.full(5, 0.07),
                config=dict(depth_convention='depth', depth_resample='after'))
    c = run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], sc['disparity'],
                sc['transl'], sc['h_init'], mu=sc['H_true'], sigma=np.full(5, 0.07),
                config=dict(depth_resample='after'))
    assert b.s_d == pytest.approx(c.s_d, rel=1e-9) and b.t_d == pytest.approx(c.t_d, rel=1e-9)
    assert a.s_d == pytest.approx(b.s_d, rel=0.02)


def test_zero_persons():
    res = run_dto([], np.zeros((0, 3), int), (500, 500), (320, 240), (480, 640), np.ones((48, 64)),
                  np.zeros((0, 3)), np.zeros(0))
    assert not res.kept and res.flags == ['no_persons'] and res.transl_star.shape == (0, 3)


def test_one_person_pass_through(make_scene):
    sc = make_scene(seed=0, K=1, depths=[4.0])
    res = _run(sc)
    assert 'single_person_pass_through' in res.flags and not res.optimized
    np.testing.assert_array_equal(res.transl_star, sc['transl'])
    np.testing.assert_array_equal(res.h_star, sc['h_init'])
    assert res.reasons == ['single_person_pass_through']
    assert np.isfinite(res.image_score)


def test_two_persons_exact_fit_flagged(make_scene):
    sc = make_scene(seed=0, K=2, depths=[3.0, 8.0])
    res = _run(sc)
    assert 'two_persons_exact_fit' in res.flags and not res.optimized and res.active == 0
    np.testing.assert_allclose(res.h_star, sc['H_true'], rtol=1e-9)   # exact: zero residual
    np.testing.assert_allclose(res.residual, 0, atol=1e-6)


def test_identical_d_uses_singular_fallback(make_ellipsoid):
    """Two identical persons shifted by exactly 120 px on a row-only depth map: identical d_i."""
    H, W = 480, 640
    f, c = np.array([600.0, 600.0]), np.array([320.0, 240.0])
    v0, faces = make_ellipsoid((-0.4, 0.0, 4.0), (0.2, 0.8, 0.1))
    v0[:, 2] += 0.3 * v0[:, 1]                   # leaning: lower body farther (depth grows with row)
    v1 = v0 + np.array([0.8, 0.0, 0.0])          # 0.8 m at 4 m = 120 px
    rows = np.arange(H, dtype=float)[:, None]
    depth = np.tile(3.0 + 0.004 * rows, (1, W))  # 'depth' convention, varies with row only
    res = run_dto([v0, v1], faces, f, c, (H, W), depth, np.array([[-0.4, 0, 4.0], [0.4, 0, 4.0]]),
                  np.array([1.6, 1.6]), mu=np.array([1.7, 1.75]), sigma=np.array([0.07, 0.07]),
                  config=dict(depth_convention='depth', resolution=None))
    assert res.d_i[0] == pytest.approx(res.d_i[1], rel=1e-12)
    assert 'singular_fallback' in res.flags
    assert np.isfinite(res.X) and res.s_d == pytest.approx(res.X)
    # t solves dL/dt = 0 for s = X: mean standardized signed residual weighted by b is zero
    b = res.h_init / (res.z_init * res.sigma)
    r = (res.h_star - res.mu) / res.sigma
    assert np.sum(b * r) == pytest.approx(0, abs=1e-9)


def test_outside_and_occluded_persons_skipped(make_scene, make_person):
    sc = make_scene(seed=0, K=3)
    behind = sc['transl'][0] * 3.0                # on the same camera ray, 3x farther
    hidden, _ = make_person(0.4, behind)
    outside, _ = make_person(1.7, (60.0, 0.0, 5.0))
    verts = sc['verts'] + [hidden, outside]
    transl = np.concatenate([sc['transl'], [behind, [60.0, 0.0, 5.0]]])
    res = run_dto(verts, sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], sc['disparity'],
                  transl, np.concatenate([sc['h_init'], [0.8, 1.7]]),
                  mu=np.concatenate([sc['H_true'], [1.7, 1.7]]), sigma=np.full(5, 0.07))
    assert res.reasons[3] == 'fully_occluded' and res.reasons[4] == 'outside_image'
    assert not res.used[3:].any() and res.used[:3].all()
    np.testing.assert_array_equal(res.transl_star[3:], transl[3:])
    assert np.isnan(res.residual[3:]).all()


def test_invalid_heights_and_sigma_name_the_person(make_scene):
    sc = make_scene(seed=0, K=3)
    h = sc['h_init'].copy()
    h[1] = -1.6
    with pytest.raises(ValueError, match='person 1: T-pose height'):
        run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], sc['disparity'],
                sc['transl'], h, mu=sc['H_true'], sigma=np.full(3, 0.07))
    sg = np.array([0.07, 0.07, 0.0])
    with pytest.raises(ValueError, match='person 2: prior sigma'):
        run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], sc['disparity'],
                sc['transl'], sc['h_init'], mu=sc['H_true'], sigma=sg)


def test_priors_from_demographics_and_verdict(make_scene):
    sc = make_scene(seed=4, K=4)
    res = run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], sc['disparity'],
                  sc['transl'], sc['h_init'], age_years=[30, 30, 10, np.nan], p_male=[0.9, 0.1, 0.5, np.nan])
    assert res.prior_source[2] == 'teen' and res.prior_source[3].startswith('fallback')
    assert res.mu[0] == pytest.approx((sc['h_init'][0] + 1.784) / 2)
    assert res.image_score == pytest.approx(np.nanmean(res.residual))
    assert res.kept == (res.image_score <= 1.5)
    rec = res.to_record()
    assert isinstance(rec['h_star'], list) and rec['kept'] == res.kept
    import json
    assert json.loads(json.dumps(rec))['reasons'] == res.reasons


def test_quasi_planar_scene_fixes_scale(make_scene):
    sc = make_scene(seed=5, K=4, depths=[6.0, 6.02, 6.01, 6.03])
    res = _run(sc)
    assert res.quasi_planar and 'quasi_planar' in res.flags
    assert res.s_d == pytest.approx(res.X) and res.x_min == res.x_max


# ------------------------------------------------------------------ released-code options
def test_released_preset_runs_and_recovers(make_scene):
    sc = make_scene(seed=0, K=5, n_lat=65, n_lon=106)      # 6,890 vertices, as SMPL
    res = _run(sc, preset='released')
    assert res.x_max == np.inf
    np.testing.assert_allclose(res.h_star[res.used], sc['H_true'][res.used], rtol=0.05)
    assert DTOConfig.from_dict(dict(preset='released')).min_corr == 0.5


def test_person_filters(make_scene):
    sc = make_scene(seed=0, K=4)
    res = _run(sc, min_visible_vertices=10_000)
    assert all(r.startswith('visible_vertices') for r in res.reasons)
    assert 'no_usable_person' in res.flags and not res.used.any()
    res = _run(sc, min_mask_area_frac=0.5)
    assert all(r.startswith('mask_area') for r in res.reasons)


def test_unknown_option_is_an_error():
    with pytest.raises(ValueError, match='unknown DTO option'):
        DTOConfig.from_dict(dict(alpha3=1))


def test_masks_exclude_unmodelled_occluder(make_scene):
    """An object that is not a person covers the lower half of person 0 in the depth map;
    the person's mask excludes it, so with masks d_0 (and the fit) are unaffected."""
    from metric_hmr.dto.raster import rasterize_persons
    sc = make_scene(seed=6, K=3, depths=[4.0, 6.0, 9.0])
    H, W = sc['image_size']
    full = rasterize_persons(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], (H, W), None)
    masks = np.stack([full.person_id == k for k in range(3)])
    rows, cols = np.nonzero(masks[0])
    occ = np.zeros((H, W), bool)
    occ[int(np.median(rows)):, cols.min():cols.max() + 1] = True
    rel = sc['rel'].copy()
    rel[occ] = (1.0 - sc['t_true']) / sc['s_true'] + 0.01       # an object at ~1 m
    masks[0] &= ~occ
    kw = dict(mu=sc['H_true'], sigma=np.full(3, 0.07), config=dict(depth_convention='depth'))
    args = (sc['verts'], sc['faces'], sc['focal'], sc['princpt'], (H, W))
    clean = run_dto(*args, sc['rel'], sc['transl'], sc['h_init'], **kw)
    no_mask = run_dto(*args, rel, sc['transl'], sc['h_init'], **kw)
    with_mask = run_dto(*args, rel, sc['transl'], sc['h_init'], masks=masks, **kw)
    assert abs(no_mask.d_i[0] - clean.d_i[0]) > 0.1
    assert with_mask.d_i[0] == pytest.approx(clean.d_i[0], rel=0.02)
    np.testing.assert_allclose(with_mask.h_star, sc['H_true'], rtol=0.02)


def test_edge_erosion_is_configurable_and_reaches_the_cues(make_scene):
    """edge_erosion=0 (the paper's letter) and 1 (our default) give different d_i from the
    same scene, and each equals extract_cues called directly with that setting."""
    from metric_hmr.dto.cues import extract_cues
    from metric_hmr.dto.depth_map import prepare_depth
    from metric_hmr.dto.raster import rasterize_persons
    sc = make_scene(seed=4)
    raster = rasterize_persons(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], 512)
    rel = prepare_depth(sc['disparity'], raster.person_id.shape, 'disparity', 'before')
    results = {}
    for e in (0, 1):
        res = _run(sc, edge_erosion=e)
        cues = extract_cues(sc['verts'], raster, rel, sc['focal'], sc['princpt'],
                            config=DTOConfig(edge_erosion=e).cues)
        np.testing.assert_allclose(res.d_i, cues.d, rtol=1e-12)
        results[e] = res.d_i
    assert not np.allclose(results[0], results[1])
