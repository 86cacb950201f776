"""The authors' released DTO, step by step (issue 12, findings 1, 2, 3, 7).

Scenes are given as person cues (d_i, z_i, spread, X_i, r_i) built from a known metric
truth: true depth Z = s d + t with s = 300, t = 0.5 (so persons within 6.5 m have
d <= 0.02, the released near range), initial depth z = Z and initial height h = true
height, so a correct fit leaves everyone where they are.
"""
import numpy as np
import pytest

from metric_hmr.dto.released_algorithm import (PersonCuesR, ReleasedOptions, fit_group,
                                               released_image, released_prior_classes,
                                               released_priors)

S, T = 300.0, 0.5


def _scene(heights, depths, p_male=0.5, feet_offset=0.0, r=0.9, X=S):
    heights = np.asarray(heights, float)
    Z = np.asarray(depths, float)
    d = (Z - T) / S
    cues = [PersonCuesR(d=float(di), z=float(zi), spread=1e-4, X=X, r=r,
                        d_feet=float(di + feet_offset), z_feet=float(zi)) for di, zi in zip(d, Z)]
    cls = released_prior_classes(np.full(len(Z), 30.0), np.full(len(Z), p_male))
    mu, sigma = released_priors(heights, cls)
    return cues, heights, mu, sigma, Z


def _run(cues, h, mu, sigma, Z, focal=1000.0, hw=(1000, 1000), **opt):
    return released_image(cues, h, mu, sigma, Z, focal, hw, ReleasedOptions(feet_fit=False, **opt))


def test_five_persons_the_tallest_above_2p1_is_rejected_and_the_image_kept():
    """Mirrors dto.py 363-387 (the tallest corrected height above 2.1 m is rejected, the
    group refit) and 594-597 / 750 (rejected persons score 3): four adults of 1.71-1.75 m
    and one of 2.2 m; the 2.2 m person leaves the fit, the image is kept with score
    (4 x deviation + 3) / 5."""
    cues, h, mu, sigma, Z = _scene([1.71, 1.72, 1.74, 1.75, 2.2], [3.0, 4.0, 5.0, 6.0, 4.5])
    out = _run(cues, h, mu, sigma, Z)
    assert out.status == ['fitted'] * 4 + ['rejected']
    near = dict(out.fits)['near']
    assert near.rejected == [4] and near.count == 4
    dev = np.mean(np.abs(h[:4] * out.shift[:4] - mu[:4]) / sigma[:4])
    assert out.score == pytest.approx((4 * dev + 3) / 5)
    assert out.optimized and out.kept and out.shift[4] == 1.0
    np.testing.assert_allclose(out.shift[:4], 1.0, atol=0.02)


def test_largest_standardized_residual_is_not_the_rule():
    """dto.py 373-377 picks the largest corrected height above 2.1 m, not the largest
    standardized residual: a 0.9 m adult is far off its prior but stays in the fit."""
    cues, h, mu, sigma, Z = _scene([0.9, 1.72, 1.74, 1.75, 2.2], [3.0, 4.0, 5.0, 6.0, 4.5])
    out = _run(cues, h, mu, sigma, Z)
    assert out.status[4] == 'rejected' and out.status[0] == 'fitted'


def test_one_and_two_person_images_are_never_optimized():
    """dto.py 265-278 (one person returned unchanged) and 360-361 (two persons fitting
    exactly: count 0, not an optimization) -> dto_framework.py 505-509 never writes them."""
    cues, h, mu, sigma, Z = _scene([1.7], [4.0])
    one = _run(cues, h, mu, sigma, Z)
    assert one.status == ['lone'] and not one.optimized and not one.kept
    cues, h, mu, sigma, Z = _scene([1.7, 1.8], [4.0, 5.0], X=1.0)   # X small: no bound
    two = _run(cues, h, mu, sigma, Z)
    assert dict(two.fits)['near'].count == 0 and not two.optimized and not two.kept
    assert two.status == ['fitted', 'fitted']      # still moved by the exact fit


