"""Fixture makers for tests and demos (no licensed data needed)."""

from __future__ import annotations

from .smpl_fixture import (H36M_JOINT_NAMES, SMPL_JOINT_NAMES, SMPL_PARENTS, build_smpl_arrays,
                           smplx_vertex_ids,
                           kid_template_path, make_h36m_regressor, make_smpl_model_file)

__all__ = ['H36M_JOINT_NAMES', 'SMPL_JOINT_NAMES', 'SMPL_PARENTS', 'build_smpl_arrays',
           'kid_template_path', 'make_h36m_regressor', 'make_smpl_model_file',
           'smplx_vertex_ids']
