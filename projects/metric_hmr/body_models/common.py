"""Small helpers shared by the body-model wrappers (input conversion and validation)."""
from __future__ import annotations

from typing import List

import numpy as np
import torch

from .root_find import RootResult

__all__ = ['to_torch', 'as_like', 'check_targets', 'fit_flags']


def to_torch(x, dtype, device) -> torch.Tensor:
    """``x`` (numpy, list or tensor) as a tensor of ``dtype`` on ``device``."""
    if torch.is_tensor(x):
        return x.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def as_like(value: torch.Tensor, ref, keep_dtype: bool = False):
    """Return ``value`` as the same container type (numpy / torch device) as ``ref``.

    ``keep_dtype``: also cast to ``ref``'s floating dtype (used for betas).
    """
    if torch.is_tensor(ref):
        out = value.to(ref.device)
        return out.to(ref.dtype) if keep_dtype and ref.is_floating_point() else out
    out = value.detach().cpu().numpy()
    ref_dtype = np.asarray(ref).dtype
    if keep_dtype and np.issubdtype(ref_dtype, np.floating):
        out = out.astype(ref_dtype)
    return out


def check_targets(target_height, batch: int) -> np.ndarray:
    """Validate target heights (B,) in metres: finite and positive, naming bad persons."""
    t = np.asarray(target_height.detach().cpu() if torch.is_tensor(target_height)
                   else target_height, dtype=np.float64).reshape(-1)
    if t.size == 1 and batch > 1:
        t = np.full(batch, t[0])
    if t.shape[0] != batch:
        raise ValueError(f'target_height has {t.shape[0]} entries for {batch} persons')
    bad = np.where(~np.isfinite(t) | (t <= 0))[0]
    if bad.size:
        raise ValueError(f'target_height must be finite and > 0 m; person(s) {bad.tolist()} '
                         f'have {t[bad].tolist()}')
    return t


def fit_flags(res: RootResult) -> List[str]:
    """Per-person flag of a height refit: 'ok', 'below_range', 'above_range', 'not_converged'."""
    return ['ok' if r else ('below_range' if bl else 'above_range' if ab else 'not_converged')
            for r, bl, ab in zip(res.reached.tolist(), res.below.tolist(), res.above.tolist())]
