"""Generation runs on precomputed inputs: outputs, bad inputs, sharding, resume, merge."""
import json
import os
import shutil

import numpy as np
import pytest

from metric_hmr.generation.release import load_camerahmr_release, load_released_annots
from metric_hmr.generation.runner import run_generation
from metric_hmr.generation.shard_store import make_shards, rank_shards, shard_path


def _records(work):
    with open(os.path.join(work, 'demo_records.jsonl')) as f:
        return [json.loads(line) for line in f]


def _strip_timings(recs):
    return [{k: v for k, v in r.items() if k != 'timings'} for r in recs]


def test_sharding_is_deterministic():
    ids = [f'{i}.jpg' for i in (5, 1, 3, 2, 4)]
    shards = make_shards(ids, 2)
    assert shards == [['1.jpg', '2.jpg'], ['3.jpg', '4.jpg'], ['5.jpg']]
    assert rank_shards(3, 0, 2) == [0, 2] and rank_shards(3, 1, 2) == [1]
    with pytest.raises(ValueError):
        make_shards(ids, 0)


def test_run_outputs_released_layout(gen_cfg, scenes):
    summary = run_generation(gen_cfg)
    work = gen_cfg['work_dir']
    recs = _records(work)
    release = {r.imgname: r for r in load_camerahmr_release(scenes / 'demo-release.npz')}
    assert [r['img_id'] for r in recs] == sorted(release)
    assert summary['images'] == 4 and summary['kept'] + summary['rejected'] + summary['skipped'] == 4
    annots = load_released_annots(os.path.join(work, 'demo_CHMR_SMPL_OPT.npz'))
    kept = [r['img_id'] for r in recs if r['status'] == 'kept']
    assert sorted(annots) == kept
    for r in recs:
        rel = release[r['img_id']]
        # every input person is in the record, in input order, never dropped
        assert r['num_persons'] == len(rel.rows)
        assert [p['source_index'] for p in r['persons']] == rel.rows.tolist()
        assert r['status'] in ('kept', 'rejected') and r['dto'] is not None
        for p in r['persons']:
            assert p['mu'] is not None and p['sigma'] is not None and p['h_init'] is not None
        if r['status'] == 'rejected':
            assert 'residual' in r['reason']
    for img, persons in annots.items():
        rel = release[img]
        rec = next(r for r in recs if r['img_id'] == img)
        # published: the persons DTO corrected, in input order; the others are flagged
        pub = [i for i, p in enumerate(rec['persons']) if p['published']]
        assert len(persons) == len(pub) >= 1
        for p in rec['persons']:
            fitted = p['used'] is True or p['reasons'] == 'single_person_pass_through'
            assert p['published'] == fitted and p['published'] == (p['unpublished_reason'] is None)
        for i, p in zip(pub, persons):
            assert p['smpl_param']['shape'].shape == (11,) and p['smpl_param']['shape'][10] == 0
            np.testing.assert_allclose(p['smpl_param']['pose'][:3], rel.global_orient[i], rtol=1e-6)
            np.testing.assert_allclose(p['cam_param']['focal'], rel.focal, rtol=1e-6)
            # translation scaled along its own ray by z*/z: projection of the root kept
            t, t0 = p['smpl_param']['trans'], rel.transl[i]
            np.testing.assert_allclose(t / t[2], t0 / t0[2], rtol=1e-5)
            np.testing.assert_allclose(t[2], rec['persons'][i]['z_star'], rtol=1e-5)
    for f in ('persons_per_image.png', 'fov_distribution.png', 'height_distribution.png', 'stats.json'):
        assert os.path.getsize(os.path.join(work, 'stats', f)) > 0
    with open(os.path.join(work, 'summary.json')) as f:
        assert json.load(f)['images'] == 4


