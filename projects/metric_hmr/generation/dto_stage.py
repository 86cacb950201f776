"""Stage: DTO (paper Sec. 3.2) + the DTO-Humans image filter (mean residual <= 1.5).

The stage hands its images to :class:`metric_hmr.dto.BatchDTORefiner`, the one way DTO is
applied (also behind ``dto_hooks.DTORefiner`` and the precomputed evaluator): body-model
work is batched over all persons of all images of a chunk (one forward pass for posed
meshes and T-pose heights, one batched height refit); the per-image solve is
:func:`metric_hmr.dto.run_dto`.  Every input person keeps a record entry with DTO's reason
for it, but only persons DTO corrected (or, for the released algorithm, wrote unchanged by
design) are published in the released file; unmatched persons are dropped earlier by the
matching stage (``records.unpublished_reason``).  An image DTO did not optimize is
``skipped`` (:func:`image_status`).  A DTO+ refined focal replaces the image's focal.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import torch

from ..registry import BODY_MODELS, DTO_STAGES
from .stage_base import BaseStage, resolve_device
from .state import ImageState, Persons

__all__ = ['DTOStage', 'image_status']


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
        from metric_hmr.dto import BatchDTORefiner
        self.device = resolve_device(device)
        self.body_model = BODY_MODELS.build(dict(body_model)).to(self.device) \
            if isinstance(body_model, dict) else body_model
        self.refiner = BatchDTORefiner(dict(dto or {}), body_model=self.body_model,
                                       refit_shape=refit_shape)
        self.dto_cfg = self.refiner.cfg
        self.nb = self.refiner.nb     # betas of the body model (runner.check_kid_template)
        self.refit_shape = refit_shape

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
        from metric_hmr.dto import ImageInput
        todo = [s for s in states if self._check_inputs(s)]
        inputs = [ImageInput(name=s.img_id, image_hw=tuple(s.ori_shape), focal=s.focal,
                             princpt=s.princpt, depth=s.depth, transl=s.persons.transl,
                             betas=s.persons.betas, global_orient=s.persons.global_orient,
                             body_pose=s.persons.body_pose, age=s.age, p_male=s.p_male,
                             masks=_person_masks(s), depth_convention=s.depth_kind)
                  for s in todo]
        for s, out in zip(todo, self.refiner(inputs)):
            _apply(s, out)


def _apply(s: ImageState, out) -> None:
    """Write one image's DTO outcome into its state (refined persons, record, status)."""
    if out.result is None:          # invalid person data: record the image, keep going
        s.skip(f'dto_error: {out.error}')
        return
    res = out.result
    s.refined = Persons(global_orient=s.persons.global_orient, body_pose=s.persons.body_pose,
                        betas=out.betas, transl=np.asarray(out.transl),
                        source=s.persons.source, source_index=s.persons.source_index)
    rec = res.to_record()
    rec['refit_flags'] = out.refit_flags
    if out.focal is not None:   # DTO+ refined the focal: the released cam_int uses it
        rec['focal_in'] = None if s.focal is None else np.asarray(s.focal, np.float64).tolist()
        s.focal = np.asarray(out.focal, np.float64)
    s.dto = rec
    s.status, s.reason = image_status(res)


def image_status(res) -> Tuple[str, str]:
    """(status, reason) of an image from its DTO result (issue 12, finding 1).

    A kept image is always an optimized one: an image DTO did not optimize (one usable
    person, two persons fitting exactly, groups of one, all persons filtered; released
    ``dto_framework.py`` 505-509) is ``skipped`` with the reason, never ``kept``, whatever
    its score; an optimized one is ``kept`` or ``rejected`` by the residual filter.  An
    image where nothing was scored is ``no_usable_person`` (with the persons' reasons).
    """
    if res.optimized:
        return ('kept', '') if res.kept else ('rejected', res.image_reason or 'dto_filter')
    why = sorted({r.split(':')[0] for r in res.reasons if r})
    if not np.isfinite(res.image_score):
        return 'skipped', 'no_usable_person: ' + ', '.join(why or list(res.flags))
    return 'skipped', 'not_optimized: ' + ', '.join(
        [f for f in res.flags if f != 'released_algorithm'] or why or ['unknown'])


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
