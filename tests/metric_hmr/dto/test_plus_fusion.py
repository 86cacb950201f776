"""DTO+ second round (issue 15): depth fusion with the size cue, the relief residual
spread, size-adaptive erosion, relief persons setting the bounds, cue-noise height std."""
import numpy as np
import pytest

from metric_hmr.dto.config import DTOConfig
from metric_hmr.dto.cues import _vertex_samples
from metric_hmr.dto.depth_fusion import cue_relative_std, fuse_depths
from metric_hmr.dto.plus_fit import fit_plus
from metric_hmr.dto.raster import RasterOutput
from metric_hmr.dto.robust_cues import relief_residual_spread

from .test_plus_fit import _run, affine_disparity_problems, disparity_scene


# ------------------------------------------------------------------ depth fusion
def test_fusion_is_the_precision_weighted_mean_in_log_space():
    """Two measurements of log z: the cue's log z* (std tau_c) and the size cue's
    log z* - log(h*/mu) (std sigma/mu).  The fused value is their inverse-variance mean,
    computed here independently; tau_c = 0 keeps the paper's z* (factor 1)."""
    rng = np.random.default_rng(0)
    h = rng.uniform(1.0, 2.0, (3, 5))
    mu = rng.uniform(1.2, 1.8, (3, 5))
    sigma = rng.uniform(0.03, 0.1, (3, 5))
    tau_c = rng.uniform(0.0, 0.2, (3, 5))
    valid = rng.random((3, 5)) > 0.2
    fu = fuse_depths(h, mu, sigma, valid, tau_c)
    log_cue, log_size = np.zeros_like(h), -np.log(h / mu)     # relative to log z*
    w_cue, w_size = 1 / tau_c ** 2, 1 / (sigma / mu) ** 2
    expect = np.exp((w_cue * log_cue + w_size * log_size) / (w_cue + w_size))
    np.testing.assert_allclose(fu.factor[valid], expect[valid], rtol=1e-12)
    np.testing.assert_allclose(fu.rel_std[valid], (1 / np.sqrt(w_cue + w_size))[valid], rtol=1e-12)
    assert np.all(fu.factor[~valid] == 1.0) and np.all(fu.lam[~valid] == 0.0)
    assert np.all(fuse_depths(h, mu, sigma, valid, 0.0).factor == 1.0)
    # equal stds: half way (geometric mean of the two depths); huge cue std: h* -> mu
    half = fuse_depths(np.array([[2.0]]), np.array([[1.0]]), np.array([[0.1]]), np.ones((1, 1), bool), 0.1)
    assert half.factor[0, 0] == pytest.approx(2.0 ** -0.5)
    far = fuse_depths(np.array([[2.0]]), np.array([[1.0]]), np.array([[0.1]]), np.ones((1, 1), bool), 1e6)
    assert 2.0 * far.factor[0, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='cue_std'):
        fuse_depths(h, mu, sigma, valid, -0.1)


def test_cue_relative_std():
    """tau_c = floor (+) scale |dz/dv| s / z*, unknown spreads count as 0."""
    tau = cue_relative_std(np.array([-2.0, 1.0, 3.0]), np.array([0.1, np.nan, 0.2]),
                           np.array([4.0, 2.0, 6.0]), floor=0.03, scale=2.0)
    np.testing.assert_allclose(tau, [np.hypot(0.03, 0.1), 0.03, np.hypot(0.03, 0.2)])


def test_relief_residual_spread_removes_the_body_relief():
    """A person's values on its relief line have no spread whatever the slope; Gaussian
    noise of std 0.05 added to them gives a spread of ~0.05 (the MAD is consistent)."""
    rng = np.random.default_rng(1)
    z = rng.uniform(4.0, 4.4, 4000)
    v = 3.0 - 2.5 * z
    assert relief_residual_spread(z, v, -2.5) == pytest.approx(0.0, abs=1e-12)
    noisy = v + rng.normal(0, 0.05, z.size)
    assert relief_residual_spread(z, noisy, -2.5) == pytest.approx(0.05, rel=0.05)
    # with the body relief left in (slope 0), the spread is the relief's, much larger
    assert relief_residual_spread(z, noisy, 0.0) > 4 * 0.05
    assert np.isnan(relief_residual_spread(z[:2], v[:2], -2.5))


