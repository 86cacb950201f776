"""dto_hooks: the MMEngine glue that applies DTO inside runners.

The DTO math itself is the framework-free :mod:`metric_hmr.dto`; this package only adds
the registered :class:`DTORefiner` (TASK_UTILS) and the test-time loops
:class:`DTOTestLoop` / :class:`DTOValLoop` (LOOPS).  Dependencies run one way:
``dto_hooks -> metric_hmr``; configs load it with ``custom_imports=dict(imports=['dto_hooks'])``.

The old import paths ``dto_hooks.<module>`` (``solver``, ``cues``, ...) stay valid for one
release as aliases of ``metric_hmr.dto.<module>``.
"""
from __future__ import annotations

import importlib
import sys

from metric_hmr.dto import *  # noqa: F401,F403  (old ``from dto_hooks import run_dto``)
from metric_hmr.dto import __all__ as _core_all

# Deprecated aliases: ``import dto_hooks.solver`` is ``metric_hmr.dto.solver``.
_ALIASED = ('cdc', 'config', 'cues', 'depth', 'dto', 'priors', 'raster', 'raster_torch',
            'refine', 'solver', 'verdict')
for _name in _ALIASED:
    _module = importlib.import_module(f'metric_hmr.dto.{_name}')
    sys.modules[f'{__name__}.{_name}'] = _module
    globals()[_name] = _module          # ``dto_hooks.solver`` attribute access too

# MMEngine glue (importing registers DTORefiner in TASK_UTILS and the loops in LOOPS)
from .hooks import DTOTestHook  # noqa: E402  (deprecated: raises, naming the loops)
from .loops import DTOTestLoop, DTOValLoop  # noqa: E402
from .refiner import DTORefiner  # noqa: E402

__all__ = list(_core_all) + ['DTORefiner', 'DTOTestLoop', 'DTOValLoop', 'DTOTestHook']
