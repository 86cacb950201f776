"""Toy multi-person scenes for tests, benchmarks and CPU demos (no data files needed).

Each scene: a pinhole camera with a random vertical FoV, a few SMPL-format persons standing
on a ground plane at random depths, drawn as depth-sorted discs at their projected joints
(person-specific colours) on a textured background.  Annotations are exact (the
training-sample dict of docs/ARCHITECTURE.md), so a network can overfit them.
"""

from __future__ import annotations

import math
from typing import List, Optional

import cv2
import numpy as np

from metric_hmr.geometry import vfov_to_focal
from metric_hmr.registry import BODY_MODELS, DATASETS
from .datasets import HMRListDataset, smpl_to_gt

__all__ = ['make_toy_scene', 'ToyScenesDataset']


def make_toy_scene(body_model, seed: int, img_hw=(240, 320), num_persons=(2, 4),
                   fov_deg=(40.0, 80.0), depth=(3.0, 8.0), no_smpl_fraction: float = 0.0) -> dict:
    """One toy scene as a training-sample dict (``img`` included, ``img_path`` None).

    ``no_smpl_fraction`` of the persons are marked has_smpl/has_3d False (like Anny persons
    of the synthetic crowds: 2D, box, depth and FoV supervision only).
    """
    rng = np.random.default_rng(seed)
    H, W = img_hw
    fov = math.radians(rng.uniform(*fov_deg))
    f = vfov_to_focal(fov, H)
    focal, princpt = np.array([f, f]), np.array([W / 2, H / 2])
    n = int(rng.integers(num_persons[0], num_persons[1] + 1))
    z = np.sort(rng.uniform(*depth, n))[::-1]
    # persons spread horizontally inside the view, standing on the ground 1.5 m below the camera
    half_w = z * (W / 2) / f
    x = rng.uniform(-0.7, 0.7, n) * half_w
    transl = np.stack([x, np.full(n, 0.4), z], 1)
    pose = np.zeros((n, 72))
    pose[:, 0] = math.pi  # SMPL faces +z with y up; rotate into the OpenCV camera (y down)
    pose[:, 4] = rng.uniform(-0.6, 0.6, n)  # yaw variation via the global orientation
    pose[:, 3:6] = 0
    pose[:, 3 + 16 * 3 + 2] = rng.uniform(-1.2, -0.3, n)  # left shoulder down
    pose[:, 3 + 17 * 3 + 2] = rng.uniform(0.3, 1.2, n)    # right shoulder down
    betas = np.zeros((n, 10))
    betas[:, 0] = rng.uniform(-1.5, 1.5, n)
    gt = smpl_to_gt(body_model, betas, pose, transl, focal, princpt, (H, W))
    no_smpl = rng.random(n) < no_smpl_fraction
    gt['has_smpl'] = gt['has_smpl'] & ~no_smpl
    gt['has_3d'] = gt['has_3d'] & ~no_smpl
    img = _draw(rng, gt, H, W, f)
    return dict(img_path=None, img=img, ori_shape=(H, W), focal=focal, princpt=princpt, fov_v=fov, gt=gt)


def _draw(rng, gt, H, W, f) -> np.ndarray:
    """Background gradient + noise; each person as discs of radius 8 cm at its joints."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([(xx * 255 / W), (yy * 255 / H), np.full((H, W), 96.0)], -1)
    img = (img * 0.5 + rng.uniform(0, 40, (H, W, 1))).astype(np.uint8)
    order = np.argsort(-gt['joints3d'][:, 0, 2]) if len(gt['boxes']) else []
    for i in order:  # far to near, so near persons occlude far ones
        colour = tuple(int(c) for c in rng.integers(60, 255, 3))
        for j in range(24):
            u, v = gt['kpts2d'][i, j, :2]
            r = max(1, int(round(0.08 * f / max(gt['joints3d'][i, j, 2], 0.1))))
            cv2.circle(img, (int(round(u)), int(round(v))), r, colour, -1)
    return img


@DATASETS.register_module()
class ToyScenesDataset(HMRListDataset):
    """``num_scenes`` toy scenes made with ``body_model`` (see :func:`make_toy_scene`)."""

    def __init__(self, body_model: dict, num_scenes: int = 4, seed: int = 0, img_hw=(240, 320),
                 no_smpl_fraction: float = 0.0, scene_kwargs: Optional[dict] = None, **kwargs):
        bm = BODY_MODELS.build(body_model) if isinstance(body_model, dict) else body_model
        samples: List[dict] = [make_toy_scene(bm, seed + i, tuple(img_hw), no_smpl_fraction=no_smpl_fraction,
                                              **(scene_kwargs or {})) for i in range(num_scenes)]
        super().__init__(samples=samples, **kwargs)
