"""Test-annotation loaders of Relative Human, 3DPW, Hi4D, MuPoTS and CMU Panoptic."""

from __future__ import annotations

from typing import Any

import numpy as np

from metric_hmr.evaluation.functional.joints import (CROWDPOSE14, MPI_OF_H36M, index_map,
                                                     remap_keypoints, rh_skeleton_of)
from metric_hmr.registry import DATASETS
from .benchmark_dataset import BenchmarkDataset, as_array, intrinsics_from_matrix

__all__ = ['RelativeHumanDataset', 'PW3DDataset', 'Hi4DDataset', 'MuPoTSDataset',
           'PanopticDataset']


@DATASETS.register_module()
class RelativeHumanDataset(BenchmarkDataset):
    """Relative Human ``{val,test}_annots.npz``: per image a list of persons
    ``{bbox, kp2d (19x3 flat | None), depth_id, age, ...}``.

    gt: ``kpts2d (N,14,3)`` CrowdPose-14 (BK / OCHuman 19-joint orders mapped by name;
    invisible or unannotated joints have visibility 0), ``depth_id (N,)``,
    ``age_group (N,)`` (0 adult, 1 teen, 2 kid, 3 baby, -1 unknown), ``bbox (N,4)`` as
    stored in the file.
    """
    METAINFO = dict(dataset_name='relative_human')

    def parse_image(self, key: str, annot: Any) -> dict:
        persons = list(annot)
        kpts = np.zeros((len(persons), 14, 3))
        depth_id = np.full(len(persons), -1, np.int64)
        age = np.full(len(persons), -1, np.int64)
        bbox = np.zeros((len(persons), 4))
        for i, p in enumerate(persons):
            kp = p.get('kp2d')
            if kp is not None:
                kp = as_array(kp, what=f'person {i} kp2d').reshape(-1, 3)
                mapping = index_map(rh_skeleton_of(key, len(kp)), CROWDPOSE14)
                k = remap_keypoints(kp, mapping)
                k[:, 2] = k[:, 2] > 0
                k[k[:, 2] == 0, :2] = 0.0      # invalid joints carry no coordinates
                kpts[i] = k
            if p.get('depth_id') is not None:
                depth_id[i] = int(p['depth_id'])
            if p.get('age') is not None:
                age[i] = int(p['age'])
            if p.get('bbox') is not None:
                bbox[i] = as_array(p['bbox'], what=f'person {i} bbox').reshape(-1)[:4]
        return dict(gt=dict(kpts2d=kpts, depth_id=depth_id, age_group=age, bbox=bbox))


def _smpl_gt(global_orient, body_pose, betas, transl, n: int, what: str) -> dict:
    out = dict(global_orient=as_array(global_orient, what=f'{what} global_orient').reshape(n, 3),
               body_pose=as_array(body_pose, what=f'{what} body_pose').reshape(n, 69),
               betas=as_array(betas, what=f'{what} betas').reshape(n, -1),
               transl=as_array(transl, what=f'{what} transl').reshape(n, 3))
    return out


def _genders(values, n: int):
    if values is None:
        return ['neutral'] * n
    vals = [v.decode() if isinstance(v, bytes) else str(v) for v in list(values)]
    if len(vals) != n:
        raise ValueError(f'{len(vals)} genders for {n} persons')
    return vals


@DATASETS.register_module()
class PW3DDataset(BenchmarkDataset):
    """3DPW ``annots_smpl_test_genders.npz``: per image ``{cam_intrinsics (3,3), cam_rot,
    cam_trans, betas (N,10), global_orient (N,3), body_pose (N,69), transl (N,3),
    genders (N,)}`` with world-frame SMPL parameters.

    gt: the SMPL parameters (world frame) + ``cam_rot (N,3,3)``, ``cam_trans (N,3)``,
    ``focal``, ``princpt``, ``gender`` list.
    """
    METAINFO = dict(dataset_name='3dpw')

    def parse_image(self, key: str, annot: Any) -> dict:
        n = len(as_array(annot['betas']).reshape(-1, as_array(annot['betas']).shape[-1]))
        gt = _smpl_gt(annot['global_orient'], annot['body_pose'], annot['betas'],
                      annot['transl'], n, key)
        focal, princpt = intrinsics_from_matrix(annot['cam_intrinsics'], 'cam_intrinsics')
        rot = as_array(annot['cam_rot'], what='cam_rot').reshape(-1, 3, 3)
        trans = as_array(annot['cam_trans'], what='cam_trans').reshape(-1, 3)
        gt.update(cam_rot=np.broadcast_to(rot, (n, 3, 3)).copy(),
                  cam_trans=np.broadcast_to(trans, (n, 3)).copy(),
                  focal=focal, princpt=princpt,
                  gender=_genders(annot.get('genders', annot.get('gender')), n))
        return dict(gt=gt)


