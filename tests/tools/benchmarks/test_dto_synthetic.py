"""tools/benchmarks/dto_synthetic.py on a few tiny scenes: tables, plots and last line of one
severity, and the DTO+ rows / plus last line of ``--severities``."""
import json
import re


def test_benchmark_writes_tables_plots_and_last_line(load_bench, tmp_path, capsys):
    bench = load_bench('dto_synthetic')
    out = tmp_path / 'out'
    report = bench.main(['--scenes', '3', '--severity', '0', '--image-size', '96', '128',
                         '--min-pixels', '20', '--out-dir', str(out), '--cache-dir', str(tmp_path / 'cache'),
                         '--scenes-per-shard', '2', '--methods', 'initial', 'dto_paper', 'oracle'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith('pcdr_gain=') and ' depth_err_reduction=' in last
    gain = float(last.split()[0].split('=')[1])
    assert abs(gain - report['pcdr_gain']) < 0.01
    data = json.loads((out / 'dto_synthetic_sev0.json').read_text())
    assert set(data['summary']) == {'initial', 'dto_paper', 'oracle'}
    assert data['counts']['images'] == 3
    for name in ('dto_synthetic_sev0.md', 'heights_sev0.png', 'errors_by_age_sev0.png'):
        assert (out / name).stat().st_size > 0
    # second run reuses the cached scenes
    assert (tmp_path / 'cache').is_dir() and len(list((tmp_path / 'cache').iterdir())) == 1


def test_severities_print_plus_last_line(load_bench, tmp_path, capsys):
    bench = load_bench('dto_synthetic')
    out = tmp_path / 'out'
    reports = bench.main(['--scenes', '3', '--severities', '0', '1', '--image-size', '96', '128',
                          '--min-pixels', '20', '--out-dir', str(out), '--cache-dir', str(tmp_path / 'cache'),
                          '--scenes-per-shard', '3', '--methods', 'initial', 'dto_paper', 'oracle',
                          'dto_plus', 'plus_focal'])
    printed = capsys.readouterr().out.strip().splitlines()
    last = printed[-1]
    m = re.fullmatch(r'plus_gain_s1=(\S+) plus_gain_s2=nan plus_depth_err_reduction_s1=(\S+) '
                     r'plus_vs_oracle_s1=(\S+)', last)
    assert m, last
    S = reports[1.0]['summary']
    assert abs(float(m.group(1)) - (S['dto_plus']['pcdr'] - S['dto_paper']['pcdr'])) < 0.01
    assert abs(float(m.group(3)) - (S['dto_plus']['pcdr'] - S['oracle']['pcdr'])) < 0.01
    data = json.loads((out / 'dto_synthetic_sev0.json').read_text())
    assert {'dto_plus', 'plus_focal'} <= set(data['summary'])
    assert 'focal_refined_share' in data['summary']['plus_focal']['diag']
    # DTO+ minus paper with its paired bootstrap interval: json, table and the summary line
    d = data['plus_minus_paper']
    assert abs(d['pcdr']['diff'] - (data['summary']['dto_plus']['pcdr']
                                    - data['summary']['dto_paper']['pcdr'])) < 1e-9
    assert d['pcdr']['lo'] <= d['pcdr']['diff'] <= d['pcdr']['hi']
    assert 'paired scene-bootstrap interval' in (out / 'dto_synthetic_sev1.md').read_text()
    assert sum('plus - paper PCDR' in line for line in printed) == 2
    assert (out / 'plus_minus_paper.png').stat().st_size > 0
