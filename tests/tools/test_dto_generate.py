"""tools/dto_generate.py end to end: demo config, SIGKILL + resume, torchrun with 2 ranks."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = str(REPO / 'tools' / 'dto_generate.py')


@pytest.fixture(scope='module')
def scene_cfg(tmp_path_factory):
    """A config file running on 6 small synthetic scenes with one image per shard."""
    from metric_hmr.body_models import SMPLBodyModel
    from metric_hmr.generation.synthetic_release import make_release_scenes
    from metric_hmr.testing import make_smpl_model_file
    root = tmp_path_factory.mktemp('dto_cli')
    smpl = make_smpl_model_file(str(root / 'smpl'), seed=0)
    make_release_scenes(root / 'scenes', SMPLBodyModel(smpl), num_images=6, seed=2,
                        image_size=(96, 128), persons=(2, 3))
    cfg = root / 'gen_cfg.py'
    cfg.write_text(f"""
default_scope = 'metric_hmr'
work_dir = '{root}/work'
reader = dict(type='CameraHMRReleaseReader', release_file='{root}/scenes/demo-release.npz',
              img_root='{root}/scenes/images', name='demo')
stages = [dict(type='ReleaseIntrinsics'), dict(type='UnknownAgeGender'),
          dict(type='PrecomputedDepth', depth_root='{root}/scenes/depth'),
          dict(type='DTOStage', body_model=dict(type='SMPLBodyModel', model_path='{smpl}'),
               dto=dict(resolution=128))]
generation = dict(shard_size=1, batch_size=1, progress=False, vis_every=0, report=False)
""")
    return cfg


def _run(args, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    return subprocess.run([sys.executable, TOOL] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, **kw)


def _outputs(work):
    from metric_hmr.generation.release import load_released_annots
    with open(os.path.join(work, 'demo_records.jsonl')) as f:
        recs = [{k: v for k, v in json.loads(line).items() if k != 'timings'} for line in f]
    return recs, load_released_annots(os.path.join(work, 'demo_CHMR_SMPL_OPT.npz'))


def _assert_same(a, b):
    assert a[0] == b[0]
    assert list(a[1]) == list(b[1])
    for img in a[1]:
        for pa, pb in zip(a[1][img], b[1][img]):
            for group in ('smpl_param', 'cam_param'):
                for key in pa[group]:
                    assert np.array_equal(pa[group][key], pb[group][key]), (img, group, key)


def test_sigkill_and_resume_equals_uninterrupted(scene_cfg, tmp_path):
    ref = tmp_path / 'ref'
    r = _run([str(scene_cfg), '--work-dir', str(ref)])
    assert r.returncode == 0, r.stderr
    assert 'images: 6' in r.stdout

    work = tmp_path / 'killed'
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.Popen([sys.executable, TOOL, str(scene_cfg), '--work-dir', str(work),
                             '--cfg-options', 'generation.debug_delay_per_shard=2.0'],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = work / 'shards' / 'shard_000000.pkl'
    deadline = time.time() + 240
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert first.exists(), proc.communicate()[1].decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in (work / 'shards').glob('shard_*.pkl'))
    assert 1 <= len(done) < 6                     # killed mid-way
    assert not (work / 'demo_records.jsonl').exists()
    mtime = first.stat().st_mtime_ns
    r = _run([str(scene_cfg), '--work-dir', str(work)])
    assert r.returncode == 0, r.stderr
    assert first.stat().st_mtime_ns == mtime      # finished shards were not redone
    _assert_same(_outputs(ref), _outputs(work))


def test_merge_before_done_is_clear(scene_cfg, tmp_path):
    r = _run([str(scene_cfg), '--work-dir', str(tmp_path / 'empty'), '--merge'])
    assert r.returncode == 1 and 'shard(s) not finished' in r.stderr


def test_torchrun_two_ranks(scene_cfg, tmp_path):
    ref = tmp_path / 'ref'
    assert _run([str(scene_cfg), '--work-dir', str(ref)]).returncode == 0
    work = tmp_path / 'dist'
    env = dict(os.environ, PORT=str(29600 + os.getpid() % 300))
    r = subprocess.run(['bash', str(REPO / 'tools' / 'dist_dto_generate.sh'), str(scene_cfg), '2',
                        '--work-dir', str(work)], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    _assert_same(_outputs(ref), _outputs(work))


def test_demo_config_runs(tmp_path):
    r = _run([str(REPO / 'configs' / 'dto' / 'dto_demo.py'), '--work-dir', str(tmp_path / 'demo'),
              '--cfg-options', 'generation.vis_every=0', 'generation.report=False',
              'generation.progress=False'])
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((tmp_path / 'demo' / 'summary.json').read_text())
    assert summary['images'] == 6 and summary['kept'] >= 1
    assert (tmp_path / 'demo' / 'demo_CHMR_SMPL_OPT.npz').is_file()
    assert (tmp_path / 'demo' / 'stats' / 'height_distribution.png').is_file()
