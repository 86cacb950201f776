"""Issue 13, findings 1, 2, 4: no code from input files, a merge that refuses foreign or
missing shards and never replaces a good output with a partial one, one-line errors."""
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from metric_hmr.generation.runner import run_generation
from metric_hmr.generation.shard_store import ShardMismatch, shard_path


class _Payload:
    """Unpickling this runs ``os.system('touch <marker>')``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def _hostile_object_array(marker):
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = 'images/a.png', _Payload(marker)
    return arr


def test_hostile_release_npz_runs_no_code(scenes, tmp_path):
    from metric_hmr.generation.release import load_camerahmr_release
    marker = tmp_path / 'pwned'
    with np.load(scenes / 'demo-release.npz') as z:
        rel = {k: z[k] for k in z.files}
    # an extra object field: never opened (loads fine, no payload run)
    np.savez(tmp_path / 'extra.npz', **rel, evil=_hostile_object_array(marker))
    assert len(load_camerahmr_release(tmp_path / 'extra.npz')) == 4
    assert not marker.exists()
    # the payload inside imgname, the one field allowed to be an object array: refused
    np.savez(tmp_path / 'names.npz', **dict(rel, imgname=_hostile_object_array(marker)))
    with pytest.raises(ValueError, match='names.npz.*refusing to load posix.system'):
        load_camerahmr_release(tmp_path / 'names.npz')
    assert not marker.exists()
    # a numeric field stored as an object array: refused without unpickling
    np.savez(tmp_path / 'pose.npz', **dict(rel, pose_cam=_hostile_object_array(marker)))
    with pytest.raises(ValueError, match=r'pose.npz \[pose_cam\].*object array'):
        load_camerahmr_release(tmp_path / 'pose.npz')
    assert not marker.exists()
    # a legitimate object-array imgname (some releases) still loads, through the safe reader
    names = np.empty(len(rel['imgname']), dtype=object)
    names[:] = [str(x) for x in rel['imgname']]
    np.savez(tmp_path / 'objnames.npz', **dict(rel, imgname=names))
    assert sorted(im.imgname for im in load_camerahmr_release(tmp_path / 'objnames.npz')) == \
        sorted(im.imgname for im in load_camerahmr_release(scenes / 'demo-release.npz'))


def test_hostile_released_layout_runs_no_code(tmp_path):
    from metric_hmr.generation.release import load_released_annots
    from metric_hmr.utils.io import load_annots_npz
    marker = tmp_path / 'pwned'
    obj = np.empty((), dtype=object)
    obj[()] = {'a.png': [{'smpl_param': _Payload(marker)}]}
    np.savez(tmp_path / 'x_CHMR_SMPL_OPT.npz', annots=obj)
    with pytest.raises(ValueError, match='refusing to load posix.system'):
        load_released_annots(tmp_path / 'x_CHMR_SMPL_OPT.npz')
    assert not marker.exists()
    # the explicit opt-in is the only way to unpickle anything else
    load_annots_npz(tmp_path / 'x_CHMR_SMPL_OPT.npz', allow_unsafe_pickle=True)
    assert marker.exists()


def _records_no_timings(work):
    with open(os.path.join(work, 'demo_records.jsonl')) as f:
        return [{k: v for k, v in json.loads(x).items() if k != 'timings'} for x in f]


def test_planted_shard_runs_no_code(gen_cfg, tmp_path):
    run_generation(gen_cfg)
    work = gen_cfg['work_dir']
    out = os.path.join(work, 'demo_records.jsonl')
    good = _records_no_timings(work)
    marker = tmp_path / 'pwned'
    # 1) a pickle planted under a shard name (today's format was pickle): never unpickled
    p = shard_path(work, 0)
    p.write_bytes(pickle.dumps(_Payload(marker)))
    run_generation(gen_cfg)                       # not an npz: recomputed, payload not run
    assert not marker.exists() and _records_no_timings(work) == good
    good_bytes = open(out, 'rb').read()
    # 2) an npz shard whose records member is a pickled object array
    with zipfile.ZipFile(p) as zf:
        header = zf.read('header.npy')
    with zipfile.ZipFile(p, 'w') as zf:
        zf.writestr('header.npy', header)
        from io import BytesIO
        b = BytesIO()
        np.save(b, _hostile_object_array(marker), allow_pickle=True)
        zf.writestr('records.npy', b.getvalue())
    with pytest.raises(ValueError, match='object array'):
        run_generation(gen_cfg, merge_only=True)
    assert not marker.exists() and open(out, 'rb').read() == good_bytes   # output untouched
    # 3) an old pickle shard file next to the new ones is ignored
    (p.parent / 'shard_000000.pkl').write_bytes(pickle.dumps(_Payload(marker)))
    os.remove(p)
    run_generation(gen_cfg)
    assert not marker.exists() and _records_no_timings(work) == good


def test_merge_refuses_other_shard_size_preset_or_missing(gen_cfg):
    summary = run_generation(gen_cfg)
    work = gen_cfg['work_dir']
    outs = [os.path.join(work, f) for f in ('demo_records.jsonl', 'demo_CHMR_SMPL_OPT.npz', 'summary.json')]
    before = [open(f, 'rb').read() for f in outs]
    other_size = dict(gen_cfg, generation=dict(gen_cfg['generation'], shard_size=1))
    with pytest.raises(ShardMismatch, match='another configuration'):
        run_generation(other_size, merge_only=True)
    stages = [dict(s) for s in gen_cfg['stages']]
    stages[-1]['dto'] = dict(stages[-1]['dto'], preset='released')
    with pytest.raises(ShardMismatch, match='another configuration'):
        run_generation(dict(gen_cfg, stages=stages), merge_only=True)
    import shutil
    shutil.copy(shard_path(work, 1), shard_path(work, 5))       # a stray shard of another run
    with pytest.raises(ShardMismatch, match='1 shard.* beyond the 2 of this configuration'):
        run_generation(gen_cfg, merge_only=True)
    os.remove(shard_path(work, 5))
    os.remove(shard_path(work, 1))
    with pytest.raises(ShardMismatch, match='1 of 2 shard'):
        run_generation(gen_cfg, merge_only=True)
    assert [open(f, 'rb').read() for f in outs] == before     # nothing overwritten
    run_generation(gen_cfg)                                    # recomputes the missing shard
    assert run_generation(gen_cfg, merge_only=True)['images'] == summary['images']


def test_merge_failure_keeps_previous_output(gen_cfg, monkeypatch):
    from metric_hmr.generation import shard_store
    run_generation(gen_cfg)
    work = gen_cfg['work_dir']
    outs = [os.path.join(work, f) for f in ('demo_records.jsonl', 'demo_CHMR_SMPL_OPT.npz')]
    before = [open(f, 'rb').read() for f in outs]
    real = shard_store.shard_annots

    def failing(path, header=None):
        if str(path).endswith('shard_000001.npz'):
            raise OSError(28, 'No space left on device')
        return real(path, header)
    monkeypatch.setattr(shard_store, 'shard_annots', failing)
    with pytest.raises(OSError, match='No space left'):
        run_generation(gen_cfg, merge_only=True)
    assert [open(f, 'rb').read() for f in outs] == before
    assert not [f for f in os.listdir(work) if f.endswith('.tmp')]


def test_released_stream_is_streamed_and_equals_savez(tmp_path):
    """The merged released npz is written while items are produced (file grows between
    items) and loads to exactly what ``np.savez`` of the whole dict gives."""
    from metric_hmr.generation.release import released_person, save_released_annots
    from metric_hmr.generation.shard_store import write_released_stream
    from metric_hmr.utils.io import load_annots_npz
    rng = np.random.default_rng(0)
    annots = {f'img_{i:05d}.jpg': [released_person(rng.normal(size=11), rng.normal(size=3),
                                                   rng.normal(size=69), rng.normal(size=3),
                                                   [500, 500], [320, 240]) for _ in range(3)]
              for i in range(3000)}
    path = tmp_path / 'stream.npz'
    sizes = []

    def items():
        for i, kv in enumerate(annots.items()):
            if i % 500 == 0:
                sizes.append(path.stat().st_size if path.exists() else 0)
            yield kv
    write_released_stream(path, items())
    assert sizes[-1] > sizes[1] > 0                    # bytes reached the file while iterating
    save_released_annots(tmp_path / 'whole.npz', annots)
    a = np.load(path, allow_pickle=True)['annots'][()]
    b = load_annots_npz(tmp_path / 'whole.npz')
    c = load_annots_npz(path)
    assert list(a) == list(b) == list(c)
    for k in annots:
        for pa, pb, pc in zip(a[k], b[k], c[k]):
            for g in pa:
                for f in pa[g]:
                    assert pa[g][f].dtype == pb[g][f].dtype == np.float32
                    assert np.array_equal(pa[g][f], pb[g][f]) and np.array_equal(pc[g][f], pb[g][f])


def test_config_errors_are_named_before_the_run(gen_cfg, tmp_path):
    from metric_hmr.generation.config_check import ConfigError
    with pytest.raises(ConfigError, match=r'unknown generation key\(s\) shardsize; known: .*shard_size'):
        run_generation(dict(gen_cfg, generation=dict(gen_cfg['generation'], shardsize=3)))
    bad_reader = dict(gen_cfg['reader'], scene_rot=3)
    with pytest.raises(ConfigError, match=r'reader \(CameraHMRReleaseReader\): unknown keyword\(s\) '
                                          r'scene_rot; known: release_file, img_root'):
        run_generation(dict(gen_cfg, reader=bad_reader))
    stages = [dict(s) for s in gen_cfg['stages']]
    stages[-1]['body_model'] = dict(stages[-1]['body_model'], kid_path='x')
    with pytest.raises(ConfigError, match=r'stages\[3\].body_model \(SMPLBodyModel\): unknown keyword'):
        run_generation(dict(gen_cfg, stages=stages))
    stages = [dict(s) for s in gen_cfg['stages']]
    stages[1]['fov'] = 60                    # UnknownAgeGender takes no keywords at all
    with pytest.raises(ConfigError, match=r'stages\[1\] \(UnknownAgeGender\): unknown keyword\(s\) '
                                          r'fov; known: \(none\)$'):
        run_generation(dict(gen_cfg, stages=stages))
    (tmp_path / 'afile').write_text('x')
    with pytest.raises(ConfigError, match='afile exists and is not a folder'):
        run_generation(dict(gen_cfg, work_dir=str(tmp_path / 'afile')))
    assert not os.path.exists(gen_cfg['work_dir'])            # nothing ran


def test_age_blend_without_kid_template_stops_before_the_run(gen_cfg, scenes, tmp_path):
    from metric_hmr.generation.config_check import ConfigError
    with np.load(scenes / 'demo-release.npz') as z:
        rel = {k: z[k] for k in z.files}
    shape = np.concatenate([rel['shape'], np.zeros((len(rel['shape']), 1))], 1)
    shape[2, 10] = 0.4
    np.savez(tmp_path / 'kid-release.npz', **dict(rel, shape=shape))
    gen_cfg['reader']['release_file'] = str(tmp_path / 'kid-release.npz')
    with pytest.raises(ConfigError, match='person .: 11-D shape with a non-zero age blend.*kid template'):
        run_generation(gen_cfg)
    assert not list((tmp_path / 'work').glob('shards/*.npz'))        # nothing ran


def test_corrupt_torchscript_is_one_clear_error(tmp_path):
    from metric_hmr.generation.estimator_stages import TorchScriptAgeGender
    bad = tmp_path / 'model.pt'
    bad.write_bytes(b'PK\x03\x04 not a torchscript archive')
    with pytest.raises(ValueError, match=r'corrupt or unreadable TorchScript file .*model.pt: ') as e:
        TorchScriptAgeGender(str(bad), device='cpu')
    assert '\n' not in str(e.value)


@pytest.mark.parametrize('exc, line', [
    (ValueError("field 'pose' of 'a.npz'"), "error: field 'pose' of 'a.npz'"),
    (KeyError('missing'), 'error: missing'),
    (ZeroDivisionError('float division by zero'), 'error: ZeroDivisionError: float division by zero'),
    (OSError(28, 'No space left on device'), 'error: OSError: [Errno 28] No space left on device'),
    (TypeError("__init__() got an unexpected keyword argument 'x'\n  more"),
     'error: TypeError: more'),
    (RuntimeError(''), 'error: RuntimeError'),
])
def test_cli_one_line_handler_catches_everything(exc, line, capsys):
    from metric_hmr.utils.cli import one_line_errors
    with pytest.raises(SystemExit) as e:
        with one_line_errors():
            raise exc
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err == line + '\n'


def test_checkpoint_loads_are_weights_only(tmp_path, monkeypatch):
    """MMEngine's loader calls ``torch.load`` without ``weights_only``; inside
    ``weights_only_loads`` a planted checkpoint is refused even when the environment asks
    torch for unsafe loading by default."""
    import torch
    from mmengine.runner import load_checkpoint

    from metric_hmr.generation.stage_base import weights_only_loads
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': _Payload(marker)}, tmp_path / 'ckpt.pth')
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    model = torch.nn.Linear(1, 1)
    with pytest.raises(Exception, match='(?i)weights.only|unsupported global'):
        with weights_only_loads():
            load_checkpoint(model, str(tmp_path / 'ckpt.pth'), map_location='cpu')
    assert not marker.exists()
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'plain.pth')
    with weights_only_loads():           # a plain checkpoint still loads
        load_checkpoint(model, str(tmp_path / 'plain.pth'), map_location='cpu')
    assert torch.load.__name__ == 'load' and torch.load.__module__ == 'torch.serialization'


def test_safe_reader_rebuilds_torch_tensors_without_unsafe_loads(tmp_path):
    """Annotation files holding pickled torch tensors (3DPW-style) load through the safe
    reader; the storage bytes are loaded with ``weights_only=True``."""
    import torch

    from metric_hmr.utils.io import load_annots_npz
    obj = np.empty((), dtype=object)
    obj[()] = {'a.png': {'betas': torch.arange(6.0).reshape(2, 3), 'name': 'x'}}
    np.savez(tmp_path / 't.npz', annots=obj)
    got = load_annots_npz(tmp_path / 't.npz')
    assert torch.equal(got['a.png']['betas'], torch.arange(6.0).reshape(2, 3))
    assert got['a.png']['name'] == 'x'


def test_shard_round_trip_of_extra_released_keys(tmp_path):
    """Released entries with extra (nested, scalar, string) keys survive the npz shard;
    a value that would need pickle is refused at write time."""
    from metric_hmr.generation.shard_store import load_shard, write_shard
    ann = {'a.png': [{'smpl_param': {'shape': np.ones(11, np.float32)}, 'age': 7.5, 'gender': 'f'},
                     {'smpl_param': {'shape': np.zeros(11, np.float32)}, 'age': 30.0, 'gender': 'm'}],
           'b.png': []}
    write_shard(tmp_path, 0, 'fp', ['a.png', 'b.png'], [{'img_id': 'a.png'}, {'img_id': 'b.png'}], ann)
    got = load_shard(shard_path(tmp_path, 0))['annots']
    assert list(got) == ['a.png', 'b.png'] and got['b.png'] == []
    assert got['a.png'][1]['gender'] == 'm' and got['a.png'][0]['age'] == 7.5
    assert got['a.png'][0]['smpl_param']['shape'].dtype == np.float32
    with pytest.raises(ValueError, match='released entry field age: values must be numbers'):
        write_shard(tmp_path, 1, 'fp', ['a.png'], [], {'a.png': [{'age': None}]})


def test_detector_and_keypoint_stages_refuse_planted_checkpoints(tmp_path, tiny_models, monkeypatch):
    """The mmdet / mmpose stages load their checkpoints weights-only by default: a checkpoint
    with a code payload is refused and the payload never runs."""
    import torch

    from metric_hmr.generation.detection_stage import MMDetPersonDetector, MMPoseTopDown
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    for stage, cfg_key, ckpt_key in ((MMDetPersonDetector, 'det_config', 'det_ckpt'),
                                     (MMPoseTopDown, 'pose_config', 'pose_ckpt')):
        marker = tmp_path / f'pwned_{stage.__name__}'
        good = torch.load(tiny_models[ckpt_key], map_location='cpu', weights_only=True)
        planted = tmp_path / f'{stage.__name__}.pth'
        torch.save(dict(good, meta=_Payload(marker)), planted)
        with pytest.raises(Exception, match='(?i)weights.only|unsupported global'):
            stage(tiny_models[cfg_key], str(planted), device='cpu')
        assert not marker.exists()
        stage(tiny_models[cfg_key], tiny_models[ckpt_key], device='cpu')   # the clean one loads
