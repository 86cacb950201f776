"""Scale map: which image regions get fine tokens (pure functions).

The canvas is divided into ``g x g`` 28-px patches.  Each patch has a scale-map entry
(presence, scale): presence = a person box covers the patch centre; scale = the size of
the smallest such person, max(w, h) / canvas side.  From the map every patch gets a
token *level*:

* level 0 (14 px): a person is present and small (scale < ``scale_thresh``) -> the patch is
  refined into four 14-px tokens (small people need resolution);
* level 2 (56 px): the whole 2x2 block of patches it belongs to is background -> the block
  is pooled into one token;
* level 1 (28 px): everything else.
"""
from typing import Sequence

import torch
import torch.nn.functional as F

LEVEL_FINE, LEVEL_BASE, LEVEL_POOLED = 0, 1, 2


def build_scale_map_target(boxes: Sequence[torch.Tensor], grid: int, device=None) -> torch.Tensor:
    """Ground-truth scale map from person boxes.

    Args:
        boxes: per image a (N, 4) tensor of xyxy boxes normalised to [0, 1] of the canvas.
        grid: g, the number of 28-px patches per side.
    Returns:
        (B, g, g, 2): [..., 0] presence in {0, 1}, [..., 1] scale (0 where absent).
    """
    device = device or (boxes[0].device if len(boxes) else 'cpu')
    c = (torch.arange(grid, device=device, dtype=torch.float32) + 0.5) / grid
    cy, cx = torch.meshgrid(c, c, indexing='ij')  # (g, g)
    maps = []
    for b in boxes:
        b = b.to(device=device, dtype=torch.float32)
        out = torch.zeros(grid, grid, 2, device=device)
        if len(b):
            inside = ((cx[None] >= b[:, 0, None, None]) & (cx[None] <= b[:, 2, None, None])
                      & (cy[None] >= b[:, 1, None, None]) & (cy[None] <= b[:, 3, None, None]))  # (N,g,g)
            size = torch.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]).clamp_min(1e-6)
            scale = torch.where(inside, size[:, None, None], torch.full_like(inside, 2.0, dtype=torch.float32))
            smallest = scale.min(0).values
            present = inside.any(0)
            out[..., 0] = present.float()
            out[..., 1] = torch.where(present, smallest, torch.zeros_like(smallest))
        maps.append(out)
    return torch.stack(maps) if maps else torch.zeros(0, grid, grid, 2, device=device)


def token_levels(presence: torch.Tensor, scale: torch.Tensor, scale_thresh: float) -> torch.Tensor:
    """Token level of every 28-px patch.

    Args:
        presence: (B, g, g) bool.
        scale: (B, g, g) float.
    Returns:
        (B, g, g) long in {LEVEL_FINE, LEVEL_BASE, LEVEL_POOLED}; g must be even.
    """
    B, g, _ = presence.shape
    if g % 2:
        raise ValueError(f'scale-map grid {g} must be even (input size a multiple of 56 px)')
    level = torch.full_like(presence, LEVEL_BASE, dtype=torch.long)
    level[presence & (scale < scale_thresh)] = LEVEL_FINE
    any_person = F.max_pool2d(presence.float()[:, None], 2)[:, 0] > 0  # (B, g/2, g/2)
    pooled = (~any_person).repeat_interleave(2, 1).repeat_interleave(2, 2)
    level[pooled] = LEVEL_POOLED
    return level
