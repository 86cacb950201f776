"""The small config builds and trains one step; tools/infer.py writes the export files."""
import json
import runpy

import numpy as np
import pytest
import torch


@pytest.fixture
def small_model(repo_root, smpl_model_file, build_model):
    from mmengine.config import Config
    cfg = Config.fromfile(str(repo_root / 'configs' / 'mahmr_small_synthetic.py'))
    assert cfg.default_scope == 'metric_hmr' and cfg.model_wrapper_cfg.find_unused_parameters
    cfg.model.body_model = dict(type='SMPLBodyModel', model_path=str(smpl_model_file))
    return cfg, build_model(cfg.model.to_dict())


def test_small_config_trains_one_step(small_model, toy_batch):
    cfg, model = small_model
    assert model.input_size == 112 == cfg.input_size
    losses = model(**model.data_preprocessor(toy_batch, True), mode='loss')
    total = sum(losses.values())
    total.backward()
    assert torch.isfinite(total)


def test_infer_tool_writes_export_keys(small_model, tmp_path, repo_root, smpl_model_file):
    import cv2
    cfg, model = small_model
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    cfg_path = tmp_path / 'cfg.py'
    cfg.dump(str(cfg_path))
    img_dir = tmp_path / 'imgs'
    img_dir.mkdir()
    cv2.imwrite(str(img_dir / 'a.jpg'), np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8))
    main = runpy.run_path(str(repo_root / 'tools' / 'infer.py'))['main']
    assert main([str(cfg_path), str(ckpt), str(img_dir), '--out-dir', str(tmp_path / 'out'),
                 '--score-thr', '0.0']) == 0
    z = np.load(tmp_path / 'out' / 'a.npz')
    for k in ('global_orient', 'body_pose', 'betas', 'transl', 'focal', 'princpt', 'height', 'age_group', 'std',
              'fov_v', 'scores', 'boxes'):
        assert k in z.files, k
    n = len(z['transl'])
    assert n == model.decoder.num_queries and z['body_pose'].shape == (n, 69)
    np.testing.assert_allclose(z['princpt'], [60, 45])
    # focal and FoV describe the same camera of the 90-px-high image
    assert abs(2 * np.arctan(90 / (2 * z['focal'][1])) - float(z['fov_v'])) < 1e-4
    doc = json.loads((tmp_path / 'out' / 'a.json').read_text())
    assert doc['num_persons'] == n and doc['camera'] == 'opencv' and doc['image_size'] == [90, 120]
    with pytest.raises(SystemExit):
        main([str(cfg_path), str(tmp_path / 'missing.pth'), str(img_dir), '--out-dir', str(tmp_path / 'o2')])
