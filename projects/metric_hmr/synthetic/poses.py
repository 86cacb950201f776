"""Plausible body poses (standing, walking, sitting on the ground, crouching).

A pose is a (24, 3) axis-angle array over the SMPL-24 joints, expressed in the *A-rest*
convention: each rotation acts about axes of the body's canonical frame (SMPL frame: x =
the body's left, y up, z forward) relative to a rest pose whose arms hang ~49 degrees below
horizontal (Anny's rest pose).  Joint 0 (pelvis) is the global orientation offset.  The
body adapters turn this into model parameters (Anny: local-ref bone deltas; SMPL: local
joint rotations relative to the T-pose, see :mod:`.bodies`).

Sign conventions in this frame: hip flexion (thigh forward) and shoulder forward swing are
negative rotations about x; knee flexion and spine forward bend are positive about x;
for the left arm, lowering it is a negative rotation about z and elbow flexion a negative
rotation about the axis perpendicular to the rest upper arm; right-side rotations are the
left ones mirrored (x -> -x: axis-angle (a, b, c) -> (a, -b, -c)).
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
from ..geometry import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = ['POSE_KINDS', 'SMPL24_NAMES', 'ARM_REST_DEG', 'sample_pose', 'mirror_aa']

POSE_KINDS = ('standing', 'walking', 'sitting', 'crouching')
SMPL24_NAMES = ('pelvis', 'left_hip', 'right_hip', 'spine1', 'left_knee', 'right_knee',
                'spine2', 'left_ankle', 'right_ankle', 'spine3', 'left_foot', 'right_foot',
                'neck', 'left_collar', 'right_collar', 'head', 'left_shoulder',
                'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                'left_hand', 'right_hand')
ARM_REST_DEG = 49.0          # Anny's rest upper arm, degrees below horizontal
_J = {n: i for i, n in enumerate(SMPL24_NAMES)}


def mirror_aa(aa: np.ndarray) -> np.ndarray:
    """Mirror an axis-angle rotation across the body's sagittal plane (x -> -x)."""
    aa = np.asarray(aa, np.float64)
    return aa * np.array([1.0, -1.0, -1.0])


def _rx(deg):
    return np.array([np.deg2rad(deg), 0.0, 0.0])


def _compose(*aas) -> np.ndarray:
    """Axis-angle of R(aas[0]) @ R(aas[1]) @ ..."""
    R = np.eye(3)
    for aa in aas:
        R = R @ axis_angle_to_matrix(aa)
    return matrix_to_axis_angle(R)


def _elbow_axis_left() -> np.ndarray:
    # perpendicular to the rest left upper arm (cos a, -sin a, 0) inside the frontal plane
    a = np.deg2rad(ARM_REST_DEG)
    return np.array([np.sin(a), np.cos(a), 0.0])


def _set_pair(pose, left_name, right_name, aa_left, aa_right=None):
    pose[_J[left_name]] = aa_left
    pose[_J[right_name]] = mirror_aa(aa_left if aa_right is None else aa_right)


def _arms(rng, pose, lower_deg, swing_l, swing_r, elbow_l, elbow_r):
    """Arms: extra lowering (deg, about z), forward swing (deg), elbow flexion (deg)."""
    ax = _elbow_axis_left()
    for side, swing, elbow in (('left', swing_l, elbow_l), ('right', swing_r, elbow_r)):
        lower = np.array([0.0, 0.0, -np.deg2rad(lower_deg + rng.normal(0, 4))])
        sh = _compose(_rx(-swing), lower)
        el = -np.deg2rad(elbow) * ax
        if side == 'left':
            pose[_J['left_shoulder']], pose[_J['left_elbow']] = sh, el
        else:
            pose[_J['right_shoulder']], pose[_J['right_elbow']] = mirror_aa(sh), mirror_aa(el)


