"""DTO core: Depth-conditioned Translation Optimization (paper Sec. 3.2, supplement 6).

Framework-free: this package imports numpy / scipy / torch only, never mmengine or the
``metric_hmr`` registries (checked by ``tests/metric_hmr/dto/test_purity.py``).  The
MMEngine glue that applies DTO inside runners lives in the top-level :mod:`dto_hooks`.
"""
from __future__ import annotations

from .config import BoundsConfig, CueConfig, DTOConfig, PriorConfig, VerdictConfig
from .cues import PersonCues, extract_cues, is_quasi_planar, slope_and_correlation, weighted_scale
from .depth_map import prepare_depth, resize_depth, to_relative_depth
from .dto import DTOResult, dto_bounds, run_dto
from .fit import FitProblem, GroupFit
from .priors import PAPER_GROUP_PRIORS, age_group_code, gender_of, height_priors
from .raster import RasterOutput, project_points_raster, raster_size, rasterize_persons
from .refine import refine_shapes, refine_translation
from .solver import DTOSolution, dto_objective, solve_dto_batch
from .verdict import image_verdict, standardized_residuals

__all__ = [
    'DTOConfig', 'PriorConfig', 'CueConfig', 'BoundsConfig', 'VerdictConfig', 'PersonCues',
    'FitProblem', 'GroupFit', 'extract_cues', 'is_quasi_planar', 'slope_and_correlation', 'weighted_scale',
    'prepare_depth', 'resize_depth', 'to_relative_depth', 'DTOResult', 'dto_bounds', 'run_dto',
    'PAPER_GROUP_PRIORS', 'age_group_code', 'gender_of', 'height_priors',
    'RasterOutput', 'project_points_raster', 'raster_size', 'rasterize_persons', 'refine_shapes',
    'refine_translation', 'DTOSolution', 'dto_objective', 'solve_dto_batch', 'image_verdict',
    'standardized_residuals', 'BatchDTORefiner', 'ImageInput', 'ImageOutput', 'SampleOutcome',
]

# The batched refiner poses persons with a torch body model: loaded on first use, so that
# ``import metric_hmr.dto`` stays numpy-only.
_LAZY = {'BatchDTORefiner': 'batch_refiner', 'ImageInput': 'batch_refiner',
         'ImageOutput': 'batch_refiner', 'SampleOutcome': 'batch_refiner'}


def __getattr__(name):
    if name == 'project_points':  # old name of the raster variant (not geometry.project_points)
        from . import raster
        return raster.__getattr__(name)
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f'{__name__}.{_LAZY[name]}'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
