"""The one way to apply DTO to HMR outputs: :class:`BatchDTORefiner` (framework-free).

Used by the DTO-Humans generation stage (``metric_hmr.generation.dto_stage``), by the
registered MMEngine wrapper ``dto_hooks.DTORefiner`` (test-time DTO) and by the
precomputed-prediction evaluator.  Given a batch of images (:class:`ImageInput`) it

1. widens / narrows each image's betas to the body model (``conventions.adapt_betas``);
2. poses every person of every image in one body-model pass (vertices where not given)
   and computes the T-pose heights h_i in one call;
3. runs :func:`metric_hmr.dto.run_dto` per image (invalid person data -> that image gets
   an ``error``, the batch goes on);
4. refits, in one batched ``fit_height`` call, the shapes of the persons DTO moved
   (z*/z != 1) to their corrected heights; minors (``conventions.is_minor`` or a minor
   age group) are flagged to the body model; a degenerate corrected height keeps the
   input shape with a ``not_refit`` flag;
5. optionally re-poses the refined persons (vertices, joints) in one pass.

Without a body model it needs the vertices, the T-pose heights and the faces: it then
only moves the translations (the caller may scale the meshes about the camera centre).
"""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..conventions import AgeGroup, adapt_betas, is_minor
from .config import DTOConfig
from .dto import DTOResult, run_dto
from .refine import refine_shapes

__all__ = ['ImageInput', 'ImageOutput', 'SampleOutcome', 'BatchDTORefiner', 'minor_flags',
           'persons_to_refit']

_MINOR_GROUPS = (int(AgeGroup.TEEN), int(AgeGroup.KID), int(AgeGroup.BABY))


@dataclass
class ImageInput:
    """One image for the refiner; per-person arrays (K, ...) in one order."""
    name: str                                   # for error messages (image id / path)
    image_hw: Tuple[int, int]
    focal: np.ndarray                           # (2,) px
    princpt: np.ndarray                         # (2,) px
    depth: np.ndarray                           # (h, w) relative depth network output
    transl: np.ndarray                          # (K, 3)
    betas: Optional[np.ndarray] = None          # (K, 10|11)
    global_orient: Optional[np.ndarray] = None  # (K, 3) axis-angle
    body_pose: Optional[np.ndarray] = None      # (K, 69)
    vertices: Optional[np.ndarray] = None       # (K, V, 3); None: posed by the body model
    heights: Optional[np.ndarray] = None        # (K,) T-pose heights; None: body model
    age: Optional[np.ndarray] = None            # (K,) years, NaN unknown
    p_male: Optional[np.ndarray] = None
    age_group: Optional[np.ndarray] = None      # (K,) AgeGroup codes, -1 unknown
    masks: Optional[np.ndarray] = None          # (K, H, W) bool
    depth_convention: Optional[str] = None      # overrides the config for this image


@dataclass
class ImageOutput:
    """DTO outcome of one image (``result`` None and ``error`` set when DTO failed)."""
    result: Optional[DTOResult]
    error: str = ''
    transl: Optional[np.ndarray] = None         # (K, 3) final translations (T_i z*/z; the
                                                # released x/y re-alignment when applied)
    focal: Optional[np.ndarray] = None          # (2,) DTO+ refined focal; None = unchanged
    betas: Optional[np.ndarray] = None          # (K, nb) refitted where moved
    height: Optional[np.ndarray] = None         # (K,) corrected heights (after the refit)
    refit_flags: List[str] = field(default_factory=list)   # '' = not refitted
    vertices: Optional[np.ndarray] = None       # (K, V, 3) re-posed (recompute_meshes)
    joints: Optional[np.ndarray] = None


@dataclass
class SampleOutcome:
    """:meth:`BatchDTORefiner.refine_samples` result of one prediction dict."""
    sample: Optional[dict]                      # the refined sample (None on error)
    result: Optional[DTOResult]
    error: str = ''


def minor_flags(age, age_group, K: int) -> np.ndarray:
    """(K,) bool: under 15 years (``conventions.is_minor``) or in a minor age group."""
    minor = np.zeros(K, bool)
    if age is not None:
        minor |= is_minor(np.asarray(age, np.float64).reshape(K), unknown=False)
    if age_group is not None:
        minor |= np.isin(np.asarray(age_group).reshape(K), _MINOR_GROUPS)
    return minor


def persons_to_refit(result: DTOResult) -> np.ndarray:
    """(K,) bool: persons whose depth DTO changed (z*/z != 1)."""
    return result.used & (np.abs(result.depth_ratio - 1.0) > 0)


def _np64(x) -> np.ndarray:
    return x.detach().double().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float64)


def _model_device(model) -> torch.device:
    for tensors in (getattr(model, 'parameters', None), getattr(model, 'buffers', None)):
        if tensors is not None:
            for t in tensors():
                return t.device
    return torch.device('cpu')


