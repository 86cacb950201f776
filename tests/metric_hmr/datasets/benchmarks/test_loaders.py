"""Benchmark annotation loaders: formats of method.md §6 -> ground-truth dicts."""
import numpy as np
import pytest
import torch

from metric_hmr.datasets.benchmarks import (Hi4DDataset, MuPoTSDataset, PanopticDataset,
                                            PW3DDataset, RelativeHumanDataset, load_annots)
from metric_hmr.evaluation.functional.joints import CROWDPOSE14, RH_BK19, RH_OCHUMAN19


def _save(path, annots):
    np.savez(path, annots=np.array(annots, dtype=object))
    return str(path)


def _named_kp(skeleton):
    """19x3 keypoints whose x encodes the CrowdPose index of the joint name (+100)."""
    kp = np.zeros((19, 3))
    for i, name in enumerate(skeleton):
        kp[i] = [100 + (CROWDPOSE14.index(name) if name in CROWDPOSE14 else 50), 7, 2]
    return kp


def test_relative_human_both_orders_map_to_crowdpose(tmp_path):
    bk, och = _named_kp(RH_BK19), _named_kp(RH_OCHUMAN19)
    och[RH_OCHUMAN19.index('l_wrist'), 2] = 0           # unannotated joint
    annots = {
        '1234567.jpg': [dict(bbox=[0, 0, 1, 1], kp2d=bk.reshape(-1).tolist(), depth_id=1, age=2),
                        dict(bbox=[0, 0, 1, 1], kp2d=None, depth_id=-1, age=0)],
        'oc_0000012345.jpg': [dict(bbox=[0, 0, 1, 1], kp2d=och.reshape(-1), depth_id=0, age=3)],
    }
    ds = RelativeHumanDataset(ann_file=_save(tmp_path / 'test_annots.npz', annots),
                              data_root=str(tmp_path), data_prefix=dict(img_path='images'))
    assert len(ds) == 2
    a = ds.get_data_info(0)
    assert a['img_key'] == '1234567.jpg' and a['img_path'].endswith('images/1234567.jpg')
    k = a['gt']['kpts2d']
    np.testing.assert_array_equal(k[0, :, 0], 100 + np.arange(14))   # every joint in place
    assert k[0, :, 2].all() and not k[1].any()                       # kp2d None -> invisible
    assert a['gt']['depth_id'].tolist() == [1, -1] and a['gt']['age_group'].tolist() == [2, 0]
    b = ds.get_data_info(1)['gt']['kpts2d'][0]
    lw = CROWDPOSE14.index('l_wrist')
    np.testing.assert_array_equal(np.delete(b[:, 0], lw), np.delete(100 + np.arange(14), lw))
    assert b[lw].tolist() == [0, 0, 0]                                # invalid: no coordinates


def test_pw3d_reads_torch_tensors_and_extrinsics(tmp_path):
    n = 2
    K = np.array([[1500.0, 0, 540], [0, 1500.0, 960], [0, 0, 1]])
    annots = {'imageFiles/a/image_00000.jpg': dict(
        cam_intrinsics=torch.tensor(K), cam_rot=torch.eye(3), cam_trans=torch.zeros(3),
        betas=torch.zeros(n, 10), global_orient=torch.zeros(n, 3),
        body_pose=torch.zeros(n, 69), transl=torch.ones(n, 3), genders=['m', 'f'])}
    ds = PW3DDataset(ann_file=_save(tmp_path / 'a.npz', annots))
    gt = ds.get_data_info(0)['gt']
    assert gt['focal'].tolist() == [1500, 1500] and gt['princpt'].tolist() == [540, 960]
    assert gt['cam_rot'].shape == (2, 3, 3) and gt['transl'].shape == (2, 3)
    assert gt['gender'] == ['m', 'f']


def test_hi4d_mupots_panoptic_shapes(tmp_path):
    p = dict(focal=[1000.0, 1000.0], princpt=[500.0, 500.0], cam_rot=np.eye(3),
             cam_trans=np.zeros(3), global_orient=np.zeros(3), body_pose=np.zeros(69),
             transl=np.zeros(3), betas=np.zeros(10), genders='female')
    hi = Hi4DDataset(ann_file=_save(tmp_path / 'h.npz', {'s/x.jpg': [p, p]}))
    assert hi.get_data_info(0)['gt']['gender'] == ['female', 'female']
    mp = dict(annot_2d=np.ones((17, 2)), annot_3d=np.full((17, 3), 1000.0), vis=np.ones(17, bool))
    mu = MuPoTSDataset(ann_file=_save(tmp_path / 'm.npz', {'TS3/img_000001.jpg': [mp]}))
    g = mu.get_data_info(0)['gt']
    assert g['seq'] == 'TS3' and np.allclose(g['joints3d'], 1.0) and g['kpts2d'].shape == (1, 17, 3)
    pa = PanopticDataset(ann_file=_save(tmp_path / 'p.npz', {'160422_mafia2/x.jpg': dict(
        kpts3d=np.zeros((3, 24, 4)), kpts2d=np.zeros((3, 24, 3)), width=1920, height=1080)}))
    info = pa.get_data_info(0)
    assert info['ori_shape'] == (1080, 1920) and info['gt']['joints3d'].shape == (3, 24, 4)


def test_bad_files_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        load_annots(str(tmp_path / 'missing.npz'))
    np.savez(tmp_path / 'wrong.npz', foo=np.zeros(3))
    with pytest.raises(ValueError, match='annots'):
        load_annots(str(tmp_path / 'wrong.npz'))
    bad = {'TS1/img_000000.jpg': [dict(annot_2d=np.zeros((17, 2)), vis=np.ones(17))]}
    with pytest.raises(ValueError, match="TS1/img_000000.jpg.*annot_3d"):
        MuPoTSDataset(ann_file=_save(tmp_path / 'bad.npz', bad))
    rh = {'1234567.jpg': [dict(bbox=[0, 0, 1, 1], kp2d=np.zeros(17 * 3).tolist(), depth_id=0)]}
    with pytest.raises(ValueError, match='17 joints'):
        RelativeHumanDataset(ann_file=_save(tmp_path / 'rh.npz', rh))
