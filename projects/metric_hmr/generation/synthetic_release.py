"""Small synthetic inputs in the CameraHMR release format (demo, tests, benchmark).

Each scene: K persons of a SMPL-format body model standing on a ground plane in front of a
wall, seen by a pinhole camera.  The *true* scene gives the rendered image and a relative
depth map (affine-transformed disparity of the true z-buffer, plus noise); the *release*
persons are initial estimates with the single-view scale ambiguity: person i is scaled by
a random k_i about the camera centre (height h k_i at depth z k_i projects identically),
which is exactly what DTO has to undo.

Written layout (``out_dir``)::

    images/<name>.png        rendered RGB
    depth/<name>.npy         float16 relative disparity (H, W)
    <dataset>-release.npz    CameraHMR release arrays (pose_cam, shape, trans_cam, cam_int,
                             gtkps (44 joints), center, scale, imgname)
    truth.json               true heights / depths per image (for checking DTO)
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Tuple

import numpy as np

from ..utils.io import atomic_write
from .release import GTKPS_HEAD_TOP, GTKPS_NECK, ReleaseImage, write_camerahmr_release

# OpenPose BODY_25 joint -> SMPL-24 joint used to fill gtkps (approximate correspondences).
OPENPOSE_FROM_SMPL = {0: 15, 1: 12, 2: 17, 3: 19, 4: 21, 5: 16, 6: 18, 7: 20, 8: 0, 9: 2,
                      10: 5, 11: 8, 12: 1, 13: 4, 14: 7}


def _project(p, f, c):
    return np.stack([f * p[..., 0] / p[..., 2] + c[0], f * p[..., 1] / p[..., 2] + c[1]], -1)


def make_scene(bm, rng: np.random.Generator, image_size: Tuple[int, int], num_persons: int,
               fov_deg: float):
    """One scene: returns dict with release persons, image, disparity, truth."""
    import torch
    from dto_hooks.raster import rasterize_persons
    H, W = image_size
    f = H / (2 * math.tan(math.radians(fov_deg) / 2))
    c = np.array([W / 2.0, H / 2.0])
    cam_height = rng.uniform(1.2, 1.8)          # camera above the ground plane (y down)
    nb = bm.num_betas
    heights, betas = [], []
    for _ in range(num_persons):
        b = np.zeros(nb)
        b[1:min(nb, 10)] = rng.normal(0, 0.5, min(nb, 10) - 1)
        target = rng.uniform(1.55, 1.85)
        fit = bm.fit_height(torch.tensor(b[None]), torch.tensor([target]))
        betas.append(np.asarray(fit.betas, np.float64)[0])
        heights.append(float(np.asarray(fit.height)[0]))
    betas = np.array(betas)
    heights = np.array(heights)
    from scipy.spatial.transform import Rotation
    yaw = rng.uniform(-0.6, 0.6, num_persons)                   # turn about the vertical axis
    # SMPL is y-up; the camera is y-down: flip about x, then turn about the vertical
    go = np.array([(Rotation.from_rotvec([math.pi, 0, 0]) * Rotation.from_rotvec([0, a, 0])).as_rotvec()
                   for a in yaw])
    bp = rng.normal(0, 0.08, (num_persons, 69))
    bp[:, 47] -= rng.uniform(1.0, 1.3, num_persons)            # left shoulder: arm down
    bp[:, 50] += rng.uniform(1.0, 1.3, num_persons)            # right shoulder: arm down
    # place persons: depth 3..9 m, horizontally inside the view, feet on the ground
    z = np.sort(rng.uniform(2.5, 7.0, num_persons))[::-1]
    x = np.array([rng.uniform(-0.35, 0.35) * W / f * zz for zz in z])
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    zero = bm(betas=t(betas), global_orient=t(go), body_pose=t(bp), transl=t(np.zeros((num_persons, 3))))
    v0 = zero.vertices.double().numpy()
    j0 = zero.joints.double().numpy()
    feet = v0[:, :, 1].max(1)                                   # lowest point (largest y)
    transl = np.stack([x, cam_height - feet, z], 1)
    verts = v0 + transl[:, None]
    joints = j0 + transl[:, None]
    faces = np.asarray(bm.faces)
    ras = rasterize_persons(list(verts), faces, [f, f], c, (H, W), resolution=None)
    # true depth with a wall at 12 m and a ground plane
    rows = (np.arange(H) + 0.0)[:, None] - c[1]
    ground_z = np.where(rows > 0, cam_height * f / np.maximum(rows, 1e-6), np.inf)
    bg = np.minimum(ground_z, 12.0) * np.ones((1, W))
    depth = np.where(ras.person_id >= 0, ras.depth, bg)
    # relative disparity: unknown affine transform of 1/z plus mild noise
    # (a pure scale, so 1/disparity is affine in depth as DTO's depth model assumes)
    a = rng.uniform(2.0, 5.0)
    disp = (a / depth) * (1.0 + rng.normal(0, 0.01, depth.shape))
    # rendered image: flat colours, darker with depth
    palette = (rng.uniform(60, 230, (num_persons, 3))).astype(np.float64)
    img = np.empty((H, W, 3))
    img[:] = np.where(rows > 0, 110.0, 185.0)[..., None] * np.ones((1, W, 1))
    pid = ras.person_id
    for k in range(num_persons):
        m = pid == k
        img[m] = palette[k] * np.clip(1.3 - 0.05 * depth[m][:, None], 0.5, 1.2)
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    # release estimates: scale ambiguity k_i (height and depth scaled together)
    k = rng.uniform(0.85, 1.15, num_persons)
    fit = bm.fit_height(torch.tensor(betas), torch.tensor(heights * k))
    est_betas = np.asarray(fit.betas, np.float64)
    # translation: the estimate's mesh is the true mesh scaled by k_i about the camera centre,
    # up to the shape change (centroids aligned, so both project to the same place)
    v_est = bm(betas=t(est_betas), global_orient=t(go), body_pose=t(bp),
               transl=t(np.zeros((num_persons, 3)))).vertices.double().numpy()
    est_transl = k[:, None] * verts.mean(1) - v_est.mean(1)
    # gtkps from true joints (projection is scale invariant)
    kps = np.zeros((num_persons, 44, 3))
    uv = _project(joints, f, c)
    for op, sj in OPENPOSE_FROM_SMPL.items():
        kps[:, op, :2], kps[:, op, 2] = uv[:, sj], 1.0
    kps[:, GTKPS_NECK, :2], kps[:, GTKPS_NECK, 2] = uv[:, 12], 1.0
    head_top = joints[:, 15] + np.array([0, -0.12, 0]) * (heights / 1.7)[:, None]
    kps[:, GTKPS_HEAD_TOP, :2], kps[:, GTKPS_HEAD_TOP, 2] = _project(head_top, f, c), 1.0
    vuv = _project(verts, f, c)
    boxes = np.concatenate([vuv.min(1), vuv.max(1)], 1)
    return dict(focal=np.array([f, f]), princpt=c, global_orient=go, body_pose=bp,
                betas=est_betas, transl=est_transl, kpts2d=kps, boxes=boxes, image=img,
                disparity=disp.astype(np.float16),
                truth=dict(height=heights.tolist(), z=transl[:, 2].tolist(), scale_error=k.tolist(),
                           masks_area=[int((pid == q).sum()) for q in range(num_persons)]))


def make_release_scenes(out_dir, body_model, num_images: int = 6, seed: int = 0,
                        image_size: Tuple[int, int] = (360, 480), persons=(2, 5),
                        fov_deg=(45.0, 70.0), dataset: str = 'demo') -> Path:
    """Write ``num_images`` synthetic scenes (layout in the module docstring).

    Args:
        body_model: a body model object (e.g. ``SMPLBodyModel`` on the procedural file).
        persons: inclusive range of persons per image.  fov_deg: vertical FoV range.
    Returns the release npz path.
    """
    from PIL import Image
    out = Path(out_dir)
    (out / 'images').mkdir(parents=True, exist_ok=True)
    (out / 'depth').mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images: List[ReleaseImage] = []
    truth = {}
    for i in range(num_images):
        name = f'scene_{i:04d}.png'
        sc = make_scene(body_model, rng, image_size, int(rng.integers(persons[0], persons[1] + 1)),
                        float(rng.uniform(*fov_deg)))
        atomic_write(out / 'images' / name,
                     lambda p, im=sc['image']: Image.fromarray(im).save(p, format='PNG', optimize=True))
        atomic_write(out / 'depth' / (Path(name).stem + '.npy'),
                     lambda p, d=sc['disparity']: np.save(p, d))
        n = len(sc['transl'])
        images.append(ReleaseImage(imgname=name, rows=np.arange(n), global_orient=sc['global_orient'],
                                   body_pose=sc['body_pose'], betas=sc['betas'], transl=sc['transl'],
                                   focal=sc['focal'], princpt=sc['princpt'], kpts2d=sc['kpts2d'],
                                   boxes=sc['boxes']))
        truth[name] = sc['truth']
    atomic_write(out / 'truth.json', json.dumps(truth, indent=1, sort_keys=True))
    return write_camerahmr_release(out / f'{dataset}-release.npz', images)
