"""tools/benchmarks/dto_focal_requirement.py: the interpolation of the requirement, the focal
variants, and a tiny end-to-end run whose HMR-focal row is the main benchmark's DTO+."""
import json
import math
import re

import numpy as np
import pytest


def test_needed_focal_error_interpolates_the_first_crossing(load_bench):
    bench = load_bench('dto_focal_requirement')
    # reduction falls from 0.8 to 0.2 as the error grows: 0.45 is crossed between 0.1 and 0.2
    x, y = [0.2, 0.0, 0.1, 0.3], [0.3, 0.8, 0.6, 0.2]          # unsorted on purpose
    val, cens = bench.needed_focal_error(x, y, 0.45)
    assert val == pytest.approx(0.1 + 0.15 / 0.3 * 0.1) and not cens
    # never below the target: the largest tested error, flagged as a lower bound
    assert bench.needed_focal_error([0.0, 0.1], [0.9, 0.5], 0.45) == (0.1, True)
    # below the target already with the exact focal: not reachable
    val, cens = bench.needed_focal_error([0.0, 0.1], [0.4, 0.3], 0.45)
    assert math.isnan(val) and not cens


def test_focal_variants_span_hmr_to_true_focal(load_bench):
    bench = load_bench('dto_focal_requirement')
    v = {n: (p, r) for n, p, r in bench.focal_variants(1.21, [1.0, 0.5, 0.0], [0.1], eps=-2.0)}
    assert v['bias_t1'] == ('bias', pytest.approx(1.21))
    assert v['bias_t0.5'] == ('bias', pytest.approx(1.1))
    assert v['bias_t0'] == ('bias', 1.0)
    assert v['noise_0.1'] == ('noise', pytest.approx(np.exp(-0.2)))


def test_tiny_run_matches_the_main_benchmark(load_bench, tmp_path, capsys):
    """The HMR-focal row (t = 1) is dto_synthetic's dto_plus / dto_paper on the same scenes,
    and the true-focal row (t = 0) its dto_paper_gt_focal / plus_gt_focal."""
    bench = load_bench('dto_focal_requirement')
    common = ['--scenes', '3', '--image-size', '96', '128', '--min-pixels', '20',
              '--cache-dir', str(tmp_path / 'cache'), '--scenes-per-shard', '3']
    reps = bench.main(common + ['--severities', '1', '--out-dir', str(tmp_path / 'fr'),
                                '--bias-fractions', '1', '0', '--noise', '0.1'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r'plus_needed_focal_log_err_bias_s1=(\S+) plus_needed_focal_log_err_noise_s1=(\S+) '
                     r'hmr_focal_log_err_s1=(\S+) plus_reduction_true_focal_s1=(\S+) '
                     r'plus_reduction_hmr_focal_s1=(\S+)', last)
    assert m, last
    rep = reps[0]
    rows = {r['variant']: r for r in rep['rows']}
    assert set(rows) == {'bias_t1', 'bias_t0', 'noise_0.1'}
    assert rows['bias_t0']['focal_log_err'] == 0.0 and rows['bias_t1']['focal_log_err'] > 0
    assert float(m.group(4)) == pytest.approx(rows['bias_t0']['dto_plus']['reduction'], abs=1e-3)
    data = json.loads((tmp_path / 'fr' / 'dto_focal_requirement_sev1.json').read_text())
    assert data['images'] == rep['images'] and (tmp_path / 'fr' / 'focal_requirement.png').stat().st_size > 0

    syn = load_bench('dto_synthetic')
    S = syn.main(common + ['--severity', '1', '--out-dir', str(tmp_path / 'syn'), '--methods', 'initial',
                           'dto_paper', 'dto_plus', 'dto_paper_gt_focal', 'plus_gt_focal'])['summary']
    assert rep['initial_depth_err_mean'] == pytest.approx(S['initial']['depth_err_mean'], rel=1e-12)
    for row, pairs in (('bias_t1', (('dto_paper', 'dto_paper'), ('dto_plus', 'dto_plus'))),
                       ('bias_t0', (('dto_paper', 'dto_paper_gt_focal'), ('dto_plus', 'plus_gt_focal')))):
        for ours, theirs in pairs:
            assert rows[row][ours]['depth_err_mean'] == pytest.approx(S[theirs]['depth_err_mean'], rel=1e-9)
            assert rows[row][ours]['pcdr'] == pytest.approx(S[theirs]['pcdr'], abs=1e-9)
