"""Exact renderings of a synthetic scene: metric depth, person id mask, optional RGB.

Persons are rasterised together with :func:`metric_hmr.dto.raster.rasterize_persons` (one
z-buffer); the background is the ground plane (world y = 0) and a far wall (world
z = ``wall_z``) facing the camera, so every pixel has a finite metric depth.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np

from .scene_camera import SceneCamera

__all__ = ['SceneRendering', 'background_depth', 'background_is_ground', 'render_scene', 'pixel_rays']


class SceneRendering(NamedTuple):
    """Exact per-pixel ground truth of one image (image resolution).

    Attributes:
        depth: (H, W) float32 camera-space z (metres) of the nearest surface, persons or
            background; always finite.
        person_id: (H, W) int16 index of the visible person, -1 background.
        bg_depth: (H, W) float32 depth of the background alone (ground or wall).
        vertex_visible: list of K (V,) bool, vertices on the visible front surface.
    """
    depth: np.ndarray
    person_id: np.ndarray
    bg_depth: np.ndarray
    vertex_visible: list


def pixel_rays(camera: SceneCamera) -> np.ndarray:
    """(H, W, 3) camera-space rays ``((u-cx)/fx, (v-cy)/fy, 1)`` through pixel centres."""
    H, W = camera.image_size
    u, v = np.meshgrid(np.arange(W, dtype=np.float64), np.arange(H, dtype=np.float64))
    return np.stack([(u - camera.princpt[0]) / camera.focal[0],
                     (v - camera.princpt[1]) / camera.focal[1], np.ones_like(u)], -1)


def _background_hits(camera: SceneCamera, wall_z: float):
    """(H, W) ray parameters (= depth) at which each pixel's ray meets the ground plane y=0
    and the wall z=wall_z (inf where it does not).

    A camera-space ray ``t * r`` (r_z = 1) has depth ``t``; its world direction is R^T r.
    """
    d_world = pixel_rays(camera) @ camera.R                  # (H, W, 3)
    cy_, cz_ = camera.C[1], camera.C[2]
    with np.errstate(divide='ignore', invalid='ignore'):
        t_ground = np.where(d_world[..., 1] < 0, -cy_ / d_world[..., 1], np.inf)
        t_wall = np.where(d_world[..., 2] > 0, (wall_z - cz_) / d_world[..., 2], np.inf)
    return t_ground, t_wall


def background_depth(camera: SceneCamera, wall_z: float) -> np.ndarray:
    """(H, W) float64 depth of the ground plane y=0 / wall z=wall_z seen through each pixel."""
    t_ground, t_wall = _background_hits(camera, wall_z)
    depth = np.minimum(t_ground, t_wall)
    if not np.all(np.isfinite(depth)):
        raise ValueError('camera sees neither ground nor wall at some pixels; '
                         f'check pitch={camera.pitch} and vfov={camera.vfov}')
    return depth


def background_is_ground(camera: SceneCamera, wall_z: float) -> np.ndarray:
    """(H, W) bool, the background seen through the pixel is the ground (else the wall)."""
    t_ground, t_wall = _background_hits(camera, wall_z)
    return t_ground < t_wall


def render_scene(vertices: Sequence[np.ndarray], faces: np.ndarray, camera: SceneCamera,
                 wall_z: float) -> SceneRendering:
    """Render persons (camera-space vertices) over the background at image resolution."""
    from metric_hmr.dto.raster import rasterize_persons
    bg = background_depth(camera, wall_z)
    H, W = camera.image_size
    if len(vertices):
        ras = rasterize_persons(list(vertices), faces, camera.focal, camera.princpt, (H, W),
                                resolution=None)
        pid = ras.person_id.astype(np.int16)
        pdepth = ras.depth.astype(np.float64)
        visible = list(ras.vertex_visible)
    else:
        pid = np.full((H, W), -1, np.int16)
        pdepth = np.full((H, W), np.inf)
        visible = []
    # a person pixel behind the background (a body part sunk below the ground, or beyond
    # the wall) is hidden by the background
    hidden = pdepth >= bg
    pid[hidden] = -1
    depth = np.where(pid >= 0, pdepth, bg)
    return SceneRendering(depth=depth.astype(np.float32), person_id=pid,
                          bg_depth=bg.astype(np.float32), vertex_visible=visible)


def shade_rgb(rendering: SceneRendering, vertices: Sequence[np.ndarray], faces: np.ndarray,
              camera: SceneCamera, rng: np.random.Generator,
              colors: Optional[np.ndarray] = None) -> np.ndarray:
    """Simple RGB image: Lambert-shaded person surfaces over a random smooth background.

    Normals come from the metric depth map (finite differences of back-projected points),
    so no second rasterisation is needed.  Returns (H, W, 3) uint8.
    """
    H, W = camera.image_size
    pts = pixel_rays(camera) * rendering.depth[..., None].astype(np.float64)
    dx = np.gradient(pts, axis=1)
    dy = np.gradient(pts, axis=0)
    n = np.cross(dx, dy)
    n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-12
    light = np.array([0.3, -0.6, -0.75])
    light /= np.linalg.norm(light)
    lambert = np.clip(np.abs(n @ light), 0.0, 1.0)
    K = len(vertices)
    if colors is None:
        colors = rng.uniform(40, 230, size=(K, 3))
    # background: two random colours blended along image rows (ground vs wall) plus noise
    top, bottom = rng.uniform(0, 255, size=(2, 3))
    rows = np.linspace(0.0, 1.0, H)[:, None, None]
    img = (1 - rows) * top + rows * bottom + rng.normal(0, 8, size=(H, W, 3))
    img = img * (0.6 + 0.4 * lambert[..., None])
    pid = rendering.person_id
    for k in range(K):
        m = pid == k
        img[m] = colors[k] * (0.25 + 0.75 * lambert[m, None])
    return np.clip(img, 0, 255).astype(np.uint8)
