"""Per-image prediction dicts (docs/ARCHITECTURE.md) <-> the batched refiner.

``sample = dict(img_path, ori_shape, pred=dict(global_orient, body_pose, betas, transl,
focal, princpt, [vertices, joints3d, height, age, p_male, age_group, masks]), gt=...)``
is what models hand to metrics.  :func:`sample_to_input` turns one into an
:class:`~metric_hmr.dto.batch_refiner.ImageInput` (errors name the image and the field);
:func:`refined_sample` writes the refiner's output back: the DTO translation, refitted
betas (+ ``shape_refit_flags``), re-posed ``vertices`` / ``joints3d`` where they were
present (scaled about the camera centre by z*/z without a shape refit), ``height``
(corrected heights), ``std`` (their posterior std) and ``dto`` (the JSON record).
Arrays keep their container type (numpy or torch, same dtype and device).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .batch_refiner import ImageInput, ImageOutput

__all__ = ['to_numpy', 'like', 'sample_to_input', 'refined_sample']


def to_numpy(x) -> Optional[np.ndarray]:
    if x is None:
        return None
    if hasattr(x, 'detach'):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def like(new: np.ndarray, ref):
    """``new`` in the container type / dtype / device of ``ref``."""
    if hasattr(ref, 'detach'):
        import torch
        return torch.as_tensor(np.asarray(new), dtype=ref.dtype, device=ref.device)
    if isinstance(ref, np.ndarray):
        return np.asarray(new, dtype=ref.dtype if ref.dtype.kind == 'f' else None)
    return np.asarray(new)


def _check_fields(sample: dict, has_body_model: bool) -> str:
    """Name of the image; ValueError naming the missing field."""
    if 'pred' not in sample:
        raise ValueError(f"sample {sample.get('img_path')!r} has no 'pred' dict")
    pred, name = sample['pred'], sample.get('img_path', '<sample>')
    for key in ('transl', 'focal', 'princpt'):
        if key not in pred:
            raise ValueError(f"{name}: pred['{key}'] is required by DTO")
    if 'ori_shape' not in sample:
        raise ValueError(f"{name}: 'ori_shape' (H, W) is required by DTO")
    if pred.get('vertices') is None and not has_body_model:
        raise ValueError(f"{name}: no pred['vertices'] and no body_model to compute them")
    if (not has_body_model or pred.get('betas') is None) and 'height' not in pred:
        raise ValueError(f"{name}: T-pose heights unknown (give body_model or pred['height'])")
    return name


def sample_to_input(sample: dict, depth_map, has_body_model: bool, masks=None, age=None,
                    p_male=None, use_gt_demographics: bool = False) -> ImageInput:
    """One prediction dict as refiner input.  ``age`` / ``p_male`` / ``masks`` override
    the prediction's; ``use_gt_demographics`` takes a missing age group from ``gt``."""
    name = _check_fields(sample, has_body_model)
    pred, gt = sample['pred'], sample.get('gt', {}) or {}
    age_group = to_numpy(pred.get('age_group'))
    if use_gt_demographics and age_group is None and gt.get('age_group') is not None:
        age_group = to_numpy(gt['age_group'])
    if masks is None and pred.get('masks') is not None:
        masks = to_numpy(pred['masks']).astype(bool)
    betas = to_numpy(pred.get('betas'))
    vertices = pred.get('vertices')
    return ImageInput(
        name=name, image_hw=tuple(int(x) for x in sample['ori_shape'][:2]),
        focal=to_numpy(pred['focal']), princpt=to_numpy(pred['princpt']), depth=depth_map,
        transl=to_numpy(pred['transl']).astype(np.float64).reshape(-1, 3), betas=betas,
        global_orient=to_numpy(pred.get('global_orient')), body_pose=to_numpy(pred.get('body_pose')),
        vertices=None if vertices is None else to_numpy(vertices).astype(np.float64),
        heights=None if (has_body_model and betas is not None)
        else to_numpy(pred['height']).astype(np.float64),
        age=to_numpy(age if age is not None else pred.get('age')),
        p_male=to_numpy(p_male if p_male is not None else pred.get('p_male')),
        age_group=age_group, masks=masks)


def refined_sample(sample: dict, img: ImageInput, out: ImageOutput, refit: bool,
                   remeshed: bool) -> dict:
    """New sample dict with the refined prediction and the ``dto`` record."""
    pred, result = sample['pred'], out.result
    new_pred = dict(pred)
    # the refiner's final translations: T_i z*/z, or the released x/y re-alignment
    new_pred['transl'] = like(out.transl, pred['transl'])
    if refit:
        new_pred['betas'] = like(out.betas, pred['betas'])
        new_pred['shape_refit_flags'] = out.refit_flags
    if out.focal is not None:              # DTO+ focal refinement changed the camera
        new_pred['focal'] = like(out.focal, pred['focal'])
    ratio = result.depth_ratio
    # scaling about the camera centre by z*/z, plus what is left of the translation change
    # (non-zero when DTO+ refined the focal, or after the released x/y re-alignment)
    offset = np.asarray(out.transl, np.float64) - np.asarray(img.transl, np.float64).reshape(-1, 3) * ratio[:, None]
    if 'vertices' in pred:   # re-posed, or scaled + moved
        v = out.vertices if remeshed else img.vertices * ratio[:, None, None] + offset[:, None, :]
        new_pred['vertices'] = like(v, pred['vertices'])
    if 'joints3d' in pred:
        j_old = to_numpy(pred['joints3d'])
        j = (out.joints if remeshed and out.joints.shape == j_old.shape
             else j_old * ratio[:, None, None] + offset[:, None, :])
        new_pred['joints3d'] = like(j, pred['joints3d'])
    new_pred['height'] = out.height if refit else result.h_star
    new_pred['std'] = result.std_h
    new = dict(sample)
    new['pred'] = new_pred
    new['dto'] = result.to_record()
    return new
