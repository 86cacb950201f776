"""``DTOTestHook``: evaluate any HMR model "+ DTO" inside an MMEngine runner.

MMEngine 0.10.7's Val/TestLoop calls ``model.val_step`` / ``test_step`` and hands the
outputs to ``evaluator.process`` *before* ``after_val_iter`` / ``after_test_iter`` run, so a
hook cannot edit predictions in those callbacks.  Instead, ``before_{val,test}_epoch``
wraps the model's step method (an instance attribute shadowing the class method; works
for wrapped models too) so that every output data sample is passed through the
:class:`~dto_hooks.refiner.DTORefiner` before metrics see it, and
``after_{val,test}_epoch`` removes the wrapper.

Each output sample must be a dict in the ARCHITECTURE.md format.  The depth map comes from
the sample (``depth`` array or ``depth_path``), else from the matching input data sample
of the batch.  Optional ``masks`` / ``age`` / ``p_male`` come from ``pred``.
"""
from __future__ import annotations

import functools
import os
from typing import Optional, Sequence

import numpy as np
from mmengine.hooks import Hook

from metric_hmr.registry import HOOKS, TASK_UTILS

__all__ = ['DTOTestHook', 'load_depth_map']


def load_depth_map(path: str, key: str = 'depth', scale: float = 1.0) -> np.ndarray:
    """Read a depth / disparity map: ``.npy``, ``.npz`` (``key`` or its only array), or an
    image file (16-bit PNG etc., divided by ``scale``)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'depth map not found: {path}')
    ext = os.path.splitext(path)[1].lower()
    if ext == '.npy':
        return np.load(path).astype(np.float64)
    if ext == '.npz':
        with np.load(path) as z:
            if key in z.files:
                return z[key].astype(np.float64)
            if len(z.files) == 1:
                return z[z.files[0]].astype(np.float64)
            raise ValueError(f'{path}: no array {key!r} among {z.files}')
    import cv2
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'{path}: not a readable depth image')
    if img.ndim == 3:
        img = img[..., 0]
    return img.astype(np.float64) / scale


@HOOKS.register_module()
class DTOTestHook(Hook):
    """Apply DTO to the model's predictions during validation and/or testing.

    Args:
        refiner: ``DTORefiner`` config (or instance).
        apply_to: subset of ('val', 'test').
        on_missing_depth: 'error' (default) or 'skip' (sample unchanged, ``dto`` records why).
        depth_key: array name inside ``.npz`` depth files; depth_scale: divisor for images.
    """
    priority = 'NORMAL'

    def __init__(self, refiner: dict = None, apply_to: Sequence[str] = ('val', 'test'),
                 on_missing_depth: str = 'error', depth_key: str = 'depth', depth_scale: float = 1.0):
        if refiner is None:
            refiner = dict(type='DTORefiner')
        self.refiner = TASK_UTILS.build(refiner) if isinstance(refiner, dict) else refiner
        bad = set(apply_to) - {'val', 'test'}
        if bad:
            raise ValueError(f"DTOTestHook apply_to must be within ('val', 'test'), got {sorted(bad)}")
        if on_missing_depth not in ('error', 'skip'):
            raise ValueError(f"on_missing_depth must be 'error' or 'skip', got {on_missing_depth!r}")
        self.apply_to = tuple(apply_to)
        self.on_missing_depth = on_missing_depth
        self.depth_key = depth_key
        self.depth_scale = depth_scale
        self.num_refined = 0
        self.num_skipped = 0

    # --------------------------------------------------------------------- wrapping
    def _wrap(self, runner, step_name: str):
        model = runner.model
        original = getattr(model, step_name)
        had_instance_attr = step_name in model.__dict__

        @functools.wraps(original)
        def step_with_dto(data_batch, *args, **kwargs):
            outputs = original(data_batch, *args, **kwargs)
            inputs = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
            return [self.refine_sample(s, inputs[i] if inputs is not None and i < len(inputs) else None)
                    for i, s in enumerate(outputs)]

        setattr(model, step_name, step_with_dto)
        self._restore = (model, step_name, original, had_instance_attr)

    def _unwrap(self):
        restore = getattr(self, '_restore', None)
        if restore is None:
            return
        model, step_name, original, had_instance_attr = restore
        if had_instance_attr:
            setattr(model, step_name, original)
        else:
            delattr(model, step_name)
        self._restore = None

    def before_val_epoch(self, runner) -> None:
        if 'val' in self.apply_to:
            self._wrap(runner, 'val_step')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._unwrap()

    def before_test_epoch(self, runner) -> None:
        if 'test' in self.apply_to:
            self._wrap(runner, 'test_step')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._unwrap()

    # --------------------------------------------------------------------- per sample
    def _depth_of(self, sample: dict, input_sample) -> Optional[np.ndarray]:
        for src in (sample, input_sample):
            if not isinstance(src, dict):
                continue
            if src.get('depth') is not None:
                d = src['depth']
                return d.detach().cpu().numpy() if hasattr(d, 'detach') else np.asarray(d)
            if src.get('depth_path'):
                return load_depth_map(src['depth_path'], self.depth_key, self.depth_scale)
        return None

    def refine_sample(self, sample, input_sample=None):
        if not isinstance(sample, dict):
            raise TypeError('DTOTestHook expects model outputs as per-image dicts '
                            f'(docs/ARCHITECTURE.md), got {type(sample).__name__}')
        depth = self._depth_of(sample, input_sample)
        if depth is None:
            msg = f"{sample.get('img_path', '<sample>')}: no 'depth' or 'depth_path' for DTO"
            if self.on_missing_depth == 'error':
                raise ValueError(msg)
            self.num_skipped += 1
            out = dict(sample)
            out['dto'] = dict(skipped=msg)
            return out
        out, _ = self.refiner(sample, depth)
        self.num_refined += 1
        return out
