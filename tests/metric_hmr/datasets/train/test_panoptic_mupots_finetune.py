"""CMU Panoptic / MuPoTS fine-tunes: MA-HMR's recipe (configs/run/panoptic_ft.yaml of
gouba2333/MA-HMR) trains on 3DPW + BEDLAM 1 fps (every 4th image) + AGORA; the fixtures are
written in those sets' upstream layouts and each config trains one iteration on them."""
import math

import numpy as np
import pytest
import torch
from PIL import Image

from metric_hmr.datasets.train import AGORADataset, BEDLAMDataset, ThreeDPWTrainDataset

H, W = 60, 80
K = np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]])


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((H, W, 3), 60, np.uint8)).save(path)


def _save(path, annots):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, annots=np.array(annots, dtype=object))


def _persons(rng, n):
    """n upright persons 3 m in front of an identity camera, side by side (in view)."""
    go = np.tile([math.pi, 0.0, 0.0], (n, 1))
    bp = rng.normal(scale=0.05, size=(n, 69))
    tr = np.stack([np.linspace(-0.6, 0.6, n), np.full(n, 0.2), np.full(n, 3.0)], 1)
    return rng.normal(scale=0.5, size=(n, 10)), go, bp, tr


def write_finetune_data(root, bedlam_keys=('e.png', 'a.png', 'd.png', 'b.png', 'c.png')):
    """3DPW train, BEDLAM train 1 fps and AGORA train in MA-HMR's / SAT-HMR's layouts
    (relative to ``root``, the config's data_root)."""
    rng = np.random.default_rng(14)
    I3, z3 = np.eye(3), np.zeros(3)
    # 3DPW (MA-HMR datasets/pw3d.py): keys relative to 3dpw/, one camera per image, per-person
    # SMPL arrays stored as torch tensors (pw3d.py torch.cat's global_orient and body_pose)
    key = 'imageFiles/courtyard_basketball_00/image_00000.jpg'
    _image(root / '3dpw' / key)
    b, go, bp, tr = (torch.as_tensor(x, dtype=torch.float32) for x in _persons(rng, 2))
    _save(root / '3dpw' / 'annots_smpl_train_genders.npz',
          {key: dict(cam_intrinsics=K, cam_rot=I3, cam_trans=z3, betas=b, global_orient=go, body_pose=bp,
                     transl=tr, genders=['m', 'f'])})
    # BEDLAM (datasets/bedlam.py): images in bedlam/train/, per-person camera lists
    bedlam = {}
    for name in bedlam_keys:
        _image(root / 'bedlam' / 'train' / name)
        b, go, bp, tr = _persons(rng, 2)
        bedlam[name] = dict(cam_int=K, cam_rot=[I3, I3], cam_trans=[z3, z3], shape=list(b),
                            pose_world=[np.concatenate([go[i], bp[i]]) for i in range(2)], trans_world=list(tr))
    _save(root / 'bedlam' / 'bedlam_smpl_train_1fps.npz', bedlam)
    # AGORA (datasets/agora.py): images in agora/train/, isValid and cameras for every person
    _image(root / 'agora' / 'train' / 'ag_00000.png')
    b, go, bp, tr = _persons(rng, 3)
    smpl_gt = [dict(betas=np.append(b[i], 0.0)[None], global_orient=go[i][None], body_pose=bp[i][None],
                    transl=tr[i][None]) for i in range(3)]
    _save(root / 'agora' / 'smpl_neutral_annots' / 'annots_smpl_train_fit.npz',
          {'ag_00000.png': dict(isValid=[True, True, False], cam_intrinsics=K, cam_rot=[I3] * 3,
                                cam_trans=[z3] * 3, kid=[False] * 3, smpl_gt=smpl_gt)})
    return bedlam


def _smpl(smpl_model_file):
    return dict(type='SMPLBodyModel', model_path=str(smpl_model_file))


