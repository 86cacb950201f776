"""tools/benchmarks/dto_focal_cues.py: the bounds it reports, and a tiny severity-0 run where
the floor-wall cue with its oracles is exact."""
import math
import re

import numpy as np
import pytest


def test_selection_and_fusion_bounds(load_bench):
    bench = load_bench('dto_focal_cues')
    nan = float('nan')
    recs = [dict(hmr=0.2, horizon=-0.2, horizon_true_up=nan, floor_wall=0.05, floor_wall_fit_shift=nan,
                 pitch_hat_deg=15.0),
            dict(hmr=0.1, horizon=nan, horizon_true_up=0.3, floor_wall=nan, floor_wall_fit_shift=0.1,
                 pitch_hat_deg=2.0),
            dict(hmr=-0.1, horizon=0.0, horizon_true_up=nan, floor_wall=-0.3, floor_wall_fit_shift=nan,
                 pitch_hat_deg=3.0)]
    S = bench.summarize_cues(recs)
    assert S['hmr_focal_log_err'] == pytest.approx(0.4 / 3)
    h = S['cues']['horizon']
    assert h['share'] == pytest.approx(2 / 3) and h['log_err'] == pytest.approx(0.1)
    assert h['hmr_log_err_there'] == pytest.approx(0.15)
    assert h['selection'] == pytest.approx((0.2 + 0.1 + 0.0) / 3)
    # w = 0.5 averages image 1 to 0 and image 3 to -0.05: the best fixed weight
    assert h['fusion'] == pytest.approx((0.0 + 0.1 + 0.05) / 3) and h['fusion_weight'] == pytest.approx(0.5)
    # a gate at >= 4 deg would keep image 3 on the HMR (0.1 instead of 0.05): no gate is best here
    assert h['gated_fusion'] == pytest.approx(0.05) and h['gate_deg'] <= 0.0
    assert h['gated_fusion'] <= h['fusion'] + 1e-12            # 'no gate' is one of the choices
    # per image the best of the HMR and every cue (cues missing from a record count as absent)
    assert S['all_selection'] == pytest.approx((0.05 + 0.1 + 0.0) / 3)
    assert S['best_fusion']['log_err'] <= h['fusion']
    assert S['cues']['floor_wall_up']['share'] == 0.0
    # precision weights: never worse than the HMR alone (the starting point) and, here,
    # better (image 1's errors cancel at w = 1/2)
    assert h['precision_fusion'] < S['hmr_focal_log_err']
    assert S['best_precision_fusion']['log_err'] <= h['precision_fusion']


def test_floor_wall_with_oracles_is_exact_at_severity_zero(load_bench, tmp_path, capsys):
    bench = load_bench('dto_focal_cues')
    S = bench.main(['--scenes', '3', '--severity', '0', '--image-size', '96', '128', '--min-pixels', '20',
                    '--cache-dir', str(tmp_path / 'cache'), '--out-dir', str(tmp_path / 'out'),
                    '--scenes-per-shard', '3'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r'hmr_focal_log_err=\S+ horizon_selection=\S+ horizon_true_up_selection=\S+ '
                        r'floor_wall_selection=\S+ floor_wall_up_selection=\S+ all_selection=\S+ '
                        r'best_fusion=\S+ best_gated_fusion=\S+ best_precision_fusion=\S+', last), last
    import json
    recs = json.loads((tmp_path / 'out' / 'dto_focal_cues_sev0.json').read_text())['records']
    for cue in ('floor_wall', 'floor_wall_up_true'):
        fw = np.array([r[cue] for r in recs])
        assert np.isfinite(fw).sum() >= 2, cue
        assert np.nanmax(np.abs(fw)) < 1e-6, cue   # exact disparity, true planes, true shift / up
    assert S['cues']['floor_wall']['selection'] <= S['hmr_focal_log_err']
    assert not math.isnan(S['hmr_focal_log_err'])
    with pytest.raises(SystemExit, match='erode'):
        bench.main(['--erode', '0', '--out-dir', str(tmp_path / 'x')])


def test_hmr_up_vectors_follow_the_estimate_meshes(load_bench):
    """The up vector the benchmark gives each person is the direction its HMR-like mesh
    (metric_hmr.synthetic.estimates.apply_estimate) maps the world up to."""
    from metric_hmr.geometry import axis_angle_to_matrix
    from metric_hmr.synthetic.estimates import apply_estimate
    from metric_hmr.synthetic.scene_camera import camera_rotation
    bench = load_bench('dto_focal_cues')
    rng = np.random.default_rng(0)
    scene = dict(cam_R=camera_rotation(np.deg2rad(14.0)), root=rng.uniform(-2, 8, (4, 3)),
                 est_rot=axis_angle_to_matrix(np.deg2rad(20.0) * rng.normal(size=(4, 3))),
                 est_girth=np.exp(0.1 * rng.normal(size=4)))
    det = np.arange(len(scene['est_rot']))
    up = bench.hmr_up_vectors(scene, det)
    world_up = np.asarray(scene['cam_R'])[:, 1]
    for k in det:
        r = np.asarray(scene['root'][k], np.float64)
        pts = np.stack([r, r + world_up])            # a segment along the true up
        v, _ = apply_estimate(pts, r, world_up, 1.3, 1.15, scene['est_rot'][k], scene['est_girth'][k])
        d = (v[1] - v[0]) / np.linalg.norm(v[1] - v[0])
        np.testing.assert_allclose(up[k] / np.linalg.norm(up[k]), d, atol=1e-12)
