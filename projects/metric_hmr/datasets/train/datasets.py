"""MA-HMR training sets (method.md §6 annotation formats) yielding the training-sample dict.

Every set reads ``np.load(ann_file, allow_pickle=True)['annots'][()]``, a dict keyed by
image path, and turns one image's entry into the ARCHITECTURE.md training-sample dict in
:meth:`get_data_info` (SMPL joints, projected keypoints and boxes are computed there, per
image, with the configured body model).  A missing annotation file or image folder raises
``FileNotFoundError`` naming the path when the dataset is built.

| class | file | supervision |
|---|---|---|
| :class:`DTOHumansDataset` | ``*_CHMR_SMPL_OPT.npz`` | full (SMPL, 3D, depth, FoV) |
| :class:`CameraHMRDataset` | ``*_CHMR_SMPL.npz`` | 2D only: projected pGT joints, boxes |
| :class:`AGORADataset` | ``annots_smpl_train_fit.npz`` | full |
| :class:`BEDLAMDataset` | ``bedlam_smpl_train_6fps.npz`` | full |
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from metric_hmr.conventions import adapt_betas
from metric_hmr.geometry import focal_to_vfov, project_points
from metric_hmr.registry import BODY_MODELS, DATASETS, FUNCTIONS
from metric_hmr.utils.io import load_annots_npz
from .smpl_ops import rotate_smpl

__all__ = ['NUM_BETAS_STORED', 'stored_betas', 'model_betas', 'empty_gt', 'smpl_to_gt', 'image_size',
           'DTOHumansDataset', 'CameraHMRDataset', 'person_cameras', 'world_to_camera',
           'AGORADataset', 'BEDLAMDataset', 'RelativeHumanTrainDataset', 'HMRListDataset',
           'mahmr_collate', 'ThreeDPWTrainDataset', 'Hi4DTrainDataset']

NUM_BETAS_STORED = 11   # gt['betas']: SMPL-A layout, 10-D shapes get a zero age blend


def stored_betas(betas, context: str = '') -> np.ndarray:
    """(N, 10|11) -> (N, 11) float64 (``conventions.adapt_betas``; other sizes: ValueError)."""
    b = np.asarray(betas, np.float64)
    b = b.reshape(len(b), -1) if b.size else b.reshape(len(b), NUM_BETAS_STORED)
    return adapt_betas(b, NUM_BETAS_STORED, context=context, widths=(10, NUM_BETAS_STORED))


def model_betas(body_model, betas, context: str = '') -> torch.Tensor:
    """Stored betas as the body model takes them: a non-zero age blend needs a kid template
    (SMPL-A, 11 betas), else ``adapt_betas`` raises naming the person (never dropped silently)."""
    nb = int(getattr(body_model, 'num_betas', 10))
    return torch.as_tensor(adapt_betas(stored_betas(betas, context), nb, context=context), dtype=torch.float32)


def empty_gt(n: int = 0) -> dict:
    return dict(boxes=np.zeros((n, 4)), transl=np.zeros((n, 3)), kpts2d=np.zeros((n, 24, 3)),
                joints3d=np.zeros((n, 24, 3)), global_orient=np.zeros((n, 3)), body_pose=np.zeros((n, 69)),
                betas=np.zeros((n, NUM_BETAS_STORED)), has_smpl=np.zeros(n, bool), has_3d=np.zeros(n, bool),
                height=np.full(n, np.nan), age_group=np.full(n, -1, np.int64))


def smpl_to_gt(body_model, betas: np.ndarray, pose: np.ndarray, transl: np.ndarray, focal, princpt,
               img_hw, full_3d: bool = True, context: str = '') -> dict:
    """Training-sample ``gt`` of SMPL persons in camera space.

    Joints (24) and vertices come from the body model; keypoints are the projected joints
    (visibility 1 inside the image and in front of the camera; joints at z <= 0 have no image
    position: (0, 0, 0)); boxes are the bounding boxes of the projected vertices in front of
    the camera, clipped to the image (zeros when none is).  ``full_3d=False`` keeps only the 2D
    part (CameraHMR pGT: has_smpl/has_3d False, translation unknown = NaN).  A shape with a
    non-zero age blend (DTO-Humans / AGORA kids) needs an SMPL-A body model (``num_betas=11``
    and a kid template): with a 10-beta model it is a ValueError naming ``context`` and the
    person, never a silently adult body.
    """
    n = len(betas)
    gt = empty_gt(n)
    if n == 0:
        return gt
    bm_betas = model_betas(body_model, betas, context)
    betas = stored_betas(betas, context)
    pose = np.asarray(pose, np.float64).reshape(n, 72)
    transl = np.asarray(transl, np.float64).reshape(n, 3)
    with torch.no_grad():
        out = body_model(betas=bm_betas,
                         global_orient=torch.as_tensor(pose[:, :3], dtype=torch.float32),
                         body_pose=torch.as_tensor(pose[:, 3:], dtype=torch.float32),
                         transl=torch.as_tensor(transl, dtype=torch.float32))
        height = body_model.tpose_height(bm_betas)
    joints = out.joints[:, :24].double().cpu().numpy()
    verts = out.vertices.double().cpu().numpy()
    H, W = img_hw
    kp, vis = _project_in_front(joints, focal, princpt)
    vis &= (kp[..., 0] >= 0) & (kp[..., 0] < W) & (kp[..., 1] >= 0) & (kp[..., 1] < H)
    pv, front = _project_in_front(verts, focal, princpt)
    lo = np.where(front[..., None], pv, np.inf).min(1)
    hi = np.where(front[..., None], pv, -np.inf).max(1)
    boxes = np.where(front.any(1)[:, None], np.clip(np.concatenate([lo, hi], 1), 0, [W, H, W, H]), 0.0)
    gt.update(boxes=boxes, kpts2d=np.concatenate([kp, vis[..., None].astype(np.float64)], -1),
              height=np.asarray(torch.as_tensor(height).detach().cpu(), np.float64).reshape(n))
    if full_3d:
        gt.update(transl=transl, joints3d=joints, global_orient=pose[:, :3], body_pose=pose[:, 3:], betas=betas,
                  has_smpl=np.ones(n, bool), has_3d=np.ones(n, bool))
    else:
        gt['transl'] = np.full((n, 3), np.nan)
        gt['height'] = np.full(n, np.nan)
    return gt


def _project_in_front(points: np.ndarray, focal, princpt):
    """Pinhole projection (``geometry.project_points``) of the points in front of the camera:
    ((..., 2) pixels, 0 where z <= 0; (...,) bool z > 0)."""
    front = points[..., 2] > 0
    uv = np.where(front[..., None], project_points(points, focal, princpt), 0.0)
    return uv, front


def image_size(path: str):
    """(H, W) from the image header (PIL reads only the header)."""
    from PIL import Image
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    with Image.open(path) as im:
        W, H = im.size
    return H, W


class _SMPLAnnotsDataset(BaseDataset):
    """Shared logic: annotation npz keyed by image path, body model, image folder checks.

    Args:
        ann_file: annotation npz (relative to ``data_root`` unless absolute).
        img_prefix: image folder the keys are relative to (relative to ``data_root``).
        body_model: BODY_MODELS config (SMPL; SMPL-A with a kid template for 11-beta shapes).
        max_persons: images with more persons keep the first ``max_persons`` (every truncation
            seen by the reading process is counted in ``num_truncated``); None keeps all.
        downsample: keep every ``downsample``-th image, counted in the file's key order (as
            MA-HMR's loaders do, e.g. BEDLAM 1 fps at rate 4 in its Panoptic fine-tune).
    """

    def __init__(self, ann_file: str, body_model: dict, data_root: str = '', img_prefix: str = '',
                 max_persons: Optional[int] = None, downsample: int = 1, **kwargs):
        if isinstance(downsample, bool) or not isinstance(downsample, int) or downsample < 1:
            raise ValueError(f'{type(self).__name__}: downsample must be an integer >= 1, got {downsample!r}')
        self.downsample = downsample
        self.body_model_cfg = body_model
        self.img_prefix_rel = img_prefix
        self.max_persons = max_persons
        self._bm = None
        self.num_truncated = 0
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    @property
    def img_root(self) -> str:
        p = self.img_prefix_rel
        return p if osp.isabs(p) or not self.data_root else osp.join(self.data_root, p)

    @property
    def body_model(self):
        if self._bm is None:  # built lazily: once per dataloader worker
            self._bm = BODY_MODELS.build(self.body_model_cfg)
        return self._bm

    def full_init(self):
        if self._fully_initialized:
            return
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{type(self).__name__}: annotation file not found: {self.ann_file}')
        if self.img_root and not osp.isdir(self.img_root):
            raise FileNotFoundError(f'{type(self).__name__}: image folder not found: {self.img_root}')
        super().full_init()

    def load_data_list(self) -> List[dict]:
        annots = load_annots_npz(self.ann_file)
        if not isinstance(annots, dict):
            raise ValueError(f'{self.ann_file}: "annots" must be a dict keyed by image path, '
                             f'got {type(annots).__name__}')
        # 1. every downsample-th key in the file's order (the upstream selection), 2. sorted
        keys = list(annots)[::self.downsample]
        out = []
        for key in sorted(keys):
            out.append(dict(img_key=str(key), img_path=osp.join(self.img_root, str(key)), raw=annots[key]))
        return out

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        try:
            return self.parse(info)
        except (KeyError, TypeError, IndexError, ValueError) as e:  # ValueError: e.g. wrong field sizes
            raise ValueError(f'{self.ann_file}: bad entry for image {info["img_key"]!r}: {e!r}') from e

    def _truncate(self, items: Sequence) -> Sequence:
        if self.max_persons is not None and len(items) > self.max_persons:
            self.num_truncated += 1
            return items[:self.max_persons]
        return items

    def parse(self, info: dict) -> dict:
        raise TypeError(f'{type(self).__name__} must define parse() for its annotation format')

    def sample(self, info, hw, focal, princpt, gt) -> dict:
        H, W = hw
        fov_v = focal_to_vfov(float(focal[1]), H) if np.isfinite(focal[1]) else float('nan')
        return dict(img_path=info['img_path'], img=None, ori_shape=(H, W), focal=np.asarray(focal, np.float64),
                    princpt=np.asarray(princpt, np.float64), fov_v=float(fov_v), gt=gt)


@DATASETS.register_module()
class DTOHumansDataset(_SMPLAnnotsDataset):
    """DTO-Humans release npz: per image a list of persons
    ``{smpl_param: {shape, pose (72), trans (3)}, cam_param: {focal (2), princpt (2)}}``.
    Scene-consistent pGT: full supervision (SMPL, 3D joints, translation depth, FoV)."""

    full_3d = True
    supervise_fov = True

    def parse(self, info: dict) -> dict:
        persons = self._truncate(list(info['raw']))
        hw = image_size(info['img_path'])
        if not persons:
            raise ValueError('no persons')
        focal = np.asarray(persons[0]['cam_param']['focal'], np.float64).reshape(2)
        princpt = np.asarray(persons[0]['cam_param']['princpt'], np.float64).reshape(2)
        betas = np.concatenate([stored_betas(np.reshape(p['smpl_param']['shape'], (1, -1)), f'person {i}')
                                for i, p in enumerate(persons)])
        pose = np.stack([np.asarray(p['smpl_param']['pose'], np.float64).reshape(72) for p in persons])
        transl = np.stack([np.asarray(p['smpl_param']['trans'], np.float64).reshape(3) for p in persons])
        # errors get the file and image from get_data_info
        gt = smpl_to_gt(self.body_model, betas, pose, transl, focal, princpt, hw, full_3d=self.full_3d)
        s = self.sample(info, hw, focal, princpt, gt)
        if not (self.full_3d or self.supervise_fov):
            s['fov_v'] = float('nan')  # pGT camera not used as a target
        return s


@DATASETS.register_module()
class CameraHMRDataset(DTOHumansDataset):
    """CameraHMR's 4D-Humans pGT (same format as DTO-Humans), used 2D-only as in SAT-HMR
    stage 1: keypoints are the projected pGT joints, boxes the projected meshes; no SMPL,
    3D or depth targets (has_smpl = has_3d = False, transl NaN).

    ``supervise_fov`` (default True): the FoV of CameraHMR's intrinsics is the FoV target
    (``fov_v``), which stage 2 trains the camera branch with (paper Sec. 4.1); False leaves
    ``fov_v`` NaN (no FoV loss on these images).
    """

    full_3d = False

    def __init__(self, *args, supervise_fov: bool = True, **kwargs):
        self.supervise_fov = supervise_fov
        super().__init__(*args, **kwargs)


def _split_person_params(smpl_gt) -> List[dict]:
    """AGORA ``smpl_gt``: a list of per-person dicts, or a dict of per-person arrays."""
    if isinstance(smpl_gt, dict):
        n = len(np.asarray(smpl_gt['global_orient']).reshape(-1, 3))
        return [{k: np.asarray(v)[i] for k, v in smpl_gt.items()} for i in range(n)]
    return list(smpl_gt)


def person_cameras(cam_rot, cam_trans, n: int):
    """Camera extrinsics per person: (n, 3, 3), (n, 3).

    Accepts one camera for the image ((3, 3) / (9,), (3,)) or SAT-HMR's per-person layout
    ((n, 3, 3), (n, 3)), which AGORA and BEDLAM annotations use.
    """
    R = np.asarray(cam_rot, np.float64)
    t = np.asarray(cam_trans, np.float64)
    if R.size == 9 and t.size == 3:
        return np.broadcast_to(R.reshape(3, 3), (n, 3, 3)), np.broadcast_to(t.reshape(3), (n, 3))
    if R.shape != (n, 3, 3) and R.size == 9 * n:
        R = R.reshape(n, 3, 3)
    if R.shape != (n, 3, 3) or t.reshape(-1).size != 3 * n:
        raise ValueError(f'cam_rot {R.shape} / cam_trans {t.shape} are neither one camera nor one per '
                         f'person for {n} persons')
    return R, t.reshape(n, 3)


def world_to_camera(body_model, betas, global_orient, transl, R, t):
    """World-frame SMPL parameters -> camera frame for X_cam = R X_world + t.

    R, t: one camera ((3, 3), (3,)) or one per person ((N, 3, 3), (N, 3)).
    """
    R, t = person_cameras(R, t, len(np.asarray(global_orient).reshape(-1, 3)))
    with torch.no_grad():
        j0 = body_model(betas=model_betas(body_model, betas)).joints[:, 0]
    return rotate_smpl(global_orient, transl, j0.double().cpu().numpy(), R, t)


@DATASETS.register_module()
class AGORADataset(_SMPLAnnotsDataset):
    """AGORA (``annots_smpl_{train_fit,validation}.npz``): per image ``isValid``,
    ``cam_intrinsics`` (3x3), ``cam_rot``, ``cam_trans``, ``kid`` and ``smpl_gt`` per person
    ``{betas (10/11), global_orient, body_pose, transl}``.

    ``params_frame='world'`` applies X_cam = cam_rot X + cam_trans to the parameters;
    ``'camera'`` takes them as camera-space (check against your annotation export).
    Persons with ``isValid`` False are excluded (their count is in ``num_invalid``).
    """

    def __init__(self, *args, params_frame: str = 'world', **kwargs):
        if params_frame not in ('world', 'camera'):
            raise ValueError(f"params_frame must be 'world' or 'camera', got {params_frame!r}")
        self.params_frame = params_frame
        self.num_invalid = 0
        super().__init__(*args, **kwargs)

    @staticmethod
    def _valid(raw: dict, n: int) -> np.ndarray:
        valid = np.asarray(raw.get('isValid', np.ones(n, bool)), bool).reshape(-1)
        if len(valid) != n:
            raise ValueError(f'isValid has {len(valid)} entries for {n} persons')
        return valid

    def load_data_list(self) -> List[dict]:
        data = super().load_data_list()
        for info in data:  # count the excluded persons once, at load time
            try:
                n = len(_split_person_params(info['raw']['smpl_gt']))
                self.num_invalid += int((~self._valid(info['raw'], n)).sum())
            except (KeyError, TypeError) as e:
                raise ValueError(f'{self.ann_file}: bad entry for image {info["img_key"]!r}: {e!r}') from e
        return data

    def parse(self, info: dict) -> dict:
        raw = info['raw']
        hw = image_size(info['img_path'])
        K = np.asarray(raw['cam_intrinsics'], np.float64).reshape(3, 3)
        persons = _split_person_params(raw['smpl_gt'])
        valid = self._valid(raw, len(persons))
        keep = self._truncate(np.flatnonzero(valid))
        persons = [persons[i] for i in keep]
        betas, pose, tr = _stack_person_params(persons, info['img_key'])
        go, bp = pose[:, :3], pose[:, 3:]
        if self.params_frame == 'world' and len(persons):
            # cameras are stored for every person (valid or not): select the same persons
            R, t = person_cameras(raw['cam_rot'], raw['cam_trans'], len(valid))
            go, tr = world_to_camera(self.body_model, betas, go, tr, R[keep], t[keep])
        focal, princpt = K[[0, 1], [0, 1]], K[:2, 2]
        gt = smpl_to_gt(self.body_model, betas, np.concatenate([go, bp], 1), tr, focal, princpt, hw)
        return self.sample(info, hw, focal, princpt, gt)


@DATASETS.register_module()
class BEDLAMDataset(_SMPLAnnotsDataset):
    """BEDLAM (``bedlam_smpl_*.npz``): per image ``cam_int`` (3x3), ``cam_rot``, ``cam_trans``,
    ``shape`` (N, 10|11), ``pose_world`` (N, 72), ``trans_world`` (N, 3); world -> camera
    with X_cam = cam_rot X + cam_trans."""

    def parse(self, info: dict) -> dict:
        raw = info['raw']
        hw = image_size(info['img_path'])
        K = np.asarray(raw['cam_int'], np.float64).reshape(3, 3)
        betas = stored_betas(raw['shape'])
        pose = np.asarray(raw['pose_world'], np.float64).reshape(-1, 72)
        tr = np.asarray(raw['trans_world'], np.float64).reshape(-1, 3)
        R, t = person_cameras(raw['cam_rot'], raw['cam_trans'], len(pose))
        n = self._truncate(list(range(len(pose))))
        betas, pose, tr = betas[n], pose[n], tr[n]
        go, tr = world_to_camera(self.body_model, betas, pose[:, :3], tr, R[n], t[n])
        focal, princpt = K[[0, 1], [0, 1]], K[:2, 2]
        gt = smpl_to_gt(self.body_model, betas, np.concatenate([go, pose[:, 3:]], 1), tr, focal, princpt, hw)
        return self.sample(info, hw, focal, princpt, gt)


@DATASETS.register_module()
class RelativeHumanTrainDataset(_SMPLAnnotsDataset):
    """Relative Human training split (``train_annots.npz``, the layout of the test files: per
    image a list of persons ``{bbox (x0, y0, x1, y1), kp2d (19x3 | 14x3 | None), depth_id, age}``)
    for the RH fine-tune with the ordinal-depth loss.

    Targets: 2D keypoints (BK / OCHuman / CrowdPose orders mapped by joint name onto SMPL-24;
    joints SMPL lacks are dropped), boxes, ``depth_id`` (depth layer, -1 unknown) and
    ``age_group``; no SMPL, 3D, metric depth or camera (``has_smpl`` False, ``transl`` NaN, FoV
    NaN).  ``body_model`` is not needed.
    """

    def __init__(self, ann_file: str, body_model: Optional[dict] = None, **kwargs):
        super().__init__(ann_file=ann_file, body_model=body_model, **kwargs)

    def parse(self, info: dict) -> dict:
        from metric_hmr.evaluation.functional.joints import SMPL24, index_map, remap_keypoints, rh_skeleton_of
        persons = self._truncate(list(info['raw']))
        hw = image_size(info['img_path'])
        n = len(persons)
        gt = empty_gt(n)
        gt['transl'][:] = np.nan
        gt['depth_id'] = np.full(n, -1, np.int64)
        for i, p in enumerate(persons):
            if p.get('kp2d') is not None:
                kp = np.asarray(p['kp2d'], np.float64).reshape(-1, 3)
                k = remap_keypoints(kp, index_map(rh_skeleton_of(info['img_key'], len(kp)), SMPL24))
                k[:, 2] = k[:, 2] > 0
                k[k[:, 2] == 0, :2] = 0.0
                gt['kpts2d'][i] = k
            if p.get('bbox') is None:
                raise ValueError(f'person {i} has no bbox')
            gt['boxes'][i] = np.asarray(p['bbox'], np.float64).reshape(-1)[:4]
            if p.get('depth_id') is not None:
                gt['depth_id'][i] = int(p['depth_id'])
            if p.get('age') is not None:
                gt['age_group'][i] = int(p['age'])
        H, W = hw
        s = self.sample(info, hw, np.array([np.nan, np.nan]), np.array([W / 2.0, H / 2.0]), gt)
        s['fov_v'] = float('nan')
        return s


@DATASETS.register_module()
class HMRListDataset(BaseDataset):
    """Training samples given as a list of ready dicts (tests, demos, custom data)."""

    def __init__(self, samples: Sequence[dict], **kwargs):
        self._samples = list(samples)
        kwargs.setdefault('serialize_data', False)
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        return [dict(s) for s in self._samples]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['gt'] = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in info['gt'].items()}
        return info


@FUNCTIONS.register_module()
def mahmr_collate(batch: Sequence[dict]) -> Dict[str, object]:
    """Batch of packed samples -> ``dict(inputs=(B, 3, S, S) uint8, data_samples=[...])``.

    Persons vary per image, so targets stay a list of per-image dicts (no padding needed:
    matching and losses work per image).
    """
    if not batch:
        raise ValueError('empty batch')
    shapes = {tuple(b['inputs'].shape) for b in batch}
    if len(shapes) != 1:
        raise ValueError(f'canvases of different sizes in one batch: {sorted(shapes)}')
    return dict(inputs=torch.stack([b['inputs'] for b in batch]), data_samples=[b['data_samples'] for b in batch])


def _stack_person_params(persons: Sequence[dict], where: str):
    """(betas (N,11), pose (N,72) from global_orient + body_pose, transl (N,3))."""
    if not persons:
        return np.zeros((0, 11)), np.zeros((0, 72)), np.zeros((0, 3))
    sizes = dict(global_orient=3, body_pose=69, transl=3)
    rows = []
    for i, p in enumerate(persons):  # per person, so a bad field names the person
        row = {}
        for field in ('betas', *sizes):
            if field not in p:
                raise KeyError(f'person {i}: field {field!r} missing')
            v = np.asarray(p[field], np.float64).reshape(-1)
            if field == 'betas':   # 10 (SMPL) or 11 (SMPL-A) values -> 11, age blend kept
                v = stored_betas(v.reshape(1, -1), f'{where}: person {i}')[0]
            elif v.size != sizes[field]:
                raise ValueError(f'person {i}: field {field!r} has {v.size} values, expected {sizes[field]}')
            row[field] = v
        rows.append(row)
    betas = np.stack([r['betas'] for r in rows])
    go, bp, tr = (np.stack([r[k] for r in rows]) for k in sizes)
    return betas, np.concatenate([go, bp], 1), tr


@DATASETS.register_module()
class ThreeDPWTrainDataset(_SMPLAnnotsDataset):
    """3DPW (``annots_smpl_train_genders.npz``) for benchmark fine-tuning: per image
    ``cam_intrinsics`` (3x3), ``cam_rot``, ``cam_trans`` and per-person arrays ``betas``,
    ``global_orient``, ``body_pose``, ``transl`` (world frame), ``genders``.

    The parameters are moved to the camera with X_cam = cam_rot X + cam_trans.  Targets are
    computed with the configured (neutral) body model; 3DPW shapes are gendered, so the
    joints of the neutral model approximate the true ones (documented limitation).
    """

    def parse(self, info: dict) -> dict:
        raw = info['raw']
        hw = image_size(info['img_path'])
        K = np.asarray(raw['cam_intrinsics'], np.float64).reshape(3, 3)
        n = len(np.asarray(raw['global_orient']).reshape(-1, 3))
        persons = self._truncate([{k: np.asarray(raw[k])[i] for k in ('betas', 'global_orient', 'body_pose', 'transl')}
                                  for i in range(n)])
        betas, pose, tr = _stack_person_params(persons, info['img_key'])
        if len(persons) and 'cam_rot' in raw:
            go, tr = world_to_camera(self.body_model, betas, pose[:, :3], tr, raw['cam_rot'], raw['cam_trans'])
            pose = np.concatenate([go, pose[:, 3:]], 1)
        focal, princpt = K[[0, 1], [0, 1]], K[:2, 2]
        gt = smpl_to_gt(self.body_model, betas, pose, tr, focal, princpt, hw)
        return self.sample(info, hw, focal, princpt, gt)


@DATASETS.register_module()
class Hi4DTrainDataset(_SMPLAnnotsDataset):
    """Hi4D (``hi4d_smpl_{split}.npz``) for fine-tuning: per image a list of persons
    ``{focal, princpt, cam_rot, cam_trans, global_orient, body_pose, transl, betas, genders}``
    (world frame; X_cam = cam_rot X + cam_trans).  Same gender caveat as 3DPW."""

    def parse(self, info: dict) -> dict:
        persons = self._truncate(list(info['raw']))
        if not persons:
            raise ValueError('no persons')
        hw = image_size(info['img_path'])
        first = persons[0]
        focal = np.broadcast_to(np.asarray(first['focal'], np.float64).ravel(), (2,)).copy()
        princpt = np.asarray(first['princpt'], np.float64).reshape(2)
        betas, pose, tr = _stack_person_params(persons, info['img_key'])
        go, tr = world_to_camera(self.body_model, betas, pose[:, :3], tr, first['cam_rot'], first['cam_trans'])
        gt = smpl_to_gt(self.body_model, betas, np.concatenate([go, pose[:, 3:]], 1), tr, focal, princpt, hw)
        return self.sample(info, hw, focal, princpt, gt)
