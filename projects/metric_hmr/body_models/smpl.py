"""SMPL and SMPL-A body models (through ``smplx``) with T-pose height and height refit.

Conventions
-----------
* Model frame: SMPL's rest pose is y up, facing +z, person's left = +x.  ``forward``
  rotates the model by ``global_orient`` (about the root joint, as smplx does) and adds
  ``transl``; with camera-space parameters (as every dataset and HMR output of this
  project stores them, OpenCV camera: y down) the output is in camera space.
* T-pose height (paper §1 ``h_i``): vertical (y) extent of the zero-pose mesh, metres.
  With zero pose, linear blend skinning is the identity, so the zero-pose mesh is the
  shaped template ``v_template + shapedirs . betas``; we evaluate that directly.
* SMPL-A (``kid_template_path`` given): 11 shape values; the last one is the age blend
  ``a`` of smplx's ``age='kid'`` semantics: the 11th shape direction is
  ``(kid_template - mean(kid_template)) - v_template``, so ``a = 0`` is the adult template
  and ``a = 1`` the (centred) kid template, both plus the 10 ordinary betas.

Height refit (DTO refinement, ``docs/method.md`` §1): along one shape direction ``t``
(a single beta, the age blend, or any vector), solve ``height(t) = target`` with the
bracketed root find of :mod:`.root_find` (not one finite-difference step), per person,
to ``fit_tol`` (0.1 mm by default).  Targets outside the heights reachable within the
direction's bounds get the closest reachable height and a flag.
"""
from __future__ import annotations

import contextlib
import io
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from metric_hmr.registry import BODY_MODELS

from ..conventions import is_minor as minor_by_age

from .common import as_like, check_targets, fit_flags, to_torch
from .height_prior import sample_heights
from .root_find import find_root_bracketed
from .types import BodyOutput, HeightFit

__all__ = ['AGE_BLEND', 'SMPLBodyModel']

AGE_BLEND = 'age_blend'


def _resolve_model_file(model_path: str, gender: str) -> str:
    """The SMPL ``.pkl`` for ``model_path`` (a file, or a folder holding SMPL_<G>.pkl)."""
    if osp.isfile(model_path):
        return model_path
    name = f'SMPL_{gender.upper()}.pkl'
    tried = [osp.join(model_path, name), osp.join(model_path, 'smpl', name)]
    for cand in tried:
        if osp.isfile(cand):
            return cand
    raise FileNotFoundError(f'SMPL model file not found: model_path={model_path!r} is not a '
                            f'file and none of {tried} exists')


