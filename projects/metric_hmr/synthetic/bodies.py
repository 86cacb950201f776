"""Body adapters of the synthetic generator: shape sampling and posing in a canonical frame.

Canonical body frame (shared by every adapter): SMPL's, i.e. y up, facing +z, the body's
left = +x, metres, pelvis (root joint) at the origin.  ``pose()`` returns vertices and the
SMPL-24 joints in this frame; the generator rotates about y, stands the body on the
ground and moves it into the camera.  Both adapters are thin layers over the
``metric_hmr.body_models`` wrappers (the one code path for each body model):

* :class:`AnnyBodies` (default) uses :class:`~metric_hmr.body_models.AnnyBodyModel`:
  shape = its phenotype vector (``sample_shape``: WHO-calibrated, gender convention of the
  wrapper), heights = ``tpose_height`` (rest mesh), posing = ``pose_from_smpl24`` +
  ``forward`` in SMPL's frame, SMPL-24 joints = heads of the bones
  ``ANNY_BONE_OF_SMPL24`` (documented in docs/synthetic.md).
* :class:`SMPLBodies` uses an SMPL-format :class:`~metric_hmr.body_models.SMPLBodyModel`
  (shape sampling and heights from the wrapper) and keeps SMPL parameters, so scenes can
  be exported in CameraHMR's release format.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
import torch
from ..geometry import axis_angle_to_matrix, matrix_to_axis_angle

from metric_hmr.body_models.anny_model import ANNY_SMPL24_BONES

from .poses import ARM_REST_DEG, SMPL24_NAMES

__all__ = ['PosedBodies', 'AnnyBodies', 'SMPLBodies', 'build_bodies', 'ANNY_BONE_OF_SMPL24']

# SMPL-24 joint -> Anny bone (defined by the wrapper; re-exported for the docs / dataset)
ANNY_BONE_OF_SMPL24 = dict(ANNY_SMPL24_BONES)
if tuple(ANNY_BONE_OF_SMPL24) != SMPL24_NAMES:   # both orders must agree
    raise ImportError('ANNY_SMPL24_BONES is not in the SMPL-24 joint order of synthetic.poses')


class PosedBodies(NamedTuple):
    """Posed bodies in the canonical frame (pelvis at the origin).

    Attributes:
        vertices: (K, V, 3) float64; joints: (K, 24, 3) SMPL-24 joints;
        height: (K,) T-pose (rest) height, metres.
        origin: (K, 3) root position in the model's own output before centring (SMPL: the
            rest pelvis J0, needed to turn a root position into SMPL's ``transl``).
    """
    vertices: np.ndarray
    joints: np.ndarray
    height: np.ndarray
    origin: np.ndarray


def _np64(x) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if torch.is_tensor(x) else x, np.float64)


class AnnyBodies:
    """Anny bodies through ``AnnyBodyModel`` (shape = phenotypes, pose = A-rest SMPL-24
    axis-angles, zero = Anny's reference pose)."""
    name = 'anny'
    has_smpl = False
    # part of the generator's config hash: bump when this adapter's scenes change
    # (2: AnnyBodyModel path, its sample_shape / gender split)
    hash_salt = 'anny-adapter-2'

    def __init__(self, body_model):
        if not getattr(body_model, 'smpl_frame', False):
            raise ValueError('AnnyBodies needs an AnnyBodyModel with smpl_frame=True '
                             '(the generator works in SMPL\'s rest frame)')
        self.bm = body_model
        self.faces = np.asarray(body_model.faces, np.int64)
        self.shape_dim = int(body_model.num_betas)
        self.joint_index = body_model.smpl24_joint_index

    def sample_shape(self, age_years, is_male, rng: np.random.Generator) -> np.ndarray:
        """(K,) ages (years) and sexes -> (K, 6) phenotypes (``AnnyBodyModel.sample_shape``)."""
        return _np64(self.bm.sample_shape(np.asarray(age_years, np.float64),
                                          np.asarray(is_male, bool), rng))

    def tpose_height(self, shape: np.ndarray) -> np.ndarray:
        """(K,) rest-mesh height (``AnnyBodyModel.tpose_height``)."""
        return _np64(self.bm.tpose_height(np.asarray(shape, np.float64).reshape(-1, 6)))

    def pose(self, shape: np.ndarray, pose24: np.ndarray) -> PosedBodies:
        """Posed vertices / SMPL-24 joints in the canonical frame, pelvis at the origin."""
        shape = np.asarray(shape, np.float64).reshape(-1, 6)
        pose24 = np.asarray(pose24, np.float64).reshape(-1, 24, 3)
        if len(shape) != len(pose24):
            raise ValueError(f'{len(shape)} shapes but {len(pose24)} poses')
        with torch.no_grad():
            go, bp = self.bm.pose_from_smpl24(pose24)
            out = self.bm(betas=shape, global_orient=go, body_pose=bp)
        v = _np64(out.vertices)
        joints = _np64(out.joints)[:, self.joint_index.numpy()]
        root = joints[:, :1]
        return PosedBodies(vertices=v - root, joints=joints - root,
                           height=self.tpose_height(shape), origin=root[:, 0])


class SMPLBodies:
    """SMPL-format bodies through ``SMPLBodyModel`` (persons keep SMPL parameters).

    The A-rest pose is converted to SMPL's T-rest: the shoulders get the rest arm
    lowering ``R_off`` appended (``R_lib @ R_off``) and the joints below them are
    conjugated (``R_off^T R_lib R_off``) so the final limb directions match.
    """
    name = 'smpl'
    has_smpl = True

    def __init__(self, body_model):
        self.bm = body_model
        self.faces = np.asarray(body_model.faces, np.int64)
        self.shape_dim = int(getattr(body_model, 'num_betas', 10))

    def sample_shape(self, age_years, is_male, rng: np.random.Generator) -> np.ndarray:
        betas = self.bm.sample_shape(np.asarray(age_years, np.float64),
                                     np.asarray(is_male, bool), rng)
        return np.asarray(betas.detach().cpu().numpy() if torch.is_tensor(betas) else betas,
                          np.float64)

    def tpose_height(self, shape: np.ndarray) -> np.ndarray:
        h = self.bm.tpose_height(np.asarray(shape, np.float64))
        return np.asarray(h.detach().cpu().numpy() if torch.is_tensor(h) else h, np.float64)

    @staticmethod
    def smpl_pose(pose24: np.ndarray) -> np.ndarray:
        """(K, 24, 3) A-rest axis-angles -> (K, 72) SMPL axis-angles (T-rest)."""
        pose24 = np.asarray(pose24, np.float64)
        K = pose24.shape[0]
        R = axis_angle_to_matrix(pose24.reshape(K, 24, 3))
        a = np.deg2rad(ARM_REST_DEG)
        for side, sign in (('left', -1.0), ('right', 1.0)):
            off = axis_angle_to_matrix(np.array([0.0, 0.0, sign * a]))
            sh = SMPL24_NAMES.index(f'{side}_shoulder')
            R[:, sh] = R[:, sh] @ off
            for j in (f'{side}_elbow', f'{side}_wrist', f'{side}_hand'):
                i = SMPL24_NAMES.index(j)
                R[:, i] = off.T @ R[:, i] @ off
        return matrix_to_axis_angle(R).reshape(K, 72)

    def pose(self, shape: np.ndarray, pose24: np.ndarray) -> PosedBodies:
        shape = np.asarray(shape, np.float64)
        aa = self.smpl_pose(pose24)
        K = len(shape)
        with torch.no_grad():
            out = self.bm(betas=torch.as_tensor(shape, dtype=torch.float32),
                          global_orient=torch.as_tensor(aa[:, :3], dtype=torch.float32),
                          body_pose=torch.as_tensor(aa[:, 3:], dtype=torch.float32),
                          transl=torch.zeros(K, 3))
        v = out.vertices.detach().cpu().numpy().astype(np.float64)
        j = out.joints.detach().cpu().numpy().astype(np.float64)[:, :24]
        root = j[:, :1]
        return PosedBodies(vertices=v - root, joints=j - root, height=self.tpose_height(shape),
                           origin=root[:, 0])


def build_bodies(cfg: Optional[dict]):
    """Adapter from the generator's ``body_model`` config.

    ``None``, ``'anny'`` or ``dict(type='AnnyBodyModel', ...)`` (its other keys go to
    ``AnnyBodyModel``): Anny.  Any other BODY_MODELS config (e.g.
    ``dict(type='SMPLBodyModel', model_path=...)``) is built and wrapped in SMPLBodies.
    """
    from metric_hmr.registry import BODY_MODELS
    import metric_hmr.body_models  # noqa: F401  (registers the body models)
    if cfg is None or cfg.get('type') in ('AnnyBodyModel', 'anny'):
        cfg = dict(cfg or {}, type='AnnyBodyModel')
        return AnnyBodies(BODY_MODELS.build(cfg))
    return SMPLBodies(BODY_MODELS.build(dict(cfg)))
