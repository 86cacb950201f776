"""Body adapters of the synthetic generator: shape sampling and posing in a canonical frame.

Canonical body frame (shared by every adapter): SMPL's, i.e. y up, facing +z, the body's
left = +x, metres, pelvis (root joint) at the origin.  ``pose()`` returns vertices and the
SMPL-24 joints in this frame; the generator rotates about y, stands the body on the
ground and moves it into the camera.

* :class:`AnnyBodies` (default) drives the ``anny`` package directly (the wrapper in
  ``metric_hmr.body_models`` does not pose), with its WHO-calibrated phenotype
  distributions for a given age and sex.  Shape vector = Anny phenotype values in
  ``PHENOTYPE_LABELS`` order.  Anny's model frame is x left, y back, z up; the change of
  basis to the canonical frame is ``ANNY_TO_CANON``.  Anny bones are mapped to SMPL-24
  joints by ``ANNY_BONE_OF_SMPL24`` (bone head positions; documented in docs/synthetic.md).
* :class:`SMPLBodies` uses an SMPL-format :class:`~metric_hmr.body_models.SMPLBodyModel`
  (shape sampling and heights from the wrapper) and keeps SMPL parameters, so scenes can
  be exported in CameraHMR's release format.
"""
from __future__ import annotations

import os
from typing import NamedTuple, Optional

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from .poses import ARM_REST_DEG, SMPL24_NAMES

__all__ = ['PosedBodies', 'AnnyBodies', 'SMPLBodies', 'build_bodies', 'ANNY_BONE_OF_SMPL24',
           'ANNY_TO_CANON', 'PHENOTYPE_LABELS']

PHENOTYPE_LABELS = ('gender', 'age', 'muscle', 'weight', 'height', 'proportions')
# rows: canonical axes in Anny coordinates  (x_c = x_a, y_c = z_a, z_c = -y_a)
ANNY_TO_CANON = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# SMPL-24 joint -> Anny bone whose head is used as that joint (and whose pose delta carries
# the joint's rotation).  Spine: Anny has five spine bones (05 lowest .. 01 highest).
ANNY_BONE_OF_SMPL24 = {
    'pelvis': 'root', 'left_hip': 'upperleg01.L', 'right_hip': 'upperleg01.R',
    'spine1': 'spine04', 'left_knee': 'lowerleg01.L', 'right_knee': 'lowerleg01.R',
    'spine2': 'spine03', 'left_ankle': 'foot.L', 'right_ankle': 'foot.R',
    'spine3': 'spine01', 'left_foot': 'toe3-1.L', 'right_foot': 'toe3-1.R',
    'neck': 'neck01', 'left_collar': 'clavicle.L', 'right_collar': 'clavicle.R',
    'head': 'head', 'left_shoulder': 'upperarm01.L', 'right_shoulder': 'upperarm01.R',
    'left_elbow': 'lowerarm01.L', 'right_elbow': 'lowerarm01.R',
    'left_wrist': 'wrist.L', 'right_wrist': 'wrist.R',
    'left_hand': 'finger3-1.L', 'right_hand': 'finger3-1.R',
}
# male / female values of Anny's continuous 'gender' phenotype (0 = male, 1 = female)
_GENDER_RANGE = {True: (0.0, 0.3), False: (0.7, 1.0)}


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


def _anny_cache_default():
    os.environ.setdefault('ANNY_CACHE_DIR', os.path.expanduser('~/.cache/metric_hmr/anny'))


