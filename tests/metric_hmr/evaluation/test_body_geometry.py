"""The evaluator's body model with the kid template scores 11-beta (SMPL-A) predictions."""
import numpy as np
import pytest


def test_eval_geometry_with_kid_template_takes_11_betas(tmp_path):
    from metric_hmr.evaluation import SMPLGeometry
    from metric_hmr.testing.smpl_fixture import kid_template_path, make_smpl_model_file
    path = make_smpl_model_file(str(tmp_path), with_kid_template=True)
    rng = np.random.default_rng(0)
    params = dict(global_orient=rng.normal(scale=0.2, size=(2, 3)), body_pose=rng.normal(scale=0.1, size=(2, 69)),
                  betas=np.concatenate([rng.normal(size=(2, 10)), [[0.0], [0.8]]], 1), transl=np.zeros((2, 3)))
    plain = SMPLGeometry(dict(type='SMPLBodyModel', model_path=path))
    with pytest.raises(ValueError, match='person 1.*age blend'):
        plain.meshes(params)  # a 10-beta evaluator cannot score the age blend (conventions.adapt_betas)
    noisy = dict(params, betas=np.concatenate([params['betas'][:, :10], [[1e-9], [-1e-9]]], 1))
    assert plain.meshes(noisy).vertices.shape[0] == 2   # numerical noise of a zero blend is dropped
    kid = SMPLGeometry(dict(type='SMPLBodyModel', model_path=path, kid_template_path=kid_template_path(str(tmp_path))))
    m11 = kid.meshes(params)
    ten = dict(params, betas=params['betas'][:, :10])
    m10 = kid.meshes(ten)
    np.testing.assert_allclose(m11.vertices[0], m10.vertices[0], atol=1e-6)   # blend 0 = padded 10 betas
    assert np.abs(m11.vertices[1] - m10.vertices[1]).max() > 1e-3           # the blend changes the body
    h = kid.tpose_heights(params['betas'])
    assert h.shape == (2,) and np.isfinite(h).all()