def test_rejection_abandons_a_group_of_two():
    """dto.py 379-383: with <= 2 persons in the fit, a person above 2.1 m takes the whole
    group out (s = 0, t = max z); both score 3."""
    cues, h, mu, sigma, Z = _scene([1.7, 2.3], [4.0, 5.0])           # X = 30 forced
    out = _run(cues, h, mu, sigma, Z)
    fit = dict(out.fits)['near']
    assert sorted(fit.rejected) == [0, 1] and fit.s == 0.0 and fit.t == 5.0
    assert out.status == ['rejected', 'rejected'] and out.score == 3.0 and not out.kept


def test_far_group_fitted_separately_lone_person_unchanged_pushed_behind_and_rechecked():
    """dto.py 537-563 (far when d > 0.02 or 2 f / T_z < min(H, W) / 4), 572-579 / 652-657
    (a group of one is left unchanged), 661-675 (far group pushed behind the near one,
    then re-checked against 2.1 m)."""
    cues, h, mu, sigma, Z = _scene([1.72, 1.74, 1.70, 1.75, 1.73], [3.0, 4.0, 20.0, 22.0, 24.0])
    out = _run(cues, h, mu, sigma, Z)
    assert out.group.tolist() == [0, 0, 1, 1, 1]
    assert dict(out.fits)['far'].count == 3 and out.kept
    # lone far person: unchanged and not scored
    cues, h, mu, sigma, Z = _scene([1.72, 1.74, 1.71, 1.70], [3.0, 4.0, 5.0, 20.0])
    out = _run(cues, h, mu, sigma, Z)
    assert out.status[3] == 'lone' and out.shift[3] == 1.0 and out.group[3] == -1
    assert [n for n, _ in out.fits] == ['near']
    # push: a far group fitted in front of the near one is moved behind it, and far
    # persons who then exceed 2.1 m are rejected (count - 1 each)
    cues, h, mu, sigma, Z = _scene([1.72, 1.74, 1.73, 1.7, 1.75], [4.0, 5.0, 6.0, 2.0, 2.2])
    for c, d in zip(cues[3:], (0.03, 0.035)):
        c.d, c.X = d, 1.0            # far by d; their own scale cue is 1
    out = _run(cues, h, mu, sigma, Z)
    far, near = dict(out.fits)['far'], dict(out.fits)['near']
    z_far_min = min(cues[3].d, cues[4].d) * far.s + far.t
    assert z_far_min == pytest.approx(max(c.d for c in cues[:3]) * near.s + near.t)
    # released decrements the count per re-check rejection (here 0 -> -2: nothing counted)
    assert sorted(far.rejected) == [3, 4] and far.count == -2
    assert out.status[3:] == ['rejected', 'rejected'] and out.kept
    assert out.score == pytest.approx((3 * near.deviation + 3 + 3) / 5)


def test_feet_fit_taken_when_it_lowers_the_deviation():
    """dto.py 582-592: the feet values replace d_i, z_i of the near group when the fit on
    them keeps as many persons with a lower mean deviation."""
    cues, h, mu, sigma, Z = _scene([1.72, 1.74, 1.70, 1.75], [3.0, 4.0, 5.0, 6.0])
    for i, c in enumerate(cues):
        c.d += 0.0005 * (i % 2)      # whole-body d disturbed (15 cm), feet d exact
        c.d_feet = (Z[i] - T) / S
    body = released_image(cues, h, mu, sigma, Z, 1000.0, (1000, 1000), ReleasedOptions(feet_fit=False))
    feet = released_image(cues, h, mu, sigma, Z, 1000.0, (1000, 1000), ReleasedOptions(feet_fit=True))
    assert feet.score < body.score
    np.testing.assert_allclose(feet.d, [c.d_feet for c in cues])


def test_without_X_the_bound_stays_at_20():
    """dto.py 341-347: X is the correlation-weighted mean of X_i over persons with r > 0.5,
    20 without any or with use_X_cond False (Table 6's "+D without X")."""
    cues, h, mu, sigma, Z = _scene([1.72, 1.74, 1.70, 1.75], [3.0, 4.0, 5.0, 6.0], X=50.0)
    arr = lambda f: np.array([getattr(c, f) for c in cues])  # noqa: E731
    args = (h, arr('z'), arr('d'), mu, sigma, arr('spread'), arr('X'), arr('r'))
    assert fit_group(range(4), *args).X == 50.0 and fit_group(range(4), *args).s >= 50.0
    assert fit_group(range(4), *args, use_X=False).X == 20.0


