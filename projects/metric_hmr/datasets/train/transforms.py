"""Training/test transforms of MA-HMR samples (docs/ARCHITECTURE.md training-sample dict).

Geometry convention: every 2D operation is an affine map of pixel coordinates, applied to
the image, a validity mask (which canvas pixels show the image), keypoints, boxes and the
principal point; the focal length scales with the map.  Rotation and flip are also applied
to the 3D annotations (camera-space rotation about the optical axis / mirror of the x axis),
so image and 3D stay consistent:

* :class:`RandomFlipHMR` - horizontal flip; SMPL poses mirrored, left/right joints swapped.
* :class:`RandomRotateHMR` - rotation about the principal point = camera roll.
* :class:`RandomScaleHMR` - zoom about the principal point (crops or pads; changes the FoV
  seen by the network, so it also augments the camera).
* :class:`CanvasHMR` - scale and crop/pad to the S x S network canvas with the principal
  point at its centre (what the translation formula t_z = 2f / (s S) assumes).
* :class:`PackHMRInputs` - tensors for the model.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import cv2
import numpy as np
import torch

from metric_hmr.geometry import focal_to_vfov
from metric_hmr.registry import TRANSFORMS
from .smpl_ops import SMPL24_FLIP_PERM, flip_smpl_pose, mirror_transl, rotate_smpl, rotation_z

__all__ = ['apply_affine', 'LoadHMRImage', 'RandomFlipHMR', 'flip_sample', 'RandomRotateHMR',
           'rotate_sample', 'RandomScaleHMR', 'CanvasHMR', 'PackHMRInputs',
           'BenchmarkToHMRInput', 'KeepOriginalGT']


def _pelvis_rest(gt: dict) -> np.ndarray:
    """Rest pelvis J0 = pelvis - transl where 3D joints are known, else 0 (approximation)."""
    n = len(gt['boxes'])
    j0 = np.zeros((n, 3))
    has3d = np.asarray(gt['has_3d'], bool)
    if has3d.any():
        tr = np.nan_to_num(np.asarray(gt['transl'], np.float64))
        j0[has3d] = np.asarray(gt['joints3d'], np.float64)[has3d, 0] - tr[has3d]
    return j0


def _rng(seed: Optional[int]):
    """Own generator when seeded; else numpy's global one, which MMEngine seeds per
    dataloader worker and rank (so workers do not repeat each other's augmentations)."""
    return np.random.default_rng(seed) if seed is not None else np.random


def _copy_gt(results: dict) -> dict:
    gt = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in results['gt'].items()}
    results['gt'] = gt
    return gt


def apply_affine(results: dict, A: np.ndarray, out_hw: Sequence[int]) -> dict:
    """Warp image, validity mask and 2D annotations by the 2x3 affine ``A``.

    Updates img, valid_mask, princpt, focal (times the map's scale), gt.boxes (box of the
    transformed corners), gt.kpts2d and the cumulative ``affine`` (3x3, original -> current).
    """
    H, W = out_hw
    img = results['img']
    if 'valid_mask' not in results:
        results['valid_mask'] = np.ones(img.shape[:2], np.uint8)
    results['img'] = cv2.warpAffine(img, A, (W, H), flags=cv2.INTER_LINEAR, borderValue=0)
    results['valid_mask'] = cv2.warpAffine(results['valid_mask'], A, (W, H), flags=cv2.INTER_NEAREST,
                                           borderValue=0)
    scale = math.sqrt(abs(np.linalg.det(A[:, :2])))
    results['princpt'] = A[:, :2] @ np.asarray(results['princpt'], np.float64) + A[:, 2]
    results['focal'] = np.asarray(results['focal'], np.float64) * scale
    A3 = np.vstack([A, [0, 0, 1]])
    results['affine'] = A3 @ results.get('affine', np.eye(3))
    gt = _copy_gt(results)
    if len(gt['boxes']):
        b = np.asarray(gt['boxes'], np.float64)
        corners = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [0, 3]], b[:, [2, 3]]], 1)  # (N,4,2)
        c = corners @ A[:, :2].T + A[:, 2]
        gt['boxes'] = np.concatenate([c.min(1), c.max(1)], 1)
        kp = np.asarray(gt['kpts2d'], np.float64).copy()
        kp[..., :2] = kp[..., :2] @ A[:, :2].T + A[:, 2]
        gt['kpts2d'] = kp
    return results


