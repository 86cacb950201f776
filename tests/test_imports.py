"""Import names: the packages import from anywhere, and nothing shadows common packages."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _py(code, cwd):
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=''))


def test_import_from_any_directory(tmp_path):
    r = _py('import metric_hmr, dto_hooks; print(metric_hmr.__file__); print(dto_hooks.__file__)',
            tmp_path)
    assert r.returncode == 0, r.stderr
    mh, dh = r.stdout.split()
    assert Path(mh).resolve() == (REPO / 'projects/metric_hmr/__init__.py').resolve()
    assert Path(dh).resolve() == (REPO / 'dto_hooks/__init__.py').resolve()


def test_repo_folders_do_not_shadow_packages(tmp_path):
    code = ('import importlib.util as u\n'
            'for name in ("datasets", "tools", "configs", "tests"):\n'
            '    s = u.find_spec(name)\n'
            '    print(name, None if s is None else (s.origin or list(s.submodule_search_locations)))\n')
    for cwd in (tmp_path, REPO / 'tools'):
        r = _py(code, cwd)
        assert r.returncode == 0, r.stderr
        assert str(REPO) not in r.stdout, r.stdout
    assert not (REPO / 'datasets' / '__init__.py').exists()


def test_installed_datasets_package_wins_even_from_repo_root(tmp_path):
    """Python puts the cwd first on sys.path; from the repo root an installed `datasets`
    (e.g. HuggingFace's) must still win over the repo's plain `datasets/` folder."""
    fake = tmp_path / 'site' / 'datasets'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text('WHO = "installed"\n')
    r = subprocess.run([sys.executable, '-c', 'import datasets; print(datasets.WHO, datasets.__file__)'],
                       cwd=REPO, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(tmp_path / 'site')))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('installed') and str(REPO) not in r.stdout


def test_register_all_modules_builds_by_name():
    from metric_hmr import register_all_modules
    from metric_hmr.registry import DATASETS, METRICS, MODELS
    register_all_modules()
    assert MODELS.build(dict(type='SmokeRegressor')).linear.in_features == 8
    assert len(DATASETS.build(dict(type='SmokeDataset', num_samples=4))) == 4
    assert METRICS.get('SmokeMetric') is not None
    assert MODELS.scope == 'metric_hmr'
