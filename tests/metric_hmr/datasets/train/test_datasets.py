import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.transform import Rotation

from metric_hmr.datasets.train import (AGORADataset, BEDLAMDataset, CameraHMRDataset, DTOHumansDataset,
                                       Hi4DTrainDataset, ThreeDPWTrainDataset, CanvasHMR, LoadHMRImage, PackHMRInputs, mahmr_collate)

H, W = 60, 80


def write_image(root, name):
    p = root / 'images' / name
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(p)


def save_annots(path, annots):
    np.savez(path, annots=np.array(annots, dtype=object))


def smpl_cfg(smpl_model_file):
    return dict(type='SMPLBodyModel', model_path=str(smpl_model_file))


def person(rng, z):
    pose = np.zeros(72)
    pose[0] = math.pi
    pose[3:] = rng.normal(scale=0.1, size=69)
    trans = np.array([rng.uniform(-0.5, 0.5), 0.3, z])
    return dict(smpl_param=dict(shape=rng.normal(size=10), pose=pose, trans=trans),
                cam_param=dict(focal=np.array([70.0, 70.0]), princpt=np.array([40.0, 30.0])))


def test_dto_humans_full_supervision_and_2d_only_camerahmr(tmp_path, smpl_model_file, body_model):
    rng = np.random.default_rng(0)
    write_image(tmp_path, 'a.jpg')
    write_image(tmp_path, 'b.jpg')
    save_annots(tmp_path / 'dto_CHMR_SMPL_OPT.npz', {'a.jpg': [person(rng, 4.0), person(rng, 6.0)],
                                                      'b.jpg': [person(rng, 5.0)]})
    ds = DTOHumansDataset(ann_file='dto_CHMR_SMPL_OPT.npz', data_root=str(tmp_path), img_prefix='images',
                          body_model=smpl_cfg(smpl_model_file))
    assert len(ds) == 2
    s = ds.get_data_info(0)
    gt = s['gt']
    assert s['ori_shape'] == (H, W) and s['img_path'].endswith('a.jpg')
    assert s['fov_v'] == pytest.approx(2 * math.atan(H / 140))
    assert gt['has_smpl'].all() and gt['has_3d'].all() and gt['betas'].shape == (2, 11)
    np.testing.assert_allclose(gt['transl'][:, 2], [4.0, 6.0])
    proj = gt['joints3d'][..., :2] / gt['joints3d'][..., 2:] * 70 + [40, 30]
    np.testing.assert_allclose(proj, gt['kpts2d'][..., :2], atol=1e-6)
    assert np.isfinite(gt['height']).all() and (gt['height'] > 1.0).all()
    # the same file read as CameraHMR pGT: 2D keypoints and boxes only
    c = CameraHMRDataset(ann_file='dto_CHMR_SMPL_OPT.npz', data_root=str(tmp_path), img_prefix='images',
                         body_model=smpl_cfg(smpl_model_file)).get_data_info(0)
    assert not c['gt']['has_smpl'].any() and not c['gt']['has_3d'].any()
    # stage 2: CameraHMR's intrinsics supervise the FoV; switchable off
    assert np.isnan(c['gt']['transl']).all() and c['fov_v'] == pytest.approx(2 * math.atan(H / 140))
    c2 = CameraHMRDataset(ann_file='dto_CHMR_SMPL_OPT.npz', data_root=str(tmp_path), img_prefix='images',
                          body_model=smpl_cfg(smpl_model_file), supervise_fov=False).get_data_info(0)
    assert math.isnan(c2['fov_v'])
    np.testing.assert_allclose(c['gt']['kpts2d'], gt['kpts2d'])
    # through the pipeline and the collate
    ds.pipeline.transforms[:] = [LoadHMRImage(), CanvasHMR(56), PackHMRInputs()]
    batch = mahmr_collate([ds[0], ds[1]])
    assert batch['inputs'].shape == (2, 3, 56, 56)


