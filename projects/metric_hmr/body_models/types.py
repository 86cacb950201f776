"""Typed outputs shared by every body model."""
from __future__ import annotations

from typing import List, NamedTuple, Union

import numpy as np
import torch

__all__ = ['BodyOutput', 'HeightFit']

ArrayLike = Union[np.ndarray, torch.Tensor]


class BodyOutput(NamedTuple):
    """Posed body meshes of a batch.

    Attributes:
        vertices: (B, V, 3) posed vertices (model frame rotated by ``global_orient``,
            plus ``transl``), metres.
        joints: (B, J, 3) posed joints in the same frame (SMPL: the 24 SMPL joints;
            Anny: its skeleton's bone heads).
    """
    vertices: torch.Tensor
    joints: torch.Tensor


class HeightFit(NamedTuple):
    """Result of :meth:`fit_height` (one entry per person).

    Attributes:
        betas: (B, nb) refitted shape parameters (same container type as the input).
        height: (B,) T-pose height of the refitted shape, metres.
        reached: (B,) bool, True when ``|height - target| <= tol``.
        flags: per person ``'ok'``, ``'below_range'`` / ``'above_range'`` (target outside
            the heights reachable along the chosen direction inside its bounds: the closest
            reachable height is returned) or ``'not_converged'``.
        direction: per person, the name of the shape direction that was edited
            (e.g. ``'beta0'``, ``'age_blend'``, ``'height'``).
    """
    betas: ArrayLike
    height: ArrayLike
    reached: ArrayLike
    flags: List[str]
    direction: List[str]
