"""DTO: Depth-conditioned Translation Optimization (paper Sec. 3.2, supplement 6).

Pure math (numpy, batched): :mod:`.priors`, :mod:`.cdc`, :mod:`.raster`, :mod:`.depth`,
:mod:`.cues`, :mod:`.solver`, :mod:`.verdict`, :mod:`.refine`, :func:`run_dto`.
MMEngine glue: :class:`DTORefiner` (TASK_UTILS) and :class:`DTOTestHook` (HOOKS);
importing this package registers both.
"""
from .config import DTOConfig
from .cues import extract_cues, is_quasi_planar, slope_and_correlation, weighted_scale
from .depth import prepare_depth, resize_depth, to_relative_depth
from .dto import DTOResult, dto_bounds, run_dto
from .priors import PAPER_GROUP_PRIORS, age_group_code, age_group_of, gender_of, height_priors
from .raster import RasterOutput, project_points, raster_size, rasterize_persons
from .raster_torch import BatchRasterOutput, rasterize_persons_torch
from .refine import refine_shapes, refine_translation
from .solver import DTOSolution, dto_objective, solve_dto_batch
from .verdict import image_verdict, standardized_residuals

__all__ = [
    'DTOConfig', 'extract_cues', 'is_quasi_planar', 'slope_and_correlation', 'weighted_scale',
    'prepare_depth', 'resize_depth', 'to_relative_depth', 'DTOResult', 'dto_bounds', 'run_dto',
    'PAPER_GROUP_PRIORS', 'age_group_code', 'age_group_of', 'gender_of', 'height_priors',
    'RasterOutput', 'project_points', 'raster_size', 'rasterize_persons', 'BatchRasterOutput',
    'rasterize_persons_torch', 'refine_shapes',
    'refine_translation', 'DTOSolution', 'dto_objective', 'solve_dto_batch', 'image_verdict',
    'standardized_residuals',
]

# MMEngine glue (importing registers DTORefiner in TASK_UTILS and DTOTestHook in HOOKS)
from .hooks import DTOTestHook  # noqa: E402
from .refiner import DTORefiner  # noqa: E402

__all__ += ['DTORefiner', 'DTOTestHook']
