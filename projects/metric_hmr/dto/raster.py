"""Z-buffer rasteriser of the triangle meshes of all persons of one image.

DTO needs to know which mesh vertices are *visible* (paper Sec. 3.2.2: ``d_i`` is the mean
relative depth at the projections of a person's visible vertices).  Visibility is decided
by a z-buffer over all persons of the image together, so a person standing behind another
one only contributes the vertices that are not occluded.

Conventions (stated once, used by every caller):

* Camera space is OpenCV (x right, y down, z forward), metres.  A vertex projects to image
  pixel coordinates ``u = fx * x / z + cx``, ``v = fy * y / z + cy``; image pixel ``(r, c)``
  has its centre at ``(u, v) = (c, r)`` (OpenCV: pixel centres at integers).
* The raster has ``scale = resolution / max(H, W)`` raster pixels per image pixel
  (``resolution=None``: scale 1).  Its size is ``(round(H*scale), round(W*scale))``.
  A continuous image coordinate ``u`` maps to the raster coordinate ``(u + 0.5) * scale``,
  and raster pixel ``j`` has its centre at ``j + 0.5`` (pixel areas are aligned, so a
  raster covers exactly the image).
* A pixel is covered by a triangle when its centre lies inside or on the triangle.
  Depth is interpolated perspective-correctly (``1/z`` is linear in screen space).
* Triangles with a vertex closer than ``near`` (or behind the camera) are dropped: persons
  are never that close to the camera in DTO's use, and dropping avoids clipping code.
* ``person_id`` / ``depth`` are pure geometry.  Masks (image resolution, resampled with
  nearest-neighbour at raster pixel centres) only restrict ``vertex_visible``.
* A vertex is visible when it projects inside the raster, the pixel it falls in belongs to
  its own person, its depth is within ``depth_tol`` of the z-buffer there (it is on the
  front surface, not hidden by the person's own arm or by another person), and, when masks
  are given, the person's mask is set at that pixel.

The kernel is numba-compiled (``cache=True``) when numba is importable, otherwise a
vectorised numpy path computes the same z-buffer (tests check they agree).
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ..geometry.camera import project_points_raster

try:  # numba is optional: the numpy path below gives identical results, only slower
    import numba
    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is absent
    numba = None
    _HAVE_NUMBA = False

__all__ = ['RasterOutput', 'rasterize_persons', 'raster_size', 'project_points_raster',
           'resize_mask_nearest']


class RasterOutput(NamedTuple):
    """Result of :func:`rasterize_persons`.

    Attributes:
        person_id: (h, w) int32, index of the nearest person per raster pixel, -1 background.
        depth: (h, w) float32, camera-space z of the nearest surface, ``inf`` background.
        vertex_visible: list of K arrays (V_k,) bool.
        scale: raster pixels per image pixel.
    """
    person_id: np.ndarray
    depth: np.ndarray
    vertex_visible: List[np.ndarray]
    scale: float


def raster_size(image_size: Tuple[int, int], resolution: Optional[int]) -> Tuple[Tuple[int, int], float]:
    """Raster shape ``(h, w)`` and ``scale`` (raster px per image px) for an image size."""
    H, W = int(image_size[0]), int(image_size[1])
    if H <= 0 or W <= 0:
        raise ValueError(f'image_size must be positive, got {image_size}')
    if resolution is None:
        return (H, W), 1.0
    if int(resolution) <= 0:
        raise ValueError(f'resolution must be positive or None, got {resolution}')
    scale = float(resolution) / max(H, W)
    return (max(1, int(round(H * scale))), max(1, int(round(W * scale)))), scale


# Raster coordinates (pixel j covers [j, j + 1), times the raster scale): the one definition is
# metric_hmr.geometry.project_points_raster (re-exported here).  ``project_points`` was its old
# name here, easy to confuse with geometry.project_points (OpenCV pixel centres): deprecated.
def __getattr__(name):
    if name == 'project_points':
        import warnings
        warnings.warn('metric_hmr.dto.raster.project_points is deprecated: it is the raster variant '
                      '(+0.5, scale), use metric_hmr.geometry.project_points_raster (or '
                      'geometry.project_points for OpenCV pixel centres)', DeprecationWarning, stacklevel=2)
        return project_points_raster
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def resize_mask_nearest(mask: np.ndarray, out_hw: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resample of a (..., H, W) mask, sampling at output pixel centres."""
    mask = np.asarray(mask)
    H, W = mask.shape[-2:]
    h, w = out_hw
    if (H, W) == (h, w):
        return mask.astype(bool)
    rows = np.minimum(((np.arange(h) + 0.5) * H / h).astype(np.int64), H - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * W / w).astype(np.int64), W - 1)
    return mask[..., rows[:, None], cols[None, :]].astype(bool)


