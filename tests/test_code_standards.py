"""Project-wide code rules that no single module test can see (docs/ARCHITECTURE.md).

* every module under ``projects/`` and ``dto_hooks/`` starts with
  ``from __future__ import annotations`` and declares ``__all__`` whose names exist
  (``tools/`` scripts, ``configs/`` and ``tests/`` are exempt);
* the camera / rotation / beta conventions have one home ("Where each convention lives"):
  no ``tan(`` / ``atan(`` FoV formula, Rodrigues or scipy ``Rotation`` and no beta
  pad / trim outside ``metric_hmr/geometry`` and ``metric_hmr/conventions.py``, except
  the copies listed in ``CONVENTION_COPIES`` (each entry to be removed, not extended).
"""
from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path
from typing import Dict, List, Tuple

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


# --- single homes of the conventions ---------------------------------------------------
CONVENTION_PATTERNS = {
    # focal <-> FoV and other pinhole trigonometry: metric_hmr.geometry.camera
    'fov': re.compile(r'\b(tan|atan|arctan|atan2|arctan2)\s*\('),
    # axis-angle <-> matrix: metric_hmr.geometry.rotations (roma)
    'rotation': re.compile(r'Rotation\.from_\w+|\bdef\s+\w*(rotvec|rodrigues|axis_angle)\w*\s*\('),
    # 10/11-D betas: metric_hmr.conventions.adapt_betas
    'betas': re.compile(r'\[\s*:\s*,\s*:\s*(nb|num_betas|n_betas|self\.num_betas|10|11)\s*\]'
                        r'|\bdef\s+pad_betas\w*\s*\(|np\.pad\(\s*betas'),
}
CONVENTION_HOMES = ('projects/metric_hmr/geometry/', 'projects/metric_hmr/conventions.py')
CONVENTION_ROOTS = ('projects/metric_hmr', 'dto_hooks', 'tools')

# Copies still on this branch: (file, kind) -> number of lines.  Remove an entry (or lower
# its count) when the copy goes; never add one - call the home instead.
CONVENTION_COPIES = {
    ('projects/metric_hmr/body_models/smpl.py', 'betas'): 1,               # _betas_tensor trim
    ('projects/metric_hmr/generation/release.py', 'betas'): 1,             # pad_betas_smpla wrapper
    ('projects/metric_hmr/models/mahmr.py', 'betas'): 1,
    ('projects/metric_hmr/synthetic/generator.py', 'fov'): 1,              # ground distance, not a FoV
}


def _code_only(path: Path) -> List[str]:
    """The file's lines with strings and comments blanked (docstrings may cite formulas)."""
    lines = [list(line) for line in path.read_text(encoding='utf-8').splitlines()]
    with open(path, encoding='utf-8') as fh:
        for tok in tokenize.generate_tokens(fh.readline):
            if tok.type not in (tokenize.STRING, tokenize.COMMENT):
                continue
            (r0, c0), (r1, c1) = tok.start, tok.end
            for r in range(r0, r1 + 1):
                a, b = (c0 if r == r0 else 0), (c1 if r == r1 else len(lines[r - 1]))
                lines[r - 1][a:b] = ' ' * (b - a)
    return [''.join(line) for line in lines]


def _convention_copies() -> Dict[Tuple[str, str], List[int]]:
    found: Dict[Tuple[str, str], List[int]] = {}
    for root in CONVENTION_ROOTS:
        for path in sorted((REPO / root).rglob('*.py')):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith(CONVENTION_HOMES):
                continue
            for n, line in enumerate(_code_only(path), 1):
                for kind, rx in CONVENTION_PATTERNS.items():
                    if rx.search(line):
                        found.setdefault((rel, kind), []).append(n)
    return found


def test_convention_patterns_catch_copies_but_not_prose(tmp_path):
    f = tmp_path / 'm.py'
    f.write_text('"""v = 2 atan(H / (2 f))"""\n# Rotation.from_rotvec(x)\n'
                 'f = H / (2 * np.tan(v / 2))\nR = Rotation.from_rotvec(aa)\n'
                 'def rotvec_to_matrix(r):\n    return betas[:, :nb]\n')
    hits = [(n, k) for n, line in enumerate(_code_only(f), 1)
            for k, rx in CONVENTION_PATTERNS.items() if rx.search(line)]
    assert hits == [(3, 'fov'), (4, 'rotation'), (5, 'rotation'), (6, 'betas')]


def test_conventions_have_one_home():
    found = _convention_copies()
    new = {k: v for k, v in found.items() if len(v) > CONVENTION_COPIES.get(k, 0)}
    assert not new, ('convention written out again (use metric_hmr.geometry / '
                     f'metric_hmr.conventions): {new}')
    gone = {k: (n, len(found.get(k, []))) for k, n in CONVENTION_COPIES.items()
            if len(found.get(k, [])) < n}
    assert not gone, f'copies removed: lower or drop these CONVENTION_COPIES entries: {gone}'