@DATASETS.register_module()
class Hi4DDataset(BenchmarkDataset):
    """Hi4D ``hi4d_smpl_{split}.npz``: per image a list of persons ``{focal, princpt,
    cam_rot, cam_trans, global_orient, body_pose, transl, betas, genders}`` (world-frame
    SMPL parameters). gt as for :class:`PW3DDataset`.
    """
    METAINFO = dict(dataset_name='hi4d')

    def parse_image(self, key: str, annot: Any) -> dict:
        persons = list(annot)
        n = len(persons)
        if n == 0:
            raise ValueError('image without persons')
        cat = lambda k, w: np.stack([as_array(p[k], what=f'person {i} {k}').reshape(w)  # noqa
                                     for i, p in enumerate(persons)])
        gt = dict(global_orient=cat('global_orient', 3), body_pose=cat('body_pose', 69),
                  betas=cat('betas', -1), transl=cat('transl', 3),
                  cam_rot=cat('cam_rot', (3, 3)), cam_trans=cat('cam_trans', 3))
        gt['focal'] = as_array(persons[0]['focal'], what='focal').reshape(2)
        gt['princpt'] = as_array(persons[0]['princpt'], what='princpt').reshape(2)
        gt['gender'] = [str(np.ravel(p.get('genders', p.get('gender', 'neutral')))[0])
                        for p in persons]
        return dict(gt=gt)


@DATASETS.register_module()
class MuPoTSDataset(BenchmarkDataset):
    """MuPoTS ``mupots_annots.npz``: key ``TSk/img_%06d.jpg``; per image a list of
    ``{annot_2d (17,2) px, annot_3d (17,3) mm, vis (17,)}``: joints in the H36M-17 order,
    but ``vis`` (not occluded) left in MuPoTS' own MPI-17 order by the preprocessing.

    gt: ``joints3d (N,17,3)`` metres, ``kpts2d (N,17,3)`` px + visibility (all H36M-17
    order), ``seq``.
    """
    METAINFO = dict(dataset_name='mupots')

    def parse_image(self, key: str, annot: Any) -> dict:
        persons = list(annot)
        j3d = np.stack([as_array(p['annot_3d'], what=f'person {i} annot_3d').reshape(17, 3)
                        for i, p in enumerate(persons)]) / 1000.0
        k2d = np.stack([as_array(p['annot_2d'], what=f'person {i} annot_2d').reshape(17, 2)
                        for i, p in enumerate(persons)])
        vis = np.stack([as_array(p['vis'], what=f'person {i} vis').reshape(17)
                        for i, p in enumerate(persons)]).astype(np.float64)
        vis = vis[:, MPI_OF_H36M]   # MPI order in the file -> the H36M order of the joints
        seq = key.replace('\\', '/').split('/')[0]
        return dict(gt=dict(joints3d=j3d, kpts2d=np.concatenate([k2d, vis[..., None]], -1),
                            seq=seq))


@DATASETS.register_module()
class PanopticDataset(BenchmarkDataset):
    """CMU Panoptic ``annots_test.npz``: per image ``{kpts3d (N,24,4) m + visibility,
    kpts2d (N,24,2|3), width, height}``.

    gt: ``joints3d (N,24,4)``, ``kpts2d (N,24,2)``; ``ori_shape`` from width/height.
    """
    METAINFO = dict(dataset_name='cmu_panoptic')

    def parse_image(self, key: str, annot: Any) -> dict:
        j3d = as_array(annot['kpts3d'], what='kpts3d').reshape(-1, 24, 4)
        k2d = as_array(annot['kpts2d'], what='kpts2d')
        k2d = k2d.reshape(len(j3d), 24, -1)[..., :2]
        shape = (int(annot['height']), int(annot['width']))
        return dict(ori_shape=shape, gt=dict(joints3d=j3d, kpts2d=k2d))
