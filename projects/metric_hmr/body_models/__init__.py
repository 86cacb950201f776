"""Body models: SMPL / SMPL-A (smplx) and Anny, with T-pose height and height refit.

Every model is registered in ``metric_hmr.registry.BODY_MODELS`` and exposes
``forward(...) -> BodyOutput``, ``faces``, ``tpose_height(betas)``,
``fit_height(betas, target_height) -> HeightFit`` and ``sample_shape(age, is_male, rng)``
(see ``docs/body_models.md``).
"""
from __future__ import annotations

from .anny_model import ANNY_PHENOTYPES, NAMED_POSES, AnnyBodyModel
from .height_prior import cdc_height_quantile, sample_heights
from .root_find import RootResult, find_root_bracketed
from .smpl import SMPLBodyModel
from .types import BodyOutput, HeightFit

__all__ = ['ANNY_PHENOTYPES', 'NAMED_POSES', 'AnnyBodyModel', 'BodyOutput', 'HeightFit',
           'RootResult', 'find_root_bracketed', 'SMPLBodyModel', 'cdc_height_quantile',
           'sample_heights']
