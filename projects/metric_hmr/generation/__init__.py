"""DTO-Humans generation (method.md §2): readers, stages, sharding, merge, statistics.

Flow per image: reader -> intrinsics -> detection + masks -> keypoints -> matching to the
input persons -> initial HMR for unmatched detections -> age/gender -> relative depth ->
DTO + filter.  Every reader and stage is registered in ``DTO_STAGES`` and configured in
``configs/dto/``; the entry point is ``tools/dto_generate.py``.
"""

from __future__ import annotations

from .age_gender_stage import HFAgeGender
from .depth_stage import DepthAnythingDepth, PrecomputedDepth
from .dto_stage import DTOStage
from .estimator_stages import (AnnotationAgeGender, ExifIntrinsics, FixedFoVIntrinsics,
                               FoVEstimatorIntrinsics, IntrinsicsFile, NoInitialHMR,
                               ReleaseIntrinsics, TorchScriptAgeGender, TorchScriptInitialHMR,
                               UnknownAgeGender)
from .match_stage import KeypointMatching
from .pipeline import GenerationPipeline
from .readers import CameraHMRReleaseReader, ImageFolderReader, SyntheticScenesReader
from .release import (load_camerahmr_release, load_released_annots, save_released_annots,
                      write_camerahmr_release)
from .runner import run_generation
from .shard_store import make_shards, merge_shards, rank_shards, summarize
from .state import Detections, ImageState, Persons

# detection_stage.py imports mmdet/mmpose lazily inside the stages; importing it registers them.
from .detection_stage import MMDetPersonDetector, MMPoseTopDown  # noqa: E402

__all__ = [
    'CameraHMRReleaseReader', 'ImageFolderReader', 'SyntheticScenesReader',
    'MMDetPersonDetector', 'MMPoseTopDown', 'KeypointMatching', 'NoInitialHMR',
    'TorchScriptInitialHMR', 'ReleaseIntrinsics', 'FixedFoVIntrinsics', 'FoVEstimatorIntrinsics',
    'IntrinsicsFile', 'ExifIntrinsics',
    'UnknownAgeGender', 'AnnotationAgeGender', 'TorchScriptAgeGender', 'HFAgeGender', 'DepthAnythingDepth',
    'PrecomputedDepth', 'DTOStage', 'GenerationPipeline', 'run_generation', 'make_shards',
    'rank_shards', 'merge_shards', 'summarize', 'load_camerahmr_release',
    'write_camerahmr_release', 'save_released_annots', 'load_released_annots',
    'ImageState', 'Persons', 'Detections',
]
