"""metric_hmr.generation.vis: the per-image visualiser of a generation run."""
import numpy as np


def _state(betas):
    from metric_hmr.generation.state import SRC_HMR, ImageState, Persons
    k = len(betas)
    pose = np.zeros((k, 3))
    pose[:, 0] = np.pi
    p = Persons(pose, np.zeros((k, 69)), np.asarray(betas, float), np.tile([0.0, 0.3, 4.0], (k, 1)),
                [SRC_HMR] * k, np.arange(k))
    s = ImageState(img_id='a/b.jpg', img_path=None, ori_shape=(48, 64), persons=p,
                   focal=np.array([60.0, 60.0]), princpt=np.array([32.0, 24.0]))
    s.refined = p
    return s


def test_age_blend_the_body_model_cannot_show_is_reported_not_trimmed(tmp_path, smpl_model_file):
    """A 10-beta body model given an 11-beta shape with a non-zero age blend: no mesh of an
    adult body is drawn (the blend was silently cut before); the record names image and person."""
    import metric_hmr.body_models  # noqa: F401
    from metric_hmr.generation.vis import GenerationVisualizer
    from metric_hmr.registry import BODY_MODELS
    vis = GenerationVisualizer(tmp_path / 'vis', every=1, work_dir=tmp_path)
    vis.body_model = BODY_MODELS.build(dict(type='SMPLBodyModel', model_path=str(smpl_model_file)))
    kid = _state(np.concatenate([np.zeros((2, 10)), [[0.0], [0.7]]], 1))
    vis(kid)
    assert "'a/b.jpg', person 1" in kid.extra['vis']['error'] and 'age blend' in kid.extra['vis']['error']
    assert not (tmp_path / 'vis').exists()
    adult = _state(np.concatenate([np.zeros((2, 10)), [[0.0], [0.0]]], 1))  # zero blend: drawn
    vis(adult)
    assert set(adult.extra['vis']) == {'overlay_path', 'glb_path', 'mesh_path'}
    assert (tmp_path / adult.extra['vis']['mesh_path']).is_file()
