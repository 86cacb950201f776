"""``DTORefiner``: DTO applied to one per-image prediction dict (docs/ARCHITECTURE.md).

    refiner = TASK_UTILS.build(dict(type='DTORefiner', dto=dict(...),
                                    body_model=dict(type='SMPLBodyModel', ...)))
    new_sample, result = refiner(sample, depth_map)

``sample`` is the per-image dict models hand to metrics: ``dict(img_path, ori_shape,
pred=dict(global_orient, body_pose, betas, transl, focal, princpt, ...), gt=...)``.
The refiner returns a new dict whose ``pred`` has the DTO translation, refitted betas,
recomputed ``vertices`` / ``joints3d`` (when they were present), ``height`` (corrected
heights) and ``std`` (posterior std of the corrected heights), plus ``dto`` (the
JSON-friendly :class:`~dto_hooks.dto.DTOResult` record).  Arrays keep their container
type (numpy or torch, same device).

Without a body model the refiner needs ``pred['vertices']`` and ``pred['height']`` and
a ``faces`` array; it then scales meshes about the camera centre by z*/z (the exact
geometric effect of DTO, without a shape-space refit).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from metric_hmr.registry import BODY_MODELS, TASK_UTILS

from metric_hmr.dto.config import DTOConfig
from metric_hmr.dto.dto import DTOResult, run_dto
from metric_hmr.dto.refine import refine_shapes

__all__ = ['DTORefiner', 'to_numpy', 'like']


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


@TASK_UTILS.register_module()
class DTORefiner:
    """Apply DTO to a prediction dict.

    Args:
        dto: DTO options (:class:`~dto_hooks.config.DTOConfig` keys, ``preset='released'``
            for the released-code behaviour).
        body_model: BODY_MODELS config (or a built body model) used for vertices,
            T-pose heights and the shape refit.  None: see module docstring.
        refit_shape: refit betas to the corrected heights (needs a body model).
        faces: (F, 3) faces when no body model is given.
        use_gt_demographics: take age group / p_male from ``sample['gt']`` when the
            prediction has none (for oracle studies; off by default).
    """

    def __init__(self, dto: Optional[dict] = None, body_model=None, refit_shape: bool = True,
                 faces: Optional[np.ndarray] = None, use_gt_demographics: bool = False):
        self.cfg = DTOConfig.from_dict(dto)
        if isinstance(body_model, dict):
            body_model = BODY_MODELS.build(body_model)
        self.body_model = body_model
        self.refit_shape = bool(refit_shape) and body_model is not None
        self.faces = None if faces is None else np.asarray(faces, dtype=np.int64)
        self.use_gt_demographics = use_gt_demographics

    # ---------------------------------------------------------------- body-model helpers
    def _forward(self, pred: dict, betas: np.ndarray, transl: np.ndarray):
        import torch
        bm = self.body_model
        ref = pred['transl']
        device = ref.device if hasattr(ref, 'device') else 'cpu'
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)
        with torch.no_grad():
            out = bm(betas=t(betas), global_orient=t(to_numpy(pred['global_orient'])),
                     body_pose=t(to_numpy(pred['body_pose'])), transl=t(transl))
        return to_numpy(out.vertices).astype(np.float64), to_numpy(out.joints).astype(np.float64)

    def _tpose_height(self, betas: np.ndarray) -> np.ndarray:
        import torch
        h = self.body_model.tpose_height(torch.as_tensor(betas, dtype=torch.float32))
        return to_numpy(h).astype(np.float64)

    def _is_minor(self, age, age_group, K):
        """(K,) bool minors (< 15 years or a minor age group), or None when unknown /
        when the body model's fit_height takes no ``is_minor``."""
        import inspect
        if 'is_minor' not in inspect.signature(self.body_model.fit_height).parameters:
            return None
        minor = np.zeros(K, bool)
        known = False
        if age is not None:
            a = np.asarray(age, np.float64).reshape(K)
            minor |= np.isfinite(a) & (a < 15)
            known = True
        if age_group is not None:
            minor |= np.isin(np.asarray(age_group).reshape(K), (1, 2, 3))
            known = True
        return minor if known else None

    # ---------------------------------------------------------------------- main entry
    def __call__(self, sample: dict, depth_map: np.ndarray, masks: Optional[np.ndarray] = None,
                 age: Optional[np.ndarray] = None, p_male: Optional[np.ndarray] = None
                 ) -> Tuple[dict, DTOResult]:
        if 'pred' not in sample:
            raise ValueError(f"sample {sample.get('img_path')!r} has no 'pred' dict")
        pred = sample['pred']
        name = sample.get('img_path', '<sample>')
        for key in ('transl', 'focal', 'princpt'):
            if key not in pred:
                raise ValueError(f"{name}: pred['{key}'] is required by DTO")
        if 'ori_shape' not in sample:
            raise ValueError(f"{name}: 'ori_shape' (H, W) is required by DTO")
        H, W = (int(x) for x in sample['ori_shape'][:2])
        transl = to_numpy(pred['transl']).astype(np.float64).reshape(-1, 3)
        K = len(transl)
        betas = to_numpy(pred.get('betas'))

        if 'vertices' in pred and pred['vertices'] is not None:
            verts = to_numpy(pred['vertices']).astype(np.float64)
        elif self.body_model is not None:
            verts, _ = self._forward(pred, betas, transl)
        else:
            raise ValueError(f"{name}: no pred['vertices'] and no body_model to compute them")
        faces = np.asarray(self.body_model.faces) if self.body_model is not None else self.faces
        if faces is None:
            raise ValueError(f'{name}: mesh faces unknown (give body_model or faces)')
        if self.body_model is not None and betas is not None:
            h_init = self._tpose_height(betas) if K else np.zeros(0)
        elif 'height' in pred:
            h_init = to_numpy(pred['height']).astype(np.float64)
        else:
            raise ValueError(f"{name}: T-pose heights unknown (give body_model or pred['height'])")

        gt = sample.get('gt', {}) or {}
        age = to_numpy(age if age is not None else pred.get('age'))
        p_male = to_numpy(p_male if p_male is not None else pred.get('p_male'))
        age_group = to_numpy(pred.get('age_group'))
        if self.use_gt_demographics and age_group is None and gt.get('age_group') is not None:
            age_group = to_numpy(gt['age_group'])
        if masks is None and pred.get('masks') is not None:
            masks = to_numpy(pred['masks']).astype(bool)

        result = run_dto(list(verts), faces, to_numpy(pred['focal']), to_numpy(pred['princpt']),
                         (H, W), depth_map, transl, h_init, age_years=age, p_male=p_male,
                         age_group=age_group, masks=masks, config=self.cfg)

        new_pred = dict(pred)
        new_pred['transl'] = like(result.transl_star, pred['transl'])
        ratio = result.depth_ratio
        # DTO+ focal refinement: the focal changes and persons move along z beyond the scale
        offset = result.transl_star - transl * ratio[:, None]
        if result.focal_star is not None:
            new_pred['focal'] = like(result.focal_star, pred['focal'])
        new_betas = betas
        refit_h = result.h_star
        if self.refit_shape and betas is not None and K:
            changed = result.used & (np.abs(ratio - 1.0) > 0)
            refit = refine_shapes(self.body_model, betas, result.h_star, which=changed,
                                  is_minor=self._is_minor(age, age_group, K))
            new_betas = refit.betas
            refit_h = np.where(changed, refit.height, result.h_star)
            new_pred['betas'] = like(new_betas, pred['betas'])
            new_pred['shape_refit_flags'] = refit.flags
        if 'vertices' in pred or 'joints3d' in pred:
            if self.refit_shape and betas is not None and K:
                v, j = self._forward(pred, new_betas, result.transl_star)
            else:   # no shape refit: scale the meshes about the camera centre by z*/z
                v, j = verts * ratio[:, None, None] + offset[:, None, :], None
            if 'vertices' in pred:
                new_pred['vertices'] = like(v, pred['vertices'])
            if 'joints3d' in pred:
                j_old = to_numpy(pred['joints3d'])
                new_pred['joints3d'] = like(j if j is not None and j.shape == j_old.shape
                                            else j_old * ratio[:, None, None] + offset[:, None, :],
                                            pred['joints3d'])
        new_pred['height'] = refit_h
        new_pred['std'] = result.std_h
        out = dict(sample)
        out['pred'] = new_pred
        out['dto'] = result.to_record()
        return out, result
