"""metric_hmr: metric-aware multi-person human mesh recovery as an OpenMMLab plugin.

Paper terms -> code: DTO is the framework-free :mod:`metric_hmr.dto` (applied inside MMEngine
runners by the sibling package :mod:`dto_hooks`); MA-HMR in :mod:`metric_hmr.models`;
DTO-Humans generation in :mod:`metric_hmr.generation`; evaluators in
:mod:`metric_hmr.evaluation`.  See docs/ARCHITECTURE.md.

Importing this package is cheap and framework-free: the MMEngine side (registries,
``register_all_modules``) loads on first use, so ``import metric_hmr.dto`` never pulls
in mmengine.
"""

from __future__ import annotations

__version__ = '0.1.0'

__all__ = ['__version__', 'register_all_modules']


def __getattr__(name):
    # PEP 562: ``from metric_hmr import register_all_modules`` keeps working, lazily.
    if name == 'register_all_modules':
        from .utils import register_all_modules
        return register_all_modules
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
