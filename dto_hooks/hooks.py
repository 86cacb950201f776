"""Deprecated: ``DTOTestHook`` wrapped ``model.val_step`` / ``test_step`` at run time.

Test-time DTO is now :class:`dto_hooks.loops.DTOTestLoop` / ``DTOValLoop`` (MMEngine
loops that refine outputs before the evaluator, no monkeypatching).  The hook stays
registered for one release only to tell old configs what to write instead.
"""
from __future__ import annotations

from mmengine.hooks import Hook

from metric_hmr.registry import HOOKS

from .loops import load_depth_map  # noqa: F401  (old path dto_hooks.hooks.load_depth_map)

__all__ = ['DTOTestHook', 'load_depth_map']


@HOOKS.register_module()
class DTOTestHook(Hook):
    """Replaced by the DTO loops; building it raises an error saying how to migrate."""

    def __init__(self, refiner: dict = None, apply_to=('val', 'test'), **kwargs):
        raise ValueError(
            "DTOTestHook was replaced by registered loops: remove it from custom_hooks and set "
            "test_cfg = dict(type='DTOTestLoop', refiner=...) and/or val_cfg = "
            "dict(type='DTOValLoop', refiner=...) (with custom_imports = "
            "dict(imports=['dto_hooks'])); options on_missing_depth, depth_key, depth_scale "
            'are the same')
