"""Batched torch z-buffer (CPU or GPU): the same rasterisation as :mod:`metric_hmr.dto.raster`
for B images at once, with the conventions stated there (pixel centres, inclusive edges,
perspective-correct depth, ``near`` plane, ``depth_tol`` visibility, masks only restrict
visibility).

Vectorised over (triangle, candidate pixel in its bounding box) pairs; the z-buffer is a
``scatter_reduce(amin)`` and ties go to the lowest triangle index, as in the sequential
kernel, so results equal the numpy / numba paths.  Memory grows with the total bounding-box
area of all triangles (about 1e5-1e6 candidates per image for SMPL crowds at 512 px).
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import torch

from .raster import raster_size

__all__ = ['BatchRasterOutput', 'rasterize_persons_torch']


class BatchRasterOutput(NamedTuple):
    person_id: torch.Tensor       # (B, h, w) int32, -1 background
    depth: torch.Tensor           # (B, h, w) float, inf background
    vertex_visible: torch.Tensor  # (B, K, V) bool
    scale: float


def rasterize_persons_torch(vertices: torch.Tensor, faces: torch.Tensor, focal: torch.Tensor,
                            princpt: torch.Tensor, image_size: Tuple[int, int],
                            resolution: Optional[int] = 512, valid: Optional[torch.Tensor] = None,
                            masks: Optional[torch.Tensor] = None, depth_tol: float = 0.02,
                            near: float = 1e-3) -> BatchRasterOutput:
    """Rasterise B images of K persons with shared faces.

    Args:
        vertices: (B, K, V, 3) camera space; faces: (F, 3) long.
        focal, princpt: (B, 2) or (2,) image pixels.
        image_size: (H, W) shared by the batch.
        valid: (B, K) bool, real persons (padding persons are not drawn).
        masks: (B, K, H, W) bool person masks at image resolution, or None.
    """
    if vertices.dim() != 4 or vertices.shape[-1] != 3:
        raise ValueError(f'vertices must be (B, K, V, 3), got {tuple(vertices.shape)}')
    B, K, V, _ = vertices.shape
    dev, dt = vertices.device, vertices.dtype
    (h, w), scale = raster_size(image_size, resolution)
    faces = torch.as_tensor(faces, dtype=torch.long, device=dev)
    F = faces.shape[0]
    focal = torch.as_tensor(focal, dtype=dt, device=dev).reshape(-1, 2).expand(B, 2)
    princpt = torch.as_tensor(princpt, dtype=dt, device=dev).reshape(-1, 2).expand(B, 2)
    valid = (torch.ones(B, K, dtype=torch.bool, device=dev) if valid is None
             else torch.as_tensor(valid, dtype=torch.bool, device=dev))

    z = vertices[..., 2]
    good = (z >= near) & valid[..., None]
    zs = torch.where(good, z, torch.ones_like(z))
    u = (focal[:, None, None, 0] * vertices[..., 0] / zs + princpt[:, None, None, 0] + 0.5) * scale
    v = (focal[:, None, None, 1] * vertices[..., 1] / zs + princpt[:, None, None, 1] + 0.5) * scale
    good &= torch.isfinite(u) & torch.isfinite(v)
    inv_z = torch.where(good, 1.0 / zs, torch.full_like(zs, -1.0))

    # triangles: (B, K, F, 3)
    tu, tv, tiz = u[..., faces], v[..., faces], inv_z[..., faces]
    ok = (tiz > 0).all(-1)
    x0 = torch.ceil(tu.amin(-1) - 0.5).clamp(min=0)
    x1 = torch.floor(tu.amax(-1) - 0.5).clamp(max=w - 1)
    y0 = torch.ceil(tv.amin(-1) - 0.5).clamp(min=0)
    y1 = torch.floor(tv.amax(-1) - 0.5).clamp(max=h - 1)
    nx = (x1 - x0 + 1).clamp(min=0).long()
    ny = (y1 - y0 + 1).clamp(min=0).long()
    npx = torch.where(ok, nx * ny, torch.zeros_like(nx)).reshape(-1)
    tri = torch.repeat_interleave(torch.arange(npx.numel(), device=dev), npx)

    depth = torch.full((B * h * w,), float('inf'), dtype=dt, device=dev)
    pid = torch.full((B * h * w,), -1, dtype=torch.int32, device=dev)
    if tri.numel():
        starts = torch.cumsum(npx, 0) - npx
        local = torch.arange(tri.numel(), device=dev) - starts[tri]
        nxf = nx.reshape(-1)[tri]
        px = x0.reshape(-1)[tri].long() + local % nxf
        py = y0.reshape(-1)[tri].long() + local // nxf
        qx, qy = px.to(dt) + 0.5, py.to(dt) + 0.5
        au, bu, cu = (tu.reshape(-1, 3)[tri, i] for i in range(3))
        av, bv, cv = (tv.reshape(-1, 3)[tri, i] for i in range(3))
        area = (bu - au) * (cv - av) - (bv - av) * (cu - au)
        l0 = ((bu - qx) * (cv - qy) - (bv - qy) * (cu - qx)) / area
        l1 = ((cu - qx) * (av - qy) - (cv - qy) * (au - qx)) / area
        l2 = ((au - qx) * (bv - qy) - (av - qy) * (bu - qx)) / area
        iz3 = tiz.reshape(-1, 3)[tri]
        izc = l0 * iz3[:, 0] + l1 * iz3[:, 1] + l2 * iz3[:, 2]
        inside = (area != 0) & (l0 >= 0) & (l1 >= 0) & (l2 >= 0) & (izc > 0)
        tri, px, py, zc = tri[inside], px[inside], py[inside], 1.0 / izc[inside]
        img = tri // (K * F)
        key = (img * h + py) * w + px
        depth.scatter_reduce_(0, key, zc, reduce='amin', include_self=True)
        win = zc == depth[key]
        best = torch.full((B * h * w,), torch.iinfo(torch.long).max, dtype=torch.long, device=dev)
        best.scatter_reduce_(0, key[win], tri[win], reduce='amin', include_self=True)
        hit = best < torch.iinfo(torch.long).max
        pid[hit] = ((best[hit] // F) % K).to(torch.int32)
    depth = depth.reshape(B, h, w)
    pid = pid.reshape(B, h, w)

    # visibility (see metric_hmr.dto.raster)
    inb = good & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    c = u.clamp(0, w - 1).long()
    r = v.clamp(0, h - 1).long()
    bidx = torch.arange(B, device=dev)[:, None, None].expand(B, K, V)
    kidx = torch.arange(K, device=dev)[None, :, None].expand(B, K, V)
    vis = inb & (pid[bidx, r, c] == kidx) & (z <= depth[bidx, r, c] + depth_tol)
    if masks is not None:
        m = torch.as_tensor(masks, dtype=torch.bool, device=dev)
        Hm, Wm = m.shape[-2:]
        rows = ((torch.arange(h, device=dev) + 0.5) * Hm / h).long().clamp(max=Hm - 1)
        cols = ((torch.arange(w, device=dev) + 0.5) * Wm / w).long().clamp(max=Wm - 1)
        m = m[..., rows[:, None], cols[None, :]]
        vis &= m[bidx, kidx, r, c]
    return BatchRasterOutput(pid, depth, vis, float(scale))
