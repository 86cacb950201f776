"""Shared pytest setup: markers, Anny cache, headless plotting, small shared fixtures."""
import os
from pathlib import Path

import pytest

# Set before any test imports anny/matplotlib.
os.environ.setdefault('ANNY_CACHE_DIR', str(Path.home() / '.cache' / 'metric_hmr' / 'anny'))
os.environ.setdefault('MPLBACKEND', 'Agg')

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', help='run tests marked slow')
    parser.addoption('--rungpu', action='store_true', help='run tests marked gpu')


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason='slow: run with --runslow')
    skip_gpu = pytest.mark.skip(reason='needs a GPU: run with --rungpu on a GPU machine')
    for item in items:
        if 'slow' in item.keywords and not config.getoption('--runslow'):
            item.add_marker(skip_slow)
        if 'gpu' in item.keywords and not config.getoption('--rungpu'):
            item.add_marker(skip_gpu)


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def smpl_model_file(tmp_path_factory) -> Path:
    """A small SMPL-format model file (procedural stand-in; real SMPL is licensed)."""
    from metric_hmr.testing import make_smpl_model_file
    return Path(make_smpl_model_file(tmp_path_factory.mktemp('smpl'), seed=0))


# ---- DTO scenes (tests/metric_hmr/dto, tests/dto_hooks); makers in metric_hmr.testing.dto_scenes
from metric_hmr.testing.dto_scenes import (ellipsoid_mesh, person_mesh, smpl_scene,  # noqa: E402
                                           synthetic_scene)


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