def test_prior_classes_known_gender_without_age_and_agnostic_prior():
    """dto.py 428-452: age >= 15 adult by P(male) (< 0.33 female, >= 0.67 male), teen >= 8,
    kid >= 3, baby; unknown age uses the gender classes (the released no-age branch);
    dto.py 307-316: adults hybrid, or N(h, 0.073^2) without the gender prior (Table 8 D')."""
    cls = released_prior_classes([30, 30, 30, 10, 5, 1, np.nan, np.nan],
                                 [0.2, 0.67, 0.5, 0.9, 0.9, 0.9, 0.9, np.nan])
    assert cls.tolist() == [3, 4, 5, 2, 1, 0, 4, 5]
    mu, sigma = released_priors(np.full(8, 1.8), cls)
    assert mu[1] == pytest.approx((1.8 + 1.784) / 2) and sigma[1] == 0.0759
    assert mu[4] == 1.122 and sigma[4] == 0.12
    mu2, sigma2 = released_priors(np.full(8, 1.8), cls, use_gender_prior=False)
    assert mu2[0] == 1.8 and sigma2[0] == 0.073 and mu2[3] == 1.477


def test_released_shape_step_age_blend_only_when_shrinking_minors_or_short(tmp_path):
    """Mirrors dto.py 606-646: one linear step on beta_0, or on the SMPL-A age blend when
    (minor and shift < 1) or the new height < 1.45 m; after an age-blend step x, y of T
    move so the mean 2D-relevant joint position equals shift x the input one."""
    import torch
    from metric_hmr.body_models import SMPLBodyModel
    from metric_hmr.dto.released_algorithm import released_shape_step
    from metric_hmr.testing import make_smpl_model_file
    from metric_hmr.testing.smpl_fixture import kid_template_path
    path = make_smpl_model_file(str(tmp_path), seed=0, with_kid_template=True)
    bm = SMPLBodyModel(model_path=path, kid_template_path=kid_template_path(str(tmp_path)))
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    height = lambda b: bm.tpose_height(t(b)).double().numpy()  # noqa: E731
    joints = lambda b, go, bp, tr: bm(betas=t(b), global_orient=t(go), body_pose=t(bp),  # noqa: E731
                                      transl=t(tr)).joints.double().numpy()
    rng = np.random.default_rng(0)
    n = 4
    betas = np.concatenate([rng.normal(scale=0.3, size=(n, 10)), np.zeros((n, 1))], 1)
    go, bp = rng.normal(scale=0.1, size=(n, 3)), rng.normal(scale=0.1, size=(n, 69))
    tr = np.array([[0.3, 0.2, 5.0], [-0.4, 0.1, 6.0], [0.0, 0.3, 4.0], [0.2, 0.0, 7.0]])
    h = height(betas)
    # adult shrinking; minor shrinking; minor growing; adult ending below 1.45 m
    shift = np.array([0.95, 0.9, 1.1, 1.40 / h[3]])
    minor = np.array([False, True, True, False])
    new_b, new_t, blend = released_shape_step(betas, tr, go, bp, shift, minor, height, joints)
    assert blend.tolist() == [False, True, (h[2] * 1.1 < 1.45), True]
    assert new_b[0, 0] != betas[0, 0] and new_b[0, -1] == 0.0
    assert new_b[1, -1] != 0.0 and new_b[1, 0] == betas[1, 0]
    np.testing.assert_allclose(new_t[~blend], tr[~blend] * shift[~blend, None])
    np.testing.assert_allclose(new_t[blend, 2], tr[blend, 2] * shift[blend])
    j_in = joints(betas, go, bp, tr)[:, :24]
    j_new = joints(new_b, go, bp, new_t)[:, :24]
    for i in np.flatnonzero(blend):
        np.testing.assert_allclose(j_new[i, :, :2].mean(0), shift[i] * j_in[i, :, :2].mean(0), atol=1e-5)
    # one linear step reaches the target height closely for beta_0 (height is near linear)
    assert abs(height(new_b[:1])[0] - h[0] * shift[0]) < 0.01
