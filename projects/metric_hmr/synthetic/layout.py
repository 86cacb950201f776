"""Placement of persons on the ground plane with non-overlapping footprints."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .scene_camera import SceneCamera

__all__ = ['Footprints', 'place_footprints']


class Footprints(NamedTuple):
    """Ground positions of the placed persons.

    Attributes:
        xz: (K, 2) world (x, z) of each placed person's body centre on the ground.
        yaw: (K,) heading about the world up axis, radians.
        placed: (N,) bool, which of the N requested persons got a place (a person that
            finds no free spot after ``max_tries`` is not placed; the scene records it).
    """
    xz: np.ndarray
    yaw: np.ndarray
    placed: np.ndarray


def place_footprints(rng: np.random.Generator, radii: np.ndarray, camera: SceneCamera,
                     dist_range=(1.5, 20.0), fov_margin: float = 1.15, gap: float = 0.05,
                     max_tries: int = 200) -> Footprints:
    """Rejection-sample non-overlapping discs on the ground seen by the camera.

    A candidate spot is the ground point seen through a pixel drawn uniformly from the
    image enlarged by ``fov_margin`` (so persons at the border may be partly outside the
    image); it is kept when its forward distance lies in ``dist_range`` and its disc of
    radius ``radii[k]`` is ``gap`` metres away from every placed disc.

    Args:
        radii: (N,) footprint radius of each requested person, metres.
    """
    radii = np.asarray(radii, np.float64)
    H, W = camera.image_size
    m = (fov_margin - 1.0) / 2.0
    xz, yaw, placed = [], [], np.zeros(len(radii), bool)
    placed_r = []
    for k, r in enumerate(radii):
        for _ in range(max_tries):
            u = rng.uniform(-m * W, (1 + m) * W)
            v = rng.uniform(0.0, (1 + m) * H)
            ray = np.array([(u - camera.princpt[0]) / camera.focal[0],
                            (v - camera.princpt[1]) / camera.focal[1], 1.0])
            d = ray @ camera.R                        # world direction
            if d[1] >= -1e-6:                         # at or above the horizon
                continue
            p = camera.C + d * (-camera.C[1] / d[1])  # ground point
            if not dist_range[0] <= p[2] <= dist_range[1]:
                continue
            if any(np.hypot(p[0] - q[0], p[2] - q[1]) < r + rq + gap
                   for q, rq in zip(xz, placed_r)):
                continue
            xz.append((p[0], p[2]))
            placed_r.append(r)
            yaw.append(rng.uniform(-np.pi, np.pi))
            placed[k] = True
            break
    return Footprints(xz=np.asarray(xz, np.float64).reshape(-1, 2),
                      yaw=np.asarray(yaw, np.float64), placed=placed)


def _ground_point(rng, camera: SceneCamera, m: float, dist_range):
    """Ground point seen through a random pixel of the enlarged image, or None."""
    H, W = camera.image_size
    u = rng.uniform(-m * W, (1 + m) * W)
    v = rng.uniform(0.0, (1 + m) * H)
    ray = np.array([(u - camera.princpt[0]) / camera.focal[0],
                    (v - camera.princpt[1]) / camera.focal[1], 1.0])
    d = ray @ camera.R
    if d[1] >= -1e-6:
        return None
    p = camera.C + d * (-camera.C[1] / d[1])
    if not dist_range[0] <= p[2] <= dist_range[1]:
        return None
    return p


def place_groups(rng: np.random.Generator, radii: np.ndarray, camera: SceneCamera,
                 dist_range=(1.5, 20.0), fov_margin: float = 1.15, gap: float = 0.05,
                 max_groups: int = 4, depth_jitter: float = 0.3, max_tries: int = 200) -> Footprints:
    """Persons in groups, as in group photos and crowds (Relative Human's typical scenes).

    ``G`` groups (uniform in 1..max_groups, at most one per person) get a centre on the
    visible ground; each person joins a random group and stands beside its members: lateral
    offset uniform within half the group's width (0.45 m per member), depth offset
    ``N(0, depth_jitter^2)`` along the camera's ground direction; footprints do not overlap.
    Persons that find no free spot are not placed (``placed`` False).
    """
    radii = np.asarray(radii, np.float64)
    N = len(radii)
    m = (fov_margin - 1.0) / 2.0
    G = int(rng.integers(1, max(1, min(max_groups, N)) + 1)) if N else 0
    centres = []
    for _ in range(G):
        for _ in range(max_tries):
            p = _ground_point(rng, camera, m, dist_range)
            if p is not None:
                centres.append(p)
                break
    if not centres:
        return Footprints(np.zeros((0, 2)), np.zeros(0), np.zeros(N, bool))
    member = rng.integers(0, len(centres), size=N)
    width = np.array([0.45 * max(1, (member == g).sum()) for g in range(len(centres))])
    xz, yaw, placed_r = [], [], []
    placed = np.zeros(N, bool)
    for k, r in enumerate(radii):
        c = centres[member[k]]
        for _ in range(max_tries):
            x = c[0] + rng.uniform(-0.5, 0.5) * width[member[k]]
            z = c[2] + rng.normal(0.0, depth_jitter)
            if not dist_range[0] <= z <= dist_range[1]:
                continue
            if any(np.hypot(x - q[0], z - q[1]) < r + rq + gap for q, rq in zip(xz, placed_r)):
                continue
            xz.append((x, z))
            placed_r.append(r)
            # group members mostly face the camera (group photos), others at random
            yaw.append(rng.normal(np.pi, 0.6) if rng.uniform() < 0.7 else rng.uniform(-np.pi, np.pi))
            placed[k] = True
            break
    return Footprints(xz=np.asarray(xz, np.float64).reshape(-1, 2),
                      yaw=np.asarray(yaw, np.float64), placed=placed)
