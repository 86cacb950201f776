"""The full stage chain with tiny random networks built from configs (no downloads)."""
import json
import os

import numpy as np
import pytest

from metric_hmr.generation.runner import run_generation


@pytest.mark.parametrize('hmr', ['none', 'torchscript'])
def test_full_chain_two_images(gen_cfg, tiny_models, hmr):
    m = tiny_models
    gen_cfg['stages'] = [
        dict(type='ReleaseIntrinsics'),
        dict(type='MMDetPersonDetector', config=m['det_config'], checkpoint=m['det_ckpt'],
             score_thr=0.5, nms_thr=0.7, batch_size=2, device='cpu'),
        dict(type='MMPoseTopDown', config=m['pose_config'], checkpoint=m['pose_ckpt'], batch_size=8,
             device='cpu'),
        dict(type='KeypointMatching', head_factor=0.6, min_visible=5),
        dict(type='NoInitialHMR') if hmr == 'none' else
        dict(type='TorchScriptInitialHMR', model_path=m['hmr'], crop_size=32, device='cpu'),
        dict(type='TorchScriptAgeGender', model_path=m['age_gender'], crop_size=32, device='cpu'),
        dict(type='DepthAnythingDepth', model_dir=m['depth_dir'], input_size=56, batch_size=2,
             device='cpu'),
        gen_cfg['stages'][-1],
    ]
    gen_cfg['generation']['shard_size'] = 2
    from metric_hmr.generation.readers import CameraHMRReleaseReader
    ids = CameraHMRReleaseReader(gen_cfg['reader']['release_file'], gen_cfg['reader']['img_root']).image_ids()
    # two images only: a release restricted to the first two image names
    from metric_hmr.generation.release import load_camerahmr_release, write_camerahmr_release
    two = [r for r in load_camerahmr_release(gen_cfg['reader']['release_file']) if r.imgname in ids[:2]]
    path = write_camerahmr_release(os.path.join(gen_cfg['work_dir'] + '_in', 'two-release.npz'), two)
    gen_cfg['reader']['release_file'] = str(path)
    summary = run_generation(gen_cfg)
    with open(os.path.join(gen_cfg['work_dir'], 'demo_records.jsonl')) as f:
        recs = [json.loads(line) for line in f]
    assert [r['img_id'] for r in recs] == ids[:2] and summary['images'] == 2
    for r, rel in zip(recs, two):
        ev = r['events']
        assert r['num_detections'] is not None and r['depth_kind'] == 'disparity'
        n_in = len(rel.rows)
        # every release person is kept, in order, whether matched or not
        assert [p['source_index'] for p in r['persons'][:n_in]] == rel.rows.tolist()
        assert ev.get('persons_matched', 0) + ev.get('persons_unmatched_kept', 0) == n_in
        unmatched = r['num_detections'] - ev.get('persons_matched', 0)
        if hmr == 'none':
            assert r['num_persons'] == n_in
            assert ev.get('unmatched_detections_dropped', 0) == unmatched      # counted, not silent
        else:
            assert r['num_persons'] == n_in + unmatched
            assert ev.get('hmr_persons_added', 0) == unmatched
            assert all(p['source'] == 'hmr' for p in r['persons'][n_in:])
        assert all(p['age'] is not None and 0 <= p['p_male'] <= 1 for p in r['persons'])
        assert r['status'] in ('kept', 'rejected', 'skipped')
        if r['status'] != 'skipped':
            assert r['dto'] is not None
            assert all(np.isfinite(p['transl']).all() for p in r['persons'])
        for stage in ('detection', 'keypoints', 'matching', 'initial_hmr', 'age_gender', 'depth', 'dto'):
            assert stage in r['timings']
    assert summary['events'].get('detections_below_score', 0) >= 0
