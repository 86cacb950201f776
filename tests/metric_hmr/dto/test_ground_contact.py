"""DTO+ ground-contact cue (issue 15, ``ground_contact='plane'``; metric_hmr.dto.ground_contact)."""
import numpy as np
import pytest

from metric_hmr.dto.config import DTOConfig
from metric_hmr.dto.ground_contact import (FootContact, fit_inverse_depth_plane, foot_contact,
                                           ground_fusion, robust_tau)
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
    """Half the persons stand on a 0.3 m platform seen by a camera 1.6 m high: their
    contacts are at (1.6 - 0.3) / 1.6 = 0.81 of the depth of the ground seen through the
    same pixel.  No single plane fits: tau is large and every plane weight small, so
    nobody moves by more than a fraction of its own std (0.03)."""
    fc, _, _ = _plane_contacts(n=8, seed=1)
    raised = np.arange(8) % 2 == 1
    fc2 = fc._replace(z=np.where(raised, fc.z * (1.6 - 0.3) / 1.6, fc.z))
    t = np.full(8, 0.03)
    out = ground_fusion(fc2, np.ones(8), t, np.ones(8, bool), F, C, HW, pixel_noise=0.0)
    assert out.tau > 0.05
    assert np.all(np.nan_to_num(out.weight) < 0.3)
    assert np.all(np.abs(np.log(out.factor)) < 0.03)


@pytest.mark.parametrize('n', [5, 6, 8])
def test_a_far_person_off_the_plane_is_flagged(n):
    """The farthest contact (the most influential on the plane) 30 % off: judged by the
    plane of the others with their own tau, it is flagged and keeps its depth, and the
    others' plane is exact again (they do not move).  (With the tau of a fit that
    includes it, it widened its own standard and was never flagged.)"""
    fc, _, _ = _plane_contacts(n=n, seed=4)
    far = int(np.argmax(fc.z))
    ratio = np.where(np.arange(n) == far, 1.3, 1.0)
    out = ground_fusion(fc, ratio, np.full(n, 0.03), np.ones(n, bool), F, C, HW, pixel_noise=0.0)
    assert out.off_ground[far] and out.off_ground.sum() == 1 and out.factor[far] == 1.0
    np.testing.assert_allclose(np.delete(out.factor, far), 1.0, atol=1e-9)


def test_robust_tau_solves_the_median_equation():
    """Closed form vs the definition: median_i r_i^2 / (keep_i (base_i + g_i^2 tau^2)) equals
    the median of chi2(1) (bisection on random problems, odd n); 0 when already below."""
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.choice([3, 5, 7, 9]))
        r, g = rng.normal(0, 0.02, n), rng.uniform(0.05, 0.5, n)
        base, keep = rng.uniform(1e-6, 1e-4, n), rng.uniform(0.3, 1.0, n)
        tau = robust_tau(r, g, base, keep)
        stat = lambda t2: np.median(r ** 2 / (keep * (base + g ** 2 * t2)))
        m = 0.454936423119572
        if stat(0.0) <= m:
            assert tau == 0.0
            continue
        lo, hi = 0.0, 1e3
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if stat(mid) > m else (lo, mid)
        assert tau ** 2 == pytest.approx(lo, rel=1e-9, abs=1e-14)


def test_bad_contact_fields_do_not_crash():
    fc, _, _ = _plane_contacts(n=6)
    fc = fc._replace(h_pix=np.where(np.arange(6) == 2, np.nan, fc.h_pix))
    out = ground_fusion(fc, np.ones(6), np.full(6, 0.05), np.ones(6, bool), F, C, HW)
    assert out.reason == '' and np.isnan(out.weight[2]) and out.factor[2] == 1.0
    fc = fc._replace(z=np.where(np.arange(6) == 1, -2.0, fc.z), h_pix=np.full(6, 100.0))
    out = ground_fusion(fc, np.ones(6), np.full(6, 0.05), np.ones(6, bool), F, C, HW)
    assert np.isnan(out.weight[1]) and out.factor[1] == 1.0


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
    # published std: the person's own share (the size fusion's sqrt(lambda) sigma / mu) in
    # the std without the ground cue is replaced by the ground step's t sqrt(1 - w), with
    # t = hypot(floor 0.03, own share)
    own = np.sqrt(on.depth_fusion_weight) * on.sigma / on.mu
    t = np.hypot(0.03, own)
    fused = np.isfinite(on.ground_weight)
    # (std_z is the std of z_star, the depth of the sampled surface in the plus preset)
    rel_off = off.std_z / off.z_star
    expect = np.sqrt(rel_off ** 2 - own ** 2 + t ** 2 * (1 - on.ground_weight))
    np.testing.assert_allclose((on.std_z / on.z_star)[fused], expect[fused], rtol=1e-9)
    # person 3 seen too near by the network: by 4 % it is pulled back towards the truth;
    # by 15 % (far beyond its own and the plane's std) the cue cannot tell a network error
    # from a person standing off the ground: flagged off_ground, its depth kept
    from metric_hmr.dto.raster import rasterize_persons
    ras = rasterize_persons(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                            resolution=None)
    for scale, flagged in ((1.04, False), (1.15, True)):
        bad = dict(sc, disparity=sc['disparity'].copy())
        bad['disparity'][ras.person_id == 3] *= scale
        off = _run(bad, resolution=None, focal_refine=False, ground_contact='none')
        on = _run(bad, resolution=None, focal_refine=False, ground_contact='plane')
        assert bool(on.off_ground[3]) == flagged and not np.delete(on.off_ground, 3).any()
        err = lambda r: abs(np.log(r.transl_star[3, 2] / r.transl_star[0, 2] * sc['Z_true'][0] / sc['Z_true'][3]))
        if flagged:
            assert on.transl_star[3, 2] == pytest.approx(off.transl_star[3, 2], rel=1e-6)
        else:
            assert err(on) < 0.7 * err(off)


def test_ground_options_are_checked():
    for bad, name in ((dict(ground_contact='floor'), 'ground_contact'),
                      (dict(ground_min_persons=2), 'ground_min_persons'),
                      (dict(ground_depth_std_floor=0.0), 'ground_depth_std_floor'),
                      (dict(ground_pixel_noise=-1.0), 'ground_pixel_noise'),
                      (dict(ground_roll_min_persons=3), 'ground_roll_min_persons'),
                      (dict(ground_outlier_c=0.0), 'ground_outlier_c')):
        with pytest.raises(ValueError, match=name):
            DTOConfig.from_dict(dict(preset='plus', **bad))
    assert DTOConfig().ground_contact == 'none'