@TRANSFORMS.register_module()
class LoadHMRImage:
    """Read ``img_path`` (RGB uint8) unless ``img`` is already in the sample."""

    def __call__(self, results: dict) -> dict:
        if results.get('img') is None:
            path = results.get('img_path')
            img = cv2.imread(str(path), cv2.IMREAD_COLOR) if path else None
            if img is None:
                raise FileNotFoundError(f'image not found or unreadable: {path}')
            results['img'] = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        H, W = results['img'].shape[:2]
        if tuple(results.get('ori_shape', (H, W))) != (H, W):
            raise ValueError(f"{results.get('img_path')}: ori_shape {results['ori_shape']} but the image is {H}x{W}")
        results['ori_shape'] = (H, W)
        results.setdefault('ori_focal', np.asarray(results['focal'], np.float64))
        results.setdefault('ori_princpt', np.asarray(results['princpt'], np.float64))
        return results


@TRANSFORMS.register_module()
class RandomFlipHMR:
    """Horizontal flip with probability ``prob``: u -> W - u, X -> -X, left/right swapped."""

    def __init__(self, prob: float = 0.5, seed: Optional[int] = None):
        self.prob = prob
        self.rng = _rng(seed)

    def __call__(self, results: dict) -> dict:
        if self.rng.random() >= self.prob:
            return results
        return flip_sample(results)


def flip_sample(results: dict) -> dict:
    """Deterministic horizontal flip of a sample (image, 2D and 3D annotations)."""
    W = results['img'].shape[1]
    A = np.array([[-1.0, 0.0, W], [0.0, 1.0, 0.0]])
    pelvis_rest = _pelvis_rest(results['gt'])
    results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
    if 'valid_mask' in results:
        results['valid_mask'] = np.ascontiguousarray(results['valid_mask'][:, ::-1])
    results['princpt'] = np.array([W - results['princpt'][0], results['princpt'][1]], np.float64)
    results['affine'] = np.vstack([A, [0, 0, 1]]) @ results.get('affine', np.eye(3))
    gt = _copy_gt(results)
    if len(gt['boxes']) == 0:
        return results
    b = np.asarray(gt['boxes'], np.float64)
    gt['boxes'] = np.stack([W - b[:, 2], b[:, 1], W - b[:, 0], b[:, 3]], 1)
    kp = np.asarray(gt['kpts2d'], np.float64)[:, SMPL24_FLIP_PERM].copy()
    kp[..., 0] = W - kp[..., 0]
    gt['kpts2d'] = kp
    j3 = np.asarray(gt['joints3d'], np.float64)[:, SMPL24_FLIP_PERM].copy()
    j3[..., 0] *= -1
    gt['joints3d'] = j3
    pose = flip_smpl_pose(np.concatenate([gt['global_orient'], gt['body_pose']], 1))
    gt['global_orient'], gt['body_pose'] = pose[:, :3], pose[:, 3:]
    gt['transl'] = mirror_transl(np.asarray(gt['transl'], np.float64), pelvis_rest)
    return results


@TRANSFORMS.register_module()
class RandomRotateHMR:
    """Rotate image and scene about the principal point by U(-max_deg, max_deg), with ``prob``."""

    def __init__(self, max_deg: float = 30.0, prob: float = 0.3, seed: Optional[int] = None):
        self.max_deg, self.prob = max_deg, prob
        self.rng = _rng(seed)

    def __call__(self, results: dict) -> dict:
        if self.rng.random() >= self.prob:
            return results
        return rotate_sample(results, math.radians(self.rng.uniform(-self.max_deg, self.max_deg)))