def test_downsample_keeps_every_kth_image_in_file_order(tmp_path, smpl_model_file):
    """Mirrors MA-HMR datasets/bedlam.py (BEDLAM.__init__, lines 19-23): with ``downsample``
    != 1 the images kept are those whose position in the annotation dict's own order is a
    multiple of the rate.  The keys are stored unsorted, so selecting after sorting (a, e)
    would differ from the upstream selection (e, c)."""
    write_finetune_data(tmp_path)
    ds = BEDLAMDataset(ann_file='bedlam/bedlam_smpl_train_1fps.npz', data_root=str(tmp_path),
                       img_prefix='bedlam/train', body_model=_smpl(smpl_model_file), downsample=4)
    assert [ds.get_data_info(i)['img_path'].rsplit('/', 1)[1] for i in range(len(ds))] == ['c.png', 'e.png']
    full = BEDLAMDataset(ann_file='bedlam/bedlam_smpl_train_1fps.npz', data_root=str(tmp_path),
                         img_prefix='bedlam/train', body_model=_smpl(smpl_model_file))
    assert len(full) == 5
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match='downsample must be an integer'):
            BEDLAMDataset(ann_file='bedlam/bedlam_smpl_train_1fps.npz', data_root=str(tmp_path),
                          img_prefix='bedlam/train', body_model=_smpl(smpl_model_file), downsample=bad)


def test_upstream_layouts_give_full_supervision(tmp_path, smpl_model_file):
    """The three fine-tune sets read with the config's folders: 3DPW keys include
    'imageFiles/' (MA-HMR pw3d.py joins them to 3dpw/), AGORA drops its invalid person."""
    write_finetune_data(tmp_path)
    bm = _smpl(smpl_model_file)
    pw = ThreeDPWTrainDataset(ann_file='3dpw/annots_smpl_train_genders.npz', data_root=str(tmp_path),
                              img_prefix='3dpw', body_model=bm).get_data_info(0)
    ag = AGORADataset(ann_file='agora/smpl_neutral_annots/annots_smpl_train_fit.npz', data_root=str(tmp_path),
                      img_prefix='agora/train', body_model=bm).get_data_info(0)
    for s, n in ((pw, 2), (ag, 2)):
        assert s['gt']['has_smpl'].tolist() == [True] * n and s['gt']['has_3d'].all()
        np.testing.assert_allclose(s['gt']['transl'][:, 2], 3.0)
        assert (s['gt']['kpts2d'][..., 2] == 1).mean() > 0.9   # persons in view
        assert abs(s['fov_v'] - 2 * math.atan(H / 140.0)) < 1e-9


def test_bad_person_fields_name_file_image_person_and_field(tmp_path, smpl_model_file):
    write_finetune_data(tmp_path)
    path = tmp_path / 'agora' / 'smpl_neutral_annots' / 'annots_smpl_train_fit.npz'
    annots = np.load(path, allow_pickle=True)['annots'][()]
    del annots['ag_00000.png']['smpl_gt'][1]['body_pose']
    _save(tmp_path / 'bad_agora.npz', annots)
    ds = AGORADataset(ann_file='bad_agora.npz', data_root=str(tmp_path), img_prefix='agora/train',
                      body_model=_smpl(smpl_model_file))
    with pytest.raises(ValueError, match=r"bad_agora.npz.*'ag_00000.png'.*person 1.*'body_pose' missing"):
        ds.get_data_info(0)
    path = tmp_path / '3dpw' / 'annots_smpl_train_genders.npz'
    annots = np.load(path, allow_pickle=True)['annots'][()]
    entry = next(iter(annots.values()))
    entry['transl'] = torch.zeros((2, 2))
    _save(tmp_path / 'bad_3dpw.npz', annots)
    ds = ThreeDPWTrainDataset(ann_file='bad_3dpw.npz', data_root=str(tmp_path), img_prefix='3dpw',
                              body_model=_smpl(smpl_model_file))
    with pytest.raises(ValueError, match=r"bad_3dpw.npz.*person 0.*'transl' has 2 values, expected 3"):
        ds.get_data_info(0)


