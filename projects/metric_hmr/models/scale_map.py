"""Ground-truth scale map of SAT-HMR (``datasets/base.py`` + ``utils/map.py gen_scale_map``).

The input is divided into 28-px patches.  A patch gets (presence 1, scale s) when a person's
projected mesh (SMPL vertices plus the midpoints of its edges, i.e. the vertices of one
subdivision step) falls into it; s = ||(w, h)|| of the person's box normalised by the input
size, clamped to 1.  Persons are painted from far to near, so the nearest person owns a
patch.  Persons without a mesh (no SMPL ground truth, unknown camera) cover the patches whose
centre lies inside their box.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import torch

__all__ = ['mesh_edge_midpoint_index', 'build_scale_map_target']


def mesh_edge_midpoint_index(faces: np.ndarray) -> torch.Tensor:
    """(E, 2) vertex pairs of the unique edges of a triangle mesh (F, 3)."""
    f = np.asarray(faces, np.int64)
    edges = np.sort(f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    return torch.as_tensor(np.unique(edges, axis=0))


def _box_cells(box: torch.Tensor, cy: torch.Tensor, cx: torch.Tensor) -> torch.Tensor:
    """(h, w) bool: patch centres inside an xyxy box (pixels)."""
    return (cx >= box[0]) & (cx <= box[2]) & (cy >= box[1]) & (cy <= box[3])


def _point_cells(points: torch.Tensor, hw: Tuple[int, int], patch: int) -> torch.Tensor:
    """(h, w) bool: patches hit by (P, 2) pixel points (clamped into the grid, as SAT-HMR)."""
    h, w = hw
    cells = torch.div(points, patch, rounding_mode='floor').long()
    x = cells[:, 0].clamp(0, w - 1)
    y = cells[:, 1].clamp(0, h - 1)
    hit = torch.zeros(h, w, dtype=torch.bool, device=points.device)
    hit[y, x] = True
    return hit


def build_scale_map_target(boxes: Sequence[torch.Tensor], grid, device=None, input_size: Optional[float] = None,
                           points: Optional[Sequence[Sequence[Optional[torch.Tensor]]]] = None,
                           depths: Optional[Sequence[torch.Tensor]] = None, patch: int = 28) -> torch.Tensor:
    """Ground-truth scale maps.

    Args:
        boxes: per image (N, 4) xyxy boxes normalised by the input size S.
        grid: (h, w) patches (or g for g x g).
        input_size: S in pixels (default ``patch * w``).
        points: per image, per person a (P, 2) tensor of projected mesh points in input pixels,
            or None (box coverage).
        depths: per image (N,) person depths (far persons painted first); NaN sorts as far.
    Returns:
        (B, h, w, 2): [..., 0] presence in {0, 1}, [..., 1] scale (0 where absent).
    """
    h, w = (grid, grid) if isinstance(grid, int) else tuple(grid)
    S = float(input_size or patch * w)
    device = device or (boxes[0].device if len(boxes) else 'cpu')
    cy = ((torch.arange(h, device=device, dtype=torch.float32) + 0.5) * patch)[:, None].expand(h, w)
    cx = ((torch.arange(w, device=device, dtype=torch.float32) + 0.5) * patch)[None].expand(h, w)
    maps = []
    for b, img_boxes in enumerate(boxes):
        img_boxes = img_boxes.to(device=device, dtype=torch.float32).reshape(-1, 4)
        out = torch.zeros(h, w, 2, device=device)
        wh = img_boxes[:, 2:] - img_boxes[:, :2]
        scales = wh.norm(dim=1).clamp(0.0, 1.0)
        order = range(len(img_boxes))
        if depths is not None and len(img_boxes):
            d = torch.nan_to_num(depths[b].to(device).float(), nan=float('inf'))
            order = torch.argsort(d, descending=True).tolist()
        for i in order:
            pts = None if points is None else points[b][i]
            cells = (_point_cells(pts.to(device), (h, w), patch) if pts is not None and len(pts)
                     else _box_cells(img_boxes[i] * S, cy, cx))
            out[cells, 0] = 1.0
            out[cells, 1] = scales[i]
        maps.append(out)
    return torch.stack(maps) if maps else torch.zeros(0, h, w, 2, device=device)
