"""Joint orders used by the benchmark protocols and the index maps between them.

Orders are written as name lists so every map below is derived by name (a typo
fails loudly at import time instead of silently mis-mapping a joint).

* ``CROWDPOSE14``: the 2D evaluation skeleton of Relative Human.
* ``RH_BK19`` / ``RH_OCHUMAN19``: the two 19-joint annotation orders found in the
  Relative Human annotation files (BK images: basename of 7 characters).
* ``H36M17``: the joints produced by the SMPL H36M joint regressor
  (``J_regressor_h36m.npy``) and used by the MuPoTS annotations after MA-HMR's
  preprocessing. ``H36M_EVAL14`` are the 14 evaluation joints of §6.
* ``MPI17``: the MuPoTS / MPI-INF-3DHP test order used by the official 3D-PCK.
* ``SMPL24``: the 24 SMPL joints.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

__all__ = ['CROWDPOSE14', 'RH_BK19', 'RH_OCHUMAN19', 'H36M17', 'H36M_PELVIS', 'H36M_EVAL14',
           'MPI17', 'MPI_OF_H36M', 'H36M_TO_MPI', 'MPI_PELVIS', 'MPI_EVAL14', 'MPI_MATCH_JOINTS',
           'MPI_PARENTS', 'MPI_TRAVERSAL', 'SMPL24', 'SMPL_HEAD_TOP_VERTEX', 'index_map',
           'BK19_TO_CROWDPOSE14', 'OCHUMAN19_TO_CROWDPOSE14', 'SMPL24_TO_CROWDPOSE14',
           'remap_keypoints', 'rh_skeleton_of']

CROWDPOSE14 = ['l_shoulder', 'r_shoulder', 'l_elbow', 'r_elbow', 'l_wrist', 'r_wrist',
               'l_hip', 'r_hip', 'l_knee', 'r_knee', 'l_ankle', 'r_ankle', 'head_top', 'neck']

RH_BK19 = ['head_top', 'nose', 'neck', 'l_eye', 'r_eye', 'l_shoulder', 'r_shoulder',
           'l_elbow', 'r_elbow', 'l_wrist', 'r_wrist', 'l_hip', 'r_hip', 'l_knee',
           'r_knee', 'l_ankle', 'r_ankle', 'l_bigtoe', 'r_bigtoe']

RH_OCHUMAN19 = ['r_shoulder', 'r_elbow', 'r_wrist', 'l_shoulder', 'l_elbow', 'l_wrist',
                'r_hip', 'r_knee', 'r_ankle', 'l_hip', 'l_knee', 'l_ankle', 'head_top',
                'neck', 'r_ear', 'l_ear', 'nose', 'r_eye', 'l_eye']

H36M17 = ['pelvis', 'r_hip', 'r_knee', 'r_ankle', 'l_hip', 'l_knee', 'l_ankle', 'spine',
          'thorax', 'neck_nose', 'head', 'l_shoulder', 'l_elbow', 'l_wrist',
          'r_shoulder', 'r_elbow', 'r_wrist']
H36M_PELVIS = 0
# §6: the 14 evaluation joints (all but pelvis, spine and neck/nose).
H36M_EVAL14 = [1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16]

MPI17 = ['head_top', 'neck', 'r_shoulder', 'r_elbow', 'r_wrist', 'l_shoulder', 'l_elbow',
         'l_wrist', 'r_hip', 'r_knee', 'r_ankle', 'l_hip', 'l_knee', 'l_ankle', 'pelvis',
         'spine', 'head']
# MuPoTS "H36M order" of MA-HMR's preprocessing: H36M17 joint k is MPI17 joint
# MPI_OF_H36M[k] (head_top of MPI plays the H36M 'head', thorax <- neck, ...).
MPI_OF_H36M = [14, 8, 9, 10, 11, 12, 13, 15, 1, 16, 0, 5, 6, 7, 2, 3, 4]
H36M_TO_MPI = list(np.argsort(MPI_OF_H36M))   # mpi = h36m[:, H36M_TO_MPI]
MPI_PELVIS = 14
MPI_EVAL14 = list(range(14))                   # 3D-PCK joints (head_top ... l_ankle)
MPI_MATCH_JOINTS = list(range(1, 14))          # 2D identity matching joints
# Kinematic parents in MPI17 (pelvis is the root); bones are rescaled root-outwards.
MPI_PARENTS = [1, 15, 1, 2, 3, 1, 5, 6, 14, 8, 9, 14, 11, 12, 14, 14, 1]
MPI_TRAVERSAL = [14, 15, 1, 0, 16, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]

SMPL24 = ['pelvis', 'l_hip', 'r_hip', 'spine1', 'l_knee', 'r_knee', 'spine2', 'l_ankle',
          'r_ankle', 'spine3', 'l_foot', 'r_foot', 'neck', 'l_collar', 'r_collar', 'head',
          'l_shoulder', 'r_shoulder', 'l_elbow', 'r_elbow', 'l_wrist', 'r_wrist',
          'l_hand', 'r_hand']
# SMPL template vertex at the top of the head (the common "head top" extra joint).
SMPL_HEAD_TOP_VERTEX = 411


def index_map(source: Sequence[str], target: Sequence[str]) -> np.ndarray:
    """Index of each ``target`` joint in ``source`` (-1 when ``source`` lacks it).

    Returns:
        (len(target),) int64.
    """
    pos: Dict[str, int] = {n: i for i, n in enumerate(source)}
    if len(pos) != len(source):
        raise ValueError(f'duplicate joint names in {list(source)}')
    return np.array([pos.get(n, -1) for n in target], dtype=np.int64)


BK19_TO_CROWDPOSE14 = index_map(RH_BK19, CROWDPOSE14)
OCHUMAN19_TO_CROWDPOSE14 = index_map(RH_OCHUMAN19, CROWDPOSE14)
# SMPL joints for the CrowdPose joints SMPL has (head_top comes from a vertex).
SMPL24_TO_CROWDPOSE14 = index_map(SMPL24, CROWDPOSE14)
assert (BK19_TO_CROWDPOSE14 >= 0).all() and (OCHUMAN19_TO_CROWDPOSE14 >= 0).all()
assert list(np.where(SMPL24_TO_CROWDPOSE14 < 0)[0]) == [CROWDPOSE14.index('head_top')]


def remap_keypoints(kpts: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Reorder keypoints; joints the source lacks (mapping -1) get visibility 0.

    Args:
        kpts: (..., J_src, C) keypoints; the last channel is visibility when C == 3.
        mapping: (J_dst,) indices into J_src or -1.

    Returns:
        (..., J_dst, C) float64, coordinates of missing joints set to 0.
    """
    kpts = np.asarray(kpts, dtype=np.float64)
    out = kpts[..., np.clip(mapping, 0, None), :].copy()
    missing = mapping < 0
    out[..., missing, :] = 0.0
    return out


def rh_skeleton_of(img_name: str, num_joints: int) -> List[str]:
    """Joint order of a Relative Human annotation (§6: BK when basename stem has 7 chars)."""
    import os
    if num_joints == 14:
        return CROWDPOSE14
    if num_joints != 19:
        raise ValueError(f'{img_name}: Relative Human kp2d has {num_joints} joints, '
                         'expected 19 (BK / OCHuman order) or 14 (CrowdPose order)')
    stem = os.path.splitext(os.path.basename(img_name))[0]
    return RH_BK19 if len(stem) == 7 else RH_OCHUMAN19
