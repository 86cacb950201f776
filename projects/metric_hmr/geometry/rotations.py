"""Rotation conversions through roma (batched over leading dims, any device, autograd).

Conventions:
* axis-angle (rotation vector) ``(..., 3)``: direction = axis, norm = angle in radians.
* matrix ``(..., 3, 3)``: acts on column vectors, ``p' = R @ p``.
* 6D ``(..., 6)`` (Zhou et al. 2019), two layouts of the same two columns of R:
  - "concat": ``[R[:, 0], R[:, 1]]`` (:func:`rot6d_to_matrix`, :func:`matrix_to_rot6d`);
  - "interleaved": ``R[:, :2].reshape(6)``, i.e. ``x.reshape(3, 2)`` gives the columns
    (SPIN / HMR2 / SAT-HMR's ``rot6d_to_rotmat``): :func:`rot6d_interleaved_to_matrix`,
    :func:`matrix_to_rot6d_interleaved`.
  Gram-Schmidt keeps the direction of the first column.

numpy inputs are accepted and returned as numpy (computed in float64).
"""
from __future__ import annotations

import numpy as np
import roma
import torch

__all__ = ['axis_angle_to_matrix', 'matrix_to_axis_angle', 'rot6d_to_matrix',
           'matrix_to_rot6d', 'rot6d_to_axis_angle', 'rot6d_interleaved_to_matrix',
           'matrix_to_rot6d_interleaved']


def _as_tensor(x):
    if isinstance(x, torch.Tensor):
        return x, False
    return torch.as_tensor(np.asarray(x, dtype=np.float64)), True


def _back(y: torch.Tensor, was_numpy: bool):
    return y.detach().cpu().numpy() if was_numpy else y


def axis_angle_to_matrix(axis_angle):
    """(..., 3) rotation vectors -> (..., 3, 3) matrices (Rodrigues, exact at angle 0)."""
    x, np_in = _as_tensor(axis_angle)
    return _back(roma.rotvec_to_rotmat(x), np_in)


def matrix_to_axis_angle(matrix):
    """(..., 3, 3) rotation matrices -> (..., 3) rotation vectors, angle in [0, pi]."""
    x, np_in = _as_tensor(matrix)
    return _back(roma.rotmat_to_rotvec(x), np_in)


def rot6d_to_matrix(rot6d):
    """(..., 6) = [column 0, column 1] -> (..., 3, 3) by Gram-Schmidt."""
    x, np_in = _as_tensor(rot6d)
    cols = torch.stack([x[..., 0:3], x[..., 3:6]], dim=-1)     # (..., 3, 2)
    return _back(roma.special_gramschmidt(cols), np_in)


def matrix_to_rot6d(matrix):
    """(..., 3, 3) -> (..., 6): the first two columns, the inverse of :func:`rot6d_to_matrix`."""
    x, np_in = _as_tensor(matrix)
    return _back(torch.cat([x[..., :, 0], x[..., :, 1]], dim=-1), np_in)


def rot6d_to_axis_angle(rot6d):
    """(..., 6) -> (..., 3)."""
    return matrix_to_axis_angle(rot6d_to_matrix(rot6d))


def rot6d_interleaved_to_matrix(rot6d):
    """(..., 6) with ``x.reshape(3, 2)`` = the first two columns -> (..., 3, 3)."""
    x, np_in = _as_tensor(rot6d)
    return _back(roma.special_gramschmidt(x.reshape(*x.shape[:-1], 3, 2)), np_in)


def matrix_to_rot6d_interleaved(matrix):
    """(..., 3, 3) -> (..., 6) = ``R[..., :, :2].reshape(6)``."""
    x, np_in = _as_tensor(matrix)
    return _back(x[..., :, :2].reshape(*x.shape[:-2], 6), np_in)
