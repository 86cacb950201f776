"""The DTO core is framework-free: importing it loads no mmengine and no plugin registry."""
import os
import subprocess
import sys

CODE = '''
import importlib, pkgutil, sys
import metric_hmr.dto, metric_hmr.geometry, metric_hmr.conventions
from metric_hmr.dto import run_dto, solve_dto_batch, DTOConfig
names = [m.name for m in pkgutil.iter_modules(metric_hmr.dto.__path__)]
for name in names:         # every module, also those loaded lazily (review item 20)
    importlib.import_module('metric_hmr.dto.' + name)
assert {'batch_refiner', 'samples', 'released_algorithm', 'plus_fit'} <= set(names), names
bad = sorted(m for m in sys.modules
             if m.split('.')[0] in ('mmengine', 'mmcv', 'mmdet', 'mmpose', 'dto_hooks')
             or m in ('metric_hmr.registry', 'metric_hmr.utils'))
print('IMPURE', bad)
'''


def test_dto_core_imports_without_mmengine(tmp_path):
    r = subprocess.run([sys.executable, '-c', CODE], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env=dict(os.environ, PYTHONPATH=''))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith('IMPURE []'), r.stdout


def test_old_dto_hooks_paths_are_aliases():
    import dto_hooks.solver
    import metric_hmr.dto.solver
    from dto_hooks import run_dto
    from metric_hmr.dto import run_dto as core_run_dto
    assert dto_hooks.solver is metric_hmr.dto.solver
    assert run_dto is core_run_dto


def test_metric_hmr_never_imports_dto_hooks(tmp_path):
    """Dependencies run one way (dto_hooks -> metric_hmr): registering every metric_hmr
    component loads no dto_hooks, and no metric_hmr module imports it."""
    import ast
    import pathlib

    import metric_hmr
    code = ('import sys, metric_hmr; metric_hmr.register_all_modules(); '
            "print('LOADED', sorted(m for m in sys.modules if m.startswith('dto_hooks')))")
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, PYTHONPATH=''))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith('LOADED []'), r.stdout
    offenders = []
    for path in pathlib.Path(metric_hmr.__file__).parent.rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f'{path.name}: {n}' for n in names if n.split('.')[0] == 'dto_hooks']
    assert offenders == []
