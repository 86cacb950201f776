"""Normals and Lambert shading of triangle meshes (pure numpy).

The overlay is lit by a single directional light near the camera ("head light"), so the
shading shows the body's shape without hiding the photo underneath.
"""
from __future__ import annotations

import numpy as np

__all__ = ['DEFAULT_LIGHT_DIR', 'face_normals', 'vertex_normals', 'face_normals_towards_camera',
           'lambert']

# Light direction in OpenCV camera space (x right, y down, z forward), pointing *from the
# surface towards the light*: up-left of the camera, so fronts are bright, sides darker.
DEFAULT_LIGHT_DIR = np.array([-0.3, -0.5, -1.0])


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit normals of the triangles.

    Args:
        vertices: (V, 3) float.
        faces: (F, 3) int, counter-clockwise winding seen from outside.

    Returns:
        (F, 3) float64 unit normals (zero vector for degenerate triangles).
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3) (used for smooth shading in GLB files)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    n_area = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # length = 2 * area
    out = np.zeros_like(v)
    for c in range(3):
        np.add.at(out, f[:, c], n_area)
    length = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, length, out=np.zeros_like(out), where=length > 0)


def face_normals_towards_camera(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Face normals flipped, where needed, to point towards the camera at the origin.

    Seen through a hole or at a silhouette, a back face must be lit like a front face
    (two-sided lighting); the sign test uses the face centroid as viewing ray.

    Returns:
        (F, 3) unit normals with ``dot(n, centroid) <= 0``.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    n = face_normals(v, f)
    centroid = v[f].mean(axis=1)
    away = np.einsum('fc,fc->f', n, centroid) > 0
    n[away] *= -1.0
    return n


def lambert(normals: np.ndarray, light_dir=DEFAULT_LIGHT_DIR, ambient: float = 0.35) -> np.ndarray:
    """Lambert intensity ``ambient + (1 - ambient) * max(0, n . l)``.

    Args:
        normals: (..., 3) unit normals.
        light_dir: (3,) direction towards the light (normalised here).
        ambient: intensity of surfaces facing away from the light.

    Returns:
        (...) float64 in [ambient, 1].
    """
    light = np.asarray(light_dir, dtype=np.float64)
    light = light / np.linalg.norm(light)
    diffuse = np.clip(np.asarray(normals, dtype=np.float64) @ light, 0.0, 1.0)
    return ambient + (1.0 - ambient) * diffuse