def sample_pose(rng: np.random.Generator, kind: str) -> np.ndarray:
    """Draw one (24, 3) A-rest axis-angle pose of the given kind."""
    if kind not in POSE_KINDS:
        raise ValueError(f'unknown pose kind {kind!r}; use one of {POSE_KINDS}')
    pose = np.zeros((24, 3))
    u = rng.uniform
    if kind == 'standing':
        hl, hr = rng.normal(0, 5, 2)
        _set_pair(pose, 'left_hip', 'right_hip', _compose(_rx(hl), [0, 0, np.deg2rad(u(0, 6))]),
                  _compose(_rx(hr), [0, 0, np.deg2rad(u(0, 6))]))
        _set_pair(pose, 'left_knee', 'right_knee', _rx(u(0, 10)), _rx(u(0, 10)))
        pose[_J['spine2']] = _rx(rng.normal(0, 4))
        _arms(rng, pose, u(15, 35), rng.normal(0, 8), rng.normal(0, 8), u(-25, 15), u(-25, 15))
    elif kind == 'walking':
        amp = u(15, 30)
        phase = u(-1, 1)
        _set_pair(pose, 'left_hip', 'right_hip', _rx(-amp * phase), _rx(amp * phase))
        back_knee = u(10, 45)
        front_knee = u(0, 15)
        kl, kr = (back_knee, front_knee) if phase < 0 else (front_knee, back_knee)
        _set_pair(pose, 'left_knee', 'right_knee', _rx(kl), _rx(kr))
        pose[_J['spine2']] = _rx(u(0, 8))
        _arms(rng, pose, u(20, 35), amp * phase * 0.8, -amp * phase * 0.8, u(-20, 20), u(-20, 20))
    elif kind == 'sitting':                       # sitting on the ground, legs forward
        hip = u(75, 95)
        _set_pair(pose, 'left_hip', 'right_hip',
                  _compose(_rx(-hip), [0, 0, np.deg2rad(u(0, 15))]),
                  _compose(_rx(-hip + rng.normal(0, 5)), [0, 0, np.deg2rad(u(0, 15))]))
        kl, kr = u(0, 70, 2)
        _set_pair(pose, 'left_knee', 'right_knee', _rx(kl), _rx(kr))
        pose[_J['spine2']] = _rx(u(0, 20))
        _arms(rng, pose, u(0, 20), u(10, 45), u(10, 45), u(10, 50), u(10, 50))
    else:                                          # crouching, feet flat
        hip, knee = u(95, 120), u(110, 140)
        _set_pair(pose, 'left_hip', 'right_hip', _compose(_rx(-hip), [0, 0, np.deg2rad(u(5, 20))]),
                  _compose(_rx(-hip), [0, 0, np.deg2rad(u(5, 20))]))
        _set_pair(pose, 'left_knee', 'right_knee', _rx(knee), _rx(knee))
        # hip (-hip) + knee (+knee) + ankle = 0 keeps the feet flat on the ground
        _set_pair(pose, 'left_ankle', 'right_ankle', _rx(hip - knee), _rx(hip - knee))
        pose[_J['spine2']] = _rx(u(15, 35))
        _arms(rng, pose, u(0, 20), u(20, 60), u(20, 60), u(20, 70), u(20, 70))
    pose[_J['neck']] = np.deg2rad([rng.normal(0, 6), rng.normal(0, 20), rng.normal(0, 4)])
    return pose


def sample_pose_kinds(rng: np.random.Generator, n: int,
                      weights: Dict[str, float] | Sequence[float] | None = None) -> list:
    """Draw ``n`` pose kinds with the given weights (default: uniform over POSE_KINDS)."""
    if weights is None:
        p = np.full(len(POSE_KINDS), 1.0 / len(POSE_KINDS))
    elif isinstance(weights, dict):
        unknown = set(weights) - set(POSE_KINDS)
        if unknown:
            raise ValueError(f'unknown pose kinds in pose_weights: {sorted(unknown)}')
        p = np.array([float(weights.get(k, 0.0)) for k in POSE_KINDS])
    else:
        p = np.asarray(weights, np.float64)
    if p.shape != (len(POSE_KINDS),) or p.sum() <= 0 or np.any(p < 0):
        raise ValueError(f'pose_weights must be {len(POSE_KINDS)} non-negative numbers, got {weights}')
    idx = rng.choice(len(POSE_KINDS), size=n, p=p / p.sum())
    return [POSE_KINDS[i] for i in idx]
