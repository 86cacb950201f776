"""DTO+ ground-contact cue (issue 15, ``ground_contact='plane'``; metric_hmr.dto.ground_contact)."""
import numpy as np
import pytest

from metric_hmr.dto.config import DTOConfig
from metric_hmr.dto.ground_contact import (FootContact, fit_inverse_depth_plane, foot_contact,
                                           ground_fusion)
from metric_hmr.geometry import project_points

from .test_plus_fit import _run, disparity_scene

F, C, HW = np.array([500.0, 500.0]), np.array([320.0, 240.0]), (480, 640)


def _plane_contacts(n=7, pitch_deg=12.0, roll_deg=0.0, cam_height=1.6, seed=0):
    """Contacts on the ground of a camera at ``cam_height`` pitched down / rolled: world
    ground points (x, 0, z) seen through R.  Returns (FootContact, plane normal n, c)."""
    rng = np.random.default_rng(seed)
    p, r = np.deg2rad(pitch_deg), np.deg2rad(roll_deg)
    Rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    Rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    R = Rz @ Rx                                        # world (y down, camera at -h) -> camera
    world = np.stack([rng.uniform(-3, 3, n), np.full(n, cam_height), rng.uniform(3, 12, n)], 1)
    cam = world @ R.T
    n_cam, c = R @ np.array([0.0, 1.0, 0.0]), cam_height      # n . X = c in camera space
    uv = project_points(cam, F, C)
    return FootContact(uv[:, 0], uv[:, 1], cam[:, 2], np.full(n, 150.0)), n_cam, c


def test_inverse_depth_of_a_plane_is_affine_in_normalised_pixels():
    """n . X = c, X = z (x, y, 1)  =>  1 / z = (n / c) . (x, y, 1): the fit of exact
    contacts returns (A, B, C) = n / c (with roll), tau = 0."""
    fc, n, c = _plane_contacts(n=8, roll_deg=4.0)
    x, y = (fc.u - C[0]) / F[0], (fc.v - C[1]) / F[1]
    beta, _, tau, _ = fit_inverse_depth_plane(x, y, 1 / fc.z, np.full(8, 0.02), np.zeros(8), roll=True)
    np.testing.assert_allclose(beta, n / c, atol=1e-10)
    assert tau == 0.0
    # a level horizon (no roll): the 2-parameter model is exact, A = 0
    fc, n, c = _plane_contacts(n=5)
    x, y = (fc.u - C[0]) / F[0], (fc.v - C[1]) / F[1]
    beta, _, _, _ = fit_inverse_depth_plane(x, y, 1 / fc.z, np.full(5, 0.02), np.zeros(5), roll=False)
    np.testing.assert_allclose(beta, n / c, atol=1e-10)


def test_exact_contacts_leave_depths_unchanged_and_fix_one_wrong_person():
    """On an exact plane nobody moves (factor 1).  One person 10 % too far (2 of its own
    std) with the others exact: it is pulled back towards the plane the most, the others
    (who see it through their leave-one-out planes) move by less than their own std."""
    fc, _, _ = _plane_contacts(n=7)
    use, t = np.ones(7, bool), np.full(7, 0.05)
    out = ground_fusion(fc, np.ones(7), t, use, F, C, HW, pixel_noise=0.0)
    assert out.reason == '' and not out.off_ground.any()
    np.testing.assert_allclose(out.factor, 1.0, atol=1e-9)
    assert np.all((out.weight > 0) & (out.weight < 1))
    ratio = np.ones(7)
    ratio[3] = 1.10
    out = ground_fusion(fc, ratio, t, use, F, C, HW, pixel_noise=0.0)
    assert out.factor[3] < 1.0 and ratio[3] * out.factor[3] < 1.06
    others = np.delete(np.arange(7), 3)
    moved = np.abs(np.log(ratio * out.factor))
    assert np.all(moved[others] < 0.05) and np.argmax(np.abs(np.log(out.factor))) == 3
    # far off the plane (a person on a balcony): flagged and kept where it was
    ratio[3] = 1.6
    out = ground_fusion(fc, ratio, t, use, F, C, HW, pixel_noise=0.0)
    assert out.off_ground[3] and out.factor[3] == 1.0 and np.isnan(out.weight[3])
    np.testing.assert_allclose(out.factor[others], 1.0, atol=1e-6)


def test_fusion_is_the_precision_weighted_mean_of_own_depth_and_leave_one_out_plane():
    """Checks step 5 against an independent computation: the plane refitted without the
    person by ordinary weighted least squares (with the fit's tau, here 0), its prediction
    variance, and the inverse-variance mean in log depth."""
    fc, _, _ = _plane_contacts(n=6, seed=3)
    rng = np.random.default_rng(0)
    ratio = np.exp(rng.normal(0, 0.01, 6))
    t = rng.uniform(0.02, 0.06, 6)
    out = ground_fusion(fc, ratio, t, np.ones(6, bool), F, C, HW, pixel_noise=0.0,
                        roll_min_persons=10, outlier_c=100.0)
    assert out.tau == 0.0
    z = fc.z * ratio
    g, y = 1 / z, (fc.v - C[1]) / F[1]
    for i in range(6):
        k = np.arange(6) != i
        D = np.stack([y[k], np.ones(5)], 1)
        W = np.diag(1 / (g[k] ** 2 * t[k] ** 2))
        cov = np.linalg.inv(D.T @ W @ D)
        beta = cov @ D.T @ W @ g[k]
        gh = beta @ [y[i], 1.0]
        s2 = np.array([y[i], 1.0]) @ cov @ [y[i], 1.0] / gh ** 2
        w = t[i] ** 2 / (t[i] ** 2 + s2)
        assert out.weight[i] == pytest.approx(w, rel=1e-9)
        assert out.factor[i] == pytest.approx(np.exp(w * (np.log(g[i]) - np.log(gh))), rel=1e-9)


