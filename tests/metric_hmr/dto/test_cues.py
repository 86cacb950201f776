"""Cue extraction: d_i, X_i, w_i, weighted X, quasi-planar test."""
import numpy as np
import pytest

from metric_hmr.dto.config import CueConfig
from metric_hmr.dto.cues import extract_cues, is_quasi_planar, slope_and_correlation, weighted_scale
from metric_hmr.dto.raster import rasterize_persons


def test_slope_and_correlation():
    x = np.linspace(0, 1, 50)
    s, r = slope_and_correlation(x, 3 * x + 2)
    assert s == pytest.approx(3) and r == pytest.approx(1)
    s, r = slope_and_correlation(x, -x)
    assert r == pytest.approx(-1)
    assert np.isnan(slope_and_correlation([1, 2], [1, 2])[0])
    assert np.isnan(slope_and_correlation(np.ones(5), np.arange(5))[0])


def test_weighted_scale():
    X = weighted_scale([1.0, 3.0, 10.0, np.nan], [1.0, 0.5, -0.9, 0.8])
    assert X == pytest.approx((1 * 1 + 0.5 * 3) / 1.5)      # negative / NaN weights dropped
    assert weighted_scale([1.0, 3.0], [0.9, 0.4], min_corr=0.5) == pytest.approx(1.0)
    assert np.isnan(weighted_scale([1.0], [-0.2]))
    assert weighted_scale([1.0, 3.0], [0.9, 0.9], use=[False, True]) == pytest.approx(3.0)


def test_quasi_planar():
    assert is_quasi_planar([1.0, 1.01, 0.99], [0.01, 0.01, 0.01])
    assert not is_quasi_planar([1.0, 2.0, 3.0], [0.01, 0.01, 0.01])
    assert not is_quasi_planar([1.0], [1.0])     # fewer than two persons: never
    # var(d) = 0.0144 < mean var 0.02, but std(d) = 0.12 > mean std 0.1: the tests differ
    assert is_quasi_planar([1.0, 1.24], [0.0, 0.04]) and not is_quasi_planar([1.0, 1.24], [0.0, 0.04], test='std')


def _scene(make_person, s=2.0, t=0.5, depths=(3.0, 5.0, 7.0)):
    H, W = 480, 640
    f, c = np.array([600.0, 600.0]), np.array([320.0, 240.0])
    meshes = [make_person(1.7, (x, 0.3, z)) for x, z in zip((-1.0, 0.2, 1.5), depths)]
    verts = [m[0] for m in meshes]
    faces = meshes[0][1]
    full = rasterize_persons(verts, faces, f, c, (H, W), None)
    D = np.where(np.isfinite(full.depth), full.depth, 20.0).astype(float)
    rel = (D - t) / s
    return verts, faces, f, c, (H, W), rel, full


def test_cues_on_exact_affine_depth(make_person):
    s, t = 2.0, 0.5
    verts, faces, f, c, hw, rel, full = _scene(make_person, s, t)
    cues = extract_cues(verts, full, rel, f, c)
    # X_i: mesh depth = s * rel + t exactly on the person -> slope s, r ~ 1
    np.testing.assert_allclose(cues.X, s, rtol=0.03)
    assert np.all(cues.w > 0.98)
    # d_i maps back to the mean visible-vertex depth (without erosion every visible vertex counts)
    exact = extract_cues(verts, full, rel, f, c, config=CueConfig(edge_erosion=0))
    for k, v in enumerate(verts):
        vis = full.vertex_visible[k]
        assert s * exact.d[k] + t == pytest.approx(v[vis, 2].mean(), abs=0.01)
    assert all(r == '' for r in cues.reason) and np.all(cues.n_pixels > 0)
    np.testing.assert_allclose(cues.z_render, [3.0, 5.0, 7.0], atol=0.15)
    assert not is_quasi_planar(cues.d, cues.var_within)


def test_pixel_regression_and_released_refinements(make_person):
    s, t = 2.0, 0.5
    verts, faces, f, c, hw, rel, full = _scene(make_person, s, t)
    for kw in (dict(), dict(iqr_fence=True), dict(row_mean_removal=True), dict(inlier_thresh=0.1)):
        cues = extract_cues(verts, full, rel, f, c, config=CueConfig(regression_source='pixels', **kw))
        np.testing.assert_allclose(cues.X, s, rtol=0.05, err_msg=str(kw))


def test_edge_samples_excluded_by_erosion(make_person):
    """Background leaking into silhouette pixels biases d_i without erosion."""
    verts, faces, f, c, hw, rel, full = _scene(make_person)
    blurred = rel.copy()
    edge = np.zeros_like(rel, bool)
    pid = full.person_id
    edge[:, 1:] |= pid[:, 1:] != pid[:, :-1]
    edge[:, :-1] |= pid[:, 1:] != pid[:, :-1]
    edge[1:] |= pid[1:] != pid[:-1]
    edge[:-1] |= pid[1:] != pid[:-1]
    blurred[edge] = 50.0           # garbage at the silhouettes
    clean = extract_cues(verts, full, rel, f, c)
    eroded = extract_cues(verts, full, blurred, f, c, config=CueConfig(edge_erosion=1))
    raw = extract_cues(verts, full, blurred, f, c, config=CueConfig(edge_erosion=0))
    np.testing.assert_allclose(eroded.d, clean.d, rtol=0.02)
    assert np.all(raw.d > clean.d * 1.1)


def test_skip_reasons(make_person):
    f, c = np.array([600.0, 600.0]), np.array([320.0, 240.0])
    front, faces = make_person(1.7, (0.0, 0.3, 3.0))
    hidden, _ = make_person(1.0, (0.0, 0.3, 8.0))     # small and right behind
    outside, _ = make_person(1.7, (40.0, 0.3, 3.0))
    verts = [front, hidden, outside]
    r = rasterize_persons(verts, faces, f, c, (480, 640), None)
    rel = np.ones((480, 640))
    rel[:, :10] = np.nan
    cues = extract_cues(verts, r, rel, f, c)
    assert cues.reason == ['', 'fully_occluded', 'outside_image']
    rel_nan = np.full((480, 640), np.nan)
    assert extract_cues(verts, r, rel_nan, f, c).reason[0] == 'no_valid_depth'
    with pytest.raises(ValueError, match='raster shape'):
        extract_cues(verts, r, rel[:10], f, c)
