"""Synthetic scenes for the visualization tests: closed cylinders standing on a floor.

A cylinder "person" of height h stands with its feet on the floor plane y = +1.5 m
(OpenCV camera space: y down, so the camera is 1.5 m above the floor).
"""
import numpy as np
import pytest


def cylinder(center_xz, height, radius=0.22, n=20, rings=8, floor_y=1.5):
    """Closed cylinder mesh: vertices (V,3), faces (F,3) outward CCW (OpenCV space)."""
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ys = np.linspace(floor_y - height, floor_y, rings)
    ring = np.stack([radius * np.cos(ang), np.zeros(n), radius * np.sin(ang)], 1)
    v = np.concatenate([ring + [center_xz[0], y, center_xz[1]] for y in ys])
    caps = np.array([[center_xz[0], ys[0], center_xz[1]], [center_xz[0], ys[-1], center_xz[1]]])
    v = np.concatenate([v, caps])
    top, bottom = len(v) - 2, len(v) - 1
    f = []
    for r in range(rings - 1):
        for i in range(n):
            a, b = r * n + i, r * n + (i + 1) % n
            c, d = a + n, b + n
            f += [[a, b, c], [b, d, c]]
    for i in range(n):
        f.append([top, (i + 1) % n, i])
        last = (rings - 1) * n
        f.append([bottom, last + i, last + (i + 1) % n])
    return v, np.asarray(f, dtype=np.int64)


def make_sample(centers, heights, image_size=(480, 640), focal=600.0, img_path=''):
    """Per-image dict (docs/ARCHITECTURE.md) + vertices (K,V,3) + faces (F,3)."""
    verts = []
    faces = None
    for c, h in zip(centers, heights):
        v, faces = cylinder(c, h)
        verts.append(v)
    verts = np.stack(verts)
    K = len(verts)
    H, W = image_size
    transl = np.stack([[c[0], 1.5 - h / 2, c[1]] for c, h in zip(centers, heights)])
    rng = np.random.default_rng(0)
    pred = dict(global_orient=rng.normal(size=(K, 3)) * 0.1, body_pose=np.zeros((K, 69)),
                betas=rng.normal(size=(K, 10)), transl=transl, focal=np.array([focal, focal]),
                princpt=np.array([W / 2, H / 2]), scores=np.ones(K),
                height=np.asarray(heights, float), age_group=np.array([0, 2, 1, 3, 0, 0][:K]),
                std=np.full(K, 0.05), vertices=verts)
    return dict(img_path=img_path, ori_shape=(H, W), pred=pred), verts, faces


@pytest.fixture
def scene3():
    """Three persons at depths 4, 6, 9 m, left to right; returns (sample, verts, faces)."""
    return make_sample([(-1.2, 4.0), (0.2, 6.0), (1.6, 9.0)], [1.75, 1.15, 1.5])


@pytest.fixture
def make_scene():
    return make_sample


@pytest.fixture
def cylinder_mesh():
    return cylinder