def test_panoptic_config_is_ma_hmr_panoptic_ft_recipe(repo_root):
    """Values of MA-HMR configs/run/panoptic_ft.yaml: num_epochs 6, lr 1e-5, cosine,
    train_datasets_used [3dpw, bedlam, agora] with splits [train, train_1fps, train] and
    ds_rate [1, 4, 1], scale_range [0.8, 2.], weight_dict (depths_mt = relative metric 0.5, no
    absolute depth loss)."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(repo_root / 'configs' / 'mahmr_finetune_panoptic.py'))
    sets = cfg.train_dataloader.dataset.datasets
    assert [d.type for d in sets] == ['ThreeDPWTrainDataset', 'BEDLAMDataset', 'AGORADataset']
    assert sets[1].ann_file.endswith('bedlam_smpl_train_1fps.npz') and sets[1].downsample == 4
    assert [d.get('downsample', 1) for d in sets] == [1, 4, 1]
    assert cfg.train_cfg.max_epochs == 6 and cfg.param_scheduler[0].T_max == 6
    assert cfg.optim_wrapper.optimizer.lr == 1e-5 and cfg.optim_wrapper.optimizer.weight_decay == 1e-4
    scale = [t for t in sets[0].pipeline if t['type'] == 'RandomScaleHMR'][0]
    assert tuple(scale['scale_range']) == (0.8, 2.0)
    w = {k: v.loss_weight for k, v in cfg.model.losses.items()}
    assert w == dict(map=2.0, depth=0.0, pose=2.0, shape=2.0, j3d=10.0, j2d=40.0, box=2.0, det=2.0, fov=0.5, rm=0.5)
    mupots = Config.fromfile(str(repo_root / 'configs' / 'mahmr_finetune_mupots.py'))
    assert mupots.train_dataloader.dataset == cfg.train_dataloader.dataset
    assert mupots.load_from == cfg.load_from == 'work_dirs/mahmr_stage3/epoch_5.pth'


@pytest.mark.parametrize('name', ['panoptic', 'mupots'])
def test_finetune_config_trains_one_iteration(name, tmp_path, repo_root, smpl_model_file):
    """The config, with the small model and the fixture as data_root, trains one iteration."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from metric_hmr import register_all_modules
    register_all_modules(init_default_scope=False)
    write_finetune_data(tmp_path, bedlam_keys=('a.png',))
    cfg = Config.fromfile(str(repo_root / 'configs' / f'mahmr_finetune_{name}.py'))
    small = Config.fromfile(str(repo_root / 'configs' / 'mahmr_small_synthetic.py'))
    small.model.body_model = _smpl(smpl_model_file)
    small.model.losses = cfg.model.losses
    cfg.model = small.model
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.data_root = str(tmp_path)
        ds.body_model = _smpl(smpl_model_file)
        ds.pipeline = [t for t in ds.pipeline if t['type'] != 'RandomRotateHMR']
        for t in ds.pipeline:
            if t['type'] == 'CanvasHMR':
                t['input_size'] = small.model.input_size
    cfg.train_dataloader.update(batch_size=3, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler[0].T_max = 1
    cfg.load_from = None
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    before = {k: v.detach().clone() for k, v in runner.model.named_parameters()}
    runner.train()
    assert runner.iter == 1   # 3 images (3DPW, BEDLAM, AGORA) in one batch of 3
    changed = sum(not torch.equal(before[k], v) for k, v in runner.model.named_parameters())
    assert changed > 0
    data = next(iter(runner.train_dataloader))
    model = runner.model
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert all(torch.isfinite(v).all() for k, v in losses.items() if k.startswith('loss'))
    assert float(losses['loss_pose'].detach()) > 0 and float(losses['loss_j3d'].detach()) > 0
