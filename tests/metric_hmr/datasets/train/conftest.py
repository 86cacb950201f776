"""Fixtures of the training-data tests: the small SMPL-format body model and toy scenes."""
import pytest


@pytest.fixture(scope='session')
def body_model(smpl_model_file):
    import metric_hmr.body_models  # noqa: F401
    from metric_hmr.registry import BODY_MODELS
    return BODY_MODELS.build(dict(type='SMPLBodyModel', model_path=str(smpl_model_file)))


@pytest.fixture
def scene(body_model):
    from metric_hmr.datasets.train import make_toy_scene
    return lambda seed=0, **kw: make_toy_scene(body_model, seed, **kw)