def test_persons_off_one_plane_are_not_forced_onto_it():
    """Half the persons stand 1 m higher (a stage): the moment estimate of tau grows or
    they are flagged, and no person moves by more than its own depth error allows."""
    fc, _, _ = _plane_contacts(n=8, seed=1)
    raised = np.arange(8) % 2 == 1
    # the same pixels, but those persons' contacts are on a plane 1 m higher: deeper than
    # the ground seen through that pixel would be... place them at 0.8x the depth instead
    z = np.where(raised, fc.z * 0.8, fc.z)
    fc2 = fc._replace(z=z)
    t = np.full(8, 0.03)
    out = ground_fusion(fc2, np.ones(8), t, np.ones(8, bool), F, C, HW, pixel_noise=0.0)
    moved = np.abs(np.log(out.factor))
    assert np.all(moved < 3 * 0.03)
    assert out.tau > 0.05 or out.off_ground.sum() >= 2


def test_declines_with_too_few_contacts_and_outside_the_image():
    fc, _, _ = _plane_contacts(n=3)
    out = ground_fusion(fc, np.ones(3), np.full(3, 0.05), np.ones(3, bool), F, C, HW)
    assert out.reason == 'ground_contacts<4' and np.all(out.factor == 1.0)
    fc, _, _ = _plane_contacts(n=4)
    fc = fc._replace(v=np.where(np.arange(4) == 0, 900.0, fc.v))      # feet below the image
    out = ground_fusion(fc, np.ones(4), np.full(4, 0.05), np.ones(4, bool), F, C, HW)
    assert out.reason == 'ground_contacts<4'


def test_foot_contact_is_the_lowest_projecting_part():
    """A vertical column of points: the contact is its bottom point's pixel and depth."""
    col = np.stack([np.zeros(100), np.linspace(-0.9, 0.8, 100), np.full(100, 5.0)], 1)
    fc = foot_contact([col, col + [1.0, 0.0, 2.0]], F, C, frac=0.01, min_vertices=1)
    np.testing.assert_allclose(fc.v, [C[1] + 500 * 0.8 / 5.0, C[1] + 500 * 0.8 / 7.0])
    np.testing.assert_allclose(fc.z, [5.0, 7.0])
    np.testing.assert_allclose(fc.h_pix, [500 * 1.7 / 5.0, 500 * 1.7 / 7.0])


def test_run_dto_plus_with_ground_on_a_level_scene():
    """disparity_scene puts every person on the plane y = 0.9 m below a level camera.  With
    exact disparity the ground cue leaves the exact fit where it was; with one person's
    disparity corrupted the ground cue moves it back towards the truth."""
    sc = disparity_scene(seed=2, K=7)
    off = _run(sc, resolution=None, focal_refine=False, ground_contact='none')
    on = _run(sc, resolution=None, focal_refine=False, ground_contact='plane')
    assert 'ground_fused' in on.flags and on.ground_reason == ''
    assert on.ground_weight.shape == (7,) and on.off_ground.shape == (7,)
    np.testing.assert_allclose(on.transl_star[:, 2], off.transl_star[:, 2], rtol=0.01)
    rec = on.to_record()
    assert len(rec['ground_plane']) == 3 and isinstance(rec['ground_tau'], float)
    bad = dict(sc, disparity=sc['disparity'].copy())
    # person 3 seen 15 % too near by the network
    from metric_hmr.dto.raster import rasterize_persons
    ras = rasterize_persons(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                            resolution=None)
    bad['disparity'][ras.person_id == 3] *= 1.15
    off = _run(bad, resolution=None, focal_refine=False, ground_contact='none')
    on = _run(bad, resolution=None, focal_refine=False, ground_contact='plane')
    z_true = sc['Z_true'] * off.transl_star[0, 2] / sc['Z_true'][0]   # same global scale
    assert abs(np.log(on.transl_star[3, 2] / z_true[3])) < abs(np.log(off.transl_star[3, 2] / z_true[3]))


def test_ground_options_are_checked():
    for bad, name in ((dict(ground_contact='floor'), 'ground_contact'),
                      (dict(ground_min_persons=2), 'ground_min_persons'),
                      (dict(ground_depth_std_floor=0.0), 'ground_depth_std_floor'),
                      (dict(ground_pixel_noise=-1.0), 'ground_pixel_noise')):
        with pytest.raises(ValueError, match=name):
            DTOConfig.from_dict(dict(preset='plus', **bad))
    assert DTOConfig().ground_contact == 'none'
