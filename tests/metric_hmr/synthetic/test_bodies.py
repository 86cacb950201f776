"""The generator's Anny adapter is a thin layer over AnnyBodyModel (one Anny code path)."""
import numpy as np
import pytest
import torch

pytest.importorskip('anny')


def test_adapter_uses_the_wrapper(anny_gen):
    from metric_hmr.body_models import AnnyBodyModel
    from metric_hmr.synthetic import config_hash
    bodies = anny_gen.bodies
    assert isinstance(bodies.bm, AnnyBodyModel)
    age = np.array([2.0, 9.0, 30.0, 30.0, 70.0, 45.0])
    male = np.array([True, False, True, False, True, False])
    shape = bodies.sample_shape(age, male, np.random.default_rng(3))
    np.testing.assert_array_equal(
        shape, bodies.bm.sample_shape(age, male, np.random.default_rng(3)).astype(np.float64))
    # the wrapper's gender convention: males in [0, 0.5], females in [0.5, 1]
    assert np.all(shape[male, 0] <= 0.5) and np.all(shape[~male, 0] >= 0.5)
    np.testing.assert_allclose(bodies.tpose_height(shape), bodies.bm.tpose_height(shape),
                               atol=1e-6)
    # the salt makes cached sets of the former direct adapter unusable
    assert anny_gen.config_hash != config_hash(anny_gen.cfg)


def test_pose_is_wrapper_forward_centred(anny_gen):
    from metric_hmr.synthetic.poses import POSE_KINDS, sample_pose
    bodies, bm = anny_gen.bodies, anny_gen.bodies.bm
    rng = np.random.default_rng(5)
    shape = bodies.sample_shape(np.array([6.0, 35.0, 60.0]), np.array([True, False, True]), rng)
    pose24 = np.stack([sample_pose(rng, k) for k in POSE_KINDS[:3]])
    posed = bodies.pose(shape, pose24)
    with torch.no_grad():
        out = bm(shape, *bm.pose_from_smpl24(pose24))
    joints = out.joints.numpy()[:, bm.smpl24_joint_index.numpy()]
    np.testing.assert_allclose(posed.joints, joints - joints[:, :1], atol=1e-9)
    np.testing.assert_allclose(posed.vertices, out.vertices.numpy() - joints[:, :1], atol=1e-9)
    np.testing.assert_allclose(posed.origin, joints[:, 0], atol=1e-12)
    np.testing.assert_allclose(posed.height, bodies.tpose_height(shape), atol=0)
    assert np.all(posed.joints[:, 0] == 0)
    with pytest.raises(ValueError, match='poses'):
        bodies.pose(shape, pose24[:2])
