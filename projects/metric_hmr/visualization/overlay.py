"""Meshes overlaid on the image: CPU z-buffer, flat Lambert shading, alpha blend.

No OpenGL/EGL/OSMesa: the z-buffer (which person is nearest at each pixel, and its depth)
comes from the DTO rasteriser :func:`metric_hmr.dto.raster.rasterize_persons`, the same one that
decides vertex visibility for DTO, so the overlay shows exactly what DTO "sees".  For flat
shading each covered pixel is back-projected with its z-buffer depth to a 3D surface point;
the triangle of that person with the nearest centroid gives the normal (computed here,
:mod:`.shading`), and Lambert's law the brightness.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

from metric_hmr.dto import raster as dto_raster
from .labels import PersonLabel, contrast_text_color, person_colors
from .shading import DEFAULT_LIGHT_DIR, face_normals_towards_camera, lambert

__all__ = ['OverlayResult', 'load_image', 'blank_image', 'backproject_pixels',
           'nearest_face_index', 'render_overlay', 'draw_person_labels']


class OverlayResult(NamedTuple):
    """Output of :func:`render_overlay`.

    Attributes:
        image: (h, w, 3) uint8 RGB, the (resized) image with the meshes blended in.
        person_id: (h, w) int32, nearest person per pixel, -1 background.
        depth: (h, w) float32 camera-space z, inf background.
        scale: output pixels per original image pixel.
    """
    image: np.ndarray
    person_id: np.ndarray
    depth: np.ndarray
    scale: float


def load_image(path) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB; a missing/corrupt file raises naming it."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert('RGB'))
    except FileNotFoundError:
        raise FileNotFoundError(f'image file not found: {path}') from None
    except OSError as e:
        raise ValueError(f'cannot read image file {path}: {e}') from e


def blank_image(image_size: Tuple[int, int], value: int = 235) -> np.ndarray:
    """Light-grey (H, W, 3) canvas used when no photo is available."""
    H, W = int(image_size[0]), int(image_size[1])
    return np.full((H, W, 3), value, dtype=np.uint8)


def backproject_pixels(rows: np.ndarray, cols: np.ndarray, depth: np.ndarray, focal, princpt,
                       scale: float) -> np.ndarray:
    """Camera-space points (N, 3) of raster pixel centres at the given depths.

    Inverts the rasteriser's convention: raster coordinate ``(u + 0.5) * scale`` of image
    coordinate ``u``, raster pixel ``j`` centred at ``j + 0.5``.
    """
    fx, fy = np.broadcast_to(np.asarray(focal, np.float64), (2,))
    cx, cy = np.asarray(princpt, np.float64)[:2]
    u = (cols + 0.5) / scale - 0.5
    v = (rows + 0.5) / scale - 0.5
    z = np.asarray(depth, np.float64)
    return np.stack([(u - cx) / fx * z, (v - cy) / fy * z, z], axis=-1)


def nearest_face_index(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """For surface points of one mesh, the triangle whose centroid is nearest (N,) int.

    The z-buffer gives the visible surface point of each pixel; its nearest triangle
    centroid is the triangle under the pixel or a neighbour of it (same orientation up
    to the mesh's curvature), which is all flat shading needs.
    """
    from scipy.spatial import cKDTree
    centroids = np.asarray(vertices, np.float64)[np.asarray(faces, np.int64)].mean(axis=1)
    finite = np.nonzero(np.isfinite(centroids).all(axis=1))[0]   # NaN faces are never drawn
    return finite[cKDTree(centroids[finite]).query(points)[1]]


def render_overlay(image: Optional[np.ndarray], vertices, faces: np.ndarray, focal, princpt,
                   image_size: Optional[Tuple[int, int]] = None,
                   resolution: Optional[int] = 1024,
                   colors: Optional[np.ndarray] = None, alpha: float = 0.8,
                   light_dir=DEFAULT_LIGHT_DIR, ambient: float = 0.35) -> OverlayResult:
    """Blend shaded person meshes over an image.

    Args:
        image: (H, W, 3) uint8 RGB or None (a grey canvas of ``image_size`` is used).
        vertices: K arrays (V, 3) or (K, V, 3), OpenCV camera space, metres.
        faces: (F, 3) triangle indices shared by all persons.
        focal, princpt: (2,) intrinsics in pixels of the original image.
        image_size: (H, W) of the original image; defaults to ``image.shape[:2]``.
        resolution: longest side of the output in pixels; None = original size.
        colors: (K, 3) uint8 per-person colours; default :data:`.labels.PALETTE`.
        alpha: opacity of the meshes.

    Returns:
        :class:`OverlayResult` at the raster size.
    """
    if image_size is None:
        if image is None:
            raise ValueError('render_overlay needs an image or an image_size')
        image_size = image.shape[:2]
    H, W = int(image_size[0]), int(image_size[1])
    if image is None:
        image = blank_image((H, W))
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != (H, W):
        raise ValueError(f'image must be (H={H}, W={W}, 3) RGB, got shape {image.shape}')
    verts = [np.asarray(v, dtype=np.float64) for v in vertices]
    faces = np.asarray(faces, dtype=np.int64)
    K = len(verts)
    colors = person_colors(K) if colors is None else np.asarray(colors, dtype=np.uint8)

    ras = dto_raster.rasterize_persons(verts, faces, focal, princpt, (H, W), resolution)
    h, w = ras.person_id.shape
    base = image if (h, w) == (H, W) else cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    out = base.astype(np.float64)
    if K == 0:
        return OverlayResult(base.copy(), ras.person_id, ras.depth, ras.scale)

    # flat shading: each covered pixel is lit with the normal of its triangle, found from
    # the z-buffer's surface point (back-projected pixel centre)
    shade = np.ones((h, w))
    for k, v in enumerate(verts):
        rows, cols = np.nonzero(ras.person_id == k)
        if len(rows) == 0:
            continue
        pts = backproject_pixels(rows, cols, ras.depth[rows, cols], focal, princpt, ras.scale)
        normals = face_normals_towards_camera(v, faces)
        shade[rows, cols] = lambert(normals[nearest_face_index(pts, v, faces)], light_dir, ambient)

    covered = ras.person_id >= 0
    col = colors[ras.person_id[covered]].astype(np.float64) * shade[covered, None]
    out[covered] = alpha * col + (1.0 - alpha) * out[covered]
    return OverlayResult(np.clip(out + 0.5, 0, 255).astype(np.uint8), ras.person_id, ras.depth,
                         ras.scale)


def draw_person_labels(image: np.ndarray, person_id: np.ndarray, labels: Sequence[PersonLabel],
                       colors: Optional[np.ndarray] = None, font_scale: Optional[float] = None
                       ) -> np.ndarray:
    """Write each person's label above its rendered silhouette (on a copy).

    Persons without visible pixels get no label.  Returns the new (h, w, 3) uint8 image.
    """
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    colors = person_colors(len(labels)) if colors is None else colors
    fs = font_scale if font_scale is not None else max(0.35, min(h, w) / 900.0)
    thick = max(1, int(round(fs * 2)))
    placed = []                                  # (x0, y0, x1, y1) of labels already drawn
    for lab in labels:
        rows, cols = np.nonzero(person_id == lab.index)
        if len(rows) == 0:
            continue
        text = lab.ascii_text()
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, fs, thick)
        x = int(np.clip(cols.mean() - tw / 2, 0, max(0, w - tw - 1)))
        y = int(np.clip(rows.min() - 4, th + 2, h - base - 1))
        # crowded scenes: move a label up (or, at the top border, down) until it is free
        for _ in range(len(placed) * 2 + 1):
            box = (x - 2, y - th - 2, x + tw + 2, y + base)
            hit = [b for b in placed if box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]]
            if not hit:
                break
            up = min(b[1] for b in hit) - base - 1
            y = up if up - th - 2 >= 0 else max(b[3] for b in hit) + th + 3
            y = int(min(y, h - base - 1))
        placed.append((x - 2, y - th - 2, x + tw + 2, y + base))
        color = tuple(int(c) for c in colors[lab.index % len(colors)])
        # translucent box: the mesh under a label stays visible in crowded scenes
        x0, y0, x1, y1 = max(0, x - 2), max(0, y - th - 2), min(w, x + tw + 3), min(h, y + base + 1)
        region = out[y0:y1, x0:x1].astype(np.float64)
        out[y0:y1, x0:x1] = (0.35 * region + 0.65 * np.asarray(color, np.float64)).astype(np.uint8)
        cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, fs, contrast_text_color(color),
                    thick, cv2.LINE_AA)
    return out