# ----------------------------------------------------------------------------------------
# z-buffer kernels.  Inputs: xy (T, 3, 2) raster coords of the triangle corners,
# inv_z (T, 3) inverse depths, owner (T,) person index.
# ----------------------------------------------------------------------------------------
def _zbuffer_numpy(xy, inv_z, owner, h, w):
    depth = np.full((h, w), np.inf, dtype=np.float64)
    pid = np.full((h, w), -1, dtype=np.int32)
    if len(xy) == 0:
        return depth, pid
    x0 = np.clip(np.ceil(xy[..., 0].min(1) - 0.5), 0, w).astype(np.int64)
    x1 = np.clip(np.floor(xy[..., 0].max(1) - 0.5), -1, w - 1).astype(np.int64)
    y0 = np.clip(np.ceil(xy[..., 1].min(1) - 0.5), 0, h).astype(np.int64)
    y1 = np.clip(np.floor(xy[..., 1].max(1) - 0.5), -1, h - 1).astype(np.int64)
    nx = np.maximum(x1 - x0 + 1, 0)
    ny = np.maximum(y1 - y0 + 1, 0)
    npx = nx * ny
    keep = npx > 0
    tri = np.repeat(np.nonzero(keep)[0], npx[keep])
    if len(tri) == 0:
        return depth, pid
    # local offset of each candidate pixel inside its triangle's bounding box
    starts = np.cumsum(npx[keep]) - npx[keep]
    local = np.arange(len(tri)) - np.repeat(starts, npx[keep])
    px = x0[tri] + local % nx[tri]
    py = y0[tri] + local // nx[tri]
    cxp, cyp = px + 0.5, py + 0.5
    a, b, c = xy[tri, 0], xy[tri, 1], xy[tri, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    w0 = (b[:, 0] - cxp) * (c[:, 1] - cyp) - (b[:, 1] - cyp) * (c[:, 0] - cxp)
    w1 = (c[:, 0] - cxp) * (a[:, 1] - cyp) - (c[:, 1] - cyp) * (a[:, 0] - cxp)
    w2 = (a[:, 0] - cxp) * (b[:, 1] - cyp) - (a[:, 1] - cyp) * (b[:, 0] - cxp)
    ok = area != 0
    with np.errstate(divide='ignore', invalid='ignore'):
        l0, l1, l2 = w0 / area, w1 / area, w2 / area
    inside = ok & (l0 >= 0) & (l1 >= 0) & (l2 >= 0)
    iz = inv_z[tri]
    z = 1.0 / (l0 * iz[:, 0] + l1 * iz[:, 1] + l2 * iz[:, 2])
    inside &= np.isfinite(z) & (z > 0)
    tri, px, py, z = tri[inside], px[inside], py[inside], z[inside]
    flat = py * w + px
    # nearest fragment per pixel: sort by (pixel, depth, triangle index) and keep the first;
    # ties resolve to the lowest triangle index, as in the sequential kernel
    order = np.lexsort((tri, z, flat))
    flat, z, tri = flat[order], z[order], tri[order]
    first = np.ones(len(flat), dtype=bool)
    first[1:] = flat[1:] != flat[:-1]
    depth.ravel()[flat[first]] = z[first]
    pid.ravel()[flat[first]] = owner[tri[first]]
    return depth, pid


def _zbuffer_python(pts, inv_z, faces, owner, h, w):  # pragma: no cover - compiled by numba
    """Sequential z-buffer over indexed triangles (pts (N,2) raster coords, inv_z (N,)
    1/z or <= 0 for vertices to drop, faces (F,3) into pts, owner (F,))."""
    depth = np.full((h, w), np.inf)
    pid = np.full((h, w), -1, dtype=np.int32)
    for t in range(faces.shape[0]):
        i0, i1, i2 = faces[t, 0], faces[t, 1], faces[t, 2]
        if inv_z[i0] <= 0.0 or inv_z[i1] <= 0.0 or inv_z[i2] <= 0.0:
            continue
        ax, ay = pts[i0, 0], pts[i0, 1]
        bx, by = pts[i1, 0], pts[i1, 1]
        cx, cy = pts[i2, 0], pts[i2, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if area == 0.0 or not np.isfinite(area):
            continue
        x0 = max(int(np.ceil(min(ax, bx, cx) - 0.5)), 0)
        x1 = min(int(np.floor(max(ax, bx, cx) - 0.5)), w - 1)
        y0 = max(int(np.ceil(min(ay, by, cy) - 0.5)), 0)
        y1 = min(int(np.floor(max(ay, by, cy) - 0.5)), h - 1)
        if x0 > x1 or y0 > y1:
            continue
        inv_area = 1.0 / area
        za, zb, zc = inv_z[i0], inv_z[i1], inv_z[i2]
        for py in range(y0, y1 + 1):
            qy = py + 0.5
            for px in range(x0, x1 + 1):
                qx = px + 0.5
                l0 = ((bx - qx) * (cy - qy) - (by - qy) * (cx - qx)) * inv_area
                l1 = ((cx - qx) * (ay - qy) - (cy - qy) * (ax - qx)) * inv_area
                l2 = ((ax - qx) * (by - qy) - (ay - qy) * (bx - qx)) * inv_area
                if l0 < 0.0 or l1 < 0.0 or l2 < 0.0:
                    continue
                iz = l0 * za + l1 * zb + l2 * zc
                if iz <= 0.0:
                    continue
                z = 1.0 / iz
                if z < depth[py, px]:
                    depth[py, px] = z
                    pid[py, px] = owner[t]
    return depth, pid


def _visibility_python(pts, z, person, pid, depth, mask_r, use_mask, depth_tol, near):  # pragma: no cover
    """Per-vertex visibility (see module docstring); person (N,) owner of each vertex."""
    h, w = pid.shape
    vis = np.zeros(pts.shape[0], dtype=np.bool_)
    for i in range(pts.shape[0]):
        x, y = pts[i, 0], pts[i, 1]
        if not (z[i] >= near and x >= 0.0 and x < w and y >= 0.0 and y < h):
            continue
        c, r = int(x), int(y)
        k = person[i]
        if pid[r, c] != k or z[i] > depth[r, c] + depth_tol:
            continue
        if use_mask and not mask_r[k, r, c]:
            continue
        vis[i] = True
    return vis


def _visibility_numpy(pts, z, person, pid, depth, mask_r, use_mask, depth_tol, near):
    h, w = pid.shape
    vis = np.zeros(len(pts), dtype=bool)
    with np.errstate(invalid='ignore'):
        inb = (z >= near) & (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    idx = np.nonzero(inb)[0]
    c = pts[idx, 0].astype(np.int64)
    r = pts[idx, 1].astype(np.int64)
    ok = (pid[r, c] == person[idx]) & (z[idx] <= depth[r, c] + depth_tol)
    if use_mask:
        ok &= mask_r[person[idx], r, c]
    vis[idx[ok]] = True
    return vis


if _HAVE_NUMBA:
    _zbuffer_numba = numba.njit(cache=True, nogil=True)(_zbuffer_python)
    _visibility_numba = numba.njit(cache=True, nogil=True)(_visibility_python)


def _resolve_backend(backend: str) -> str:
    if backend == 'auto':
        return 'numba' if _HAVE_NUMBA else 'numpy'
    if backend == 'numba' and not _HAVE_NUMBA:
        raise ValueError("backend='numba' requested but numba is not installed")
    if backend not in ('numba', 'numpy'):
        raise ValueError(f"unknown raster backend {backend!r} (use 'auto', 'numba' or 'numpy')")
    return backend


def _zbuffer(pts, inv_z, faces, owner, h, w, backend):
    if backend == 'numba':
        return _zbuffer_numba(pts, inv_z, faces, owner, int(h), int(w))
    ok = np.all(inv_z[faces] > 0, axis=1)
    return _zbuffer_numpy(pts[faces[ok]], inv_z[faces[ok]], owner[ok], h, w)


def _as_person_lists(vertices, faces):
    if isinstance(vertices, np.ndarray) and vertices.ndim == 3:
        verts = [vertices[k] for k in range(vertices.shape[0])]
    else:
        verts = [np.asarray(v) for v in vertices]
    for k, v in enumerate(verts):
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f'vertices of person {k} must have shape (V,3), got {v.shape}')
    if isinstance(faces, np.ndarray) and faces.ndim == 2:
        fcs = [faces] * len(verts)
    else:
        fcs = [np.asarray(f) for f in faces]
        if len(fcs) != len(verts):
            raise ValueError(f'got {len(fcs)} face arrays for {len(verts)} persons')
    for k, (v, f) in enumerate(zip(verts, fcs)):
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f'faces of person {k} must have shape (F,3), got {f.shape}')
        if f.size and (f.min() < 0 or f.max() >= len(v)):
            raise ValueError(f'faces of person {k} index outside its {len(v)} vertices')
    return verts, fcs


def rasterize_persons(vertices: Union[Sequence[np.ndarray], np.ndarray],
                      faces: Union[np.ndarray, Sequence[np.ndarray]],
                      focal, princpt, image_size: Tuple[int, int],
                      resolution: Optional[int] = 512,
                      masks: Optional[np.ndarray] = None,
                      *, depth_tol: float = 0.02, near: float = 1e-3,
                      backend: str = 'auto') -> RasterOutput:
    """Render all persons of one image into one z-buffer and find visible vertices.

    Args:
        vertices: K arrays (V_k, 3) or one (K, V, 3) array, camera space (metres).
        faces: (F, 3) shared by all persons, or K arrays (F_k, 3).
        focal: (fx, fy) in image pixels; princpt: (cx, cy) in image pixels.
        image_size: (H, W) of the original image.
        resolution: longest side of the raster in pixels; None = image size.
        masks: optional (K, H, W) bool person masks in image resolution.
        depth_tol: a vertex is on the front surface when its z is at most this much (metres)
            behind the z-buffer at its pixel.
        near: triangles with a vertex at z < near are dropped.
        backend: 'auto' (numba if available), 'numba' or 'numpy'.

    Returns:
        :class:`RasterOutput`.
    """
    verts, fcs = _as_person_lists(vertices, faces)
    backend = _resolve_backend(backend)
    (h, w), scale = raster_size(image_size, resolution)
    K = len(verts)
    masks_r = np.zeros((1, 1, 1), dtype=bool)
    if masks is not None:
        masks = np.asarray(masks)
        if masks.ndim != 3 or masks.shape[0] != K:
            raise ValueError(f'masks must have shape (K={K}, H, W), got {masks.shape}')
        masks_r = np.ascontiguousarray(resize_mask_nearest(masks, (h, w)))
    # all persons in one indexed mesh: vertices concatenated, faces offset
    sizes = np.array([len(v) for v in verts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    allv = (np.concatenate(verts).astype(np.float64) if K else np.zeros((0, 3)))
    person = np.repeat(np.arange(K, dtype=np.int32), sizes)
    allf = (np.concatenate([f.astype(np.int64) + offsets[k] for k, f in enumerate(fcs)])
            if K else np.zeros((0, 3), np.int64))
    owner = np.repeat(np.arange(K, dtype=np.int32), [len(f) for f in fcs]) if K else np.zeros(0, np.int32)
    pts = project_points_raster(allv, focal, princpt, scale)
    z = allv[:, 2]
    good = (z >= near) & np.isfinite(pts).all(1)
    inv_z = np.where(good, 1.0 / np.where(good, z, 1.0), -1.0)   # <= 0 marks dropped vertices
    pts = np.ascontiguousarray(np.where(good[:, None], pts, 0.0))
    depth, pid = _zbuffer(pts, inv_z, np.ascontiguousarray(allf), owner, h, w, backend)
    vis_fn = _visibility_numba if backend == 'numba' else _visibility_numpy
    vis = vis_fn(pts, np.where(good, z, -1.0), person, pid, depth, masks_r, masks is not None,
                 float(depth_tol), float(near))
    visible = [vis[offsets[k]:offsets[k + 1]] for k in range(K)]
    return RasterOutput(person_id=pid, depth=depth.astype(np.float32),
                        vertex_visible=visible, scale=float(scale))
