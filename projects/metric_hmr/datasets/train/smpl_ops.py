"""Pure numpy SMPL parameter operations used by the training transforms and datasets.

Notation: a posed SMPL body is V = R_go (V_rest - J0) + J0 + transl, where J0 is the rest
pelvis (depends on the shape only).  Hence the camera-space pelvis is J0 + transl, and a
rigid change of frame X -> R X + t (or a mirror X -> F X) of the whole body is expressed
in parameters by rotating ``global_orient`` and moving ``transl`` so that the pelvis lands
where the transformed pelvis is.
"""

from __future__ import annotations

import numpy as np
from metric_hmr.geometry import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = ['SMPL24_FLIP_PERM', 'MIRROR_X', 'flip_smpl_pose', 'mirror_transl', 'rotate_smpl',
           'rotation_z']

# SMPL-24 left/right joint swap (pelvis, spine, neck, head stay)
SMPL24_FLIP_PERM = np.array([0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16,
                             19, 18, 21, 20, 23, 22])
MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def flip_smpl_pose(pose: np.ndarray) -> np.ndarray:
    """Mirror SMPL poses about the body's x = 0 plane.

    Left and right joints swap and each axis-angle (x, y, z) becomes (x, -y, -z) (the
    conjugation F R F with F = diag(-1, 1, 1)).

    Args:
        pose: (N, 72) axis-angle, global orientation first.
    Returns:
        (N, 72) flipped pose; flipping twice gives the input back.
    """
    p = np.asarray(pose, dtype=np.float64).reshape(len(pose), 24, 3)[:, SMPL24_FLIP_PERM]
    p = p * np.array([1.0, -1.0, -1.0])
    return p.reshape(len(pose), 72)


def mirror_transl(transl: np.ndarray, pelvis_rest: np.ndarray) -> np.ndarray:
    """Translation of the mirrored body: the mirrored pelvis F (J0 + t) minus J0.

    Exact for a left-right symmetric template (J0 on the x = 0 plane gives t' = F t).
    transl, pelvis_rest: (N, 3).
    """
    return (np.asarray(transl) + pelvis_rest) * np.array([-1.0, 1.0, 1.0]) - pelvis_rest


def rotate_smpl(global_orient: np.ndarray, transl: np.ndarray, pelvis_rest: np.ndarray,
                R: np.ndarray, t: np.ndarray = None):
    """Apply X -> R X + t to posed SMPL bodies (one rigid motion, or one per person).

    Args:
        global_orient: (N, 3) axis-angle; transl, pelvis_rest: (N, 3);
        R: (3, 3) or (N, 3, 3); t: (3,) or (N, 3) (SAT-HMR's AGORA / BEDLAM files store the
            camera per person).
    Returns:
        (global_orient (N, 3), transl (N, 3)) in the new frame.
    """
    go = np.asarray(global_orient, dtype=np.float64)
    n = len(go)
    R = np.broadcast_to(np.asarray(R, dtype=np.float64), (n, 3, 3)) if n else np.zeros((0, 3, 3))
    t = np.zeros(3) if t is None else np.asarray(t, dtype=np.float64)
    t = np.broadcast_to(t, (n, 3))
    if n == 0:
        return go.reshape(0, 3), np.asarray(transl, dtype=np.float64).reshape(0, 3)
    go_new = matrix_to_axis_angle(R @ axis_angle_to_matrix(go))
    p = np.asarray(transl, dtype=np.float64) + pelvis_rest
    new_transl = np.einsum('nij,nj->ni', R, p) + t - pelvis_rest
    return go_new, new_transl


def rotation_z(angle_rad: float) -> np.ndarray:
    """Rotation about the optical axis; in image coordinates (x right, y down) it turns
    (u - cx, v - cy) by the same 2D rotation [[c, -s], [s, c]]."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
