"""Stage: DTO (paper Sec. 3.2) + the DTO-Humans image filter (mean residual <= 1.5).

This is :class:`dto_hooks.DTORefiner` batched across images (a test checks both give the
same result): body-model work is batched over all persons of all images of a chunk (one
forward pass for posed meshes and T-pose heights, one batched height refit); the per-image
solve is :func:`metric_hmr.dto.run_dto`.  Persons are never dropped: persons DTO could not use keep their
input parameters and carry the reason in the record.
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..registry import BODY_MODELS, DTO_STAGES
from .base import BaseStage, resolve_device
from .state import ImageState, Persons


def fit_betas_width(betas: np.ndarray, nb: int, img_id: str) -> np.ndarray:
    """(K,10|11) -> (K,nb): pad with the adult age blend 0, or drop a zero 11th value."""
    betas = np.asarray(betas, np.float64)
    if betas.shape[1] == nb:
        return betas
    if betas.shape[1] < nb:
        return np.concatenate([betas, np.zeros((len(betas), nb - betas.shape[1]))], 1)
    extra = betas[:, nb:]
    if np.any(extra != 0):
        k = int(np.flatnonzero(np.any(extra != 0, axis=1))[0])
        raise ValueError(f'image {img_id}, person {k}: shape has {betas.shape[1]} values with a '
                         f'non-zero age blend, but the body model takes {nb}; configure a '
                         'kid template (SMPL-A)')
    return betas[:, :nb]


@DTO_STAGES.register_module()
class DTOStage(BaseStage):
    """Run DTO on every image with persons, intrinsics and a depth map.

    Args:
        body_model: BODY_MODELS config (e.g. ``SMPLBodyModel``; 11 betas with a kid template).
        dto: options of :class:`metric_hmr.dto.DTOConfig` (paper defaults; ``preset='released'``).
        refit_shape: refit body shapes to the corrected heights (else only translations).
        device: for the body model (None = GPU when available).
    Sets ``state.status`` to 'kept' / 'rejected' (reason: the verdict) and ``state.refined``.
    """
    name = 'dto'

    def __init__(self, body_model: dict, dto: Optional[dict] = None, refit_shape: bool = True,
                 device: Optional[str] = None):
        from metric_hmr.dto.config import DTOConfig
        self.device = resolve_device(device)
        self.body_model = BODY_MODELS.build(dict(body_model)).to(self.device) \
            if isinstance(body_model, dict) else body_model
        self.dto_cfg = DTOConfig.from_dict(dict(dto or {}))
        self.refit_shape = refit_shape
        self.faces = np.asarray(self.body_model.faces)
        self.nb = int(getattr(self.body_model, 'num_betas', 10))

    def needs(self, state: ImageState) -> bool:
        return True

    def _check_inputs(self, s: ImageState) -> bool:
        if len(s.persons) == 0:
            s.skip('no_persons')
            return False
        if s.focal is None or s.princpt is None:
            s.skip('missing_intrinsics')
            return False
        if s.depth is None:
            s.skip('missing_depth')
            return False
        return True

    @torch.no_grad()
    def process(self, states: List[ImageState]) -> None:
        from metric_hmr.dto import run_dto
        todo = [s for s in states if self._check_inputs(s)]
        if not todo:
            return
        # one batched body-model pass over all persons of the chunk
        betas = np.concatenate([fit_betas_width(s.persons.betas, self.nb, s.img_id) for s in todo])
        go = np.concatenate([s.persons.global_orient for s in todo])
        bp = np.concatenate([s.persons.body_pose for s in todo])
        tr = np.concatenate([s.persons.transl for s in todo])
        t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=self.device)  # noqa: E731
        out = self.body_model(betas=t(betas), global_orient=t(go), body_pose=t(bp), transl=t(tr))
        verts = out.vertices.double().cpu().numpy()
        h_all = np.asarray(torch.as_tensor(self.body_model.tpose_height(t(betas))).double().cpu())
        bounds = np.cumsum([0] + [len(s.persons) for s in todo])
        results = []
        for n, s in enumerate(todo):
            a, b = bounds[n], bounds[n + 1]
            cfg = dataclasses.replace(self.dto_cfg, depth_convention=s.depth_kind)
            masks = _person_masks(s)
            try:
                res = run_dto(list(verts[a:b]), self.faces, s.focal, s.princpt, tuple(s.ori_shape),
                              s.depth, tr[a:b], h_all[a:b], age_years=s.age, p_male=s.p_male,
                              masks=masks, config=cfg)
            except ValueError as e:  # invalid person data: record the image, keep going
                s.skip(f'dto_error: {e}')
                res = None
            results.append(res)
        keep = [n for n, r in enumerate(results) if r is not None]
        if len(keep) < len(todo):
            sel = np.concatenate([np.arange(bounds[n], bounds[n + 1]) for n in keep]) if keep \
                else np.zeros(0, np.int64)
            todo, results = [todo[n] for n in keep], [results[n] for n in keep]
            betas = betas[sel]
            bounds = np.cumsum([0] + [len(s.persons) for s in todo])
        # batched shape refit to the corrected heights h_i * z*/z
        new_betas = betas.copy()
        fit_flags = [''] * len(betas)
        if self.refit_shape:
            target = np.concatenate([r.h_star for r in results])
            # as dto_hooks.DTORefiner: refit the persons DTO moved (z*/z != 1)
            used = np.concatenate([r.used & (np.abs(r.depth_ratio - 1.0) > 0) for r in results])
            ok = used & np.isfinite(target) & (target > 0)
            for j in np.flatnonzero(used & ~ok):   # a degenerate fit: keep the input shape
                fit_flags[j] = f'not_refit: corrected height {target[j]:.4g} m'
            if ok.any():
                idx = np.flatnonzero(ok)
                age = np.concatenate([s.age if s.age is not None else np.full(len(s.persons), np.nan)
                                      for s in todo])
                fit = self.body_model.fit_height(t(betas[idx]), t(target[idx]),
                                                 is_minor=np.nan_to_num(age[idx], nan=99.0) < 15)
                new_betas[idx] = np.asarray(torch.as_tensor(fit.betas).double().cpu())
                for j, f in zip(idx, fit.flags):
                    fit_flags[j] = f
        for n, (s, res) in enumerate(zip(todo, results)):
            a, b = bounds[n], bounds[n + 1]
            s.refined = Persons(global_orient=s.persons.global_orient, body_pose=s.persons.body_pose,
                                betas=new_betas[a:b], transl=np.asarray(res.transl_star),
                                source=s.persons.source, source_index=s.persons.source_index)
            rec = res.to_record()
            rec['refit_flags'] = fit_flags[a:b]
            s.dto = rec
            s.status, s.reason = image_status(res)


def image_status(res) -> Tuple[str, str]:
    """(status, reason) of an image from its DTO result (issue 12, finding 1).

    A kept image is always an optimized one: an image DTO did not optimize (one usable
    person, two persons fitting exactly, groups of one, all persons filtered; released
    ``dto_framework.py`` 505-509) is ``skipped`` with the reason, never ``kept``, whatever
    its score; an optimized one is ``kept`` or ``rejected`` by the residual filter.
    """
    if res.optimized:
        return ('kept', '') if res.kept else ('rejected', res.image_reason or 'dto_filter')
    why = sorted({r.split(':')[0] for r in res.reasons if r}) or list(res.flags)
    if not np.isfinite(res.image_score):
        return 'skipped', 'no_usable_person: ' + ', '.join(why)
    return 'skipped', 'not_optimized: ' + ', '.join(
        [f for f in res.flags if f not in ('released_algorithm',)] or why)


def _person_masks(s: ImageState) -> Optional[np.ndarray]:
    """(K,H,W) bool masks: reader masks, else matched detection masks; persons without a
    mask get an all-true mask (no restriction).  None when no person has a mask."""
    if s.masks is not None:   # reader masks; persons added later (initial HMR) get none
        if len(s.masks) == len(s.persons):
            return s.masks
        pad = np.ones((len(s.persons) - len(s.masks),) + s.masks.shape[1:], bool)
        return np.concatenate([s.masks, pad])
    d = s.detections
    if d is None or d.masks is None or s.person_det is None or not np.any(s.person_det >= 0):
        return None
    h, w = s.ori_shape
    masks = np.ones((len(s.persons), h, w), bool)
    for i, j in enumerate(s.person_det):
        if j >= 0:
            masks[i] = d.masks[j]
    return masks
