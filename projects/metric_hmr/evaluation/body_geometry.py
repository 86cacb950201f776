"""SMPL geometry for the evaluators: meshes, regressed joints and T-pose heights.

Metrics receive SMPL parameters (prediction and ground truth) and need camera-space
vertices, the 17 H36M joints of the user's ``J_regressor_h36m.npy``, the CrowdPose-14
joints (for Relative Human) and T-pose heights. :class:`SMPLGeometry` wraps the body
models of ``BODY_MODELS`` (one per gender) plus the regressor and returns numpy.
"""

from __future__ import annotations

import os
from typing import Dict, NamedTuple, Optional, Sequence

import numpy as np

from ..conventions import adapt_betas
from .functional.joints import SMPL24_TO_CROWDPOSE14, SMPL_HEAD_TOP_VERTEX, CROWDPOSE14

__all__ = ['ZERO_BLEND_ATOL', 'GENDER_ALIASES', 'Meshes', 'normalise_gender', 'load_h36m_regressor', 'SMPLGeometry']

# |age blend| below this is numerical noise of a zero blend (dropped for a 10-beta model)
ZERO_BLEND_ATOL = 1e-8


def _model_betas(betas: np.ndarray, model) -> np.ndarray:
    """Shapes as ``model`` takes them (``conventions.adapt_betas``; a model without
    ``num_betas`` gets them unchanged)."""
    return adapt_betas(betas, getattr(model, 'num_betas', betas.shape[-1]), atol=ZERO_BLEND_ATOL)


GENDER_ALIASES = {'m': 'male', 'male': 'male', 'f': 'female', 'female': 'female',
                  'n': 'neutral', 'neutral': 'neutral'}


class Meshes(NamedTuple):
    """Camera-space meshes of N persons (numpy float64, metres).

    Attributes:
        vertices: (N, V, 3).
        joints: (N, 24, 3) SMPL joints.
    """
    vertices: np.ndarray
    joints: np.ndarray


def normalise_gender(g) -> str:
    """'m'/'male'/'f'/... -> 'male' | 'female' | 'neutral' (ValueError otherwise)."""
    if isinstance(g, bytes):
        g = g.decode()
    key = str(g).strip().lower()
    if key not in GENDER_ALIASES:
        raise ValueError(f'unknown gender {g!r} (expected m/f/male/female/neutral)')
    return GENDER_ALIASES[key]