def test_missing_files_name_the_path(tmp_path, smpl_model_file):
    with pytest.raises(FileNotFoundError, match='annotation file not found: .*nope.npz'):
        DTOHumansDataset(ann_file='nope.npz', data_root=str(tmp_path), body_model=smpl_cfg(smpl_model_file))
    save_annots(tmp_path / 'x.npz', {'a.jpg': []})
    with pytest.raises(FileNotFoundError, match='image folder not found: .*imgs'):
        DTOHumansDataset(ann_file='x.npz', data_root=str(tmp_path), img_prefix='imgs',
                         body_model=smpl_cfg(smpl_model_file))
    (tmp_path / 'imgs').mkdir()
    ds = DTOHumansDataset(ann_file='x.npz', data_root=str(tmp_path), img_prefix='imgs',
                          body_model=smpl_cfg(smpl_model_file))
    with pytest.raises(FileNotFoundError, match='a.jpg'):
        ds.get_data_info(0)


def _world_case(rng, body_model, n=2):
    """Camera-space persons plus a camera pose; returns world-frame parameters too."""
    R = Rotation.from_rotvec([0.1, -0.4, 0.05]).as_matrix()
    t = np.array([0.2, -0.1, 1.5])
    betas = rng.normal(size=(n, 10))
    go_w = rng.normal(scale=0.5, size=(n, 3))
    bp = rng.normal(scale=0.1, size=(n, 69))
    tr_w = rng.normal(size=(n, 3)) + [0, 0, 3]
    f = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    J_w = body_model(betas=f(betas), global_orient=f(go_w), body_pose=f(bp), transl=f(tr_w)).joints[:, :24].numpy()
    return R, t, betas, go_w, bp, tr_w, J_w @ R.T + t


def test_bedlam_world_to_camera(tmp_path, smpl_model_file, body_model):
    rng = np.random.default_rng(1)
    R, t, betas, go, bp, tr, J_cam = _world_case(rng, body_model)
    write_image(tmp_path, 'f.png')
    K = np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]])
    save_annots(tmp_path / 'bedlam.npz', {'f.png': dict(cam_int=K, cam_rot=R, cam_trans=t, shape=betas,
                                                         pose_world=np.concatenate([go, bp], 1), trans_world=tr)})
    s = BEDLAMDataset(ann_file='bedlam.npz', data_root=str(tmp_path), img_prefix='images',
                      body_model=smpl_cfg(smpl_model_file)).get_data_info(0)
    np.testing.assert_allclose(s['gt']['joints3d'], J_cam, atol=1e-4)
    np.testing.assert_allclose(s['focal'], [70, 70])


def test_agora_world_to_camera_and_invalid_persons(tmp_path, smpl_model_file, body_model):
    rng = np.random.default_rng(2)
    R, t, betas, go, bp, tr, J_cam = _world_case(rng, body_model, n=3)
    write_image(tmp_path, 'ag.png')
    K = np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]])
    smpl_gt = [dict(betas=np.append(betas[i], 0.0), global_orient=go[i], body_pose=bp[i], transl=tr[i])
               for i in range(3)]
    save_annots(tmp_path / 'agora.npz', {'ag.png': dict(isValid=np.array([True, False, True]), cam_intrinsics=K,
                                                         cam_rot=R, cam_trans=t, kid=np.zeros(3, bool),
                                                         smpl_gt=smpl_gt)})
    ds = AGORADataset(ann_file='agora.npz', data_root=str(tmp_path), img_prefix='images',
                      body_model=smpl_cfg(smpl_model_file))
    s = ds.get_data_info(0)
    assert ds.num_invalid == 1
    np.testing.assert_allclose(s['gt']['joints3d'], J_cam[[0, 2]], atol=1e-4)
    with pytest.raises(ValueError, match="params_frame"):
        AGORADataset(ann_file='agora.npz', data_root=str(tmp_path), img_prefix='images',
                     body_model=smpl_cfg(smpl_model_file), params_frame='cam')


