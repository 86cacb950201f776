"""configs/mahmr_stage3.py trains when its data exists (self-made files in the documented layout,
the network shrunk to the small config's size so that it runs on CPU in seconds)."""
import math

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.transform import Rotation


def _img(root, rel):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(p)


def _save(path, annots):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, annots=np.array(annots, dtype=object))


def make_data(root):
    rng = np.random.default_rng(0)
    K = np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]])
    R, t = Rotation.from_rotvec([math.pi, 0, 0]).as_matrix(), np.zeros(3)

    def pose():
        p = np.zeros(72)
        p[3:] = rng.normal(scale=0.1, size=69)
        return p

    agora = {}
    for name in ('a0.png', 'a1.png'):
        _img(root, f'agora/train/{name}')
        agora[name] = dict(isValid=np.ones(2, bool), cam_intrinsics=K, cam_rot=R, cam_trans=t, kid=np.zeros(2, bool),
                           smpl_gt=[dict(betas=np.zeros(11), global_orient=np.zeros(3), body_pose=pose()[3:],
                                         transl=np.array([x, -0.3, -4.0])) for x in (-0.6, 0.6)])
    _save(root / 'agora/smpl_neutral_annots/annots_smpl_train_fit.npz', agora)
    bedlam = {}
    for name in ('b0.png', 'b1.png'):
        _img(root, f'bedlam/train/{name}')
        bedlam[name] = dict(cam_int=K, cam_rot=R, cam_trans=t, shape=np.zeros((1, 10)), pose_world=pose()[None],
                            trans_world=np.array([[0.0, -0.3, -5.0]]))
    _save(root / 'bedlam/bedlam_smpl_train_6fps.npz', bedlam)
    dto = {}
    for name in ('c0.png', 'c1.png'):
        _img(root, f'4dhumans/images/{name}')
        p = pose()
        p[0] = math.pi
        dto[name] = [dict(smpl_param=dict(shape=np.zeros(10), pose=p, trans=np.array([0.0, 0.3, z])),
                          cam_param=dict(focal=np.array([70.0, 70.0]), princpt=np.array([40.0, 30.0])))
                     for z in (4.0, 4.5)]
    _save(root / 'dto_humans/4dhumans_CHMR_SMPL_OPT.npz', dto)


def test_stage3_config_trains_when_data_exists(tmp_path, repo_root, smpl_model_file):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from metric_hmr import register_all_modules
    register_all_modules(init_default_scope=False)
    make_data(tmp_path / 'data')
    cfg = Config.fromfile(str(repo_root / 'configs' / 'mahmr_stage3.py'))
    small = Config.fromfile(str(repo_root / 'configs' / 'mahmr_small_synthetic.py'))
    body = dict(type='SMPLBodyModel', model_path=str(smpl_model_file))
    small.model.body_model = body
    small.model.losses = cfg.model.losses  # the paper weights of the stage-3 config
    cfg.model = small.model
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.data_root = str(tmp_path / 'data')
        ds.body_model = body
        ds.pipeline = [t for t in ds.pipeline if t['type'] != 'RandomRotateHMR']
        for t in ds.pipeline:
            if t['type'] == 'CanvasHMR':
                t['input_size'] = small.model.input_size
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_epochs = 1
    cfg.load_from = None
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.logger.interval = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    assert runner.iter == 3  # 6 images, batch 2
