"""Relative depth as a monocular network would produce it (Depth-Anything-like).

The network output is modelled as an *affine-invariant disparity*: the true inverse depth
``1/D`` corrupted by typical monocular-depth errors, then mapped by an unknown positive
scale ``a`` and shift ``b``:  ``rel = a * corrupt(1/D) + b``.

Corruptions (all scale with ``severity``; ``severity = 0`` gives the exact disparity, so
only the unknown scale/shift remain):

* depth bleeding: near occluders bleed onto whatever is next to them (a max-filter of the
  disparity blended in), which pulls an occluded person's border pixels towards the occluder;
* ground-ward bias: each person's disparity is pulled towards the disparity of the
  background (ground / wall) seen around it, i.e. persons partly dissolve into the scene
  behind them (strength drawn per person);
* edge blur: Gaussian blur of the disparity;
* smooth low-frequency warp: the disparity is multiplied by ``exp(w)``, ``w`` a smooth random
  field (bicubic upsampling of a coarse Gaussian grid), which distorts the depth relation
  between distant image regions;
* noise: multiplicative per-pixel Gaussian noise.

Constants per unit severity are in :class:`RelDepthParams` (documented in docs/synthetic.md).
Calibration: with the defaults, severity 1 gives a whole-image AbsRel of ~0.05 after a
least-squares affine alignment in disparity (Depth Anything V2's zero-shot NYUv2 figure is
0.045), severity 2 ~0.09 (KITTI-like, 0.075), severity 0.5 ~0.025.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from typing import NamedTuple

import numpy as np
from scipy import ndimage

__all__ = ['RelDepthParams', 'RelativeDepth', 'simulate_relative_depth', 'disparity_to_depth']


@dataclass
class RelDepthParams:
    """Corruption strengths at ``severity = 1`` (they scale linearly with severity).

    Attributes:
        bleed_px: max-filter radius (fraction of the image diagonal) of depth bleeding.
        bleed_mix: blend weight of the bled disparity.
        groundward: maximum per-person pull towards the surrounding background disparity.
        blur: Gaussian blur sigma as a fraction of the image diagonal.
        warp: std of the log-disparity low-frequency warp field.
        warp_grid: coarse grid size of the warp field.
        noise: std of the multiplicative per-pixel noise.
        shift_range: unknown disparity shift ``b`` as a fraction of the scene's smallest true
            disparity (independent of severity: the shift is unknown, not an error).
        scale_range: unknown disparity scale ``a`` relative to 1/median(disparity).
    """
    bleed_px: float = 0.003
    bleed_mix: float = 0.25
    groundward: float = 0.125
    blur: float = 0.0015
    warp: float = 0.04
    warp_grid: int = 4
    noise: float = 0.01
    shift_range: tuple = (-0.5, 0.5)
    scale_range: tuple = (0.5, 2.0)

    def to_dict(self):
        return asdict(self)


class RelativeDepth(NamedTuple):
    """Simulated network output and the hidden affine map.

    Attributes:
        rel_disparity: (H, W) float32, ``a * corrupted_disparity + b`` (> 0).
        scale: a; shift: b (so ``corrupted_disparity = (rel - b) / a``).
        corrupted_depth: (H, W) float32 metric depth implied by the corrupted disparity.
    """
    rel_disparity: np.ndarray
    scale: float
    shift: float
    corrupted_depth: np.ndarray


def _smooth_field(rng: np.random.Generator, shape, grid: int) -> np.ndarray:
    H, W = shape
    coarse = rng.normal(size=(grid, grid))
    field = ndimage.zoom(coarse, (H / grid, W / grid), order=3, mode='nearest')[:H, :W]
    field = np.pad(field, ((0, H - field.shape[0]), (0, W - field.shape[1])), mode='edge')
    return field / (field.std() + 1e-12)


def simulate_relative_depth(depth: np.ndarray, person_id: np.ndarray, bg_depth: np.ndarray,
                            severity: float, rng: np.random.Generator,
                            params: RelDepthParams = RelDepthParams()) -> RelativeDepth:
    """Corrupt the exact metric depth into a relative disparity map.

    Args:
        depth: (H, W) exact metric depth (finite, > 0).
        person_id: (H, W) int visible person index, -1 background.
        bg_depth: (H, W) depth of the background alone (for the ground-ward bias).
        severity: >= 0 corruption strength.
    """
    if severity < 0:
        raise ValueError(f'severity must be >= 0, got {severity}')
    depth = np.asarray(depth, np.float64)
    if not np.all(np.isfinite(depth)) or np.any(depth <= 0):
        raise ValueError('depth must be finite and positive everywhere')
    H, W = depth.shape
    diag = float(np.hypot(H, W))
    disp = 1.0 / depth
    s = float(severity)
    # draw every random quantity whatever the severity, so that scenes at different
    # severities share the same unknown scale/shift and differ only in corruption
    n_persons = int(person_id.max()) + 1 if person_id.size else 0
    pull = rng.uniform(0.0, 1.0, size=max(n_persons, 0))
    warp_field = _smooth_field(rng, (H, W), params.warp_grid)
    noise = rng.normal(size=(H, W))
    a_rel = rng.uniform(*params.scale_range)
    b_rel = rng.uniform(*params.shift_range)
    if s > 0:
        # ground-ward bias: person pixels pulled towards the background disparity behind them
        bg_disp = 1.0 / np.asarray(bg_depth, np.float64)
        for k in range(n_persons):
            m = person_id == k
            if m.any():
                beta = s * params.groundward * pull[k]
                disp[m] = (1 - beta) * disp[m] + beta * bg_disp[m]
        # depth bleeding from occluders onto their surroundings (incl. occluded persons)
        r = max(1, int(round(s * params.bleed_px * diag)))
        dil = ndimage.maximum_filter(disp, size=2 * r + 1, mode='nearest')
        mix = min(1.0, s * params.bleed_mix)
        disp = (1 - mix) * disp + mix * dil
        # edge blur
        disp = ndimage.gaussian_filter(disp, sigma=max(s * params.blur * diag, 1e-3),
                                       mode='nearest')
        # smooth low-frequency warp and per-pixel noise (multiplicative, keeps disp > 0)
        disp = disp * np.exp(s * params.warp * warp_field + s * params.noise * noise)
    a = a_rel / float(np.median(disp))
    b = a * b_rel * float(disp.min())
    rel = a * disp + b
    return RelativeDepth(rel_disparity=rel.astype(np.float32), scale=float(a), shift=float(b),
                         corrupted_depth=(1.0 / disp).astype(np.float32))


def disparity_to_depth(rel_disparity: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """Invert the affine map: metric depth ``1 / ((rel - b) / a)`` (the oracle's view)."""
    disp = (np.asarray(rel_disparity, np.float64) - shift) / scale
    return 1.0 / np.maximum(disp, 1e-9)