class AnnyBodies:
    """Anny bodies (shape = phenotype vector, pose = A-rest SMPL-24 axis-angles)."""
    name = 'anny'
    has_smpl = False

    def __init__(self, device: str = 'cpu'):
        _anny_cache_default()
        import anny
        from anny.shape_distribution import SimpleShapeDistribution
        self.model = anny.Anny().to(device)
        labels = tuple(self.model.phenotype_labels)
        if labels != PHENOTYPE_LABELS:
            raise ValueError(f'unexpected Anny phenotype labels {labels}, expected {PHENOTYPE_LABELS}')
        self.faces = self.model.get_triangular_faces().cpu().numpy().astype(np.int64)
        self.bone_labels = list(self.model.bone_labels)
        self.bone_index = np.array([self.bone_labels.index(ANNY_BONE_OF_SMPL24[n])
                                    for n in SMPL24_NAMES])
        self._dist = SimpleShapeDistribution(self.model)
        self.shape_dim = len(PHENOTYPE_LABELS)

    # -- shape ---------------------------------------------------------------------------
    def sample_shape(self, age_years, is_male, rng: np.random.Generator) -> np.ndarray:
        """(K,) ages (years) and sexes -> (K, 6) phenotype values (WHO-calibrated Betas).

        Anny's own sampler draws a random age; here the age and sex are given: the
        morphological age is mapped to Anny's age value and height / weight / muscle /
        proportions are drawn from the sex's age-conditional Beta distributions, with
        numpy draws (seeded) through the Beta inverse CDF.
        """
        from scipy.stats import beta as beta_dist
        age_years = np.asarray(age_years, np.float64)
        is_male = np.asarray(is_male, bool)
        K = len(age_years)
        d = self._dist
        with torch.no_grad():
            anny_age = d.morphological_age_mapping.morphological_to_anny_age(
                torch.as_tensor(age_years, dtype=torch.float64)).numpy()
        out = np.zeros((K, 6))
        out[:, 1] = anny_age
        for k in range(K):
            lo, hi = _GENDER_RANGE[bool(is_male[k])]
            out[k, 0] = rng.uniform(lo, hi)
            pre = 'boys' if is_male[k] else 'girls'
            a_t = torch.tensor([anny_age[k]], dtype=torch.float64)
            for col, name in ((4, 'height'), (3, 'weight'), (2, 'muscle'), (5, 'proportions')):
                cond = getattr(d, f'{pre}_conditional_{name}_distribution')
                with torch.no_grad():
                    a, b = cond.get_distribution_params(a_t)
                out[k, col] = float(beta_dist.ppf(rng.uniform(1e-4, 1 - 1e-4), float(a), float(b)))
        return out

    def _phenotype_kwargs(self, shape: np.ndarray):
        t = torch.as_tensor(np.asarray(shape, np.float64), dtype=self.model.dtype)
        return {lab: t[:, i] for i, lab in enumerate(PHENOTYPE_LABELS)}

    def tpose_height(self, shape: np.ndarray) -> np.ndarray:
        """(K,) rest-pose height: vertical extent of the rest mesh (anny.Anthropometry)."""
        if len(shape) == 0:
            return np.zeros(0)
        with torch.no_grad():
            out = self.model(phenotype_kwargs=self._phenotype_kwargs(shape))
        v = out['rest_vertices'].cpu().numpy()
        return v[..., 2].max(-1) - v[..., 2].min(-1)

    # -- pose ----------------------------------------------------------------------------
    def pose_parameters(self, pose24: np.ndarray) -> torch.Tensor:
        """(K, 24, 3) A-rest axis-angles -> (K, bones, 4, 4) Anny local-ref deltas.

        local-ref deltas rotate about Anny model-frame axes, so a canonical-frame rotation
        R becomes ``A^T R A`` with A = ANNY_TO_CANON (canonical <- Anny).
        """
        pose24 = np.asarray(pose24, np.float64)
        K = pose24.shape[0]
        Rc = Rotation.from_rotvec(pose24.reshape(-1, 3)).as_matrix().reshape(K, 24, 3, 3)
        A = ANNY_TO_CANON
        Ra = np.einsum('ij,kljm,mn->klin', A.T, Rc, A)
        P = np.tile(np.eye(4), (K, len(self.bone_labels), 1, 1))
        P[:, self.bone_index[1:], :3, :3] = Ra[:, 1:]
        P[:, 0, :3, :3] = Ra[:, 0]                        # root: global orientation offset
        return torch.as_tensor(P, dtype=self.model.dtype)

    def pose(self, shape: np.ndarray, pose24: np.ndarray) -> PosedBodies:
        """Posed vertices / SMPL-24 joints in the canonical frame, pelvis at the origin."""
        shape = np.asarray(shape, np.float64)
        if len(shape) == 0:
            V = self.model.template_vertices.shape[0]
            return PosedBodies(np.zeros((0, V, 3)), np.zeros((0, 24, 3)), np.zeros(0),
                               np.zeros((0, 3)))
        with torch.no_grad():
            out = self.model(pose_parameters=self.pose_parameters(pose24),
                             phenotype_kwargs=self._phenotype_kwargs(shape))
        v = out['vertices'].cpu().numpy()
        heads = out['bone_poses'][:, :, :3, 3].cpu().numpy()[:, self.bone_index]
        rest = out['rest_vertices'].cpu().numpy()
        height = rest[..., 2].max(-1) - rest[..., 2].min(-1)
        root = heads[:, :1]
        A = ANNY_TO_CANON
        return PosedBodies(vertices=(v - root) @ A.T, joints=(heads - root) @ A.T,
                           height=height, origin=root[:, 0] @ A.T)


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
        R = Rotation.from_rotvec(pose24.reshape(-1, 3)).as_matrix().reshape(K, 24, 3, 3)
        a = np.deg2rad(ARM_REST_DEG)
        for side, sign in (('left', -1.0), ('right', 1.0)):
            off = Rotation.from_rotvec([0, 0, sign * a]).as_matrix()
            sh = SMPL24_NAMES.index(f'{side}_shoulder')
            R[:, sh] = R[:, sh] @ off
            for j in (f'{side}_elbow', f'{side}_wrist', f'{side}_hand'):
                i = SMPL24_NAMES.index(j)
                R[:, i] = off.T @ R[:, i] @ off
        return Rotation.from_matrix(R.reshape(-1, 3, 3)).as_rotvec().reshape(K, 72)

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

    ``None`` or ``dict(type='AnnyBodyModel')``: Anny.  Any other BODY_MODELS config (e.g.
    ``dict(type='SMPLBodyModel', model_path=...)``) is built and wrapped in SMPLBodies.
    """
    if cfg is None or cfg.get('type') in ('AnnyBodyModel', 'anny'):
        return AnnyBodies(**{k: v for k, v in (cfg or {}).items() if k == 'device'})
    from metric_hmr.registry import BODY_MODELS
    import metric_hmr.body_models  # noqa: F401  (registers SMPLBodyModel)
    return SMPLBodies(BODY_MODELS.build(dict(cfg)))