def test_bad_entries_name_file_and_image(tmp_path, smpl_model_file):
    write_image(tmp_path, 'a.jpg')
    save_annots(tmp_path / 'bad.npz', {'a.jpg': [dict(smpl_param=dict(shape=np.zeros(10)))]})
    ds = DTOHumansDataset(ann_file='bad.npz', data_root=str(tmp_path), img_prefix='images',
                          body_model=smpl_cfg(smpl_model_file))
    with pytest.raises(ValueError, match=r"bad.npz.*'a.jpg'"):
        ds.get_data_info(0)
    # wrong-size fields (numpy reshape ValueError) and empty images also name file and image
    rng = np.random.default_rng(0)
    short = person(rng, 3.0)
    short['smpl_param']['pose'] = np.zeros(69)
    save_annots(tmp_path / 'bad2.npz', {'a.jpg': [short], 'b.jpg': []})
    write_image(tmp_path, 'b.jpg')
    ds = DTOHumansDataset(ann_file='bad2.npz', data_root=str(tmp_path), img_prefix='images',
                          body_model=smpl_cfg(smpl_model_file))
    with pytest.raises(ValueError, match=r"bad2.npz.*'a.jpg'"):
        ds.get_data_info(0)
    with pytest.raises(ValueError, match=r"bad2.npz.*'b.jpg'.*no persons"):
        ds.get_data_info(1)


def test_3dpw_and_hi4d_finetune_sets_world_to_camera(tmp_path, smpl_model_file, body_model):
    rng = np.random.default_rng(3)
    R, t, betas, go, bp, tr, J_cam = _world_case(rng, body_model)
    write_image(tmp_path, 'p.png')
    K = np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]])
    save_annots(tmp_path / '3dpw.npz', {'p.png': dict(cam_intrinsics=K, cam_rot=R, cam_trans=t, betas=betas,
                                                       global_orient=go, body_pose=bp, transl=tr,
                                                       genders=np.array(['m', 'f']))})
    s = ThreeDPWTrainDataset(ann_file='3dpw.npz', data_root=str(tmp_path), img_prefix='images',
                             body_model=smpl_cfg(smpl_model_file)).get_data_info(0)
    np.testing.assert_allclose(s['gt']['joints3d'], J_cam, atol=1e-4)
    persons = [dict(focal=70.0, princpt=np.array([40.0, 30.0]), cam_rot=R, cam_trans=t, global_orient=go[i],
                    body_pose=bp[i], transl=tr[i], betas=betas[i], genders='n') for i in range(2)]
    save_annots(tmp_path / 'hi4d.npz', {'p.png': persons})
    s = Hi4DTrainDataset(ann_file='hi4d.npz', data_root=str(tmp_path), img_prefix='images',
                         body_model=smpl_cfg(smpl_model_file)).get_data_info(0)
    np.testing.assert_allclose(s['gt']['joints3d'], J_cam, atol=1e-4)
    np.testing.assert_allclose(s['focal'], [70, 70])


def _per_person_world_case(rng, body_model, n):
    """Each person with its own camera pose (SAT-HMR stores cam_rot / cam_trans per person)."""
    Rs = Rotation.from_rotvec(rng.normal(scale=0.4, size=(n, 3))).as_matrix()
    ts = rng.normal(scale=0.3, size=(n, 3)) + [0, 0, 1.5]
    betas = rng.normal(size=(n, 10))
    go_w = rng.normal(scale=0.5, size=(n, 3))
    bp = rng.normal(scale=0.1, size=(n, 69))
    tr_w = rng.normal(size=(n, 3)) + [0, 0, 3]
    f = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    J_w = body_model(betas=f(betas), global_orient=f(go_w), body_pose=f(bp), transl=f(tr_w)).joints[:, :24].numpy()
    J_cam = np.einsum('nij,nkj->nki', Rs, J_w) + ts[:, None]
    return Rs, ts, betas, go_w, bp, tr_w, J_cam


