"""``SyntheticCrowdsDataset``: generated synthetic crowd sets as MA-HMR training samples.

Yields the training-sample dict of docs/ARCHITECTURE.md.  Anny persons have no SMPL
parameters: ``has_smpl = has_3d = False`` (zeros in joints3d / pose / betas), and they
supervise 2D keypoints (SMPL-24 order, mapped from Anny bones, see
``bodies.ANNY_BONE_OF_SMPL24``), boxes, root depth (``transl`` = camera-space root), FoV,
height and age group.  Scenes made with an SMPL-format body model carry full SMPL
supervision (``transl`` is then SMPL's translation parameter).
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset

from metric_hmr.registry import DATASETS

from .estimates import age_group_of
from .shards import SceneStore

__all__ = ['SyntheticCrowdsDataset', 'scene_to_sample']


def scene_to_sample(scene: dict, has_smpl: bool, min_pixels: int = 1,
                    require_img: bool = True, img_path: Optional[str] = None) -> dict:
    """One stored scene -> training-sample dict (persons with < min_pixels visible dropped,
    the count of dropped persons kept in ``num_hidden``)."""
    H, W = (int(x) for x in scene['image_size'])
    if 'rgb' in scene:
        img = np.asarray(scene['rgb'])
    elif require_img:
        raise ValueError(f'synthetic scene {int(scene["scene_index"])} has no RGB image; '
                         'generate the set with render_rgb=True or pass require_img=False')
    else:
        img = None
    keep = np.asarray(scene['n_pixels']) >= min_pixels
    n = int(keep.sum())
    sel = lambda k: np.asarray(scene[k])[keep]
    betas = np.zeros((n, 11))
    smpl = np.full(n, bool(has_smpl))
    if has_smpl:
        b = sel('shape')
        betas[:, :b.shape[1]] = b
        transl = sel('smpl_transl')
    else:
        transl = sel('root')
    joints3d = sel('joints3d') if has_smpl else np.zeros((n, 24, 3))
    gt = dict(boxes=sel('boxes').astype(np.float64), transl=transl.astype(np.float64),
              kpts2d=sel('kpts2d').astype(np.float64), joints3d=joints3d.astype(np.float64),
              global_orient=sel('smpl_global_orient').astype(np.float64),
              body_pose=sel('smpl_body_pose').astype(np.float64), betas=betas,
              has_smpl=smpl, has_3d=smpl.copy(), height=sel('height').astype(np.float64),
              age_group=age_group_of(sel('age')))
    f = np.asarray(scene['focal'], np.float64)
    return dict(img_path=img_path, img=img, ori_shape=(H, W), focal=f,
                princpt=np.asarray(scene['princpt'], np.float64), fov_v=float(scene['vfov']),
                gt=gt, num_hidden=int((~keep).sum()), scene_index=int(scene['scene_index']))


@DATASETS.register_module()
class SyntheticCrowdsDataset(BaseDataset):
    """Training samples from a set written by :func:`metric_hmr.synthetic.shards.generate_set`.

    Args:
        data_root: folder with ``index.json`` and the shards.
        min_pixels: persons with fewer visible pixels are left out of a sample (counted
            in ``num_hidden``).
        require_img: raise when a scene has no RGB (training); False gives ``img=None``.
    """

    def __init__(self, data_root: str, min_pixels: int = 1, require_img: bool = True, **kwargs):
        self.min_pixels = int(min_pixels)
        self.require_img = bool(require_img)
        self.store = SceneStore(data_root)
        kwargs.setdefault('serialize_data', False)
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        return [dict(scene_index=i) for i in range(len(self.store))]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        scene = self.store[info['scene_index']]
        sample = scene_to_sample(scene, bool(self.store.meta.get('has_smpl', False)),
                                 self.min_pixels, self.require_img,
                                 img_path=f'{self.data_root}#scene{info["scene_index"]:06d}')
        info.update(sample)
        return info