def test_fusion_leaves_an_exact_scene_alone_and_pulls_a_corrupted_person_to_its_prior():
    """Exact disparity: every person's relief spread is ~0, so fusion changes nothing
    (same depths as depth_fusion='none' to 1e-3).  One person's disparity corrupted by
    heavy pixel noise: its depth cue is unreliable, so its height moves toward the prior
    (|h* - mu| shrinks) while the clean persons stay where the cue puts them."""
    sc = disparity_scene(seed=3)
    on = _run(sc, resolution=None, focal_refine=False, ground_contact='none')
    off = _run(sc, resolution=None, focal_refine=False, depth_fusion='none', ground_contact='none')
    assert on.depth_fusion_weight is not None and np.all(on.depth_fusion_weight < 0.02)
    np.testing.assert_allclose(on.z_star, off.z_star, rtol=1e-3)
    # corrupt person 2: noise on its pixels and a 20 % disparity offset
    from metric_hmr.dto.raster import rasterize_persons
    ras = rasterize_persons(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'], None)
    sel = ras.person_id == 2
    rng = np.random.default_rng(0)
    bad = dict(sc, disparity=sc['disparity'].copy())
    bad['disparity'][sel] = bad['disparity'][sel] * 1.2 + rng.normal(0, 0.1, sel.sum())
    on = _run(bad, resolution=None, focal_refine=False, ground_contact='none')
    off = _run(bad, resolution=None, focal_refine=False, depth_fusion='none', ground_contact='none')
    assert on.depth_fusion_weight[2] > 0.5 > np.max(np.delete(on.depth_fusion_weight, 2))
    assert abs(on.h_star[2] - on.mu[2]) < 0.5 * abs(off.h_star[2] - off.mu[2])
    others = np.arange(len(on.h_star)) != 2
    np.testing.assert_allclose(on.h_star[others], off.h_star[others], rtol=0.02)
    # the root moves with the fused surface depth: T_z* = T_z z* / z_init (scaling about the camera)
    assert 'depth_fused' in on.flags
    assert np.allclose(on.transl_star[:, 2], bad['transl'][:, 2] * on.z_star / on.z_init)
    # posterior std of the fused person: at most its prior's relative std
    assert on.std_h[2] <= on.h_star[2] * on.sigma[2] / on.mu[2] * 1.0001


# ------------------------------------------------------------------ adaptive erosion
def _blob_raster(h, w, box):
    """One rectangular person ``box`` = (r0, r1, c0, c1) in an (h, w) raster."""
    pid = np.full((h, w), -1, np.int32)
    r0, r1, c0, c1 = box
    pid[r0:r1, c0:c1] = 0
    return RasterOutput(person_id=pid, depth=np.where(pid >= 0, 5.0, np.inf).astype(np.float32),
                        vertex_visible=[None], scale=1.0)


def test_erosion_steps_down_for_small_persons():
    """A 6 x 6 px person: erosion 2 keeps its 2 x 2 core (4 samples), erosion 1 its
    4 x 4 (16).  min_samples 3 keeps the core; min_samples 10 erodes one pixel less (16);
    min_samples 20 falls back to every sample (36), as does erosion 0 (the paper's letter)."""
    ras = _blob_raster(20, 20, (7, 13, 7, 13))
    rr, cc = np.mgrid[7:13, 7:13]
    vv = np.stack([cc.ravel() + 0.5, rr.ravel() + 0.5, np.ones(36)], 1)   # pixel centres at z = 1
    rel = np.ones((20, 20))
    f, c = np.array([1.0, 1.0]), np.array([0.0, 0.0])
    n = lambda e, m: int(_vertex_samples(0, vv, ras, rel, f, c, e, m)[2].sum())
    assert n(2, 3) == 4 and n(2, 10) == 16 and n(2, 20) == 36 and n(0, 3) == 36 and n(1, 3) == 16
    assert n(1, 20) == 36                                # erosion 1: eroded or not at all


# ------------------------------------------------------------------ bounds from informative persons
def test_bound_min_corr_drops_uninformative_persons_from_the_bounds():
    """Only the person with r = -0.08 has the expected sign: by default it alone sets the
    bound (weights normalised); with bound_min_corr 0.2 nobody does ('no_scale_cue')."""
    from metric_hmr.dto.dto import _plus_scale_bounds

    class C:
        X_v = np.array([6.4, 6.1, 9.3, 5.6])
        corr_v = np.array([0.33, -0.08, 0.07, 0.18])
    sel = np.arange(4)
    Xv, wX, alpha, flag = _plus_scale_bounds(DTOConfig.from_dict(dict(preset='plus', bound_min_corr=0.0)),
                                            C, sel, False)
    assert flag == '' and np.count_nonzero(wX) == 1 and alpha == (0.5, 3.0)
    _, wX, alpha, flag = _plus_scale_bounds(DTOConfig.plus_preset(), C, sel, False)
    assert flag == 'no_scale_cue' and alpha is None and not wX.any()
    C.corr_v = np.array([-0.9, -0.1, -0.5, 0.2])
    _, wX, _, _ = _plus_scale_bounds(DTOConfig.plus_preset(), C, sel, False)
    np.testing.assert_allclose(wX, [0.9, 0.0, 0.5, 0.0])


# ------------------------------------------------------------------ cue-noise height std
def test_cue_noise_widens_sigma_by_the_propagated_cue_error():
    """sigma_fit^2 = sigma^2 + (c mu |dz/dv| s / z*)^2 at the first fit; zero spread
    leaves the fit unchanged."""
    P = affine_disparity_problems(4, K=6, seed=2, noise=0.02)
    h, z, q, mu, sigma = (P[k] for k in ("h", "z", "q", "mu", "sigma"))
    valid = np.ones(h.shape, bool)
    base = fit_plus(h, z, q, mu, sigma, valid, height_loss='gaussian')
    same = fit_plus(h, z, q, mu, sigma, valid, height_loss='gaussian',
                    cue_spread=np.zeros_like(h), cue_noise_scale=1.0)
    np.testing.assert_allclose(same.z_star, base.z_star, rtol=1e-12)
    s = np.full_like(h, 0.01)
    wide = fit_plus(h, z, q, mu, sigma, valid, height_loss='gaussian', cue_spread=s, cue_noise_scale=2.0)
    extra = 2.0 * mu * np.abs(base.dz_dv) * s / np.abs(base.z_star)
    np.testing.assert_allclose(wide.sigma_fit[valid], np.hypot(sigma, extra)[valid], rtol=1e-10)
    assert not np.allclose(wide.z_star[valid], base.z_star[valid])


def test_new_options_are_off_in_the_paper_preset_and_checked():
    paper = DTOConfig()
    assert (paper.depth_fusion, paper.cue_noise_scale, paper.bound_min_corr,
            paper.erosion_min_samples) == ('none', 0.0, 0.0, 3)
    plus = DTOConfig.plus_preset()
    assert (plus.depth_fusion, plus.bound_min_corr, plus.erosion_min_samples) == ('spread', 0.2, 20)
    assert (paper.bound_softness, plus.bound_softness) == (0.0, 0.05)
    assert (paper.shift_limit_percentile, plus.shift_limit_percentile) == (None, 1.0)
    for bad, name in ((dict(depth_fusion='auto'), 'depth_fusion'), (dict(fusion_cue_std=-1), 'fusion_cue_std'),
                      (dict(preset='plus', bound_softness=-0.1), 'bound_softness'),
                      (dict(preset='plus', affine_space='depth', shift_limit_percentile=None), 'bound_softness'),
                      (dict(preset='plus', affine_space='depth', bound_softness=0.0), 'shift_limit_percentile'),
                      (dict(preset='plus', shift_limit_percentile=50.0), 'shift_limit_percentile'),
                      (dict(bound_min_corr=1.0), 'bound_min_corr'), (dict(erosion_min_samples=0), 'erosion_min_samples'),
                      (dict(cue_noise_scale=-0.1), 'cue_noise_scale')):
        with pytest.raises(ValueError, match=name):
            DTOConfig.from_dict(bad)
