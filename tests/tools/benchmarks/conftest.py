"""Loading a benchmark script (tools/ is not importable) as a module."""
import importlib.util

import pytest


@pytest.fixture
def load_bench(repo_root):
    """``load_bench('dto_synthetic')`` -> the module of tools/benchmarks/dto_synthetic.py."""
    def load(name: str):
        spec = importlib.util.spec_from_file_location(f'bench_{name}',
                                                      repo_root / 'tools' / 'benchmarks' / f'{name}.py')
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    return load