class BatchDTORefiner:
    """Apply DTO to a batch of images (see module docstring).

    Args:
        config: :class:`DTOConfig` (or dict of its keys).
        body_model: a built body model (``BODY_MODELS`` interface: ``__call__``,
            ``faces``, ``tpose_height``, ``fit_height``, ``num_betas``) or None.
        refit_shape: refit betas to the corrected heights (needs a body model).
        faces: (F, 3) mesh faces when no body model is given.
    """

    def __init__(self, config=None, body_model=None, refit_shape: bool = True,
                 faces: Optional[np.ndarray] = None):
        self.cfg = DTOConfig.from_dict(config)
        self.body_model = body_model
        self.refit_shape = bool(refit_shape) and body_model is not None
        if body_model is not None:
            faces = body_model.faces
        self.faces = None if faces is None else np.asarray(faces, dtype=np.int64)
        self.nb = int(getattr(body_model, 'num_betas', 10)) if body_model is not None else None
        self.device = _model_device(body_model) if body_model is not None else torch.device('cpu')

    # ------------------------------------------------------------------ body model
    def _t(self, a) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a), dtype=torch.float32, device=self.device)

    @torch.no_grad()
    def pose(self, betas, global_orient, body_pose, transl) -> Tuple[np.ndarray, np.ndarray]:
        """(vertices, joints) float64 of persons (B, ...) in one body-model pass."""
        t = self._t
        out = self.body_model(betas=t(betas), global_orient=t(global_orient),
                              body_pose=t(body_pose), transl=t(transl))
        return _np64(out.vertices), _np64(out.joints)

    @torch.no_grad()
    def tpose_heights(self, betas) -> np.ndarray:
        return _np64(torch.as_tensor(self.body_model.tpose_height(self._t(betas))))

    # ------------------------------------------------------------------ steps
    def _check(self, img: ImageInput) -> ImageInput:
        """Step 1: betas at the body model's width; what DTO needs is present."""
        K = len(img.transl)
        if K == 0:                                       # nothing to pose: DTO flags 'no_persons'
            return dataclasses.replace(img, vertices=np.zeros((0, 0, 3)), heights=np.zeros(0),
                                       betas=None if img.betas is None
                                       else np.zeros((0, self.nb or np.shape(img.betas)[-1])))
        if self.body_model is not None and img.betas is not None:
            betas = adapt_betas(np.asarray(img.betas, np.float64).reshape(K, -1), self.nb,
                                context=f'image {img.name}')
            img = dataclasses.replace(img, betas=betas)
        if img.vertices is None and (self.body_model is None or img.betas is None
                                     or img.global_orient is None or img.body_pose is None):
            raise ValueError(f'{img.name}: no vertices and no body model / SMPL parameters '
                             'to compute them')
        if img.heights is None and (self.body_model is None or img.betas is None):
            raise ValueError(f'{img.name}: T-pose heights unknown (give a body model and betas, '
                             'or heights)')
        if self.faces is None:
            raise ValueError(f'{img.name}: mesh faces unknown (give a body model or faces)')
        return img

    def _pose_all(self, images: List[ImageInput]) -> List[ImageInput]:
        """Step 2: vertices and T-pose heights of all persons in one pass each."""
        need_v = [i for i, im in enumerate(images) if im.vertices is None]
        need_h = [i for i, im in enumerate(images) if im.heights is None]
        images = list(images)
        if need_v:
            cat = lambda key: np.concatenate([np.asarray(getattr(images[i], key)).reshape(  # noqa: E731
                len(images[i].transl), -1) for i in need_v])
            verts, _ = self.pose(cat('betas'), cat('global_orient'), cat('body_pose'), cat('transl'))
            for i, part in zip(need_v, _split(verts, [len(images[i].transl) for i in need_v])):
                images[i] = dataclasses.replace(images[i], vertices=part)
        if need_h:
            h = self.tpose_heights(np.concatenate([images[i].betas for i in need_h]))
            for i, part in zip(need_h, _split(h, [len(images[i].transl) for i in need_h])):
                images[i] = dataclasses.replace(images[i], heights=part)
        return images

    def _run_one(self, img: ImageInput) -> DTOResult:
        """Step 3: DTO of one image."""
        cfg = self.cfg
        if img.depth_convention is not None and img.depth_convention != cfg.depth_convention:
            cfg = dataclasses.replace(cfg, depth_convention=img.depth_convention)
        K = len(img.transl)
        return run_dto(list(np.asarray(img.vertices, np.float64)), self.faces, img.focal,
                       img.princpt, tuple(img.image_hw), img.depth,
                       np.asarray(img.transl, np.float64).reshape(K, 3),
                       np.asarray(img.heights, np.float64).reshape(K), age_years=img.age,
                       p_male=img.p_male, age_group=img.age_group, masks=img.masks, config=cfg)

    def _refit_all(self, images: List[ImageInput], results: List[DTOResult]
                   ) -> Tuple[List[np.ndarray], List[np.ndarray], List[List[str]]]:
        """Step 4: one batched height refit of the persons DTO moved."""
        sizes = [len(im.transl) for im in images]
        betas = [None if im.betas is None else np.asarray(im.betas, np.float64) for im in images]
        heights = [r.h_star.copy() for r in results]
        flags = [[''] * n for n in sizes]
        if not self.refit_shape or not images:
            return betas, heights, flags
        target = np.concatenate([r.h_star for r in results])
        moved = np.concatenate([persons_to_refit(r) for r in results])
        has_betas = np.concatenate([np.full(n, b is not None) for n, b in zip(sizes, betas)])
        moved &= has_betas                           # persons without SMPL shapes keep none
        ok = moved & np.isfinite(target) & (target > 0)
        bounds = np.cumsum([0] + sizes)
        for j in np.flatnonzero(moved & ~ok):       # a degenerate fit: keep the input shape
            n = int(np.searchsorted(bounds, j, side='right') - 1)
            flags[n][j - bounds[n]] = f'not_refit: corrected height {target[j]:.4g} m'
        if not ok.any():
            return betas, heights, flags
        minor = None
        if 'is_minor' in inspect.signature(self.body_model.fit_height).parameters:
            minor = np.concatenate([minor_flags(im.age, im.age_group, len(im.transl))
                                    for im in images])
        all_b = np.concatenate([b if b is not None else np.zeros((n, self.nb))
                                for n, b in zip(sizes, betas)])
        fit = refine_shapes(self.body_model, all_b, target, which=ok, is_minor=minor)
        all_h = np.where(ok, fit.height, np.concatenate(heights))
        for j in np.flatnonzero(ok):
            n = int(np.searchsorted(bounds, j, side='right') - 1)
            flags[n][j - bounds[n]] = fit.flags[j]
        new_betas = [None if b is None else part for b, part in zip(betas, _split(fit.betas, sizes))]
        return new_betas, _split(all_h, sizes), flags

    def _released_refit_all(self, images: List[ImageInput], results: List[DTOResult]):
        """Step 4 of ``algorithm='released'``: the released one-step shape edit and, after an
        age-blend step, the x/y re-alignment (:func:`released_algorithm.released_shape_step`).
        Persons without betas or pose, or with a degenerate z*/z, keep their input shape and
        translation T z*/z with a ``not_refit`` flag (one bad person never fails the batch).
        -> (betas, heights, flags, translations) per image."""
        from .released_algorithm import released_shape_step
        sizes = [len(im.transl) for im in images]
        betas = [None if im.betas is None else np.asarray(im.betas, np.float64) for im in images]
        transl = [np.asarray(r.transl_star, np.float64).copy() for r in results]
        heights = [r.h_star.copy() for r in results]
        flags = [[''] * n for n in sizes]
        if not self.refit_shape or not images:
            return betas, heights, flags, transl
        shift = np.concatenate([r.depth_ratio for r in results])
        moved = np.concatenate([persons_to_refit(r) for r in results])
        has = np.concatenate([np.full(n, im.betas is not None and im.global_orient is not None
                                      and im.body_pose is not None) for n, im in zip(sizes, images)])
        moved &= np.concatenate([np.full(n, b is not None) for n, b in zip(sizes, betas)])
        ok = moved & has & np.isfinite(shift) & (shift > 0)
        bounds = np.cumsum([0] + sizes)
        where = lambda j: (int(np.searchsorted(bounds, j, side='right') - 1), j)  # noqa: E731
        for j in np.flatnonzero(moved & ~ok):
            n, j = where(j)
            flags[n][j - bounds[n]] = ('not_refit: no pose' if not has[j]
                                       else f'not_refit: z*/z = {shift[j]:.4g}')
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return betas, heights, flags, transl
        cat = lambda key, width: np.concatenate([  # noqa: E731
            np.asarray(getattr(im, key), np.float64).reshape(n, -1) if getattr(im, key) is not None
            else np.zeros((n, width)) for n, im in zip(sizes, images)])
        minor = np.concatenate([minor_flags(im.age, im.age_group, len(im.transl)) for im in images])
        all_b = cat('betas', self.nb)
        new_b, new_t, blend = released_shape_step(
            all_b[idx], cat('transl', 3)[idx], cat('global_orient', 3)[idx],
            cat('body_pose', 69)[idx], shift[idx], minor[idx], self.tpose_heights,
            lambda b, go, bp, tr: self.pose(b, go, bp, tr)[1], smpla=self.nb == 11)
        all_t, all_h = np.concatenate(transl), np.concatenate(heights)
        all_b[idx], all_t[idx] = new_b, new_t
        all_h[idx] = self.tpose_heights(new_b)
        for j, bl in zip(idx, blend):
            n, j = where(j)
            flags[n][j - bounds[n]] = 'released_step:age_blend' if bl else 'released_step:beta0'
        new_betas = [None if b is None else part for b, part in zip(betas, _split(all_b, sizes))]
        return new_betas, _split(all_h, sizes), flags, _split(all_t, sizes)

    # ------------------------------------------------------------------ entry point
    def __call__(self, images: Sequence[ImageInput], recompute_meshes: bool = False
                 ) -> List[ImageOutput]:
        """DTO of every image; failures are per image (``ImageOutput.error``)."""
        outputs: List[Optional[ImageOutput]] = [None] * len(images)
        checked = {}
        for n, img in enumerate(images):                 # 1. inputs
            try:
                checked[n] = self._check(img)
            except ValueError as e:
                outputs[n] = ImageOutput(None, error=str(e))
        order = list(checked)
        posed = dict(zip(order, self._pose_all([checked[n] for n in order])))   # 2. one pass
        results = {}
        for n in order:                                  # 3. DTO per image
            try:
                results[n] = self._run_one(posed[n])
            except ValueError as e:
                outputs[n] = ImageOutput(None, error=str(e))
        done = [n for n in order if n in results]
        if self.cfg.algorithm == 'released':                  # 4. released shape edit
            betas, heights, flags, transl = self._released_refit_all(
                [posed[n] for n in done], [results[n] for n in done])
        else:                                                 # 4. one refit
            betas, heights, flags = self._refit_all([posed[n] for n in done],
                                                    [results[n] for n in done])
            transl = [results[n].transl_star for n in done]
        for j, n in enumerate(done):
            outputs[n] = ImageOutput(results[n], transl=transl[j], focal=results[n].focal_star,
                                     betas=betas[j], height=heights[j], refit_flags=flags[j])
        if recompute_meshes and self.body_model is not None:   # 5. re-pose refined persons
            self._repose([posed[n] for n in done], [outputs[n] for n in done])
        return outputs

    def refine_samples(self, samples: Sequence[dict], depth_maps: Sequence[np.ndarray],
                       use_gt_demographics: bool = False, masks=None, ages=None,
                       p_males=None) -> List[SampleOutcome]:
        """DTO of per-image prediction dicts (:mod:`metric_hmr.dto.samples`), batched.

        ``masks`` / ``ages`` / ``p_males``: optional per-sample overrides (lists)."""
        from .samples import refined_sample, sample_to_input
        n = len(samples)
        masks, ages, p_males = (x if x is not None else [None] * n for x in (masks, ages, p_males))
        outcomes: List[Optional[SampleOutcome]] = [None] * n
        todo, inputs = [], []
        for i, sample in enumerate(samples):
            try:
                inputs.append(sample_to_input(sample, depth_maps[i], self.body_model is not None,
                                              masks[i], ages[i], p_males[i], use_gt_demographics))
                todo.append(i)
            except ValueError as e:
                outcomes[i] = SampleOutcome(None, None, str(e))
        refit = [self.refit_shape and im.betas is not None and len(im.transl) > 0 for im in inputs]
        remesh = [r and ('vertices' in samples[i]['pred'] or 'joints3d' in samples[i]['pred'])
                  for r, i in zip(refit, todo)]
        outs = self(inputs, recompute_meshes=any(remesh))
        for i, img, out, rf, rm in zip(todo, inputs, outs, refit, remesh):
            outcomes[i] = (SampleOutcome(None, None, out.error) if out.result is None else
                           SampleOutcome(refined_sample(samples[i], img, out, rf, rm), out.result))
        return outcomes

    def _repose(self, images: List[ImageInput], outs: List[ImageOutput]) -> None:
        """Step 5: vertices / joints of the refined persons (one pass)."""
        use = [j for j, im in enumerate(images) if im.global_orient is not None
               and outs[j].betas is not None and len(im.transl)]
        if not use:
            return
        cat = lambda get: np.concatenate([get(j) for j in use])   # noqa: E731
        v, jts = self.pose(cat(lambda j: outs[j].betas), cat(lambda j: images[j].global_orient),
                           cat(lambda j: images[j].body_pose), cat(lambda j: outs[j].transl))
        sizes = [len(images[j].transl) for j in use]
        for j, vp, jp in zip(use, _split(v, sizes), _split(jts, sizes)):
            outs[j].vertices, outs[j].joints = vp, jp


def _split(arr: np.ndarray, sizes: Sequence[int]) -> List[np.ndarray]:
    return list(np.split(arr, np.cumsum(sizes)[:-1])) if len(sizes) else []
