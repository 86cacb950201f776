"""Synthetic crowds with exact metric ground truth (see docs/synthetic.md).

Scene generator (Anny bodies by default), renderings, simulated monocular relative depth,
HMR-like initial estimates, sharded storage, the training dataset and the CameraHMR
release-format export.
"""
from __future__ import annotations

from .scene_camera import SceneCamera, sample_camera
from .dataset import SyntheticCrowdsDataset, scene_to_sample
from .estimates import EstimateParams, age_group_of
from .generator import DEFAULT_CONFIG, SyntheticCrowdGenerator, config_hash, scene_camera
from .relative_depth import RelDepthParams, disparity_to_depth, simulate_relative_depth
from .shards import SceneStore, generate_set, read_shard, write_shard

__all__ = ['SceneCamera', 'sample_camera', 'EstimateParams', 'age_group_of', 'DEFAULT_CONFIG',
           'SyntheticCrowdGenerator', 'config_hash', 'scene_camera', 'RelDepthParams',
           'disparity_to_depth', 'simulate_relative_depth', 'SyntheticCrowdsDataset',
           'scene_to_sample', 'SceneStore', 'generate_set', 'read_shard', 'write_shard',
           'export_camerahmr_release']


def export_camerahmr_release(*args, **kwargs):
    """See :func:`metric_hmr.synthetic.camerahmr_export.export_camerahmr_release`."""
    from .camerahmr_export import export_camerahmr_release as _export
    return _export(*args, **kwargs)
