"""Depth-map conventions, invalid-pixel masking and resampling."""
import numpy as np
import pytest

from metric_hmr.dto.depth_map import prepare_depth, resize_depth, to_relative_depth


def test_disparity_inverted_zeros_to_smallest_positive():
    disp = np.array([[2.0, 0.5], [0.0, 4.0]])
    rel = to_relative_depth(disp, 'disparity')
    np.testing.assert_allclose(rel, [[0.5, 2.0], [2.0, 0.25]])


def test_invalid_values_masked():
    m = np.array([[1.0, np.nan], [np.inf, -1.0]])
    rel = to_relative_depth(m, 'depth')
    assert rel[0, 0] == 1.0 and np.isnan(rel[0, 1]) and np.isnan(rel[1, 0]) and np.isnan(rel[1, 1])
    relz = to_relative_depth(np.array([[0.0, 1.0]]), 'depth')
    assert np.isnan(relz[0, 0])
    reld = to_relative_depth(np.array([[-1.0, np.inf, 2.0]]), 'disparity')
    assert np.isnan(reld[0, 0]) and np.isnan(reld[0, 1]) and reld[0, 2] == 0.5
    assert np.isnan(to_relative_depth(np.zeros((2, 2)), 'disparity')).all()
    with pytest.raises(ValueError, match='convention'):
        to_relative_depth(m, 'inverse')


def test_resize_identity_and_linear_ramp():
    x = np.tile(np.arange(8, dtype=float), (4, 1))
    np.testing.assert_allclose(resize_depth(x, (4, 8)), x)
    down = resize_depth(x, (2, 4))
    # align_corners=False: output pixel j centre maps to 2j + 0.5 of the input
    np.testing.assert_allclose(down[0], [0.5, 2.5, 4.5, 6.5])
    up = resize_depth(x, (8, 16))
    assert up[0, 0] == 0.0 and up[0, -1] == 7.0 and np.all(np.diff(up[0]) >= 0)


def test_resize_propagates_invalid():
    x = np.ones((4, 4))
    x[1, 1] = np.nan
    y = resize_depth(x, (8, 8))
    assert np.isnan(y).any() and np.isfinite(y[-1, -1])


def test_prepare_depth_before_and_after():
    disp = np.random.default_rng(0).uniform(0.5, 2.0, (6, 8))
    a = prepare_depth(disp, (3, 4), 'disparity', 'before')
    b = prepare_depth(disp, (3, 4), 'disparity', 'after')
    assert a.shape == b.shape == (3, 4)
    np.testing.assert_allclose(a, 1.0 / resize_depth(disp, (3, 4)))
    np.testing.assert_allclose(b, resize_depth(1.0 / disp, (3, 4)))
    with pytest.raises(ValueError, match='resample'):
        prepare_depth(disp, (3, 4), 'disparity', 'middle')


def test_prepare_depth_refuses_a_map_of_another_aspect_ratio():
    """Review item 16 (issue 13 finding 6): every DTO path goes through prepare_depth, so a
    map of another aspect ratio than the image is an error there (it used to be stretched
    silently by the loops and the precomputed evaluator); within the tolerance it is
    resampled as before."""
    from metric_hmr.dto.depth_map import prepare_depth
    m = np.random.default_rng(0).uniform(1, 2, (30, 40))
    ok = prepare_depth(m, (48, 64), image_hw=(480, 640))
    np.testing.assert_array_equal(ok, prepare_depth(m, (48, 64)))
    with pytest.raises(ValueError, match=r'\(40, 40\).*aspect ratio.*\(480, 640\)'):
        prepare_depth(np.ones((40, 40)), (48, 64), image_hw=(480, 640))
    prepare_depth(np.ones((40, 40)), (48, 64), image_hw=(480, 640), aspect_tolerance=0.5)


def test_run_dto_rejects_a_stretched_map_for_both_algorithms():
    from metric_hmr.dto import run_dto
    from metric_hmr.testing.dto_scenes import synthetic_scene
    sc = synthetic_scene(seed=0, K=3)
    square = sc['disparity'][:, :480]
    for preset in ('paper', 'released'):
        with pytest.raises(ValueError, match='aspect ratio'):
            run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], square,
                    sc['transl'], sc['h_init'], config=dict(preset=preset))