def rotate_sample(results: dict, angle: float) -> dict:
    """Camera roll by ``angle`` (rad): pixels turn about the principal point, 3D about z."""
    R = rotation_z(angle)
    c = np.asarray(results['princpt'], np.float64)
    A = np.concatenate([R[:2, :2], (c - R[:2, :2] @ c)[:, None]], 1)
    pelvis_rest = _pelvis_rest(results['gt'])
    H, W = results['img'].shape[:2]
    apply_affine(results, A, (H, W))
    gt = results['gt']
    if len(gt['boxes']):
        gt['joints3d'] = np.asarray(gt['joints3d'], np.float64) @ R.T
        gt['global_orient'], gt['transl'] = rotate_smpl(gt['global_orient'], gt['transl'], pelvis_rest, R)
    return results


@TRANSFORMS.register_module()
class RandomScaleHMR:
    """Zoom about the principal point by k ~ U(scale_range): k > 1 crops (narrower FoV),
    k < 1 pads.  3D is unchanged; the focal length becomes k f."""

    def __init__(self, scale_range=(0.75, 1.25), prob: float = 1.0, seed: Optional[int] = None):
        self.scale_range, self.prob = scale_range, prob
        self.rng = _rng(seed)

    def __call__(self, results: dict) -> dict:
        if self.rng.random() >= self.prob:
            return results
        k = self.rng.uniform(*self.scale_range)
        c = np.asarray(results['princpt'], np.float64)
        A = np.array([[k, 0, c[0] - k * c[0]], [0, k, c[1] - k * c[1]]])
        return apply_affine(results, A, results['img'].shape[:2])