def load_h36m_regressor(path: str) -> np.ndarray:
    """Load ``J_regressor_h36m.npy`` (17, V) (dense .npy; no pickle)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'H36M joint regressor not found: {path} '
                                '(J_regressor_h36m.npy shipped with the SMPL files)')
    reg = np.load(path, allow_pickle=False)
    if reg.ndim != 2 or reg.shape[0] != 17:
        raise ValueError(f'{path}: expected a (17, V) regressor, got {reg.shape}')
    return reg.astype(np.float64)


def _num_persons(betas) -> int:
    betas = np.asarray(betas)
    return 0 if betas.size == 0 else len(betas.reshape(-1, betas.shape[-1]))


class SMPLGeometry:
    """Body models + joint regressor used by the metrics.

    Args:
        body_model: ``BODY_MODELS`` config of the (neutral) model used for predictions.
        gendered_body_models: optional ``{'male': cfg, 'female': cfg}`` for
            ground-truth bodies annotated with a gender (3DPW, Hi4D).
        j_regressor_h36m: path of the (17, V) H36M regressor, or None when a metric
            needs no H36M joints.
        batch_size: persons per body-model call.
        head_top_vertex: mesh vertex used as the CrowdPose 'head_top' joint (411 on SMPL).
    """

    def __init__(self, body_model: dict, gendered_body_models: Optional[Dict[str, dict]] = None,
                 j_regressor_h36m: Optional[str] = None, batch_size: int = 64,
                 head_top_vertex: int = SMPL_HEAD_TOP_VERTEX):
        self._cfgs = {'neutral': dict(body_model)}
        for g, cfg in (gendered_body_models or {}).items():
            self._cfgs[normalise_gender(g)] = dict(cfg)
        self._models = {}
        self._reg_path = j_regressor_h36m
        self._reg = None
        self.batch_size = batch_size
        self.head_top_vertex = int(head_top_vertex)

    # ------------------------------------------------------------------ models
    def model(self, gender: str = 'neutral'):
        gender = normalise_gender(gender)
        if gender not in self._cfgs:
            raise ValueError(f'no body model configured for gender {gender!r}; add it to '
                             '`gendered_body_models` or set use_gt_gender=False')
        if gender not in self._models:
            from metric_hmr.registry import BODY_MODELS
            import metric_hmr.body_models  # noqa: F401  (registers the body models)
            self._models[gender] = BODY_MODELS.build(self._cfgs[gender])
        return self._models[gender]

    @property
    def h36m_regressor(self) -> np.ndarray:
        if self._reg is None:
            if self._reg_path is None:
                raise ValueError('this metric needs `j_regressor_h36m` (path of '
                                 'J_regressor_h36m.npy) in its config')
            self._reg = load_h36m_regressor(self._reg_path)
        return self._reg

    # ------------------------------------------------------------------ forward
    def meshes(self, params: dict, genders: Optional[Sequence] = None,
               cam_rot: Optional[np.ndarray] = None,
               cam_trans: Optional[np.ndarray] = None) -> Meshes:
        """Pose the bodies and express them in camera space.

        Args:
            params: ``global_orient (N,3), body_pose (N,69), betas (N,nb), transl (N,3)``.
            genders: N genders (None: neutral model for all).
            cam_rot, cam_trans: (N,3,3)/(3,3) and (N,3)/(3,) world->camera extrinsics
                when the parameters are in a world frame (3DPW, Hi4D annotations).

        Returns:
            :class:`Meshes` (N persons, camera space).
        """
        import torch
        n = _num_persons(params['betas'])
        genders = ['neutral'] * n if genders is None else [normalise_gender(g) for g in genders]
        if len(genders) != n:
            raise ValueError(f'{len(genders)} genders for {n} persons')
        verts_out, joints_out = [None] * n, [None] * n
        for gender in sorted(set(genders)):
            idx = np.array([i for i, g in enumerate(genders) if g == gender])
            bm = self.model(gender)
            for s in range(0, len(idx), self.batch_size):
                sel = idx[s:s + self.batch_size]
                kw = {}
                for k, width in (('global_orient', 3), ('body_pose', 69), ('transl', 3)):
                    kw[k] = np.asarray(params[k], np.float64).reshape(n, width)[sel]
                betas = np.asarray(params['betas'], np.float64).reshape(n, -1)[sel]
                kw['betas'] = _model_betas(betas, bm)
                with torch.no_grad():
                    out = bm(**{k: torch.as_tensor(v, dtype=torch.float32) for k, v in kw.items()})
                v = out.vertices.detach().cpu().double().numpy()
                j = out.joints.detach().cpu().double().numpy()[:, :24]
                for t, i in enumerate(sel):
                    verts_out[i], joints_out[i] = v[t], j[t]
        if n == 0:
            return Meshes(np.zeros((0, 0, 3)), np.zeros((0, 24, 3)))
        verts, joints = np.stack(verts_out), np.stack(joints_out)
        if cam_rot is not None:
            rot = np.broadcast_to(np.asarray(cam_rot, np.float64).reshape(-1, 3, 3), (n, 3, 3))
            trans = np.broadcast_to(np.asarray(cam_trans, np.float64).reshape(-1, 3), (n, 3))
            verts = np.einsum('nij,nvj->nvi', rot, verts) + trans[:, None]
            joints = np.einsum('nij,nvj->nvi', rot, joints) + trans[:, None]
        return Meshes(verts, joints)

    def h36m_joints(self, vertices: np.ndarray) -> np.ndarray:
        """(N, V, 3) -> (N, 17, 3) with the H36M regressor."""
        reg = self.h36m_regressor
        if len(vertices) and vertices.shape[1] != reg.shape[1]:
            raise ValueError(f'H36M regressor has {reg.shape[1]} vertices, the mesh '
                             f'{vertices.shape[1]}')
        return np.einsum('jv,nvc->njc', reg, vertices)

    def crowdpose_joints(self, vertices: np.ndarray, joints: np.ndarray) -> np.ndarray:
        """CrowdPose-14 joints from SMPL joints + the head-top vertex. -> (N,14,3)."""
        out = joints[:, np.clip(SMPL24_TO_CROWDPOSE14, 0, None)].copy()
        if len(vertices) and self.head_top_vertex >= vertices.shape[1]:
            raise ValueError(f'head_top_vertex {self.head_top_vertex} outside the mesh '
                             f'({vertices.shape[1]} vertices)')
        out[:, CROWDPOSE14.index('head_top')] = vertices[:, self.head_top_vertex]
        return out

    def tpose_heights(self, betas: np.ndarray, genders: Optional[Sequence] = None) -> np.ndarray:
        """T-pose heights (m) of N shapes with the matching gendered model. -> (N,)."""
        import torch
        betas = np.asarray(betas, np.float64)
        betas = betas.reshape(len(betas), -1) if betas.size else betas.reshape(0, 10)
        n = len(betas)
        genders = ['neutral'] * n if genders is None else [normalise_gender(g) for g in genders]
        out = np.zeros(n)
        for gender in sorted(set(genders)):
            idx = np.array([i for i, g in enumerate(genders) if g == gender])
            bm = self.model(gender)
            b = _model_betas(betas[idx], bm)
            with torch.no_grad():
                h = bm.tpose_height(torch.as_tensor(b, dtype=torch.float32))
            out[idx] = np.asarray(h.detach().cpu().double().numpy() if hasattr(h, 'detach') else h)
        return out