def test_bad_inputs_recorded(gen_cfg, scenes, tmp_path):
    data = tmp_path / 'data'
    shutil.copytree(scenes, data)
    ids = sorted(r.imgname for r in load_camerahmr_release(data / 'demo-release.npz'))
    os.remove(data / 'images' / ids[0])                           # missing image
    d = np.load(data / 'depth' / (ids[1][:-4] + '.npy')).astype(np.float32)
    d[: d.shape[0] // 3] = np.nan                                 # NaN depth: masked
    np.save(data / 'depth' / (ids[1][:-4] + '.npy'), d)
    os.remove(data / 'depth' / (ids[2][:-4] + '.npy'))            # missing depth file
    gen_cfg['reader'].update(release_file=str(data / 'demo-release.npz'), img_root=str(data / 'images'))
    gen_cfg['stages'][2]['depth_root'] = str(data / 'depth')
    summary = run_generation(gen_cfg)
    recs = {r['img_id']: r for r in _records(gen_cfg['work_dir'])}
    assert len(recs) == 4
    assert recs[ids[0]]['status'] == 'skipped'
    assert recs[ids[0]]['reason'] == f"missing_image: {data / 'images' / ids[0]}"
    assert recs[ids[0]]['num_persons'] > 0          # its persons are still listed
    assert recs[ids[2]]['status'] == 'skipped'
    assert recs[ids[2]]['reason'] == f"missing_depth: {data / 'depth' / ids[2][:-4]}.npy"
    nan_rec = recs[ids[1]]
    assert nan_rec['status'] in ('kept', 'rejected')
    assert nan_rec['depth_invalid_frac'] == pytest.approx(1 / 3, abs=0.02)
    for p in nan_rec['persons']:
        assert p['h_star'] is not None and np.isfinite(p['h_star'])
    assert summary['skipped_by_reason'] == {'missing_depth': 1, 'missing_image': 1}


def test_zero_person_image_and_folder_reader(gen_cfg, scenes, tmp_path):
    gen_cfg['reader'] = dict(type='ImageFolderReader', img_root=str(scenes / 'images'), name='demo')
    gen_cfg['stages'][0] = dict(type='FixedFoVIntrinsics', fov_deg=60)
    summary = run_generation(gen_cfg)
    recs = _records(gen_cfg['work_dir'])
    assert len(recs) == 4
    assert all(r['status'] == 'skipped' and r['reason'] == 'no_persons' for r in recs)
    assert all(r['fov_v_deg'] == pytest.approx(60.0) for r in recs)
    assert summary['skipped_by_reason'] == {'no_persons': 4}


def test_corrupt_release_names_file(gen_cfg, tmp_path):
    bad = tmp_path / 'broken-release.npz'
    bad.write_bytes(b'garbage')
    gen_cfg['reader']['release_file'] = str(bad)
    with pytest.raises(ValueError, match='broken-release.npz'):
        run_generation(gen_cfg)


def test_two_ranks_equal_one_rank_and_resume(gen_cfg, tmp_path, monkeypatch):
    one = dict(gen_cfg, work_dir=str(tmp_path / 'one'))
    run_generation(one)
    # two ranks run one after the other (no process group needed: shards are independent)
    two = dict(gen_cfg, work_dir=str(tmp_path / 'two'))
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('RANK', '1')
    assert run_generation(two) is None                  # rank 1 does not merge
    assert shard_path(two['work_dir'], 1).is_file() and not shard_path(two['work_dir'], 0).is_file()
    monkeypatch.setenv('RANK', '0')
    run_generation(two)
    monkeypatch.setenv('WORLD_SIZE', '1')
    assert _strip_timings(_records(one['work_dir'])) == _strip_timings(_records(two['work_dir']))
    a = load_released_annots(os.path.join(one['work_dir'], 'demo_CHMR_SMPL_OPT.npz'))
    b = load_released_annots(os.path.join(two['work_dir'], 'demo_CHMR_SMPL_OPT.npz'))
    assert list(a) == list(b)
    for k in a:
        for pa, pb in zip(a[k], b[k]):
            for g in ('smpl_param', 'cam_param'):
                for f in pa[g]:
                    assert np.array_equal(pa[g][f], pb[g][f])
    # rerun: finished shards are not recomputed (their files stay untouched)
    mtimes = [shard_path(one['work_dir'], j).stat().st_mtime_ns for j in range(2)]
    run_generation(one)
    assert [shard_path(one['work_dir'], j).stat().st_mtime_ns for j in range(2)] == mtimes
    # a changed configuration must not silently mix with old shards
    changed = dict(one, stages=one['stages'][:3] + [dict(one['stages'][3], dto=dict(resolution=64))])
    with pytest.raises(ValueError, match='another configuration'):
        run_generation(changed)
    # --merge alone
    os.remove(os.path.join(one['work_dir'], 'demo_records.jsonl'))
    run_generation(one, merge_only=True)
    assert os.path.isfile(os.path.join(one['work_dir'], 'demo_records.jsonl'))


@pytest.mark.parametrize('name', ['dto_demo.py', 'dto_camerahmr_release.py', 'dto_image_folder.py'])
def test_shipped_configs_use_registered_components(name):
    from mmengine.config import Config

    from metric_hmr import register_all_modules
    from metric_hmr.registry import DTO_STAGES
    register_all_modules()
    cfg = Config.fromfile(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'configs', 'dto', name))
    for comp in [cfg.reader] + list(cfg.stages):
        assert DTO_STAGES.get(comp['type']) is not None, comp['type']
    assert cfg.stages[-1]['type'] == 'DTOStage'
    assert 'work_dir' in cfg and 'generation' in cfg
