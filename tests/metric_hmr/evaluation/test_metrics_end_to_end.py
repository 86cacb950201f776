"""Fixtures in every annotation format scored end to end through ``tools/test.py``."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from metric_hmr.datasets.benchmarks.fixtures import make_benchmark_fixture

CONFIGS = {'rh': 'rh_precomputed.py', '3dpw': '3dpw_precomputed.py',
           'hi4d': 'hi4d_precomputed.py', 'mupots': 'mupots_precomputed.py',
           'panoptic': 'panoptic_precomputed.py'}


def run_test_tool(repo_root, config, work_dir, options):
    out = os.path.join(work_dir, 'metrics.json')
    cmd = [sys.executable, str(repo_root / 'tools' / 'test.py'), str(config),
           '--work-dir', str(work_dir), '--out', out, '--cfg-options', *options]
    env = dict(os.environ, PYTHONHASHSEED='0', OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out) as fh:
        return json.load(fh)


def run_in_process(config, work_dir, options):
    """The same config through an in-process MMEngine Runner test loop (fast path)."""
    from mmengine.config import Config, DictAction
    from mmengine.runner import Runner

    from metric_hmr import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(config))
    parsed = {}
    for opt in options:
        key, value = opt.split('=', 1)
        parsed[key] = DictAction._parse_iterable(value)
    cfg.merge_from_dict(parsed)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{os.path.basename(str(config))}_{os.path.basename(str(work_dir))}'
    return Runner.from_cfg(cfg).test()


def _options(kind, fx, root, eval_smpl):
    s = eval_smpl['path']
    opts = [f'model.pred_file={fx["pred_file"]}', f'test_dataloader.dataset.data_root={root}',
            f'test_evaluator.geometry.body_model.model_path={s}']
    if kind in ('3dpw', 'hi4d'):
        # the fixture's gendered gt bodies use the same file: errors must vanish exactly
        opts += [f'test_evaluator.geometry.gendered_body_models.male.model_path={s}',
                 f'test_evaluator.geometry.gendered_body_models.female.model_path={s}']
    if kind == 'rh':
        opts.append(f'test_evaluator.geometry.head_top_vertex={eval_smpl["head_top"]}')
    else:
        opts.append(f'test_evaluator.geometry.j_regressor_h36m={eval_smpl["regressor"]}')
    return opts


KINDS = ['rh', '3dpw', 'hi4d', 'mupots', 'panoptic']
# tools/test.py subprocesses cost ~10-20 s each on a shared CPU: one runs by default,
# all of them with --runslow; every format also runs through the in-process Runner.
SUBPROCESS_KINDS = [k if k == 'rh' else pytest.param(k, marks=pytest.mark.slow) for k in KINDS]


@pytest.mark.parametrize('kind', SUBPROCESS_KINDS)
def test_benchmark_scores_through_tools_test(kind, tmp_path, repo_root, eval_smpl):
    _score_and_check(kind, tmp_path, repo_root, eval_smpl, subprocess_run=True)


@pytest.mark.parametrize('kind', KINDS)
def test_benchmark_scores_through_runner_test_loop(kind, tmp_path, repo_root, eval_smpl):
    _score_and_check(kind, tmp_path, repo_root, eval_smpl, subprocess_run=False)


def _score_and_check(kind, tmp_path, repo_root, eval_smpl, subprocess_run):
    root = tmp_path / kind
    drop = {} if kind == 'panoptic' else {1: [0]}     # one person of image 1 not predicted
    fx = make_benchmark_fixture(kind, str(root), eval_smpl['path'], eval_smpl['regressor'],
                                drop_pred=drop, head_top_vertex=eval_smpl['head_top'])
    config = repo_root / 'configs' / 'eval' / CONFIGS[kind]
    opts = _options(kind, fx, root, eval_smpl)
    if subprocess_run:
        m = run_test_tool(repo_root, config, tmp_path / 'work', opts)
    else:
        m = run_in_process(config, tmp_path / 'work', opts)
    if kind == 'rh':
        z = fx['gt_cam'][0]['transl'][:, 2]            # image 0: 3 persons, layers follow z
        pairs = [(0, 1), (0, 2), (1, 2)]
        ok = [abs(z[b] - z[a]) > 0.2 for a, b in pairs]
        ages = [0, 1, 2]                               # fixture ages p % 4; image 1 misses an adult
        assert m['rh/pcdr_0.2/all'] == pytest.approx(100 * sum(ok) / (3 + 0.3))
        adult = [o for (a, b), o in zip(pairs, ok) if 0 in (ages[a], ages[b])]
        assert m['rh/pcdr_0.2/adult'] == pytest.approx(100 * sum(adult) / (len(adult) + 0.3))
        assert m['rh/pck'] == pytest.approx(1.0)
        assert m['rh/precision'] == pytest.approx(1.0)
        assert m['rh/recall'] == pytest.approx(4 / 5)
        assert m['rh/num_gt_unmatchable'] == 2        # one kp2d=None person per image
    elif kind in ('3dpw', 'hi4d'):
        assert m[f'{kind}/num_images_size_unknown'] == 0    # read from the fixture images
        for k in ('mpjpe', 'pa_mpjpe', 'pve', 'height_error', 'focal_error', 'fov_error'):
            assert m[f'{kind}/{k}'] == pytest.approx(0.0, abs=0.05), k   # mm
        assert m[f'{kind}/recall'] == pytest.approx(4 / 5)
        assert m[f'{kind}/precision'] == pytest.approx(1.0)
    elif kind == 'mupots':
        assert m['mupots/pck_match'] == pytest.approx(100.0)
        assert m['mupots/pck_all'] == pytest.approx(100 * 4 / 5)
        assert m['mupots/mpjpe'] == pytest.approx(0.0, abs=0.05)
        assert m['mupots/pck_all/TS1'] == pytest.approx(100.0)
    else:
        for seq in ('haggling', 'pizza', 'mean'):
            assert m[f'panoptic/mpjpe/{seq}'] == pytest.approx(0.0, abs=0.05)


def test_worse_predictions_score_worse(tmp_path, eval_smpl):
    """Same fixture, predictions moved in depth, one shoulder rotated, shorter bodies:
    root-relative errors and height errors appear (loader -> predictor -> metric in process)."""
    from metric_hmr.datasets.benchmarks import PW3DDataset
    from metric_hmr.evaluation import MeshMetric, PrecomputedPredictor
    from metric_hmr.evaluation.precomputed import load_predictions, save_predictions
    root = tmp_path / '3dpw'
    fx = make_benchmark_fixture('3dpw', str(root), eval_smpl['path'], eval_smpl['regressor'])
    geometry = dict(body_model=dict(type='SMPLBodyModel', model_path=eval_smpl['path']),
                    j_regressor_h36m=eval_smpl['regressor'])
    ds = PW3DDataset(ann_file=fx['ann_file'])
    batch = [ds.get_data_info(i) for i in range(len(ds))]

    def score(pred_file):
        metric = MeshMetric(use_gt_gender=False, geometry=geometry)
        metric.process(batch, PrecomputedPredictor(pred_file).test_step(batch))
        return metric.compute_metrics(metric.results)

    base = score(fx['pred_file'])
    preds = load_predictions(fx['pred_file'])
    for p in preds.values():
        p['transl'][:, 2] += 0.3            # root-relative metrics ignore depth
    save_predictions(fx['pred_file'], preds)
    moved = score(fx['pred_file'])
    for k in ('mpjpe', 'pa_mpjpe', 'pve', 'height_error'):
        assert moved[k] == pytest.approx(base[k], abs=1e-3), k
    for p in preds.values():
        p['body_pose'][:, 45:48] += 0.5     # a shoulder rotated: joints move
        p['betas'][:, 0] -= 1.0             # shorter
    save_predictions(fx['pred_file'], preds)
    worse = score(fx['pred_file'])
    assert worse['mpjpe'] > 1.0 and worse['pa_mpjpe'] > 1.0 and worse['pve'] > 1.0
    assert worse['height_error'] > 10.0
    assert worse['recall'] == 1.0


def _dto_fixture(tmp_path, eval_smpl):
    """RH fixture (with blank images) and depth maps rendered from the gt bodies."""
    from metric_hmr.dto.raster import rasterize_persons
    from metric_hmr.datasets.benchmarks.fixtures import FOCAL, IMAGE_HW, PRINCPT
    from metric_hmr.evaluation import SMPLGeometry
    root = tmp_path / 'rh'
    fx = make_benchmark_fixture('rh', str(root), eval_smpl['path'], persons_per_image=(4, 3),
                                head_top_vertex=eval_smpl['head_top'], seed=1)
    geo = SMPLGeometry(dict(type='SMPLBodyModel', model_path=eval_smpl['path']))
    for key, cam in zip(fx['img_keys'], fx['gt_cam']):
        r = rasterize_persons(geo.meshes(cam).vertices, geo.model().faces, FOCAL, PRINCPT,
                              IMAGE_HW, resolution=None)
        disparity = np.where(np.isfinite(r.depth), 1.0 / r.depth, 1.0 / 30.0)
        (root / 'depth').mkdir(exist_ok=True)
        np.save(root / 'depth' / (os.path.splitext(key)[0] + '.npy'), disparity.astype(np.float32))
    return root, fx


def test_dto_refinement_of_precomputed_predictions(tmp_path, eval_smpl):
    """PrecomputedPredictor + DTORefiner: every image refined, depths moved, scores sane."""
    from metric_hmr.datasets.benchmarks import RelativeHumanDataset
    from metric_hmr.evaluation import PrecomputedPredictor, RelativeHumanMetric
    root, fx = _dto_fixture(tmp_path, eval_smpl)
    ds = RelativeHumanDataset(ann_file=fx['ann_file'], data_root=str(root),
                              data_prefix=dict(img_path='images'), read_image_size=True)
    batch = [ds.get_data_info(i) for i in range(len(ds))]
    assert batch[0]['ori_shape'] == (720, 1280)
    bm = dict(type='SMPLBodyModel', model_path=eval_smpl['path'])
    model = PrecomputedPredictor(fx['pred_file'], depth_dir=str(root / 'depth'),
                                 dto=dict(type='DTORefiner', dto=dict(), body_model=bm))
    out = model.test_step(batch)
    assert len(model.dto_records) == 2
    for rec in model.dto_records:
        z0, z1 = np.asarray(rec['z_init']), np.asarray(rec['z_star'])
        assert np.isfinite(z1).all() and not np.allclose(z0, z1)
        np.testing.assert_allclose(z1, z0, rtol=0.2)   # consistent depth maps: small moves
    metric = RelativeHumanMetric(geometry=dict(body_model=bm, head_top_vertex=eval_smpl['head_top']))
    metric.process(batch, out)
    res = metric.compute_metrics(metric.results)
    assert res['recall'] == 1.0 and res['pck'] > 0.9 and res['pcdr_0.2/all'] > 50


@pytest.mark.slow
def test_dto_config_through_tools_test(tmp_path, repo_root, eval_smpl):
    root, fx = _dto_fixture(tmp_path, eval_smpl)
    opts = _options('rh', fx, root, eval_smpl) + [
        f'model.depth_dir={root / "depth"}',
        f'model.dto.body_model.model_path={eval_smpl["path"]}']
    m = run_test_tool(repo_root, repo_root / 'configs' / 'eval' / 'rh_precomputed_dto.py',
                      tmp_path / 'work', opts)
    assert m['rh/recall'] == 1.0 and 0 <= m['rh/pcdr_0.2/all'] <= 100
