"""Pure metric functions (numpy, batched) for the benchmark protocols of method.md §4."""
from __future__ import annotations

from .alignment import mean_point_error, mpjpe, pa_mpjpe, point_errors, procrustes_align
from .fov_error import focal_from_fov, fov_errors, project_points, vertical_fov
from .matching import (Matching, greedy_match_2d, keypoint_box_iou, mupots_identity_match,
                       nearest_pose_match)
from .pck3d import pck3d_per_person, rescale_bones_to_gt
from .relative import (AGE_GROUPS, PCDRAccumulator, PairOutcome, detection_prf1,
                       ordinal_pairs, person_scale, pck_2d)

__all__ = [
    'procrustes_align', 'point_errors', 'mean_point_error', 'mpjpe', 'pa_mpjpe',
    'project_points', 'vertical_fov', 'focal_from_fov', 'fov_errors',
    'Matching', 'greedy_match_2d', 'keypoint_box_iou', 'mupots_identity_match',
    'nearest_pose_match', 'pck3d_per_person', 'rescale_bones_to_gt',
    'AGE_GROUPS', 'PCDRAccumulator', 'PairOutcome', 'ordinal_pairs', 'person_scale',
    'pck_2d', 'detection_prf1',
]
