"""tools/benchmarks/dto_synthetic.py --severities: DTO+ rows and the plus last line (tiny scenes)."""
import importlib.util
import json
import re


def _load(repo_root):
    path = repo_root / 'tools' / 'benchmarks' / 'dto_synthetic.py'
    spec = importlib.util.spec_from_file_location('dto_synthetic_bench_plus', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_severities_print_plus_last_line(repo_root, tmp_path, capsys):
    bench = _load(repo_root)
    out = tmp_path / 'out'
    reports = bench.main(['--scenes', '3', '--severities', '0', '1', '--image-size', '96', '128',
                          '--min-pixels', '20', '--out-dir', str(out), '--cache-dir', str(tmp_path / 'cache'),
                          '--scenes-per-shard', '3', '--methods', 'initial', 'dto_paper', 'oracle',
                          'dto_plus', 'plus_focal'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r'plus_gain_s1=(\S+) plus_gain_s2=nan plus_depth_err_reduction_s1=(\S+) '
                     r'plus_vs_oracle_s1=(\S+)', last)
    assert m, last
    S = reports[1.0]['summary']
    assert abs(float(m.group(1)) - (S['dto_plus']['pcdr'] - S['dto_paper']['pcdr'])) < 0.01
    assert abs(float(m.group(3)) - (S['dto_plus']['pcdr'] - S['oracle']['pcdr'])) < 0.01
    data = json.loads((out / 'dto_synthetic_sev0.json').read_text())
    assert {'dto_plus', 'plus_focal'} <= set(data['summary'])
    assert 'focal_refined_share' in data['summary']['plus_focal']['diag']
