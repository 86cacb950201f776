"""tools/benchmarks/dto_focal_cues.py: the bounds it reports, and a tiny severity-0 run where
the floor-wall cue with its oracles is exact."""
import importlib.util
import math
import re

import numpy as np
import pytest


def _load(repo_root):
    path = repo_root / 'tools' / 'benchmarks' / 'dto_focal_cues.py'
    spec = importlib.util.spec_from_file_location('dto_focal_cues_bench', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_selection_and_fusion_bounds(repo_root):
    bench = _load(repo_root)
    nan = float('nan')
    recs = [dict(hmr=0.2, horizon=-0.2, horizon_true_up=nan, floor_wall=0.05, floor_wall_fit_shift=nan),
            dict(hmr=0.1, horizon=nan, horizon_true_up=0.3, floor_wall=nan, floor_wall_fit_shift=0.1),
            dict(hmr=-0.1, horizon=0.0, horizon_true_up=nan, floor_wall=-0.3, floor_wall_fit_shift=nan)]
    S = bench.summarize_cues(recs)
    assert S['hmr_focal_log_err'] == pytest.approx(0.4 / 3)
    h = S['cues']['horizon']
    assert h['share'] == pytest.approx(2 / 3) and h['log_err'] == pytest.approx(0.1)
    assert h['hmr_log_err_there'] == pytest.approx(0.15)
    assert h['selection'] == pytest.approx((0.2 + 0.1 + 0.0) / 3)
    # w = 0.5 averages image 1 to 0 and image 3 to -0.05: the best fixed weight
    assert h['fusion'] == pytest.approx((0.0 + 0.1 + 0.05) / 3) and h['fusion_weight'] == pytest.approx(0.5)
    # per image the best of hmr, horizon, horizon_true_up and floor_wall (not the fit-shift one)
    assert S['all_selection'] == pytest.approx((0.05 + 0.1 + 0.0) / 3)
    assert S['best_fusion']['log_err'] <= h['fusion']


def test_floor_wall_with_oracles_is_exact_at_severity_zero(repo_root, tmp_path, capsys):
    bench = _load(repo_root)
    S = bench.main(['--scenes', '3', '--severity', '0', '--image-size', '96', '128', '--min-pixels', '20',
                    '--cache-dir', str(tmp_path / 'cache'), '--out-dir', str(tmp_path / 'out'),
                    '--scenes-per-shard', '3'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r'hmr_focal_log_err=\S+ horizon_selection=\S+ horizon_true_up_selection=\S+ '
                        r'floor_wall_selection=\S+ all_selection=\S+ best_fusion=\S+', last), last
    import json
    recs = json.loads((tmp_path / 'out' / 'dto_focal_cues_sev0.json').read_text())['records']
    fw = np.array([r['floor_wall'] for r in recs])
    assert np.isfinite(fw).any()
    assert np.nanmax(np.abs(fw)) < 1e-6            # exact disparity, true shift, true planes
    assert S['cues']['floor_wall']['selection'] <= S['hmr_focal_log_err']
    assert not math.isnan(S['hmr_focal_log_err'])
