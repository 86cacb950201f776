"""Small benchmark fixtures in every supported annotation format (tests and demos).

:func:`make_benchmark_fixture` poses a few bodies of an SMPL-format model, writes their
ground truth in the annotation format of one benchmark (method.md §6) and a prediction
file (``metric_hmr.evaluation.precomputed`` format) holding the *same* bodies in
camera space, optionally with some persons left out, so the expected scores are known
exactly (zero errors, PCK 100 on matched persons, recall = kept / all, ...).
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional

import numpy as np

from metric_hmr.evaluation.functional.fov_error import project_points
from metric_hmr.evaluation.functional.joints import (CROWDPOSE14, RH_BK19, RH_OCHUMAN19,
                                                     index_map)
from metric_hmr.evaluation.body_geometry import SMPLGeometry
from metric_hmr.evaluation.metrics.panoptic import PANOPTIC_J24_TO_H36M, PANOPTIC_PELVIS_J24
from metric_hmr.evaluation.precomputed import save_predictions
from metric_hmr.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from metric_hmr.utils.io import atomic_write

__all__ = ['KINDS', 'IMAGE_HW', 'FOCAL', 'PRINCPT', 'make_benchmark_fixture', 'IMG_FOLDERS']

KINDS = ('rh', '3dpw', 'hi4d', 'mupots', 'panoptic')
IMAGE_HW = (720, 1280)
FOCAL = np.array([1000.0, 1000.0])
PRINCPT = np.array([640.0, 360.0])


def _save_annots(path: str, annots: dict) -> None:
    atomic_write(path, lambda tmp: np.savez(tmp, annots=np.array(annots, dtype=object)))


def _bodies(rng: np.random.Generator, n: int) -> dict:
    """n upright bodies facing the camera (OpenCV frame), 2-7 m away, side by side."""
    up = axis_angle_to_matrix(np.array([np.pi, 0.0, 0.0]))   # SMPL y-up -> camera y-down
    yaw = axis_angle_to_matrix(np.stack([np.zeros(n), rng.uniform(-0.4, 0.4, n), np.zeros(n)], 1))
    z = np.sort(rng.uniform(2.5, 7.0, n))[rng.permutation(n)]
    x = (np.arange(n) - (n - 1) / 2) * 0.9 * z / 3.0
    return dict(global_orient=matrix_to_axis_angle(up @ yaw),
                body_pose=rng.normal(0, 0.08, (n, 69)),
                betas=rng.normal(0, 0.5, (n, 10)),
                transl=np.stack([x, rng.uniform(0.0, 0.4, n), z], 1))


def _world_params(geo: SMPLGeometry, cam: dict, rot: np.ndarray, trans: np.ndarray) -> dict:
    """World-frame parameters whose camera-frame bodies are ``cam`` (x_c = R x_w + t)."""
    n = len(cam['betas'])
    zero = dict(global_orient=np.zeros((n, 3)), body_pose=np.zeros((n, 69)),
                betas=cam['betas'], transl=np.zeros((n, 3)))
    root = geo.meshes(zero).joints[:, 0]          # pelvis of the shaped body (pose-free)
    go_w = matrix_to_axis_angle(rot.T @ axis_angle_to_matrix(cam['global_orient']))
    # camera: R_c (root) + T_c - root ... solve R (root + T_w) + t = root + T_c
    transl_w = (cam['transl'] + root - trans) @ rot - root   # R^T (T_c + root - t) - root
    return dict(global_orient=go_w, body_pose=cam['body_pose'], betas=cam['betas'],
                transl=transl_w)


def make_benchmark_fixture(kind: str, out_dir: str, smpl_model_path: str,
                           j_regressor_h36m: Optional[str] = None, seed: int = 0,
                           persons_per_image=(3, 2), drop_pred: Dict[int, List[int]] = None,
                           head_top_vertex: int = 411, write_images: bool = True) -> dict:
    """Write a benchmark fixture.

    Args:
        kind: one of ``KINDS``.
        out_dir: data root to write into (annotation file + ``predictions.npz``).
        smpl_model_path: SMPL-format model (file or folder) used for every body.
        j_regressor_h36m: (17, V) regressor .npy (3DPW/Hi4D/MuPoTS/Panoptic).
        persons_per_image: number of persons of each image.
        drop_pred: ``{image index: [person indices]}`` left out of the predictions.
        head_top_vertex: vertex used as CrowdPose head top (Relative Human).
        write_images: also write blank JPEGs (IMAGE_HW) where the configs expect the
            images (``<out_dir>/<IMG_FOLDERS[kind]>/<key>``), for ``read_image_size``.

    Returns:
        dict(ann_file, pred_file, img_keys, gt_cam (per image camera-frame params)).
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    geo = SMPLGeometry(dict(type='SMPLBodyModel', model_path=smpl_model_path),
                       j_regressor_h36m=j_regressor_h36m, head_top_vertex=head_top_vertex)
    drop_pred = drop_pred or {}
    annots, preds, keys, cams = {}, {}, [], []
    for i, n in enumerate(persons_per_image):
        key = _image_key(kind, i)
        cam = _bodies(rng, n)
        keys.append(key)
        cams.append(cam)
        annots[key] = _annotation(kind, key, i, cam, geo, rng)
        keep = [p for p in range(n) if p not in drop_pred.get(i, [])]
        order = keep[::-1]                      # predictions in another order than gt
        preds[key] = dict(focal=FOCAL, princpt=PRINCPT, scores=np.ones(len(order)),
                          **{k: v[order] for k, v in cam.items()})
    if write_images:
        from PIL import Image
        for key in keys:
            path = os.path.join(out_dir, IMG_FOLDERS[kind], key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Image.new('RGB', IMAGE_HW[::-1]).save(path)
    ann_file = os.path.join(out_dir, _ANN_NAMES[kind])
    _save_annots(ann_file, annots)
    pred_file = os.path.join(out_dir, 'predictions.npz')
    save_predictions(pred_file, preds)
    return dict(ann_file=ann_file, pred_file=pred_file, img_keys=keys, gt_cam=cams)


# image folders (relative to the data root) used by configs/eval/*_precomputed.py
IMG_FOLDERS = {'rh': 'images', '3dpw': '', 'hi4d': '', 'mupots': 'MultiPersonTestSet',
               'panoptic': 'images'}
_ANN_NAMES = dict(rh='test_annots.npz', pw3d='annots_smpl_test_genders.npz',
                  hi4d='hi4d_smpl_test.npz', mupots='mupots_annots.npz',
                  panoptic='annots_test.npz')
_ANN_NAMES['3dpw'] = _ANN_NAMES.pop('pw3d')


def _image_key(kind: str, i: int) -> str:
    if kind == 'rh':     # BK images have 7-character stems, the others (OCHuman) longer
        return f'{i:07d}.jpg' if i % 2 == 0 else f'ochuman_{i:06d}.jpg'
    if kind == 'mupots':
        return f'TS{i + 1}/img_{i:06d}.jpg'
    if kind == 'panoptic':
        seq = ('160422_haggling1', '160906_pizza1', '160422_mafia2', '160422_ultimatum1')[i % 4]
        return f'{seq}/00_16/{i:08d}.jpg'
    return f'imageFiles/courtyard_{i:02d}/image_{i:05d}.jpg'


def _annotation(kind, key, i, cam, geo, rng):
    n = len(cam['betas'])
    if kind in ('3dpw', 'hi4d'):
        rot = axis_angle_to_matrix(np.array([0.0, 0.3 + 0.1 * i, 0.05]))
        trans = np.array([0.2, -0.1, 1.0])
        world = _world_params(geo, cam, rot, trans)
        genders = ['m' if p % 2 == 0 else 'f' for p in range(n)]
        if kind == '3dpw':
            K = np.array([[FOCAL[0], 0, PRINCPT[0]], [0, FOCAL[1], PRINCPT[1]], [0, 0, 1.0]])
            return dict(cam_intrinsics=K, cam_rot=rot, cam_trans=trans, genders=genders, **world)
        return [dict(focal=FOCAL, princpt=PRINCPT, cam_rot=rot, cam_trans=trans,
                     genders=genders[p], **{k: v[p] for k, v in world.items()})
                for p in range(n)]
    meshes = geo.meshes(cam)
    if kind == 'rh':
        cp = project_points(geo.crowdpose_joints(meshes.vertices, meshes.joints), FOCAL, PRINCPT)
        skel = RH_BK19 if len(os.path.splitext(key)[0]) == 7 else RH_OCHUMAN19
        to_src = index_map(CROWDPOSE14, skel)          # 19-joint slot <- CrowdPose joint
        order = np.argsort(cam['transl'][:, 2])
        layers = np.empty(n, np.int64)
        layers[order] = np.arange(n)                   # every person its own depth layer
        persons = []
        for p in range(n):
            kp = np.zeros((19, 3))
            ok = to_src >= 0
            kp[ok, :2] = cp[p, to_src[ok]]
            kp[ok, 2] = 2
            kp[ok & (rng.uniform(size=19) < 0.15), 2] = 0   # some unannotated joints
            persons.append(dict(bbox=[0, 0, 10, 10], kp2d=kp.reshape(-1).tolist(),
                                depth_id=int(layers[p]), age=int(p % 4)))
        persons.append(dict(bbox=[0, 0, 5, 5], kp2d=None, depth_id=-1, age=0))  # no keypoints
        return persons
    h36m = geo.h36m_joints(meshes.vertices)
    if kind == 'mupots':
        k2d = project_points(h36m, FOCAL, PRINCPT)
        return [dict(annot_2d=k2d[p], annot_3d=h36m[p] * 1000.0,
                     vis=(rng.uniform(size=17) > 0.2)) for p in range(n)]
    # panoptic: 24-joint order; its pelvis sits 6 cm above the SMPL H36M pelvis
    j24 = np.zeros((n, 24, 4))
    j24[:, PANOPTIC_J24_TO_H36M, :3] = h36m
    j24[:, PANOPTIC_PELVIS_J24, 1] += 0.06
    j24[:, PANOPTIC_J24_TO_H36M, 3] = 1.0
    k2d = np.zeros((n, 24, 3))
    k2d[..., :2] = project_points(j24[..., :3], FOCAL, PRINCPT)
    return dict(kpts3d=j24, kpts2d=k2d, width=IMAGE_HW[1], height=IMAGE_HW[0])
