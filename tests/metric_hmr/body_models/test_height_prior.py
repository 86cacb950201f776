"""Height sampling prior: CDC LMS below 20 years, the paper's adult Gaussians above."""
import numpy as np
import pytest

from metric_hmr.body_models import cdc_height_quantile, sample_heights

pytest.importorskip('rcpchgrowth')


def test_cdc_medians_and_monotone_in_z():
    # CDC 2000 stature-for-age medians (M), boys: ~75.5 cm at 1 y, ~138.6 cm at 10 y
    med = cdc_height_quantile([1.0, 10.0], [True, True], 0.0)
    assert abs(med[0] - 0.755) < 0.01 and abs(med[1] - 1.386) < 0.01
    q = cdc_height_quantile(np.full(5, 7.0), np.zeros(5, bool), np.linspace(-2, 2, 5))
    assert np.all(np.diff(q) > 0)


def test_sample_heights_statistics_and_errors():
    rng = np.random.default_rng(0)
    n = 4000
    h_m = sample_heights(np.full(n, 40.0), np.ones(n, bool), rng)
    h_f = sample_heights(np.full(n, 40.0), np.zeros(n, bool), rng)
    assert abs(h_m.mean() - 1.784) < 0.005 and abs(h_m.std() - 0.076) < 0.005
    assert abs(h_f.mean() - 1.647) < 0.005 and abs(h_f.std() - 0.071) < 0.005
    kids = sample_heights(np.full(n, 5.0), np.ones(n, bool), rng)
    assert abs(np.median(kids) - cdc_height_quantile([5.0], [True], 0.0)[0]) < 0.005
    with pytest.raises(ValueError, match=r'person\(s\) \[1\]'):
        sample_heights([3.0, -1.0], [True, True], rng)
