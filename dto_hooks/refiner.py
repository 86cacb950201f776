"""``DTORefiner``: DTO applied to one per-image prediction dict (docs/ARCHITECTURE.md).

    refiner = TASK_UTILS.build(dict(type='DTORefiner', dto=dict(...),
                                    body_model=dict(type='SMPLBodyModel', ...)))
    new_sample, result = refiner(sample, depth_map)

A thin MMEngine wrapper: it builds the body model from its config and hands the sample to
:class:`metric_hmr.dto.BatchDTORefiner`, the one way DTO is applied (the generation stage
and the precomputed evaluator use it too).

``sample`` is the per-image dict models hand to metrics: ``dict(img_path, ori_shape,
pred=dict(global_orient, body_pose, betas, transl, focal, princpt, ...), gt=...)``.
The refiner returns a new dict whose ``pred`` has the DTO translation, refitted betas,
recomputed ``vertices`` / ``joints3d`` (when they were present), ``height`` (corrected
heights) and ``std`` (posterior std of the corrected heights), plus ``dto`` (the
JSON-friendly :class:`~metric_hmr.dto.DTOResult` record).  Arrays keep their container
type (numpy or torch, same device).

Without a body model the refiner needs ``pred['vertices']`` and ``pred['height']`` and
a ``faces`` array; it then scales meshes about the camera centre by z*/z (the exact
geometric effect of DTO, without a shape-space refit).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from metric_hmr.dto import BatchDTORefiner, DTOResult
from metric_hmr.dto.samples import like, to_numpy
from metric_hmr.registry import BODY_MODELS, TASK_UTILS

__all__ = ['DTORefiner', 'to_numpy', 'like']


@TASK_UTILS.register_module()
class DTORefiner:
    """Apply DTO to a prediction dict.

    Args:
        dto: DTO options (:class:`~metric_hmr.dto.DTOConfig` keys, ``preset='released'``
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
        if isinstance(body_model, dict):
            body_model = BODY_MODELS.build(body_model)
        self.core = BatchDTORefiner(dto, body_model=body_model, refit_shape=refit_shape,
                                    faces=faces)
        self.cfg = self.core.cfg
        self.body_model = body_model
        self.refit_shape = self.core.refit_shape
        self.faces = self.core.faces
        self.use_gt_demographics = use_gt_demographics

    def __call__(self, sample: dict, depth_map: np.ndarray, masks: Optional[np.ndarray] = None,
                 age: Optional[np.ndarray] = None, p_male: Optional[np.ndarray] = None
                 ) -> Tuple[dict, DTOResult]:
        """(refined sample, DTO result); ValueError naming the image on bad input."""
        out = self.core.refine_samples([sample], [depth_map], self.use_gt_demographics,
                                       masks=[masks], ages=[age], p_males=[p_male])[0]
        if out.result is None:
            raise ValueError(out.error)
        return out.sample, out.result
