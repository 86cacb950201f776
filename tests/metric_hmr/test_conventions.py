"""Domain conventions: age-group codes and splits, minors, gender mapping, betas widths."""
import numpy as np
import pytest

from metric_hmr.conventions import (AgeGroup, adapt_betas, age_group_from_years, age_group_name,
                                    gender_from_p_male, is_minor)


def test_age_groups_use_relative_human_codes_and_released_splits():
    assert [int(g) for g in (AgeGroup.ADULT, AgeGroup.TEEN, AgeGroup.KID, AgeGroup.BABY)] == [0, 1, 2, 3]
    codes = age_group_from_years([0, 2.99, 3, 7.99, 8, 14.99, 15, 80, np.nan])
    assert codes.tolist() == [3, 3, 2, 2, 1, 1, 0, 0, -1]
    assert age_group_name(2) == 'kid' and age_group_name(-1) == 'unknown'
    assert AgeGroup.from_label('Teen') is AgeGroup.TEEN
    with pytest.raises(ValueError, match='person 1'):
        age_group_from_years([3, -1])


def test_minor_rule():
    assert is_minor([14.9, 15.0, np.nan]).tolist() == [True, False, False]
    assert is_minor([np.nan], unknown=True).tolist() == [True]


def test_gender_thresholds():
    assert gender_from_p_male([0.1, 0.5, 0.9, np.nan]) == ['female', 'neutral', 'male', None]
    assert gender_from_p_male([0.4, 0.6], (0.33, 0.67)) == ['neutral', 'neutral']
    with pytest.raises(ValueError, match='person 0'):
        gender_from_p_male([1.5])


def test_adapt_betas_widen_and_narrow():
    b10 = np.ones((2, 10))
    b11 = adapt_betas(b10, 11, age_blend=[0.0, 0.3])
    assert b11.shape == (2, 11) and b11[:, 10].tolist() == [0.0, 0.3]
    np.testing.assert_array_equal(adapt_betas(adapt_betas(b10, 11), 10), b10)
    with pytest.raises(ValueError, match='img_7, person 1'):
        adapt_betas(b11, 10, context='img_7')


def test_adapt_betas_tolerance_and_accepted_widths():
    """``atol`` lets numerical noise in a zero blend be dropped (evaluator), a NaN blend never;
    ``widths`` rejects other sizes (the released layout takes 10 or 11 values only)."""
    b = np.concatenate([np.ones((2, 10)), [[1e-9], [0.0]]], 1)
    with pytest.raises(ValueError, match='person 0'):
        adapt_betas(b, 10)
    np.testing.assert_array_equal(adapt_betas(b, 10, atol=1e-8), np.ones((2, 10)))
    with pytest.raises(ValueError, match='person 1'):
        adapt_betas(np.concatenate([np.ones((2, 10)), [[0.0], [np.nan]]], 1), 10, atol=1e-8)
    with pytest.raises(ValueError, match='img_3: betas must have 10 or 11 values'):
        adapt_betas(np.ones((1, 9)), 11, widths=(10, 11), context='img_3')
    assert adapt_betas(np.ones((1, 9)), 11).shape == (1, 11)
