"""Test-time DTO inside MMEngine runners: ``DTOTestLoop`` and ``DTOValLoop``.

MMEngine's Test/ValLoop call ``model.test_step`` / ``val_step`` and hand the outputs to
``evaluator.process`` within one ``run_iter``; no hook runs in between.  These loops are
the same loops with one step added there: every output data sample (a per-image dict,
docs/ARCHITECTURE.md) is refined by DTO, for the whole batch at once, through
:class:`~dto_hooks.refiner.DTORefiner` (and so :class:`metric_hmr.dto.BatchDTORefiner`),
before the metrics see it.  Use them from a config::

    custom_imports = dict(imports=['dto_hooks'])
    test_cfg = dict(type='DTOTestLoop', refiner=dict(type='DTORefiner', body_model=...))
    val_cfg = dict(type='DTOValLoop', refiner=...)

The depth map of a sample comes from the output sample (``depth`` array or ``depth_path``),
else from the matching input data sample of the batch.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.runner.amp import autocast
from mmengine.runner.loops import TestLoop, ValLoop, _update_losses

from metric_hmr.dto.depth_map import load_depth_map  # the one depth-file reader (re-exported)
from metric_hmr.registry import LOOPS, TASK_UTILS

__all__ = ['DTOTestLoop', 'DTOValLoop', 'DTOOutputRefiner', 'load_depth_map']


class DTOOutputRefiner:
    """Refines a batch of model outputs with DTO (shared by the two loops).

    Args:
        refiner: ``DTORefiner`` config (or instance).
        on_missing_depth: 'error' (default) or 'skip' (sample unchanged, ``dto`` says why).
        depth_key: array name inside ``.npz`` depth files; depth_scale: divisor for images.
    """

    def __init__(self, refiner=None, on_missing_depth: str = 'error', depth_key: str = 'depth',
                 depth_scale: float = 1.0):
        if refiner is None:
            refiner = dict(type='DTORefiner')
        self.refiner = TASK_UTILS.build(refiner) if isinstance(refiner, dict) else refiner
        if on_missing_depth not in ('error', 'skip'):
            raise ValueError(f"on_missing_depth must be 'error' or 'skip', got {on_missing_depth!r}")
        self.on_missing_depth = on_missing_depth
        self.depth_key = depth_key
        self.depth_scale = depth_scale
        self.num_refined = 0
        self.num_skipped = 0

    def depth_of(self, sample: dict, input_sample) -> Optional[np.ndarray]:
        for src in (sample, input_sample):
            if not isinstance(src, dict):
                continue
            if src.get('depth') is not None:
                d = src['depth']
                return d.detach().cpu().numpy() if hasattr(d, 'detach') else np.asarray(d)
            if src.get('depth_path'):
                return load_depth_map(src['depth_path'], self.depth_key, self.depth_scale)
        return None

    def __call__(self, outputs: Sequence[dict], data_batch) -> List[dict]:
        """Refined outputs (same order); one batched DTO call for the batch."""
        inputs = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
        result = list(outputs)
        todo, depths = [], []
        for i, sample in enumerate(outputs):
            if not isinstance(sample, dict):
                raise TypeError('test-time DTO expects model outputs as per-image dicts '
                                f'(docs/ARCHITECTURE.md), got {type(sample).__name__}')
            depth = self.depth_of(sample, inputs[i] if inputs is not None and i < len(inputs) else None)
            if depth is None:
                msg = f"{sample.get('img_path', '<sample>')}: no 'depth' or 'depth_path' for DTO"
                if self.on_missing_depth == 'error':
                    raise ValueError(msg)
                self.num_skipped += 1
                result[i] = dict(sample, dto=dict(skipped=msg))
                continue
            todo.append(i)
            depths.append(depth)
        refined = self.refiner.core.refine_samples([outputs[i] for i in todo], depths,
                                                   self.refiner.use_gt_demographics)
        for i, out in zip(todo, refined):
            if out.result is None:
                raise ValueError(out.error)
            result[i] = out.sample
            self.num_refined += 1
        return result


def _dto_args(kw: dict) -> dict:
    return {k: kw.pop(k) for k in ('refiner', 'on_missing_depth', 'depth_key', 'depth_scale')
            if k in kw}


def _run_iter_with_dto(loop, idx, data_batch, mode: str) -> None:
    """MMEngine's Val/TestLoop.run_iter (mmengine 0.10.7) with DTO between the model step
    and ``evaluator.process``; ``mode`` is 'val' or 'test'."""
    runner = loop.runner
    runner.call_hook(f'before_{mode}_iter', batch_idx=idx, data_batch=data_batch)
    with autocast(enabled=loop.fp16):
        outputs = getattr(runner.model, f'{mode}_step')(data_batch)
    outputs, losses = _update_losses(outputs, getattr(loop, f'{mode}_loss'))
    setattr(loop, f'{mode}_loss', losses)
    outputs = loop.dto(outputs, data_batch)          # the one added step
    loop.evaluator.process(data_samples=outputs, data_batch=data_batch)
    runner.call_hook(f'after_{mode}_iter', batch_idx=idx, data_batch=data_batch, outputs=outputs)


def _dto_refiner(loop_name: str, options: dict) -> DTOOutputRefiner:
    refiner = DTOOutputRefiner(**_dto_args(options))
    if options:
        raise ValueError(f'{loop_name}: unknown option(s) {sorted(options)}')
    return refiner


@LOOPS.register_module()
class DTOTestLoop(TestLoop):
    """MMEngine's TestLoop with DTO applied to the outputs before the evaluator.

    Args (besides TestLoop's): refiner, on_missing_depth, depth_key, depth_scale
    (see :class:`DTOOutputRefiner`).
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False, **dto):
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        self.dto = _dto_refiner('DTOTestLoop', dto)

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        _run_iter_with_dto(self, idx, data_batch, 'test')


@LOOPS.register_module()
class DTOValLoop(ValLoop):
    """MMEngine's ValLoop with DTO applied to the outputs before the evaluator (same options)."""

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False, **dto):
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        self.dto = _dto_refiner('DTOValLoop', dto)

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        _run_iter_with_dto(self, idx, data_batch, 'val')
