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
    from metric_hmr.synthetic import SyntheticCrowdGenerator, export_camerahmr_release
    from metric_hmr.testing import make_smpl_model_file
    root = tmp_path_factory.mktemp('dto_cli')
    smpl = make_smpl_model_file(str(root / 'smpl'), seed=0)
    gen = SyntheticCrowdGenerator(
        seed=2, image_size=(96, 128), num_persons=dict(low=2, high=3), age_range=(3.0, 65.0),
        layout='uniform', fov_margin=0.8, dist_min=2.5, dist_max=7.0, min_person_frac=0.2,
        render_rgb=True, body_model=dict(type='SMPLBodyModel', model_path=smpl))
    export_camerahmr_release([gen.generate(i) for i in range(6)], root / 'scenes', gen, min_pixels=20)
    cfg = root / 'gen_cfg.py'
    cfg.write_text(f"""
default_scope = 'metric_hmr'
work_dir = '{root}/work'
reader = dict(type='SyntheticScenesReader', scene_root='{root}/scenes', name='demo')
stages = [dict(type='ReleaseIntrinsics'), dict(type='UnknownAgeGender'),
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
    first = work / 'shards' / 'shard_000000.npz'
    deadline = time.time() + 240
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert first.exists(), proc.communicate()[1].decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in (work / 'shards').glob('shard_*.npz'))
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
    env = dict(os.environ, PORT=str(29600 + os.getpid() % 300), PYTHON=sys.executable)
    r = subprocess.run(['bash', str(REPO / 'tools' / 'dist_dto_generate.sh'), str(scene_cfg), '2',
                        '--work-dir', str(work)], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    _assert_same(_outputs(ref), _outputs(work))


def test_demo_config_runs(tmp_path):
    """The shipped demo runs out of the box: released npz, records, stats, vis, report."""
    work = tmp_path / 'demo'
    r = _run([str(REPO / 'configs' / 'dto' / 'dto_demo.py'), '--work-dir', str(work),
              '--cfg-options', 'generation.progress=False'])
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((work / 'summary.json').read_text())
    assert summary['images'] == 6 and summary['kept'] >= 1
    assert (work / 'demo_CHMR_SMPL_OPT.npz').is_file()
    for f in ('height_distribution.png', 'fov_distribution.png', 'persons_per_image.png'):
        assert (work / 'stats' / f).is_file()
    assert len(list((work / 'vis' / 'overlays').glob('*.png'))) == 6
    assert len(list((work / 'vis' / 'scenes').glob('*.glb'))) == 6
    assert (work / 'report' / 'index.html').stat().st_size > 0
    # children and adults, with the reader's age estimates reaching DTO's prior
    ages = [p['age'] for line in (work / 'demo_records.jsonl').read_text().splitlines()
            for p in json.loads(line)['persons']]
    assert min(ages) < 10 and max(ages) > 20


def _files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob('*')) if p.is_file()}


def test_make_demo_is_reproducible_and_matches_the_shipped_demo(tmp_path):
    """demo/make_demo.py twice -> byte-identical folders, with the shipped demo's files
    (arrays compared with a tolerance: float maths may differ in the last bits elsewhere)."""
    for name in ('a', 'b'):
        r = subprocess.run([sys.executable, str(REPO / 'demo' / 'make_demo.py'), '--out',
                            str(tmp_path / name)], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
    a, b = _files(tmp_path / 'a'), _files(tmp_path / 'b')
    assert a == b
    shipped = REPO / 'demo' / 'dto_demo'
    assert sorted(a) == sorted(_files(shipped))
    assert sum(len(v) for v in a.values()) <= 4 * 2 ** 20           # the demo stays small
    for f in ('release.npz', 'truth.npz'):
        with np.load(tmp_path / 'a' / f) as x, np.load(shipped / f) as y:
            assert sorted(x.files) == sorted(y.files)
            for k in x.files:
                if x[k].dtype.kind in 'fc':
                    np.testing.assert_allclose(x[k], y[k], rtol=1e-4, atol=1e-4, err_msg=f'{f}:{k}')
                else:
                    assert np.array_equal(x[k], y[k]), f'{f}:{k}'



def _one_line(r):
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith('error: '), r.stderr[-3000:]
    return lines[0]


def test_cli_config_and_environment_errors_are_one_line(scene_cfg, tmp_path):
    """Issue 13 finding 4: work_dir that is a file, unknown constructor keywords: one
    ``error:`` line each, no traceback."""
    afile = tmp_path / 'afile'
    afile.write_text('x')
    line = _one_line(_run([str(scene_cfg), '--work-dir', str(afile)]))
    assert line == f'error: work_dir {afile} exists and is not a folder'
    line = _one_line(_run([str(scene_cfg), '--work-dir', str(tmp_path / 'w'),
                           '--cfg-options', 'reader.scene_rot=3']))
    assert line.startswith('error: reader (SyntheticScenesReader): unknown keyword(s) scene_rot; '
                           'known: scene_root, release_file')
    # (unknown generation keys, an empty release: same handler, unit-tested in
    # tests/metric_hmr/generation/test_runner_security.py and test_release.py)


def _procs_with(text: str):
    """Process ids whose command line contains ``text`` (read from /proc)."""
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open(f'/proc/{d}/cmdline', 'rb') as f:
                    if text.encode() in f.read():
                        out.append(int(d))
            except OSError:
                pass
    return out


def test_dist_launcher_forwards_sigterm_to_workers(scene_cfg, tmp_path):
    """Issue 13 finding 8: SIGTERM to dist_dto_generate.sh stops torchrun and its workers
    (they run in sessions of their own); finished shards stay, a rerun resumes."""
    work = tmp_path / 'dist_sig'
    env = dict(os.environ, PORT=str(29300 + os.getpid() % 300), PYTHON=sys.executable,
               PYTHONUNBUFFERED='1')
    proc = subprocess.Popen(['bash', str(REPO / 'tools' / 'dist_dto_generate.sh'), str(scene_cfg),
                             '2', '--work-dir', str(work), '--cfg-options',
                             'generation.debug_delay_per_shard=3.0'],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not list((work / 'shards').glob('shard_*.npz')) and time.time() < deadline \
            and proc.poll() is None:
        time.sleep(0.1)
    assert list((work / 'shards').glob('shard_*.npz')), proc.communicate()[1].decode()[-3000:]
    assert len(_procs_with(str(work))) >= 3            # launcher, torchrun, 2 workers
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b'forwarding SIGTERM' in err
    t = time.time()
    while _procs_with(str(work)) and time.time() - t < 20:
        time.sleep(0.2)
    assert _procs_with(str(work)) == [], 'workers still running after the launcher stopped'
    done = sorted(p.name for p in (work / 'shards').glob('shard_*.npz'))
    time.sleep(1.0)
    assert sorted(p.name for p in (work / 'shards').glob('shard_*.npz')) == done
    assert len(done) < 6 and not (work / 'demo_records.jsonl').exists()


def test_output_keys_writes_the_authors_keys(scene_cfg, tmp_path):
    """``generation.output_keys=<release>`` writes the released file under the authors' image
    keys (metric_hmr.generation.keys: last 1 path part for coco) with the same entries; an
    unknown release name is a one-line config error."""
    from metric_hmr.generation.keys import released_key
    work = tmp_path / 'keys'
    assert _run([str(scene_cfg), '--work-dir', str(work)]).returncode == 0
    _, plain = _outputs(work)
    r = _run([str(scene_cfg), '--work-dir', str(work), '--merge',
              '--cfg-options', 'generation.output_keys=coco'])
    assert r.returncode == 0, r.stderr[-2000:]
    _, renamed = _outputs(work)
    assert list(renamed) == [released_key(k, 'coco') for k in plain]
    assert all('/' not in k for k in renamed) and any('/' in k for k in plain)
    for k in plain:
        a, b = plain[k], renamed[released_key(k, 'coco')]
        assert np.array_equal(a[0]['smpl_param']['trans'], b[0]['smpl_param']['trans'])
    bad = _run([str(scene_cfg), '--work-dir', str(work), '--merge',
                '--cfg-options', 'generation.output_keys=cocoa'])
    assert bad.returncode != 0 and 'output_keys' in bad.stderr and 'coco' in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
