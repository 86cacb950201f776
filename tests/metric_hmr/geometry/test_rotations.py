"""Rotation conventions (roma underneath): known rotations, round trips, numpy in/out."""
import math

import numpy as np
import torch

from metric_hmr.geometry import (axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d,
                                 rot6d_to_axis_angle, rot6d_to_matrix)


def test_known_rotation_acts_on_column_vectors():
    # +90 degrees about z maps x to y (right-handed, p' = R p)
    R = axis_angle_to_matrix(np.array([0.0, 0.0, math.pi / 2]))
    np.testing.assert_allclose(R @ np.array([1.0, 0, 0]), [0, 1, 0], atol=1e-12)
    assert isinstance(R, np.ndarray)
    np.testing.assert_allclose(axis_angle_to_matrix(np.zeros(3)), np.eye(3), atol=0)


def test_round_trips_batched():
    g = torch.Generator().manual_seed(0)
    aa = torch.randn(5, 4, 3, generator=g, dtype=torch.float64)
    aa = aa / aa.norm(dim=-1, keepdim=True) * torch.rand(5, 4, 1, generator=g, dtype=torch.float64) * 3.0
    R = axis_angle_to_matrix(aa)
    assert R.shape == (5, 4, 3, 3)
    torch.testing.assert_close(matrix_to_axis_angle(R), aa)
    six = matrix_to_rot6d(R)
    torch.testing.assert_close(six, torch.cat([R[..., :, 0], R[..., :, 1]], -1))  # columns
    torch.testing.assert_close(rot6d_to_matrix(six), R)
    torch.testing.assert_close(rot6d_to_axis_angle(six), aa)


def test_rot6d_gram_schmidt_keeps_first_column_direction():
    six = np.array([2.0, 0, 0, 1.0, 1.0, 0])     # columns (2,0,0) and (1,1,0)
    R = rot6d_to_matrix(six)
    np.testing.assert_allclose(R, np.eye(3), atol=1e-12)


def test_rot6d_interleaved_is_reshape_3x2():
    # SAT-HMR / SPIN layout: x.reshape(3, 2) holds the columns a1, a2
    from metric_hmr.geometry import matrix_to_rot6d_interleaved, rot6d_interleaved_to_matrix
    x = np.array([2.0, 1.0, 0.0, 1.0, 0.0, 0.0])   # a1 = (2,0,0), a2 = (1,1,0)
    np.testing.assert_allclose(rot6d_interleaved_to_matrix(x), np.eye(3), atol=1e-12)
    R = axis_angle_to_matrix(np.array([0.3, -0.2, 1.0]))
    six = matrix_to_rot6d_interleaved(R)
    np.testing.assert_allclose(six.reshape(3, 2), R[:, :2])
    np.testing.assert_allclose(rot6d_interleaved_to_matrix(six), R, atol=1e-12)


def test_rotations_are_converted_only_here(repo_root):
    """Issue 11: roma everywhere; no scipy Rotation and no hand-written Rodrigues outside
    metric_hmr.geometry (tests may use scipy as an independent reference)."""
    import re
    pat = re.compile(r'scipy\.spatial\.transform|\bRotation\.from_|def \w*(rotvec|rodrigues|axis_angle)\w*_to_'
                     r'|def rotation_from_axis_angle', re.IGNORECASE)
    hits = []
    for folder in ('projects/metric_hmr', 'dto_hooks', 'tools'):
        for path in sorted((repo_root / folder).rglob('*.py')):
            if 'metric_hmr/geometry/' in path.as_posix():
                continue
            hits += [f'{path.relative_to(repo_root)}:{n}: {line.strip()}'
                     for n, line in enumerate(path.read_text().splitlines(), 1) if pat.search(line)]
    assert hits == []
