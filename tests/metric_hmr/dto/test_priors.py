"""Paper height priors, hybrid adult prior, gender mapping, fallback."""
import numpy as np
import pytest

from metric_hmr.conventions import age_group_from_years, gender_from_p_male
from metric_hmr.dto.config import PriorConfig
from metric_hmr.dto.priors import age_group_code, gender_of, height_priors


def test_age_groups_and_codes():
    """The priors read age groups and genders through metric_hmr.conventions (old names alias)."""
    ages = [0.0, 2.99, 3.0, 7.9, 8.0, 14.99, 15.0, 60.0, np.nan]
    assert age_group_code(ages).tolist() == [3, 3, 2, 2, 1, 1, 0, 0, -1]
    assert age_group_code is age_group_from_years and gender_of is gender_from_p_male
    with pytest.raises(ValueError, match='negative age'):
        age_group_code([-1.0])


def test_gender_thresholds():
    p = [0.1, 0.4, 0.5, 0.6, 0.9, np.nan]
    assert gender_of(p) == ['female', 'female', 'neutral', 'male', 'male', None]
    assert gender_of(p, (0.33, 0.67)) == ['female', 'neutral', 'neutral', 'neutral', 'male', None]
    with pytest.raises(ValueError):
        gender_of(p, (0.7, 0.3))


def test_group_and_hybrid_adult_priors():
    h = np.array([1.0, 1.2, 1.5, 1.70, 1.60, 1.66])
    ages = np.array([1.0, 5.0, 10.0, 30.0, 30.0, 30.0])
    pm = np.array([np.nan, 0.9, 0.1, 0.9, 0.1, 0.5])
    pr = height_priors(h, ages, pm)
    assert pr.mu[:3].tolist() == [0.801, 1.122, 1.477]
    assert pr.sigma[:3].tolist() == [0.126, 0.120, 0.156]
    assert pr.mu[3] == pytest.approx((1.70 + 1.784) / 2) and pr.sigma[3] == 0.076
    assert pr.mu[4] == pytest.approx((1.60 + 1.647) / 2) and pr.sigma[4] == 0.071
    assert pr.mu[5] == pytest.approx((1.66 + 1.715) / 2) and pr.sigma[5] == 0.1  # neutral
    assert pr.age_group.tolist() == [3, 2, 1, 0, 0, 0]
    no_h = height_priors(h, ages, pm, config=PriorConfig(adult_hybrid=False))
    assert no_h.mu[3] == 1.784


def test_fallback_for_missing_age_and_gender():
    """Unknown age with a known gender uses that adult prior (issue 12 finding 2, as the
    released dto.py 446-452 without an age prior); unknown age and gender -> fallback."""
    pr = height_priors([1.8, 1.7, 1.6], [np.nan, 40.0, np.nan], [0.9, np.nan, np.nan])
    assert pr.mu[0] == pytest.approx((1.8 + 1.784) / 2) and pr.sigma[0] == 0.076
    assert pr.source[0] == 'age_unknown:adult_male+hybrid'
    assert pr.mu[2] == pytest.approx((1.6 + 1.715) / 2) and pr.source[2].startswith('fallback')
    assert pr.sigma[1] == 0.1
    pr2 = height_priors([1.8], [np.nan], config=PriorConfig(fallback_prior='adult_male'))
    assert pr2.mu[0] == pytest.approx((1.8 + 1.784) / 2)
    with pytest.raises(ValueError, match='fallback_prior'):
        PriorConfig(fallback_prior='giant')


def test_age_group_codes_used_when_age_missing():
    pr = height_priors([1.0, 1.6], None, None, age_group=[2, 1])
    assert pr.mu.tolist() == [1.122, 1.477]


def test_overrides_and_cdc_mode():
    pr = height_priors([1.0], [1.0], config=PriorConfig(group_priors=dict(baby=(0.75, 0.14))))
    assert pr.mu[0] == 0.75
    pytest.importorskip('rcpchgrowth')
    from metric_hmr.dto.cdc import cdc_height_prior
    pr = height_priors([1.3, 1.3], [10.0, 10.0], [np.nan, 0.95], config=PriorConfig(prior_mode='cdc'))
    assert pr.mu[0] == pytest.approx(cdc_height_prior(10.0)[0])
    assert pr.mu[1] == pytest.approx(cdc_height_prior(10.0, True)[0])


def test_mismatched_lengths():
    with pytest.raises(ValueError, match='K=2'):
        height_priors([1.7, 1.8], [30.0])


def test_negative_age_error_names_the_person():
    with pytest.raises(ValueError, match=r'person 1: negative age -2\.0'):
        height_priors([1.7, 1.2], age_years=[30.0, -2.0], p_male=[0.9, 0.1])


def test_gender_agnostic_adult_prior_d_prime():
    """Table 8's D' (released dto.py 307-312): every adult N(h_HMR, 0.073^2), minors keep
    their group prior."""
    pr = height_priors([1.8, 1.6, 1.2], [30.0, 40.0, 5.0], [0.9, 0.1, 0.5],
                       config=PriorConfig(gender_prior=False))
    np.testing.assert_allclose(pr.mu, [1.8, 1.6, 1.122])
    np.testing.assert_allclose(pr.sigma, [0.073, 0.073, 0.12])
