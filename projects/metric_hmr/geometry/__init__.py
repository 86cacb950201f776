"""One home for geometry (roma/kornia style): one function per conversion, convention in the
name, shapes documented, tests pinning every convention (tests/metric_hmr/geometry/).

* :mod:`.camera`: focal length <-> vertical field of view (radians only), pinhole projection
  (OpenCV pixel-centre convention) and its raster variant (pixel j covers [j, j+1)).
* :mod:`.rotations`: axis-angle, rotation matrix, 6D (through roma, batched, any device).

Framework-free: numpy / torch / roma only.
"""

from __future__ import annotations

from .camera import (focal_to_vfov, project_points, project_points_raster,
                     project_points_torch, retarget_translation_to_intrinsics, vfov_to_focal)
from .rotations import (axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d,
                        matrix_to_rot6d_interleaved, rot6d_interleaved_to_matrix,
                        rot6d_to_axis_angle, rot6d_to_matrix)

__all__ = ['focal_to_vfov', 'vfov_to_focal', 'project_points', 'project_points_raster',
           'project_points_torch', 'retarget_translation_to_intrinsics',
           'axis_angle_to_matrix', 'matrix_to_axis_angle',
           'rot6d_to_matrix', 'matrix_to_rot6d', 'rot6d_to_axis_angle',
           'rot6d_interleaved_to_matrix', 'matrix_to_rot6d_interleaved']
