"""Closed forms of metric_hmr.synthetic.focal_cues on exact geometry: each recovers the
focal where the scene determines it and declines (NaN) for a level camera."""
import numpy as np
import pytest

from metric_hmr.synthetic.focal_cues import (fit_disparity_plane, focal_and_shift_from_planes_and_up,
                                             focal_from_floor_and_wall, focal_ratio_from_horizon,
                                             pitch_from_up)
from metric_hmr.synthetic.render import background_depth, background_is_ground, pixel_rays
from metric_hmr.synthetic.scene_camera import SceneCamera, camera_rotation


def _camera(pitch_deg, f=300.0, height=2.5, hw=(96, 128)):
    p = np.deg2rad(pitch_deg)
    return SceneCamera(image_size=hw, focal=np.array([f, f]), princpt=np.array([hw[1] / 2, hw[0] / 2]),
                       vfov=2 * np.arctan(hw[0] / 2 / f), height=height, pitch=p,
                       R=camera_rotation(p), C=np.array([0.0, height, 0.0]))


def _floor_points(cam, rng, n=6):
    """Camera-space points on the floor y_world = 0 in front of the camera."""
    w = np.stack([rng.uniform(-3, 3, n), np.zeros(n), rng.uniform(4, 15, n)], 1)
    return cam.world_to_camera(w)


@pytest.mark.parametrize('pitch', [5.0, 12.0, 24.0])
@pytest.mark.parametrize('rho', [0.8, 1.0, 1.3])
def test_horizon_recovers_the_focal_ratio(pitch, rho):
    cam = _camera(pitch)
    X = _floor_points(cam, np.random.default_rng(0))
    # what DTO sees under the focal rho f: normalised coordinates / rho, depths * rho
    x, y, zs = X[:, 0] / X[:, 2] / rho, X[:, 1] / X[:, 2] / rho, X[:, 2] * rho
    D = np.stack([x, y, np.ones_like(x)], 1)
    plane, *_ = np.linalg.lstsq(D, 1.0 / zs, rcond=None)
    up = cam.R[:, 1]                       # world up in camera space
    assert focal_ratio_from_horizon(plane, up) == pytest.approx(rho, rel=1e-9)
    # any length / sign of the up vectors, several persons
    assert focal_ratio_from_horizon(plane, -2.0 * np.stack([up, up, up])) == pytest.approx(rho, rel=1e-9)
    # the roll-free form (B / C) tan(pitch) is the same number
    assert plane[1] / plane[2] * np.tan(np.deg2rad(pitch)) == pytest.approx(rho, rel=1e-9)


def test_horizon_declines_for_a_level_camera():
    cam = _camera(0.0)
    X = _floor_points(cam, np.random.default_rng(1))
    D = np.stack([X[:, 0] / X[:, 2], X[:, 1] / X[:, 2], np.ones(len(X))], 1)
    plane, *_ = np.linalg.lstsq(D, 1.0 / X[:, 2], rcond=None)    # the fitted plane, C ~ 1e-17
    assert abs(plane[2]) < 1e-12
    assert np.isnan(focal_ratio_from_horizon(plane, cam.R[:, 1]))


def test_horizon_roll_free_plane_uses_b_alone():
    """DTO fits (0, B, C) with few contacts: a roll error of the up vector must not scale the
    answer (by cos(roll) with the least-squares lambda over (A, B), by 1 / cos(roll) with
    B / u_y); the pitch, its tilt out of the image plane, is unchanged by the roll."""
    cam = _camera(12.0)
    up = cam.R[:, 1]
    roll = np.deg2rad(5.0)
    up_rolled = np.array([np.sin(roll) * abs(up[1]), up[1] * np.cos(roll), up[2]])
    plane = np.array([0.0, np.cos(np.deg2rad(12.0)), np.sin(np.deg2rad(12.0)) / 1.2])
    assert focal_ratio_from_horizon(plane, up_rolled) == pytest.approx(1.2, rel=1e-12)


@pytest.mark.parametrize('pitch', [3.0, 12.0, 24.0])
def test_pitch_from_up(pitch):
    up = _camera(pitch).R[:, 1]
    assert np.rad2deg(pitch_from_up(up)) == pytest.approx(pitch, abs=1e-9)
    assert np.rad2deg(pitch_from_up(-up)) == pytest.approx(pitch, abs=1e-9)     # any sign


@pytest.mark.parametrize('pitch', [6.0, 15.0, 24.0])
def test_floor_and_wall_recover_the_focal(pitch):
    cam = _camera(pitch, f=250.0, hw=(120, 160))
    wall_z = 12.0
    depth = background_depth(cam, wall_z)
    ground = background_is_ground(cam, wall_z)
    assert ground.any() and (~ground).any()
    a, b = 3.7, -0.04                      # the network's unknown scale and shift
    q = a / depth + b
    cf = fit_disparity_plane(q, ground, cam.princpt)
    cw = fit_disparity_plane(q, ~ground, cam.princpt)
    assert focal_from_floor_and_wall(cf, cw, b) == pytest.approx(250.0, rel=1e-6)
    # a wrong shift bends the answer: this form needs b ...
    assert abs(focal_from_floor_and_wall(cf, cw, b + 0.05) - 250.0) > 5.0
    # ... the up vector replaces it: focal and shift together
    f, b_hat = focal_and_shift_from_planes_and_up(cf, cw, cam.R[:, 1])
    assert f == pytest.approx(250.0, rel=1e-6) and b_hat == pytest.approx(b, abs=1e-6)


def test_floor_and_wall_decline_for_a_level_camera_and_few_pixels():
    cam = _camera(0.0, f=250.0, hw=(120, 160))
    depth = background_depth(cam, 12.0)
    ground = background_is_ground(cam, 12.0)
    q = 2.0 / depth + 0.1
    cf = fit_disparity_plane(q, ground, cam.princpt)
    cw = fit_disparity_plane(q, ~ground, cam.princpt)
    assert np.isnan(focal_from_floor_and_wall(cf, cw, 0.1))
    assert np.isnan(focal_and_shift_from_planes_and_up(cf, cw, cam.R[:, 1])[0])
    assert fit_disparity_plane(q, np.zeros_like(ground), cam.princpt) is None
    # a one-row strip of many pixels determines no vertical gradient
    strip = np.zeros_like(ground)
    strip[-1] = True
    assert strip.sum() >= 150 and fit_disparity_plane(q, strip, cam.princpt, min_pixels=100) is None


def test_background_split_matches_the_depth():
    """background_is_ground labels the surface background_depth took (ground below the fold)."""
    cam = _camera(10.0)
    depth = background_depth(cam, 9.0)
    ground = background_is_ground(cam, 9.0)
    pts = pixel_rays(cam) * depth[..., None]
    world = cam.camera_to_world(pts)
    np.testing.assert_allclose(world[ground][:, 1], 0.0, atol=1e-9)
    np.testing.assert_allclose(world[~ground][:, 2], 9.0, atol=1e-9)
