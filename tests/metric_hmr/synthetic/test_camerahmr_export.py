"""SMPL-format body model in the generator, and the CameraHMR release export."""
import numpy as np
import pytest
import torch


@pytest.fixture(scope='module')
def smpl_gen(smpl_model_file):
    from metric_hmr.synthetic import SyntheticCrowdGenerator
    return SyntheticCrowdGenerator(seed=3, image_size=(96, 128), num_persons=dict(low=2, high=4),
                                   body_model=dict(type='SMPLBodyModel', model_path=str(smpl_model_file)))


def test_smpl_persons_carry_camera_space_parameters(smpl_gen):
    scene = smpl_gen.generate(0)
    K = len(scene['age'])
    assert K >= 1
    bm = smpl_gen.bodies.bm
    with torch.no_grad():
        out = bm(betas=torch.as_tensor(scene['shape'], dtype=torch.float32),
                 global_orient=torch.as_tensor(scene['smpl_global_orient'], dtype=torch.float32),
                 body_pose=torch.as_tensor(scene['smpl_body_pose'], dtype=torch.float32),
                 transl=torch.as_tensor(scene['smpl_transl'], dtype=torch.float32))
    verts = np.stack(smpl_gen.scene_vertices(scene))
    np.testing.assert_allclose(out.vertices.numpy(), verts, atol=2e-4)
    np.testing.assert_allclose(out.joints[:, 0].numpy(), scene['root'], atol=2e-4)
    np.testing.assert_allclose(scene['height'], smpl_gen.bodies.tpose_height(scene['shape']), atol=1e-6)


def test_export_camerahmr_release_roundtrip(smpl_gen, tmp_path):
    from metric_hmr.generation.release import load_camerahmr_release
    from metric_hmr.synthetic import export_camerahmr_release
    scenes = [smpl_gen.generate(i) for i in range(2)]
    path = export_camerahmr_release(scenes, tmp_path, smpl_gen)
    with np.load(path) as z:
        for key, shp in (('pose_cam', 72), ('shape', 10), ('trans_cam', 3)):
            assert z[key].shape[1] == shp
        assert z['gtkps'].shape[1:] == (44, 3) and z['cam_int'].shape[1:] == (3, 3)
        n_rows = len(z['imgname'])
    images = load_camerahmr_release(path)
    truth = np.load(tmp_path / 'truth.npz')
    assert len(truth['height']) == n_rows
    bm = smpl_gen.bodies.bm
    for im in images:
        assert (tmp_path / im.imgname).is_file()
        stem = im.imgname.split('/')[-1][:-4]
        assert np.load(tmp_path / 'masks' / f'{stem}.npy').shape[0] == len(im.transl)
        assert np.load(tmp_path / 'depth' / f'{stem}.npy').shape == (96, 128)
        with torch.no_grad():
            out = bm(betas=torch.as_tensor(im.betas, dtype=torch.float32),
                     global_orient=torch.as_tensor(im.global_orient, dtype=torch.float32),
                     body_pose=torch.as_tensor(im.body_pose, dtype=torch.float32),
                     transl=torch.as_tensor(im.transl, dtype=torch.float32))
        rows = im.rows
        sel = np.nonzero(truth['row_scene'] == int(stem.split('_')[1]))[0]
        # release person = the HMR-like estimate: estimated root and height
        scene = scenes[int(stem.split('_')[1])]
        p = truth['row_person'][sel]
        np.testing.assert_allclose(out.joints[:, 0].numpy(), scene['est_root'][p], atol=2e-4)
        np.testing.assert_allclose(bm.tpose_height(torch.as_tensor(im.betas, dtype=torch.float32)).numpy(),
                                   scene['est_height'][p], atol=2e-3)
        assert len(rows) == len(p)


def test_export_refuses_anny_scenes(anny_gen, tmp_path):
    from metric_hmr.synthetic import export_camerahmr_release
    with pytest.raises(ValueError, match='SMPL-format'):
        export_camerahmr_release([], tmp_path, anny_gen)
