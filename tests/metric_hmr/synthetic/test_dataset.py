"""The synthetic-crowd training dataset (metric_hmr.synthetic.dataset)."""
import hashlib

import numpy as np
import pytest

from metric_hmr.synthetic import SceneStore, generate_set, read_shard
from metric_hmr.synthetic.generator import MAP_KEYS, PERSON_KEYS, SCENE_KEYS

SMALL = dict(image_size=(96, 128), num_persons=dict(low=3, high=6))   # as conftest.py


def _digest(folder):
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_dataset_yields_training_sample_dict(tmp_path):
    import metric_hmr
    from metric_hmr.registry import DATASETS
    from metric_hmr.synthetic import SyntheticCrowdGenerator
    metric_hmr.register_all_modules()
    gen = SyntheticCrowdGenerator(seed=5, render_rgb=True, **SMALL)
    root = generate_set(tmp_path / 'rgb', 2, scenes_per_shard=2, generator=gen)
    ds = DATASETS.build(dict(type='SyntheticCrowdsDataset', data_root=str(root)))
    assert len(ds) == 2
    s = ds[1]
    H, W = SMALL['image_size']
    assert s['img'].shape == (H, W, 3) and s['img'].dtype == np.uint8
    assert s['ori_shape'] == (H, W)
    f = H / (2 * np.tan(s['fov_v'] / 2))
    np.testing.assert_allclose(s['focal'], [f, f])
    gt = s['gt']
    n = len(gt['boxes'])
    shapes = dict(boxes=(n, 4), transl=(n, 3), kpts2d=(n, 24, 3), joints3d=(n, 24, 3),
                  global_orient=(n, 3), body_pose=(n, 69), betas=(n, 11), has_smpl=(n,),
                  has_3d=(n,), height=(n,), age_group=(n,))
    for k, shp in shapes.items():
        assert gt[k].shape == shp, k
    assert not gt['has_smpl'].any() and not gt['has_3d'].any()     # Anny persons
    assert np.all(gt['joints3d'] == 0) and np.all(gt['transl'][:, 2] > 0)
    assert set(np.unique(gt['age_group'])) <= {0, 1, 2, 3}
    # persons left out for having no visible pixel are counted, not silently dropped
    scene = ds.store[1]
    assert n + s['num_hidden'] == len(scene['age'])


def test_dataset_without_rgb_raises_unless_allowed(tmp_path, anny_gen):
    from metric_hmr.synthetic import SyntheticCrowdsDataset
    root = generate_set(tmp_path / 'norgb', 1, scenes_per_shard=1, generator=anny_gen)
    with pytest.raises(ValueError, match='no RGB image'):
        SyntheticCrowdsDataset(data_root=str(root))[0]
    assert SyntheticCrowdsDataset(data_root=str(root), require_img=False)[0]['img'] is None
