"""Project-wide code rules that no single module test can see (docs/ARCHITECTURE.md).

* every module under ``projects/`` and ``dto_hooks/`` starts with
  ``from __future__ import annotations`` and declares ``__all__`` whose names exist
  (``tools/`` scripts, ``configs/`` and ``tests/`` are exempt);
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = ('projects', 'dto_hooks')


def _modules():
    for root in PACKAGE_ROOTS:
        yield from sorted((REPO / root).rglob('*.py'))


def _has_future_annotations(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == '__future__'
               and any(a.name == 'annotations' for a in n.names) for n in tree.body)


def _all_names(tree: ast.Module):
    """The string literals assigned (or added) to ``__all__`` at module level, or None."""
    names = None
    for n in tree.body:
        targets = n.targets if isinstance(n, ast.Assign) else \
            [n.target] if isinstance(n, (ast.AugAssign, ast.AnnAssign)) else []
        if any(getattr(t, 'id', None) == '__all__' for t in targets):
            names = (names or []) + [e.value for e in ast.walk(n.value)
                                     if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return names


def _defined_names(tree: ast.Module) -> set:
    """Names bound at module level (defs, classes, assignments, imports)."""
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split('.')[0] for a in n.names)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
    if '__getattr__' in names:   # lazy attributes: the keys of module-level dict tables
        names.update(k.value for n in tree.body if isinstance(n, ast.Assign)
                     and isinstance(n.value, ast.Dict) for k in n.value.keys
                     if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return names


def test_module_walk_finds_the_packages():
    mods = [p.relative_to(REPO).as_posix() for p in _modules()]
    assert 'projects/metric_hmr/dto/dto.py' in mods and 'dto_hooks/__init__.py' in mods
    assert not any(m.startswith('tools/') for m in mods)


@pytest.mark.parametrize('path', list(_modules()), ids=lambda p: p.relative_to(REPO).as_posix())
def test_module_has_future_annotations_and_all(path):
    tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    assert _has_future_annotations(tree), f'{path}: no `from __future__ import annotations`'
    names = _all_names(tree)
    assert names is not None, f'{path}: no literal `__all__`'
    missing = sorted(set(names) - _defined_names(tree) - {'__version__'})
    assert not missing, f'{path}: __all__ names not defined in the module: {missing}'
