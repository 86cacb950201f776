"""SyntheticScenesReader on an export of the project's synthetic-crowd generator."""
import json
import os

import numpy as np
import pytest


@pytest.fixture(scope='module')
def synthetic_export(tmp_path_factory, gen_smpl_file):
    synthetic = pytest.importorskip('metric_hmr.synthetic')
    from metric_hmr.synthetic.generator import SyntheticCrowdGenerator
    out = tmp_path_factory.mktemp('synth_export')
    gen = SyntheticCrowdGenerator(seed=0, image_size=(96, 128), num_persons=dict(low=2, high=3),
                                  body_model=dict(type='SMPLBodyModel', model_path=str(gen_smpl_file)))
    synthetic.export_camerahmr_release([gen.generate(i) for i in range(2)], out, gen)
    return out


def test_synthetic_reader_attaches_depth_masks_age(synthetic_export, gen_cfg):
    from metric_hmr.generation.readers import SyntheticScenesReader
    from metric_hmr.generation.runner import run_generation
    r = SyntheticScenesReader(str(synthetic_export))
    ids = r.image_ids()
    assert len(ids) >= 1
    s = r.load(ids[0])
    assert s.active and s.depth is not None and s.masks.shape[0] == len(s.persons)
    assert s.masks.shape[1:] == tuple(s.ori_shape)
    assert s.age.shape == (len(s.persons),) and np.isfinite(s.age).all()
    # a run with the reader: the depth / age stages have nothing left to do
    gen_cfg['reader'] = dict(type='SyntheticScenesReader', scene_root=str(synthetic_export), name='demo')
    gen_cfg['stages'] = [gen_cfg['stages'][0], dict(type='UnknownAgeGender'), gen_cfg['stages'][-1]]
    summary = run_generation(gen_cfg)
    assert summary['images'] == len(ids) and summary['skipped'] == 0
    with open(os.path.join(gen_cfg['work_dir'], 'demo_records.jsonl')) as f:
        recs = [json.loads(line) for line in f]
    assert all(p['age'] is not None for rec in recs for p in rec['persons'])
