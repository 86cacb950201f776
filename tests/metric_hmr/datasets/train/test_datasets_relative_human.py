"""Relative Human fine-tune: training loader, ordinal depth-layer loss, config trains one epoch."""
import math

import numpy as np
import pytest
import torch
from PIL import Image


def _rh_data(root):
    """Two images in the Relative Human annotation layout (BK 19-joint kp2d, bbox, depth_id, age)."""
    rng = np.random.default_rng(0)
    annots = {}
    for name in ('0000001.jpg', '0000002.jpg'):   # 7-char stems: BK joint order
        p = root / 'RelativeHuman' / 'images' / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(p)
        persons = []
        for i, (x0, did, age) in enumerate([(5, 0, 0), (40, 1, 2)]):
            kp = np.zeros((19, 3))
            kp[:, 0] = x0 + rng.uniform(5, 25, 19)
            kp[:, 1] = rng.uniform(10, 50, 19)
            kp[:, 2] = 1
            kp[17:, 2] = 0   # toes unannotated
            persons.append(dict(bbox=np.array([x0, 8, x0 + 30, 55.0]), kp2d=kp.reshape(-1), depth_id=did, age=age))
        annots[name] = persons
    np.savez(root / 'RelativeHuman' / 'train_annots.npz', annots=np.array(annots, dtype=object))


def test_rh_train_loader_maps_joints_to_smpl_and_keeps_layers(tmp_path):
    from metric_hmr.datasets.train import RelativeHumanTrainDataset
    _rh_data(tmp_path)
    ds = RelativeHumanTrainDataset(ann_file='RelativeHuman/train_annots.npz', data_root=str(tmp_path),
                                   img_prefix='RelativeHuman/images')
    s = ds.get_data_info(0)
    gt = s['gt']
    assert gt['depth_id'].tolist() == [0, 1] and gt['age_group'].tolist() == [0, 2]
    assert not gt['has_smpl'].any() and np.isnan(gt['transl']).all() and math.isnan(s['fov_v'])
    # BK l_shoulder (index 5) -> SMPL l_shoulder (16); SMPL pelvis has no RH joint
    raw = np.asarray(ds.get_data_info(0)['gt']['kpts2d'])
    assert raw[0, 16, 2] == 1 and raw[0, 0, 2] == 0
    np.testing.assert_allclose(gt['boxes'][1], [40, 8, 70, 55])


def test_ordinal_depth_loss_orders_layers():
    """Closer layer with larger depth costs softplus(dz); same layer costs dz^2."""
    from metric_hmr.models.losses import ordinal_depth_loss
    z = torch.tensor([3.0, 5.0], requires_grad=True)
    good = ordinal_depth_loss([z], [torch.tensor([0, 1])])
    bad = ordinal_depth_loss([z], [torch.tensor([1, 0])])
    assert abs(float(good) - math.log1p(math.exp(-2.0))) < 1e-6
    assert abs(float(bad) - math.log1p(math.exp(2.0))) < 1e-6
    assert abs(float(ordinal_depth_loss([z], [torch.tensor([2, 2])])) - 4.0) < 1e-6
    assert float(ordinal_depth_loss([z], [torch.tensor([-1, 0])])) == 0.0   # unknown layer
    bad.backward()
    assert z.grad[0] < 0 < z.grad[1]   # pushes the (closer) person 1 forward, person 0 back


def test_rh_finetune_config_trains_with_the_ordinal_loss(tmp_path, repo_root, smpl_model_file):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from metric_hmr import register_all_modules
    register_all_modules(init_default_scope=False)
    _rh_data(tmp_path)
    cfg = Config.fromfile(str(repo_root / 'configs' / 'mahmr_finetune_rh.py'))
    assert cfg.model.losses.ordinal.type == 'OrdinalDepthLoss'
    small = Config.fromfile(str(repo_root / 'configs' / 'mahmr_small_synthetic.py'))
    small.model.body_model = dict(type='SMPLBodyModel', model_path=str(smpl_model_file))
    small.model.losses = cfg.model.losses
    cfg.model = small.model
    ds = cfg.train_dataloader.dataset.datasets[0]
    ds.data_root = str(tmp_path)
    ds.pipeline = [t for t in ds.pipeline if t['type'] != 'RandomRotateHMR']
    for t in ds.pipeline:
        if t['type'] == 'CanvasHMR':
            t['input_size'] = small.model.input_size
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_epochs = 1
    cfg.load_from = None
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    data = next(iter(runner.train_dataloader))
    model = runner.model
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert 'loss_ordinal' in losses and torch.isfinite(losses['loss_ordinal'])
    assert float(losses['loss_pose']) == 0 and float(losses['loss_depth']) == 0
