"""metric_hmr.synthetic.scene_camera: the scene camera."""


def test_scene_camera_project_is_the_geometry_pinhole():
    """``SceneCamera.project`` is ``metric_hmr.geometry.project_points`` (OpenCV pixel centres)."""
    import numpy as np

    from metric_hmr.geometry import project_points
    from metric_hmr.synthetic.scene_camera import sample_camera
    cam = sample_camera(np.random.default_rng(0), (60, 80))
    p = np.random.default_rng(1).normal(size=(5, 3)) + [0, 0, 4]
    assert np.array_equal(cam.project(p), project_points(p, cam.focal, cam.princpt))
    with np.errstate(all='raise'):           # z = 0 gives inf/nan without a warning
        assert not np.isfinite(cam.project(np.array([[1.0, 0.0, 0.0]]))).all()
