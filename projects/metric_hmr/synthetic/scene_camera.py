"""Random pinhole camera above a ground plane (synthetic crowds).

World frame of a synthetic scene: y up, the ground is the plane y = 0, the camera stands at
``C = (0, height, 0)`` and looks towards world +z, tilted down by ``pitch``.  Camera space is
OpenCV (x right, y down, z forward): ``p_cam = R @ (p_world - C)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from ..geometry.camera import project_points, vfov_to_focal

__all__ = ['SceneCamera', 'camera_rotation', 'sample_camera']


@dataclass
class SceneCamera:
    """Intrinsics and extrinsics of one synthetic image.

    Attributes:
        image_size: (H, W) pixels.
        focal: (2,) (fx, fy) pixels, fx = fy.
        princpt: (2,) (cx, cy) pixels (image centre).
        vfov: vertical field of view, radians.
        height: camera height above the ground, metres.
        pitch: downward tilt, radians (0 = horizontal optical axis).
        R: (3, 3) world -> camera rotation.
        C: (3,) camera centre in world coordinates.
    """
    image_size: Tuple[int, int]
    focal: np.ndarray
    princpt: np.ndarray
    vfov: float
    height: float
    pitch: float
    R: np.ndarray
    C: np.ndarray

    def world_to_camera(self, p_world: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 3) camera-space points."""
        return (np.asarray(p_world, np.float64) - self.C) @ self.R.T

    def camera_to_world(self, p_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-space points -> (..., 3) world points."""
        return np.asarray(p_cam, np.float64) @ self.R + self.C

    def project(self, p_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-space points -> (..., 2) pixel coordinates (u, v)."""
        return project_points(p_cam, self.focal, self.princpt)


def camera_rotation(pitch: float) -> np.ndarray:
    """World (y up, look along +z) -> OpenCV camera rotation for a camera tilted down by pitch.

    Rows are the camera axes in world coordinates: forward z_c = (0, -sin p, cos p),
    down y_c = (0, -cos p, -sin p), right x_c = y_c x z_c (right-handed).
    """
    z_c = np.array([0.0, -np.sin(pitch), np.cos(pitch)])
    y_c = np.array([0.0, -np.cos(pitch), -np.sin(pitch)])
    x_c = np.cross(y_c, z_c)
    return np.stack([x_c, y_c, z_c])


def sample_camera(rng: np.random.Generator, image_size: Tuple[int, int],
                  height_range=(1.0, 4.0), pitch_deg_range=(0.0, 25.0),
                  vfov_deg_range=(30.0, 90.0)) -> SceneCamera:
    """Draw camera height, pitch and vertical FoV uniformly from their ranges."""
    H, W = int(image_size[0]), int(image_size[1])
    height = float(rng.uniform(*height_range))
    pitch = float(np.deg2rad(rng.uniform(*pitch_deg_range)))
    vfov = float(np.deg2rad(rng.uniform(*vfov_deg_range)))
    f = vfov_to_focal(vfov, H)
    return SceneCamera(image_size=(H, W), focal=np.array([f, f]),
                       princpt=np.array([W / 2.0, H / 2.0]), vfov=vfov, height=height,
                       pitch=pitch, R=camera_rotation(pitch), C=np.array([0.0, height, 0.0]))
