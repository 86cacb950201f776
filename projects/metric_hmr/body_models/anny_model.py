"""Anny body model (``anny`` package) with T-pose height, height refit and sampling.

Shape
-----
Anny's shape is its phenotype vector, here a (B, 6) tensor in the order of
:data:`ANNY_PHENOTYPES` = (gender, age, muscle, weight, height, proportions), every value
in [0, 1].  ``gender`` 0 = male, 1 = female (Anny's blend of its 'male'/'female' targets);
``age`` is Anny's age parameter (0 = baby ... 1 = old; :meth:`AnnyBodyModel.years_to_age`
maps years to it with Anny's calibrated "morphological age" mapping); ``height`` moves the
body between Anny's 'minheight' and 'maxheight' targets at that age.

Frames and pose
---------------
Anny's native frame is z up, facing -y, person's left = +x.  With ``smpl_frame=True``
(default) outputs are rotated into SMPL's rest frame (y up, facing +z, left = +x:
``(x, y, z) -> (x, z, -y)``), so ``global_orient`` / ``transl`` have SMPL's meaning and
camera-space SMPL conventions (OpenCV camera, y down) carry over.

``body_pose``: (B, 3 * (J - 1)) axis-angle rotations of Anny's bones 1..J-1
(``bm.bone_labels``, J = 104 for the default 'anny' rig) in Anny's 'local-ref'
parameterisation: each rotation is about axes aligned with Anny's *native* frame at rest
(e.g. +x rotation of 'upperleg01.L' swings the leg backwards).  Zero = Anny's reference
pose (close to its rest A-pose).  ``global_orient`` (B, 3) rotates the whole body about
the root bone head (at the origin), then ``transl`` (B, 3) is added.
Named poses for scenes: :data:`NAMED_POSES` ('rest', 'stand', 'walk', 'sit') via
:meth:`AnnyBodyModel.named_pose`.  SMPL-24-style poses (one axis-angle per SMPL joint,
axes of SMPL's rest frame, zero = Anny's reference pose) are turned into
(``global_orient``, ``body_pose``) by :meth:`AnnyBodyModel.pose_from_smpl24`, which drives
the Anny bones of :data:`ANNY_SMPL24_BONES`; the same bones' heads give the SMPL-24
joints (:attr:`AnnyBodyModel.smpl24_joint_index`).  (Anny's bundled MPFB2 pose files
only contain T-poses for other rigs, so the named poses here are defined directly on the
'anny' rig.)

T-pose height: vertical extent of Anny's *rest* mesh (no skinning), as
``anny.anthropometry.Anthropometry.height`` measures it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from metric_hmr.geometry import axis_angle_to_matrix
from metric_hmr.registry import BODY_MODELS

from .common import as_like, check_targets, fit_flags, to_torch
from .root_find import find_root_bracketed
from .types import BodyOutput, HeightFit

__all__ = ['ANNY_PHENOTYPES', 'DEFAULT_CACHE', 'ANNY_TO_SMPL', 'NAMED_POSES', 'ANNY_SMPL24_BONES',
           'AnnyBodyModel']

ANNY_PHENOTYPES = ('gender', 'age', 'muscle', 'weight', 'height', 'proportions')
DEFAULT_CACHE = str(Path.home() / '.cache' / 'metric_hmr' / 'anny')
# native Anny (z up, facing -y) -> SMPL rest frame (y up, facing +z): (x, y, z) -> (x, z, -y)
ANNY_TO_SMPL = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# Named poses: {bone label: axis-angle (native-frame axes, radians)}; '.L' entries are
# mirrored to '.R' (x-rotations equal, y/z negated) unless given explicitly.
NAMED_POSES: Dict[str, Dict[str, Sequence[float]]] = {
    'rest': {},
    'stand': {'upperarm01.L': (0.0, 0.6, 0.0), 'lowerarm01.L': (-0.15, 0.0, 0.0)},
    'walk': {'upperleg01.L': (-0.35, 0.0, 0.0), 'lowerleg01.L': (0.25, 0.0, 0.0),
             'upperleg01.R': (0.30, 0.0, 0.0), 'lowerleg01.R': (0.45, 0.0, 0.0),
             'upperarm01.L': (0.30, 0.55, 0.0), 'upperarm01.R': (-0.30, -0.55, 0.0),
             'lowerarm01.L': (-0.3, 0.0, 0.0), 'lowerarm01.R': (-0.3, 0.0, 0.0)},
    'sit': {'upperleg01.L': (-1.5, 0.0, 0.0), 'lowerleg01.L': (1.5, 0.0, 0.0),
            'upperarm01.L': (-0.3, 0.55, 0.0), 'lowerarm01.L': (-0.6, 0.0, 0.0)},
}

# SMPL-24 joint (SMPL order) -> Anny bone whose head stands for that joint and whose
# 'local-ref' rotation carries the joint's rotation in :meth:`AnnyBodyModel.pose_from_smpl24`.
# Anny's spine has five bones (spine05 lowest .. spine01 highest); hands: middle finger base.
ANNY_SMPL24_BONES = (
    ('pelvis', 'root'), ('left_hip', 'upperleg01.L'), ('right_hip', 'upperleg01.R'),
    ('spine1', 'spine04'), ('left_knee', 'lowerleg01.L'), ('right_knee', 'lowerleg01.R'),
    ('spine2', 'spine03'), ('left_ankle', 'foot.L'), ('right_ankle', 'foot.R'),
    ('spine3', 'spine01'), ('left_foot', 'toe3-1.L'), ('right_foot', 'toe3-1.R'),
    ('neck', 'neck01'), ('left_collar', 'clavicle.L'), ('right_collar', 'clavicle.R'),
    ('head', 'head'), ('left_shoulder', 'upperarm01.L'), ('right_shoulder', 'upperarm01.R'),
    ('left_elbow', 'lowerarm01.L'), ('right_elbow', 'lowerarm01.R'),
    ('left_wrist', 'wrist.L'), ('right_wrist', 'wrist.R'),
    ('left_hand', 'finger3-1.L'), ('right_hand', 'finger3-1.R'),
)


@BODY_MODELS.register_module()
class AnnyBodyModel(nn.Module):
    """Anny wrapped with the BODY_MODELS interface.

    Args:
        cache_dir: Anny's cache folder (``ANNY_CACHE_DIR``); default: the environment
            variable if set, else ``~/.cache/metric_hmr/anny``.  Building the cache takes
            ~35 s the first time.
        rig, topology: Anny's rig / mesh topology ('anny', 'anny').
        smpl_frame: output in SMPL's rest frame (y up, facing +z); False: Anny's native.
        height_direction: default of :meth:`fit_height`: 'height' (height phenotype only),
            'age' (age only) or 'auto' (height, then age when the height phenotype alone
            cannot reach the target).
        height_bounds, age_bounds: brackets of the two phenotypes during the refit.
        fit_tol: |height - target| tolerance of the refit, metres.
        dtype: model dtype (Anny's default float64).
    """

    def __init__(self, cache_dir: Optional[str] = None, rig: str = 'anny',
                 topology: str = 'anny', smpl_frame: bool = True,
                 height_direction: str = 'height', height_bounds=(0.0, 1.0),
                 age_bounds=(0.0, 1.0), fit_tol: float = 1e-4,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        if cache_dir is None:
            os.environ.setdefault('ANNY_CACHE_DIR', DEFAULT_CACHE)
        import anny  # imported after ANNY_CACHE_DIR is set: anny reads it at import
        if cache_dir is not None:
            from anny.paths import set_anny_cache_path
            set_anny_cache_path(str(cache_dir))
        self.anny = anny.Anny(rig=rig, topology=topology).to(dtype=dtype)
        labels = tuple(self.anny.phenotype_labels)
        if labels != ANNY_PHENOTYPES:
            raise ValueError(f'unexpected Anny phenotype labels {labels}; expected '
                             f'{ANNY_PHENOTYPES} (anny version change?)')
        if height_direction not in ('height', 'age', 'auto'):
            raise ValueError(f"height_direction must be 'height', 'age' or 'auto', got "
                             f'{height_direction!r}')
        self.smpl_frame = bool(smpl_frame)
        self.height_direction = height_direction
        self.height_bounds = tuple(float(b) for b in height_bounds)
        self.age_bounds = tuple(float(b) for b in age_bounds)
        self.fit_tol = float(fit_tol)
        self.bone_labels: List[str] = list(self.anny.bone_labels)
        # float64 vertical template / blend shapes: the height only needs z
        self.register_buffer('_tz', self.anny.template_vertices[:, 2].double(),
                             persistent=False)
        self.register_buffer('_bz', self.anny.blendshapes[..., 2].double(), persistent=False)
        self._shape_dist = None

    # ------------------------------------------------------------------ basic API
    @property
    def num_betas(self) -> int:
        """Shape size (the 6 phenotype values)."""
        return len(ANNY_PHENOTYPES)

    @property
    def num_joints(self) -> int:
        return self.anny.bone_count

    @property
    def num_pose_params(self) -> int:
        """Size of ``body_pose``: axis-angle of every bone but the root."""
        return 3 * (self.anny.bone_count - 1)

    @property
    def num_vertices(self) -> int:
        return int(self.anny.template_vertices.shape[0])

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int64 triangles."""
        return self.anny.faces.detach().cpu().numpy().astype(np.int64)

    @property
    def phenotype_labels(self):
        return ANNY_PHENOTYPES

    def _device(self):
        return self.anny.template_vertices.device

    def _shape_tensor(self, betas, dtype=None) -> torch.Tensor:
        dtype = dtype or self.anny.dtype
        b = to_torch(betas, dtype, self._device())
        if b.dim() == 1:
            b = b[None]
        if b.shape[1] != self.num_betas:
            raise ValueError(f'Anny shape must have {self.num_betas} phenotype values '
                             f'{ANNY_PHENOTYPES}, got {tuple(b.shape)}')
        if not torch.isfinite(b).all():
            raise ValueError('Anny shape has non-finite values in rows '
                             f'{torch.where(~torch.isfinite(b).all(1))[0].tolist()}')
        return b

    def _rest_z(self, pheno: torch.Tensor) -> torch.Tensor:
        """(N, 6) phenotypes -> (N, V) vertical coordinates of the rest mesh (float64)."""
        m = self.anny
        if pheno.shape[0] == 0:
            return self._tz.new_zeros(0, self._tz.shape[0])
        # Anny's own phenotype -> blend-shape coefficient mapping (also used by forward);
        # tests check that the rest mesh built here equals forward's 'rest_vertices'.
        _, pp, lc, fa = m.get_tensor_inputs(None, pheno.to(m.dtype), None, None)
        coeffs = m._get_phenotype_blendshape_coefficients(pp, lc, fa).double()
        return self._tz.double()[None] + coeffs @ self._bz.double()

    def forward(self, betas=None, global_orient=None, body_pose=None, transl=None, *,
                shape=None, pose=None) -> BodyOutput:
        """Posed Anny meshes.

        Args:
            betas (alias ``shape``): (B, 6) phenotypes (:data:`ANNY_PHENOTYPES`).
            global_orient: (B, 3) axis-angle about the root (default 0).
            body_pose (alias ``pose``): (B, num_pose_params) or (B, J-1, 3) axis-angle
                per bone 1..J-1, 'local-ref' (default 0 = reference pose).
            transl: (B, 3) (default 0).

        Returns:
            BodyOutput(vertices (B, V, 3), joints (B, J, 3) bone heads).
        """
        betas = shape if betas is None else betas
        body_pose = pose if body_pose is None else body_pose
        if betas is None:
            raise ValueError('AnnyBodyModel.forward needs betas (phenotypes)')
        m = self.anny
        b = self._shape_tensor(betas)
        B, dev, dt = b.shape[0], b.device, b.dtype
        J = m.bone_count
        if B == 0:
            return BodyOutput(vertices=b.new_zeros(0, self.num_vertices, 3),
                              joints=b.new_zeros(0, J, 3))
        rot = torch.zeros(B, J, 3, dtype=dt, device=dev)
        if body_pose is not None:
            bp = to_torch(body_pose, dt, dev).reshape(B, -1)
            if bp.shape[1] != self.num_pose_params:
                raise ValueError(f'body_pose must have {self.num_pose_params} values per '
                                 f'person (axis-angle of bones 1..{J - 1}), got {bp.shape[1]}')
            rot[:, 1:] = bp.reshape(B, J - 1, 3)
        P = torch.eye(4, dtype=dt, device=dev).repeat(B, J, 1, 1)
        P[..., :3, :3] = axis_angle_to_matrix(rot)
        out = m(pose_parameters=P, phenotype_kwargs=b, pose_parameterization='local-ref')
        verts = out['vertices']
        joints = out['bone_poses'][..., :3, 3]
        R = torch.eye(3, dtype=dt, device=dev).expand(B, 3, 3)
        if self.smpl_frame:
            R = R @ ANNY_TO_SMPL.to(dtype=dt, device=dev)
        if global_orient is not None:
            go = to_torch(global_orient, dt, dev).reshape(B, 3)
            R = axis_angle_to_matrix(go) @ R
        verts = verts @ R.transpose(1, 2)
        joints = joints @ R.transpose(1, 2)
        if transl is not None:
            tr = to_torch(transl, dt, dev).reshape(B, 1, 3)
            verts, joints = verts + tr, joints + tr
        return BodyOutput(vertices=verts, joints=joints)

    def named_pose(self, name: str, batch_size: int = 1) -> torch.Tensor:
        """(batch_size, num_pose_params) ``body_pose`` of a named pose (:data:`NAMED_POSES`)."""
        if name not in NAMED_POSES:
            raise ValueError(f'unknown pose {name!r}; available: {sorted(NAMED_POSES)}')
        spec = dict(NAMED_POSES[name])
        for bone, rv in list(spec.items()):
            mirror = bone[:-2] + '.R'
            if bone.endswith('.L') and mirror not in spec:
                spec[mirror] = (rv[0], -rv[1], -rv[2])
        rot = torch.zeros(self.anny.bone_count, 3, dtype=self.anny.dtype)
        for bone, rv in spec.items():
            if bone not in self.bone_labels:
                raise ValueError(f'pose {name!r} names bone {bone!r}, absent from the rig')
            rot[self.bone_labels.index(bone)] = torch.as_tensor(rv, dtype=rot.dtype)
        return rot[1:].reshape(1, -1).repeat(batch_size, 1).to(self._device())

    @property
    def smpl24_joint_index(self) -> torch.Tensor:
        """(24,) long: index in ``bone_labels`` / ``forward(...).joints`` of each SMPL-24
        joint (:data:`ANNY_SMPL24_BONES`)."""
        missing = [b for _, b in ANNY_SMPL24_BONES if b not in self.bone_labels]
        if missing:
            raise ValueError(f'Anny rig lacks the SMPL-24 bones {missing} (rig != "anny"?)')
        return torch.tensor([self.bone_labels.index(b) for _, b in ANNY_SMPL24_BONES])

    def pose_from_smpl24(self, pose24):
        """SMPL-24-style axis-angles -> (``global_orient`` (B, 3), ``body_pose`` (B, 309)).

        Args:
            pose24: (B, 24, 3) axis-angle per SMPL-24 joint (SMPL order), rotation axes in
                SMPL's rest frame (y up, facing +z, left = +x), zero = Anny's reference pose
                (arms in its A-pose, not SMPL's T-pose).  Joint 0 is the global orientation
                (about the root bone head); joint k >= 1 rotates the Anny bone
                ``ANNY_SMPL24_BONES[k]``; Anny's other bones stay at zero.

        'local-ref' rotations are about Anny's native axes, so an SMPL-frame rotation R(v)
        becomes ``A^T R(v) A = R(A^T v)`` with A = :data:`ANNY_TO_SMPL` (SMPL <- native, a
        proper rotation): the axis-angle vector is simply re-expressed in native axes.  With
        ``smpl_frame=False`` the global orientation is converted the same way.
        Returns tensors in the model's dtype / device.
        """
        dt, dev = self.anny.dtype, self._device()
        p = to_torch(pose24, dt, dev)
        if p.dim() != 3 or p.shape[1:] != (24, 3):
            raise ValueError(f'pose24 must be (B, 24, 3) axis-angles, got {tuple(p.shape)}')
        B = p.shape[0]
        A = ANNY_TO_SMPL.to(dtype=dt, device=dev)
        rv_native = p @ A                                            # rows: A^T v
        rot = torch.zeros(B, self.anny.bone_count, 3, dtype=dt, device=dev)
        rot[:, self.smpl24_joint_index[1:].to(dev)] = rv_native[:, 1:]
        global_orient = p[:, 0] if self.smpl_frame else rv_native[:, 0]
        return global_orient.clone(), rot[:, 1:].reshape(B, self.num_pose_params)

    # ------------------------------------------------------------------ heights
    @torch.no_grad()
    def tpose_height(self, betas):
        """(B,) rest-mesh vertical extent in metres (same container type as ``betas``)."""
        z = self._rest_z(self._shape_tensor(betas))
        return as_like(z.amax(-1) - z.amin(-1), betas)

    def _heights_along(self, base: torch.Tensor, index: torch.Tensor,
                       t: torch.Tensor) -> torch.Tensor:
        """Heights of phenotypes ``base`` with column ``index[b]`` set to ``t[b, :]``.

        base: (B, 6); index: (B,) long; t: (B, n).  Returns (B, n), chunked.
        """
        B, n = t.shape
        pheno = base[:, None].repeat(1, n, 1)                       # (B, n, 6)
        pheno.scatter_(2, index[:, None, None].expand(B, n, 1), t[..., None])
        flat = pheno.reshape(B * n, -1)
        step = max(1, int(4e6 // self.num_vertices))
        h = []
        for s in range(0, flat.shape[0], step):
            lo, hi = torch.aminmax(self._rest_z(flat[s:s + step]), dim=-1)
            h.append(hi - lo)
        return torch.cat(h).reshape(B, n)

    def _fit_along(self, b: torch.Tensor, target: np.ndarray, which: str, tol: float):
        """Root find on one phenotype ('height' or 'age'); (betas, height, reached, flags)."""
        B, dev = b.shape[0], b.device
        k = ANNY_PHENOTYPES.index(which)
        lo_v, hi_v = self.height_bounds if which == 'height' else self.age_bounds
        idx = torch.full((B,), k, dtype=torch.long, device=dev)
        lo = torch.full((B,), lo_v, dtype=torch.float64, device=dev)
        hi = torch.full((B,), hi_v, dtype=torch.float64, device=dev)
        res = find_root_bracketed(lambda t, r: self._heights_along(b[r], idx[r], t),
                                  torch.as_tensor(target, device=dev), lo, hi,
                                  b[:, k].clone(), tol=tol)
        new_b = b.clone()
        new_b[:, k] = res.t
        flags = fit_flags(res)
        return new_b, res.value, res.reached, flags

    @torch.no_grad()
    def fit_height(self, betas, target_height, direction: Optional[str] = None,
                   is_minor=None, tol: Optional[float] = None) -> HeightFit:
        """Refit phenotypes so that the rest-mesh height equals ``target_height``.

        1-D bracketed root find (:func:`.root_find.find_root_bracketed`) on the height
        phenotype (``direction='height'``), the age phenotype ('age'), or the height and
        then, for persons the height phenotype cannot bring to the target, the age
        ('auto', reported as ``'height+age'``).  Out of reach: closest height + flag.

        Args:
            betas: (B, 6) phenotypes (numpy or torch).
            target_height: (B,) or scalar metres (finite, > 0).
            direction: None (configured default), 'height', 'age' or 'auto'.
            is_minor: accepted for interface compatibility (unused: Anny's age is explicit).
            tol: tolerance in metres (default ``fit_tol``).
        """
        del is_minor
        direction = self.height_direction if direction is None else direction
        if direction not in ('height', 'age', 'auto'):
            raise ValueError(f"Anny height direction must be 'height', 'age' or 'auto', got "
                             f'{direction!r}')
        tol = self.fit_tol if tol is None else float(tol)
        b = self._shape_tensor(betas, torch.float64)
        target = check_targets(target_height, b.shape[0])
        first = 'age' if direction == 'age' else 'height'
        new_b, height, reached, flags = self._fit_along(b, target, first, tol)
        names = [first] * b.shape[0]
        redo = [i for i in range(b.shape[0]) if direction == 'auto' and not reached[i]]
        if redo:
            idx = torch.as_tensor(redo, device=b.device)
            b2, h2, r2, f2 = self._fit_along(new_b[idx], target[redo], 'age', tol)
            new_b[idx], height[idx], reached[idx] = b2, h2, r2
            for j, i in enumerate(redo):
                flags[i], names[i] = f2[j], 'height+age'
        return HeightFit(betas=as_like(new_b, betas, keep_dtype=True),
                         height=as_like(height, betas), reached=as_like(reached, betas),
                         flags=flags, direction=names)

    def height_range(self, betas):
        """(B, 2) min / max heights reachable with the height phenotype in its bounds."""
        b = self._shape_tensor(betas, torch.float64)
        idx = torch.full((b.shape[0],), ANNY_PHENOTYPES.index('height'), dtype=torch.long,
                         device=b.device)
        t = torch.tensor(self.height_bounds, dtype=torch.float64,
                         device=b.device).expand(b.shape[0], 2)
        with torch.no_grad():
            h = self._heights_along(b, idx, t)
        return as_like(torch.stack([h.amin(1), h.amax(1)], 1), betas)

    # ------------------------------------------------------------------ ages and sampling
    def _distribution(self):
        if self._shape_dist is None:
            from anny.shape_distribution import SimpleShapeDistribution
            self._shape_dist = SimpleShapeDistribution(self.anny)
        return self._shape_dist

    def years_to_age(self, age_years) -> np.ndarray:
        """Anny age parameter(s) for ages in years (Anny's calibrated mapping), clipped
        to ``age_bounds``."""
        years = torch.as_tensor(np.atleast_1d(np.asarray(age_years, np.float64)))
        mapping = self._distribution().morphological_age_mapping
        a = mapping.morphological_to_anny_age(years.to(mapping.anny_age_anchors))
        return np.clip(a.cpu().numpy(), *self.age_bounds)

    def age_to_years(self, age_param) -> np.ndarray:
        """Ages in years for Anny age parameter(s)."""
        a = torch.as_tensor(np.atleast_1d(np.asarray(age_param, np.float64)))
        mapping = self._distribution().morphological_age_mapping
        return mapping.anny_to_morphological_age(a.to(mapping.anny_age_anchors)).cpu().numpy()

    def sample_shape(self, age_years, is_male, rng: np.random.Generator) -> np.ndarray:
        """Random phenotypes (B, 6) float32 for given ages (years) and sexes.

        Uses Anny's WHO-calibrated conditional distributions
        (``anny.shape_distribution.SimpleShapeDistribution``: per-sex Beta distributions
        of height, weight, muscle and proportions given the age parameter), drawn with
        the numpy ``rng`` for reproducibility.  Gender is uniform in [0, 0.5] for males
        and [0.5, 1] for females (Anny's sampler uses the same split).
        """
        years = np.atleast_1d(np.asarray(age_years, dtype=np.float64))
        bad = np.where(~np.isfinite(years) | (years < 0))[0]
        if bad.size:
            raise ValueError(f'age_years must be finite and >= 0; person(s) {bad.tolist()} '
                             f'have {years[bad].tolist()}')
        male = np.broadcast_to(np.asarray(is_male, bool), years.shape)
        dist = self._distribution()
        age = self.years_to_age(years)
        age_t = torch.as_tensor(age)
        out = np.zeros((len(years), self.num_betas))
        out[:, 0] = np.where(male, 0.5 * rng.random(len(years)), 0.5 + 0.5 * rng.random(len(years)))
        out[:, 1] = age
        for col, name in ((4, 'height'), (3, 'weight'), (2, 'muscle'), (5, 'proportions')):
            for sex, prefix in ((True, 'boys'), (False, 'girls')):
                m = male == sex
                if not m.any():
                    continue
                cond = getattr(dist, f'{prefix}_conditional_{name}_distribution')
                a, b = cond.get_distribution_params(age_t[m].to(cond.age_anchors))
                out[m, col] = rng.beta(a.cpu().numpy(), b.cpu().numpy())
        return out.astype(np.float32)