@BODY_MODELS.register_module()
class SMPLBodyModel(nn.Module):
    """SMPL (10 betas) or SMPL-A (11 betas: + kid-template age blend) via smplx.

    Args:
        model_path: SMPL ``.pkl`` file, or a folder with ``SMPL_<GENDER>.pkl`` (or
            ``smpl/SMPL_<GENDER>.pkl``).
        gender: 'neutral', 'male' or 'female' (folder look-up and smplx).
        num_betas: ordinary shape coefficients (10).
        kid_template_path: kid template ``.npy`` (V, 3) -> SMPL-A with ``num_betas + 1``.
        height_direction: default direction of :meth:`fit_height` ('auto', 'beta<k>',
            'age_blend', an int index, or a vector).
        beta_bounds: bracket of an ordinary beta during the refit.
        age_blend_bounds: bracket of the age blend during the refit.
        kid_height_threshold: with 'auto' on SMPL-A, targets below it (or persons marked
            as minors) are refit through the age blend, others through beta0 (the
            released code's rule, with 1.45 m).
        chain_beta0: continue along beta0 when the age blend alone cannot reach the
            target (see :meth:`fit_height`).
        fit_tol: |height - target| tolerance of the refit, metres.
        girth_std: std of the non-height betas drawn by :meth:`sample_shape`.
    """

    def __init__(self, model_path: str, gender: str = 'neutral', num_betas: int = 10,
                 kid_template_path: Optional[str] = None,
                 height_direction: Union[str, int, Sequence[float]] = 'auto',
                 beta_bounds=(-5.0, 5.0), age_blend_bounds=(0.0, 1.0),
                 kid_height_threshold: float = 1.45, chain_beta0: bool = True,
                 fit_tol: float = 1e-4, girth_std: float = 0.5):
        super().__init__()
        import smplx  # local import: heavy, and only needed here
        from smplx.utils import Struct

        from ..utils.io import load_smpl_model_file
        if gender not in ('neutral', 'male', 'female'):
            raise ValueError(f"gender must be 'neutral', 'male' or 'female', got {gender!r}")
        path = _resolve_model_file(str(model_path), gender)
        kwargs = dict(gender=gender, num_betas=num_betas, create_betas=False,
                      create_global_orient=False, create_body_pose=False,
                      create_transl=False)
        if kid_template_path is not None:
            if not osp.isfile(kid_template_path):
                raise FileNotFoundError(f'kid_template_path not found: {kid_template_path}')
            kwargs.update(age='kid', kid_template_path=str(kid_template_path))
        # smplx prints a warning for every SMPL file with 10 shape directions (all of them)
        with contextlib.redirect_stdout(io.StringIO()):
            # the arrays come from the project's safe reader: smplx would unpickle the file
            self.smpl = smplx.SMPL(model_path=path, data_struct=Struct(**load_smpl_model_file(path)),
                                   **kwargs)
        self.model_file = path
        self.gender = gender
        self.is_smpla = kid_template_path is not None
        self.num_betas = int(self.smpl.num_betas)
        self.height_direction = height_direction
        self.beta_bounds = tuple(float(b) for b in beta_bounds)
        self.age_blend_bounds = tuple(float(b) for b in age_blend_bounds)
        self.kid_height_threshold = float(kid_height_threshold)
        self.chain_beta0 = bool(chain_beta0)
        self.fit_tol = float(fit_tol)
        self.girth_std = float(girth_std)
        # float64 copies of the vertical template / shape directions (height only needs y)
        self.register_buffer('_vy', self.smpl.v_template[:, 1].double(), persistent=False)
        self.register_buffer('_sy', self.smpl.shapedirs[:, 1, :].double(), persistent=False)

    # ------------------------------------------------------------------ basic API
    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int64 triangles."""
        return np.asarray(self.smpl.faces, dtype=np.int64)

    @property
    def num_vertices(self) -> int:
        return int(self.smpl.v_template.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.smpl.J_regressor.shape[0])

    @property
    def num_pose_params(self) -> int:
        """Size of ``body_pose`` (23 joints x axis-angle = 69)."""
        return 3 * self.smpl.NUM_BODY_JOINTS

    @property
    def age_blend_index(self) -> Optional[int]:
        """Index of the SMPL-A age-blend coefficient (None for plain SMPL)."""
        return self.num_betas - 1 if self.is_smpla else None

    def _device(self) -> torch.device:
        return self.smpl.v_template.device

    def _betas_tensor(self, betas, dtype) -> torch.Tensor:
        """(B, nb_in) -> (B, num_betas) on the model device, zero-padded."""
        b = to_torch(betas, dtype, self._device())
        if b.dim() == 1:
            b = b[None]
        nb = b.shape[1]
        if nb < self.num_betas:
            b = torch.cat([b, b.new_zeros(b.shape[0], self.num_betas - nb)], dim=1)
        elif nb > self.num_betas:
            extra = b[:, self.num_betas:]
            if bool((extra != 0).any()):
                raise ValueError(f'betas have {nb} values but the model has {self.num_betas} '
                                 '(non-zero extra values; an SMPL-A shape needs '
                                 'kid_template_path)')
            b = b[:, :self.num_betas]
        return b

    def forward(self, betas, global_orient=None, body_pose=None, transl=None) -> BodyOutput:
        """Posed meshes.

        Args:
            betas: (B, nb) shape (nb <= num_betas; missing values are 0).
            global_orient: (B, 3) axis-angle root rotation (default 0).
            body_pose: (B, 69) axis-angle of the 23 body joints (default 0 = T-pose).
            transl: (B, 3) translation (default 0).

        Returns:
            BodyOutput(vertices (B, V, 3), joints (B, 24, 3)) on the model's device.
        """
        from smplx.lbs import lbs
        dtype = self.smpl.v_template.dtype
        b = self._betas_tensor(betas, dtype)
        B, dev = b.shape[0], b.device
        go = b.new_zeros(B, 3) if global_orient is None else to_torch(global_orient, dtype, dev)
        bp = (b.new_zeros(B, self.num_pose_params) if body_pose is None
              else to_torch(body_pose, dtype, dev))
        tr = b.new_zeros(B, 3) if transl is None else to_torch(transl, dtype, dev)
        for name, x, width in (('global_orient', go, 3), ('body_pose', bp, self.num_pose_params),
                               ('transl', tr, 3)):
            if x.shape != (B, width):
                raise ValueError(f'{name} must have shape ({B}, {width}), got {tuple(x.shape)}')
        if B == 0:
            return BodyOutput(vertices=b.new_zeros(0, self.num_vertices, 3),
                              joints=b.new_zeros(0, self.num_joints, 3))
        verts, joints = lbs(b, torch.cat([go, bp], dim=1), self.smpl.v_template,
                            self.smpl.shapedirs, self.smpl.posedirs, self.smpl.J_regressor,
                            self.smpl.parents, self.smpl.lbs_weights)
        return BodyOutput(vertices=verts + tr[:, None], joints=joints + tr[:, None])

    # ------------------------------------------------------------------ heights
    def _heights_of_lines(self, base_y: torch.Tensor, dir_y: torch.Tensor,
                          t: torch.Tensor) -> torch.Tensor:
        """Heights of shapes ``base + t * dir`` from their vertical coordinates.

        base_y, dir_y: (B, V) y of the base shape and of the direction; t: (B, n).
        Returns (B, n).  Chunked over persons to bound memory.
        """
        B, n = t.shape
        V = base_y.shape[1]
        step = max(1, int(5e5 // max(1, n * V)))      # small chunks stay in cache
        out = []
        for s in range(0, B, step):
            y = torch.addcmul(base_y[s:s + step, None], t[s:s + step, :, None],
                              dir_y[s:s + step, None])
            lo, hi = torch.aminmax(y, dim=-1)
            out.append(hi - lo)
        return torch.cat(out, dim=0)

    @torch.no_grad()
    def tpose_height(self, betas):
        """T-pose height (vertical extent of the zero-pose mesh), metres.

        Args:
            betas: (B, nb) numpy or torch.
        Returns:
            (B,) float64, same container type (and torch device) as ``betas``.
        """
        b = self._betas_tensor(betas, torch.float64)
        y = self._vy.double()[None] + b @ self._sy.double().T          # (B, V)
        return as_like(y.amax(-1) - y.amin(-1), betas)

    def _direction(self, direction, target: np.ndarray, is_minor) -> list:
        """Per-person direction spec: (name, index or None, vector or None, lo, hi)."""
        B = len(target)
        minor = (np.zeros(B, bool) if is_minor is None
                 else np.broadcast_to(np.asarray(is_minor, bool), (B,)))
        specs = []
        for i in range(B):
            d = direction
            if isinstance(d, str) and d == 'auto':
                use_age = self.is_smpla and (minor[i] or target[i] < self.kid_height_threshold)
                d = AGE_BLEND if use_age else 0
            if isinstance(d, str):
                if d == AGE_BLEND:
                    if not self.is_smpla:
                        raise ValueError("direction 'age_blend' needs an SMPL-A model "
                                         '(kid_template_path)')
                    d = self.age_blend_index
                elif d.startswith('beta') and d[4:].isdigit():
                    d = int(d[4:])
                else:
                    raise ValueError(f"unknown height direction {d!r} (use 'auto', "
                                     "'beta<k>', 'age_blend', an index or a vector)")
            if isinstance(d, (int, np.integer)):
                k = int(d)
                if not 0 <= k < self.num_betas:
                    raise ValueError(f'direction index {k} outside [0, {self.num_betas})')
                is_age = self.is_smpla and k == self.age_blend_index
                lo, hi = self.age_blend_bounds if is_age else self.beta_bounds
                specs.append((AGE_BLEND if is_age else f'beta{k}', k, None, lo, hi))
            else:
                vec = np.asarray(d, dtype=np.float64).reshape(-1)
                if vec.shape[0] != self.num_betas or not np.isfinite(vec).all() \
                        or np.linalg.norm(vec) == 0:
                    raise ValueError(f'a direction vector needs {self.num_betas} finite values, '
                                     'not all zero')
                specs.append(('vector', None, vec / np.linalg.norm(vec), *self.beta_bounds))
        return specs

    @torch.no_grad()
    def fit_height(self, betas, target_height, direction=None, is_minor=None,
                   tol: Optional[float] = None) -> HeightFit:
        """Refit shapes so that their T-pose heights equal ``target_height``.

        Args:
            betas: (B, nb) current shapes (numpy or torch).
            target_height: (B,) or scalar, metres (finite, > 0).
            direction: None (the configured ``height_direction``), 'auto', 'beta<k>',
                'age_blend', an index, or a (num_betas,) vector (moved from the current
                shape, |t| within ``beta_bounds``).  'auto': the age blend on SMPL-A for
                minors / targets < ``kid_height_threshold``, else beta0.
            is_minor: (B,) bool, used by 'auto' on SMPL-A.
            tol: height tolerance in metres (default ``fit_tol``).

        With ``chain_beta0`` (default), persons whose age-blend refit hits the blend's
        bounds (e.g. infants shorter than the kid template) continue along beta0 from
        there (direction reported as ``'age_blend+beta0'``).

        Returns:
            HeightFit(betas (B, num_betas), height (B,), reached (B,), flags, direction).
        """
        tol = self.fit_tol if tol is None else float(tol)
        b = self._betas_tensor(betas, torch.float64)
        target = check_targets(target_height, b.shape[0])
        specs = self._direction(self.height_direction if direction is None else direction,
                                target, is_minor)
        new_b, height, reached, flags = self._fit_along(b, target, specs, tol)
        names = [s[0] for s in specs]
        redo = [i for i, s in enumerate(specs)
                if s[0] == AGE_BLEND and not reached[i] and self.chain_beta0]
        if redo:
            idx = torch.as_tensor(redo, device=b.device)
            sub = self._direction(0, target[redo], None)
            b2, h2, r2, f2 = self._fit_along(new_b[idx], target[redo], sub, tol)
            new_b[idx], height[idx], reached[idx] = b2, h2, r2
            for j, i in enumerate(redo):
                flags[i], names[i] = f2[j], AGE_BLEND + '+beta0'
        return HeightFit(betas=as_like(new_b, betas, keep_dtype=True),
                         height=as_like(height, betas), reached=as_like(reached, betas),
                         flags=flags, direction=names)

    def _fit_along(self, b: torch.Tensor, target: np.ndarray, specs: list, tol: float):
        """Root find along one direction per person; returns (betas, height, reached, flags)."""
        B, dev = b.shape[0], b.device
        base = b.clone()
        dvec = torch.zeros_like(b)
        lo = torch.empty(B, dtype=torch.float64, device=dev)
        hi = torch.empty_like(lo)
        start = torch.zeros_like(lo)
        for i, (_, k, vec, l, h) in enumerate(specs):
            lo[i], hi[i] = l, h
            if k is not None:           # move one coefficient: t is its absolute value
                start[i] = base[i, k]
                base[i, k] = 0.0
                dvec[i, k] = 1.0
            else:                       # move along a vector from the current shape
                dvec[i] = torch.as_tensor(vec, dtype=torch.float64, device=dev)
        sy = self._sy.double()
        base_y = self._vy.double()[None] + base @ sy.T
        dir_y = dvec @ sy.T
        res = find_root_bracketed(lambda t, r: self._heights_of_lines(base_y[r], dir_y[r], t),
                                  torch.as_tensor(target, device=dev), lo, hi, start, tol=tol)
        flags = fit_flags(res)
        return base + res.t[:, None] * dvec, res.value, res.reached, flags

    # ------------------------------------------------------------------ sampling
    def sample_shape(self, age_years, is_male, rng: np.random.Generator,
                     return_fit: bool = False):
        """Random shapes of given ages/sexes (synthetic crowds).

        A height is drawn from the CDC (< 20 years) / adult prior
        (:func:`.height_prior.sample_heights`), the non-height betas get Gaussian
        girth noise (std ``girth_std``), and the height is then reached with
        :meth:`fit_height` (configured direction; persons under 15 count as minors).

        Args:
            age_years: (B,) ages in years.
            is_male: (B,) bool.
            rng: numpy Generator.
            return_fit: also return the :class:`HeightFit` (flags show unreachable heights,
                e.g. infants on plain SMPL).
        Returns:
            betas (B, num_betas) float32 numpy [, HeightFit].
        """
        age = np.atleast_1d(np.asarray(age_years, dtype=np.float64))
        heights = sample_heights(age, is_male, rng)
        betas = np.zeros((len(age), self.num_betas))
        n_girth = self.num_betas - (1 if self.is_smpla else 0)
        betas[:, 1:n_girth] = self.girth_std * rng.standard_normal((len(age), n_girth - 1))
        fit = self.fit_height(betas, heights, is_minor=minor_by_age(age))
        out = np.asarray(fit.betas, dtype=np.float32)
        return (out, fit) if return_fit else out
