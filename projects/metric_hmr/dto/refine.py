"""Refinement after the DTO fit (paper Sec. 3.2.3, last paragraph).

* translation: T_i* = T_i * z_i*/z_i.  Scaling the whole translation about the camera
  centre keeps the 2D projection of the root unchanged.
* shape: the body shape is refitted so that its T-pose height equals h_i * z_i*/z_i.
  The root find itself lives in the body model (``bm.fit_height``, BODY_MODELS interface,
  docs/ARCHITECTURE.md); this module only calls it and checks what it returns.
  :class:`metric_hmr.dto.BatchDTORefiner` calls :func:`refine_shapes` once per batch.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ['refine_translation', 'ShapeRefit', 'refine_shapes']


def refine_translation(transl: np.ndarray, z_init: np.ndarray, z_star: np.ndarray) -> np.ndarray:
    """(K, 3) translations scaled by z*/z."""
    transl = np.asarray(transl, dtype=np.float64)
    ratio = np.asarray(z_star, np.float64) / np.asarray(z_init, np.float64)
    return transl * ratio[:, None]


class ShapeRefit(NamedTuple):
    betas: np.ndarray        # (K, nb) refitted shapes
    height: np.ndarray       # (K,) T-pose heights after the refit
    reached: np.ndarray      # (K,) bool, |height - target| within the body model's tolerance
    flags: list              # per person, from the body model ('ok', 'below_range', ...)


def _to_numpy(x):
    if hasattr(x, 'detach'):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def refine_shapes(body_model, betas: np.ndarray, target_height: np.ndarray, which=None,
                  is_minor=None) -> ShapeRefit:
    """Refit ``betas`` of the persons ``which`` (default all) to ``target_height`` (m).

    Persons not in ``which`` keep their shape (flag 'unchanged').  ``is_minor`` (K,) bool
    is passed on to body models whose ``fit_height`` accepts it (SMPL-A edits the age
    blend of minors, Anny its age phenotype).
    """
    betas = np.asarray(betas, dtype=np.float64)
    target = np.asarray(target_height, dtype=np.float64)
    K = betas.shape[0]
    which = np.ones(K, bool) if which is None else np.asarray(which, bool)
    out_b = betas.copy()
    height = np.full(K, np.nan)
    reached = np.zeros(K, bool)
    flags = ['unchanged'] * K
    idx = np.nonzero(which)[0]
    if idx.size:
        bad = idx[~(np.isfinite(target[idx]) & (target[idx] > 0))]
        if bad.size:
            raise ValueError(f'person {int(bad[0])}: target height {target[bad[0]]!r} must be positive')
        kw = {}
        if is_minor is not None:
            kw['is_minor'] = np.asarray(is_minor, bool)[idx]
        fit = body_model.fit_height(betas[idx].astype(np.float32), target[idx].astype(np.float32), **kw)
        fit_b = _to_numpy(fit.betas)
        if fit_b.shape[1] > out_b.shape[1]:
            # 10-D shapes refitted by an SMPL-A model come back with the age blend: widen
            # all rows, the unrefitted ones with blend 0 (adult template, as smplx pads)
            out_b = np.concatenate([out_b, np.zeros((K, fit_b.shape[1] - out_b.shape[1]))], 1)
        out_b[idx] = fit_b
        height[idx] = _to_numpy(fit.height)
        reached[idx] = _to_numpy(fit.reached).astype(bool)
        for j, i in enumerate(idx):
            flags[i] = fit.flags[j]
    return ShapeRefit(out_b, height, reached, flags)
