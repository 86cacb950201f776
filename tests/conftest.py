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
