"""configs/eval/mahmr_<bench>.py: benchmark fixtures scored from an MA-HMR checkpoint.

The configs' network is swapped for the same architecture at width 32 / input 112 (random
weights saved as a checkpoint, loaded strictly); the data path (benchmark loader ->
BenchmarkToHMRInput -> canvas -> network -> predictions in original pixels) and the metrics are
the real ones.  Scores of a random network are meaningless; the test checks that every
benchmark is scored end to end, with every ground-truth person counted.
"""
import json
import math
import os
import subprocess
import sys

import pytest
import torch

KINDS = ['rh', '3dpw', 'hi4d', 'mupots', 'panoptic']
TINY = {
    'model.input_size': 112, 'model.backbone.embed_dim': 32, 'model.backbone.depth': 3,
    'model.backbone.num_heads': 2, 'model.backbone.hidden_dim': 32, 'model.backbone.map_layers': 1,
    'model.decoder.d_model': 32, 'model.decoder.nhead': 2, 'model.decoder.num_layers': 2,
    'model.decoder.dim_feedforward': 64, 'model.decoder.num_queries': 6, 'model.heads.mean_params': None,
    'model.camera_head.in_dim': 32, 'model.camera_head.hidden_dim': 32, 'model.score_thresh': 0.0,
    'test_dataloader.num_workers': 0,
}


@pytest.fixture(scope='module')
def smpl_files(tmp_path_factory):
    from metric_hmr.testing import kid_template_path, make_h36m_regressor, make_smpl_model_file
    d = tmp_path_factory.mktemp('eval_smpl')
    path = make_smpl_model_file(d, seed=0, with_kid_template=True)
    reg = str(d / 'J_regressor_h36m.npy')
    make_h36m_regressor(path, reg)
    return dict(path=str(path), regressor=reg, kid=kid_template_path(str(d)))


def _options(kind, root, smpl):
    opts = dict(TINY)
    opts.update({'test_dataloader.dataset.data_root': str(root), 'model.body_model.model_path': smpl['path'],
                 'model.body_model.kid_template_path': smpl['kid'],
                 'test_evaluator.geometry.body_model.model_path': smpl['path'],
                 'test_evaluator.geometry.body_model.kid_template_path': smpl['kid']})
    if kind in ('3dpw', 'hi4d'):
        opts['test_evaluator.geometry.gendered_body_models.male.model_path'] = smpl['path']
        opts['test_evaluator.geometry.gendered_body_models.female.model_path'] = smpl['path']
    if kind != 'rh':
        opts['test_evaluator.geometry.j_regressor_h36m'] = smpl['regressor']
    return opts


def _checkpoint(cfg, path):
    import metric_hmr.models  # noqa: F401
    from metric_hmr.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model.to_dict())
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def _setup(kind, tmp_path, repo_root, smpl):
    from mmengine.config import Config

    from metric_hmr.datasets.benchmarks.fixtures import make_benchmark_fixture
    root = tmp_path / kind
    make_benchmark_fixture(kind, str(root), smpl['path'], smpl['regressor'])
    config = repo_root / 'configs' / 'eval' / f'mahmr_{kind}.py'
    opts = _options(kind, root, smpl)
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(opts)
    assert cfg.model.heads.num_betas == 11 == cfg.model.body_model.num_betas   # as trained (SMPL-A)
    return config, cfg, opts, _checkpoint(cfg, tmp_path / f'{kind}.pth')


# ~30 s each on 2 shared cores: Relative Human by default, all five with --runslow
@pytest.mark.parametrize('kind', [k if k == 'rh' else pytest.param(k, marks=pytest.mark.slow) for k in KINDS])
def test_eval_config_scores_fixture_from_checkpoint(kind, tmp_path, repo_root, smpl_files):
    from metric_hmr import register_all_modules
    from metric_hmr.utils.checkpoint import strict_runner_class
    register_all_modules(init_default_scope=False)
    config, cfg, opts, ckpt = _setup(kind, tmp_path, repo_root, smpl_files)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = str(ckpt)
    cfg.experiment_name = f'mahmr_{kind}_{os.getpid()}'
    metrics = strict_runner_class(True).from_cfg(cfg).test()
    prefix = {'rh': 'rh/', '3dpw': '3dpw/', 'hi4d': 'hi4d/', 'mupots': 'mupots/', 'panoptic': 'panoptic/'}[kind]
    assert metrics and all(k.startswith(prefix) for k in metrics)
    finite = [k for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)]
    assert finite, metrics
    if kind in ('3dpw', 'hi4d'):
        assert metrics[f'{kind}/num_images_size_unknown'] == 0
    if kind == 'rh':
        assert metrics['rh/num_gt_unmatchable'] == 2  # the fixture's persons without keypoints


@pytest.mark.slow
def test_tools_test_scores_rh_from_checkpoint_and_refuses_another_model(tmp_path, repo_root, smpl_files):
    config, cfg, opts, ckpt = _setup('rh', tmp_path, repo_root, smpl_files)
    out = tmp_path / 'metrics.json'
    cli = [f'{k}={"None" if v is None else v}' for k, v in opts.items()]
    cmd = [sys.executable, str(repo_root / 'tools' / 'test.py'), str(config), str(ckpt), '--work-dir',
           str(tmp_path / 'work'), '--out', str(out), '--cfg-options', *cli]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    m = json.loads(out.read_text())
    assert 'rh/pck' in m and 'rh/recall' in m
    # a checkpoint of another network is refused (strict loading), not silently half-loaded
    sd = torch.load(ckpt, weights_only=True)['state_dict']
    sd['extra.weight'] = torch.zeros(1)
    del sd['decoder.tgt_embed.weight']
    torch.save({'state_dict': sd}, tmp_path / 'bad.pth')
    cmd[3] = str(tmp_path / 'bad.pth')
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode != 0 and 'decoder.tgt_embed.weight' in proc.stdout + proc.stderr