def test_sat_hmr_layout_agora_per_person_camera(tmp_path, smpl_model_file, body_model):
    """SAT-HMR datasets/agora.py layout: lists per person (invalid ones included) of cam_rot (3,3),
    cam_trans (3,), smpl_gt dicts with (1, k) arrays; cam_rot[valid] selects the persons' cameras."""
    rng = np.random.default_rng(5)
    Rs, ts, betas, go, bp, tr, J_cam = _per_person_world_case(rng, body_model, 3)
    write_image(tmp_path, 'ag.png')
    K = np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]])
    smpl_gt = [dict(betas=np.append(betas[i], 0.0)[None], global_orient=go[i][None], body_pose=bp[i][None],
                    transl=tr[i][None]) for i in range(3)]
    entry = dict(isValid=[True, False, True], cam_intrinsics=K, cam_rot=[r for r in Rs], cam_trans=[t for t in ts],
                 kid=[False, False, False], smpl_gt=smpl_gt)
    save_annots(tmp_path / 'annots_smpl_train_fit.npz', {'ag.png': entry})
    s = AGORADataset(ann_file='annots_smpl_train_fit.npz', data_root=str(tmp_path), img_prefix='images',
                     body_model=smpl_cfg(smpl_model_file)).get_data_info(0)
    np.testing.assert_allclose(s['gt']['joints3d'], J_cam[[0, 2]], atol=1e-4)


def test_sat_hmr_layout_bedlam_per_person_camera(tmp_path, smpl_model_file, body_model):
    """SAT-HMR datasets/bedlam.py layout: cam_int (3,3), lists of per-person cam_rot, cam_trans,
    shape, pose_world (72,), trans_world (3,).  Two persons used to crash with
    'cannot reshape array of size 18 into shape (3,3)'."""
    rng = np.random.default_rng(6)
    Rs, ts, betas, go, bp, tr, J_cam = _per_person_world_case(rng, body_model, 2)
    write_image(tmp_path, 'b.png')
    K = np.array([[70.0, 0, 40], [0, 70.0, 30], [0, 0, 1]])
    entry = dict(cam_int=K, cam_rot=[r for r in Rs], cam_trans=[t for t in ts], shape=[b for b in betas],
                 pose_world=[np.concatenate([go[i], bp[i]]) for i in range(2)], trans_world=[x for x in tr])
    save_annots(tmp_path / 'bedlam_smpl_train_6fps.npz', {'b.png': entry})
    s = BEDLAMDataset(ann_file='bedlam_smpl_train_6fps.npz', data_root=str(tmp_path), img_prefix='images',
                      body_model=smpl_cfg(smpl_model_file)).get_data_info(0)
    np.testing.assert_allclose(s['gt']['joints3d'], J_cam, atol=1e-4)
    # a camera list of the wrong length names the file and image
    entry['cam_rot'] = entry['cam_rot'][:1] * 3
    save_annots(tmp_path / 'bad.npz', {'b.png': entry})
    with pytest.raises(ValueError, match=r"bad.npz.*'b.png'.*cam_rot"):
        BEDLAMDataset(ann_file='bad.npz', data_root=str(tmp_path), img_prefix='images',
                      body_model=smpl_cfg(smpl_model_file)).get_data_info(0)


