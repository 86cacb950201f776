"""MA-HMR training data: datasets (method.md §6 formats), transforms, collate."""

from __future__ import annotations

from .datasets import (AGORADataset, BEDLAMDataset, CameraHMRDataset, DTOHumansDataset, HMRListDataset,
                       RelativeHumanTrainDataset,
                       Hi4DTrainDataset, ThreeDPWTrainDataset,
                       mahmr_collate, smpl_to_gt)
from .toy import ToyScenesDataset, make_toy_scene
from .smpl_ops import SMPL24_FLIP_PERM, flip_smpl_pose, mirror_transl, rotate_smpl
from .transforms import (BenchmarkToHMRInput, CanvasHMR, KeepOriginalGT, LoadHMRImage, PackHMRInputs, RandomFlipHMR,
                         RandomRotateHMR, RandomScaleHMR, flip_sample, rotate_sample)

__all__ = ['Hi4DTrainDataset', 'ThreeDPWTrainDataset', 'ToyScenesDataset', 'make_toy_scene',
           'AGORADataset', 'BEDLAMDataset', 'CameraHMRDataset', 'DTOHumansDataset', 'HMRListDataset',
           'RelativeHumanTrainDataset',
           'mahmr_collate', 'smpl_to_gt', 'SMPL24_FLIP_PERM', 'flip_smpl_pose', 'mirror_transl', 'rotate_smpl',
           'BenchmarkToHMRInput', 'CanvasHMR', 'KeepOriginalGT', 'LoadHMRImage', 'PackHMRInputs', 'RandomFlipHMR', 'RandomRotateHMR',
           'RandomScaleHMR', 'flip_sample', 'rotate_sample']