@TRANSFORMS.register_module()
class CanvasHMR:
    """Resize and crop/pad onto the S x S canvas centred on the principal point.

    The scale r = S / (2 max(cx, W - cx, cy, H - cy)) fits the whole (current) image.
    Persons whose box no longer overlaps the canvas by at least ``min_box_px`` in width and
    height are out of view and removed (counted in ``results['num_out_of_view']``);
    keypoints outside the canvas get visibility 0; boxes are clipped to the canvas.
    ``img_h`` is the visible image height in the canvas along its centre column (the H of
    f = H / (2 tan(v/2)), which stays the image's own height for untransformed images).
    """

    def __init__(self, input_size: int = 1288, min_box_px: float = 4.0):
        self.S, self.min_box_px = input_size, min_box_px

    def __call__(self, results: dict) -> dict:
        S = self.S
        H, W = results['img'].shape[:2]
        cx, cy = np.asarray(results['princpt'], np.float64)
        half = max(cx, W - cx, cy, H - cy)
        r = S / (2 * half)
        A = np.array([[r, 0, S / 2 - r * cx], [0, r, S / 2 - r * cy]])
        apply_affine(results, A, (S, S))
        gt = results['gt']
        results['img_h'] = float(results['valid_mask'][:, S // 2].sum())
        n = len(gt['boxes'])
        if n:
            b = np.clip(np.asarray(gt['boxes'], np.float64), 0, S)
            keep = ((b[:, 2] - b[:, 0]) >= self.min_box_px) & ((b[:, 3] - b[:, 1]) >= self.min_box_px)
            gt['boxes'] = b
            kp = gt['kpts2d']
            outside = (kp[..., 0] < 0) | (kp[..., 0] >= S) | (kp[..., 1] < 0) | (kp[..., 1] >= S)
            kp[..., 2] = np.where(outside, 0.0, kp[..., 2])
            results['num_out_of_view'] = int((~keep).sum())
            if not keep.all():
                for k, v in list(gt.items()):
                    if isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == n:
                        gt[k] = v[keep]
        return results


@TRANSFORMS.register_module()
class PackHMRInputs:
    """Convert to ``dict(inputs=uint8 (3, S, S) tensor, data_samples=dict)``.

    The data sample holds canvas-space quantities for the losses: ``img_h``, ``focal``,
    ``princpt``, ``fov_v`` (vertical FoV of the visible canvas image, NaN when the sample's
    camera is unknown), ``scale``/``offset`` (canvas = scale * original + offset, valid
    without rotation/flip), ``ori_focal``/``ori_princpt``, and ``gt`` with boxes as
    (cx, cy, w, h) / S.  ``keep_ori_gt`` also stores the dataset's untransformed ``gt``.
    """

    def __init__(self, keep_ori_gt: bool = False):
        self.keep_ori_gt = keep_ori_gt

    def __call__(self, results: dict) -> dict:
        img = results['img']
        S = img.shape[0]
        gt = results['gt']
        focal = np.asarray(results['focal'], np.float64)
        fov_known = np.isfinite(float(results.get('fov_v', np.nan)))
        fov_v = focal_to_vfov(float(focal[1]), results['img_h']) if fov_known else float('nan')
        A = results.get('affine', np.eye(3))
        boxes = np.asarray(gt['boxes'], np.float64).reshape(-1, 4)
        cxcywh = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
                           boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], 1) / S

        def t(x, dtype=torch.float32):
            return torch.as_tensor(np.asarray(x), dtype=dtype)

        n = len(boxes)
        sample = dict(
            img_path=results.get('img_path'), ori_shape=tuple(results['ori_shape']),
            img_h=float(results['img_h']), focal=t(focal), princpt=t(results['princpt']), fov_v=fov_v,
            scale=float(math.sqrt(abs(np.linalg.det(A[:2, :2])))), offset=t(A[:2, 2]),
            ori_focal=t(results.get('ori_focal', focal)), ori_princpt=t(results.get('ori_princpt', results['princpt'])),
            gt=dict(boxes=t(cxcywh).reshape(n, 4),
                    kpts2d=t(gt['kpts2d']).reshape(n, 24, 3),
                    transl=t(gt['transl']).reshape(n, 3),
                    joints3d=t(gt['joints3d']).reshape(n, 24, 3),
                    global_orient=t(gt['global_orient']).reshape(n, 3),
                    body_pose=t(gt['body_pose']).reshape(n, 69),
                    betas=t(gt['betas']).reshape(n, -1 if n else 11),
                    has_smpl=t(gt['has_smpl'], torch.bool).reshape(n),
                    has_3d=t(gt['has_3d'], torch.bool).reshape(n),
                    height=t(gt.get('height', np.full(n, np.nan))).reshape(n),
                    age_group=t(gt.get('age_group', np.full(n, -1)), torch.long).reshape(n),
                    depth_id=t(gt.get('depth_id', np.full(n, -1)), torch.long).reshape(n)))
        if self.keep_ori_gt and 'ori_gt' in results:
            sample['gt_ori'] = results['ori_gt']
        if results.get('img_key') is not None:
            sample['img_key'] = results['img_key']
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return dict(inputs=inputs, data_samples=sample)


@TRANSFORMS.register_module()
class BenchmarkToHMRInput:
    """A benchmark test sample (``img_path``, ``img_key``, ``ori_shape``, benchmark ``gt``) as
    MA-HMR network input: the image is read, the camera is unknown (the model predicts the FoV;
    principal point at the image centre), there are no training targets, and the benchmark
    ``gt`` is kept as ``ori_gt`` for the evaluator (``PackHMRInputs(keep_ori_gt=True)``)."""

    def __call__(self, results: dict) -> dict:
        from .datasets import empty_gt
        path = results.get('img_path')
        img = cv2.imread(str(path), cv2.IMREAD_COLOR) if path else None
        if img is None:
            raise FileNotFoundError(f'image not found or unreadable: {path}')
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        H, W = img.shape[:2]
        return dict(img_path=path, img_key=results.get('img_key'), img=img, ori_shape=(H, W),
                    focal=np.array([np.nan, np.nan]), princpt=np.array([W / 2.0, H / 2.0]),
                    fov_v=float('nan'), gt=empty_gt(0), ori_gt=results.get('gt'))


@TRANSFORMS.register_module()
class KeepOriginalGT:
    """Remember the untransformed ``gt`` (for evaluation / export) as ``ori_gt``."""

    def __call__(self, results: dict) -> dict:
        results['ori_gt'] = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
                             for k, v in results['gt'].items()}
        return results
