"""Shared fixtures of the DTO tests: simple closed meshes and synthetic scenes
(the makers live in :mod:`metric_hmr.testing.dto_scenes`)."""
import pytest

from metric_hmr.testing.dto_scenes import ellipsoid_mesh, person_mesh, smpl_scene, synthetic_scene


@pytest.fixture
def make_person():
    return person_mesh


@pytest.fixture
def make_ellipsoid():
    return ellipsoid_mesh


@pytest.fixture
def make_scene():
    return synthetic_scene


@pytest.fixture(scope='session')
def smpl_body_model(tmp_path_factory):
    """A small SMPL-format body model written by metric_hmr.testing (no licensed files)."""
    from metric_hmr.registry import BODY_MODELS
    import metric_hmr.body_models  # noqa: F401  (registers SMPLBodyModel)
    from metric_hmr.testing import make_smpl_model_file
    path = make_smpl_model_file(str(tmp_path_factory.mktemp('smpl')), seed=0)
    return BODY_MODELS.build(dict(type='SMPLBodyModel', model_path=path)), path


@pytest.fixture
def make_smpl_scene():
    return smpl_scene