def test_dto_humans_kids_keep_their_age_blend(tmp_path, smpl_model_file):
    """An 11-beta DTO-Humans kid trains as a kid with an SMPL-A body model (kid template), and a
    10-beta body model refuses the shape naming file, image and person (issue: the age blend was
    silently cut to 10 betas, making every kid an adult-template body)."""
    from metric_hmr.testing import make_smpl_model_file
    from metric_hmr.testing.smpl_fixture import kid_template_path
    smpla_dir = tmp_path / 'smpla'
    model = make_smpl_model_file(smpla_dir, seed=0, with_kid_template=True)
    rng = np.random.default_rng(1)
    adult, kid = person(rng, 4.0), person(rng, 5.0)
    kid['smpl_param']['shape'] = np.concatenate([kid['smpl_param']['shape'], [0.8]])  # SMPL-A age blend
    write_image(tmp_path, 'k.jpg')
    save_annots(tmp_path / 'kids_OPT.npz', {'k.jpg': [adult, kid]})
    smpla = dict(type='SMPLBodyModel', model_path=model, num_betas=11, kid_template_path=kid_template_path(smpla_dir))
    gt = DTOHumansDataset(ann_file='kids_OPT.npz', data_root=str(tmp_path), img_prefix='images',
                          body_model=smpla).get_data_info(0)['gt']
    assert gt['betas'].shape == (2, 11) and gt['betas'][0, 10] == 0 and gt['betas'][1, 10] == 0.8
    # the same kid with its blend dropped is taller (the adult template): the blend reached the mesh
    kid10 = dict(kid, smpl_param=dict(kid['smpl_param'], shape=kid['smpl_param']['shape'][:10]))
    save_annots(tmp_path / 'kid10_OPT.npz', {'k.jpg': [adult, kid10]})
    gt10 = DTOHumansDataset(ann_file='kid10_OPT.npz', data_root=str(tmp_path), img_prefix='images',
                            body_model=smpla).get_data_info(0)['gt']
    assert gt10['height'][0] == pytest.approx(gt['height'][0])
    assert gt['height'][1] < gt10['height'][1] - 0.05
    assert not np.allclose(gt['joints3d'][1], gt10['joints3d'][1])
    ds10 = DTOHumansDataset(ann_file='kids_OPT.npz', data_root=str(tmp_path), img_prefix='images',
                            body_model=smpl_cfg(smpl_model_file))
    with pytest.raises(ValueError, match=r"kids_OPT\.npz.*'k\.jpg'.*person 1.*age blend"):
        ds10.get_data_info(0)


def test_training_configs_use_smpla_with_the_kid_template(repo_root):
    """Training stages (DTO-Humans / AGORA kids) use 11 betas and the kid template path option."""
    from mmengine.config import Config
    for stage in (1, 2, 3):
        cfg = Config.fromfile(str(repo_root / 'configs' / f'mahmr_stage{stage}.py'))
        paths = Config.fromfile(str(repo_root / 'configs' / '_base_' / 'mahmr_paths.py'))
        assert cfg.model.heads.num_betas == 11 and cfg.model.body_model.num_betas == 11, stage
        assert cfg.model.body_model.kid_template_path == paths.kid_template_path
        for d in cfg.train_dataloader.dataset.datasets:
            assert d.body_model == cfg.model.body_model, (stage, d.type)
        if stage == 1:
            assert cfg.model.decoder.dn_param_dim == 72 + 11


def test_smpl_to_gt_projection_of_a_person_partly_behind_the_camera(body_model):
    """Keypoints and boxes use geometry.project_points: joints behind the camera have no image
    position (0, 0, vis 0; they were projected with z clipped to 1e-3 before), and the box
    covers only the vertices in front of the camera."""
    from metric_hmr.datasets.train import smpl_to_gt
    from metric_hmr.geometry import project_points
    pose = np.zeros((1, 72))
    pose[0, 0] = math.pi
    focal, princpt = np.array([70.0, 70.0]), np.array([40.0, 30.0])
    transl = np.array([[0.0, 0.3, 0.05]])       # the body straddles the camera plane z = 0
    gt = smpl_to_gt(body_model, np.zeros((1, 10)), pose, transl, focal, princpt, (H, W))
    j = gt['joints3d'][0]
    behind, front = j[:, 2] <= 0, j[:, 2] > 0
    assert behind.any() and front.any()
    assert (gt['kpts2d'][0][behind] == 0).all()
    np.testing.assert_allclose(gt['kpts2d'][0][front, :2], project_points(j[front], focal, princpt))
    f = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    v = body_model(betas=f(np.zeros((1, 10))), global_orient=f(pose[:, :3]), body_pose=f(pose[:, 3:]),
                   transl=f(transl)).vertices[0].double().numpy()
    pv = project_points(v[v[:, 2] > 0], focal, princpt)
    np.testing.assert_allclose(gt['boxes'][0], np.clip(np.r_[pv.min(0), pv.max(0)], 0, [W, H, W, H]), atol=1e-4)
