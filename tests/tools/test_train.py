"""tools/train.py, tools/test.py and tools/dist_train.sh on the smoke config (CPU)."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SMOKE = 'configs/smoke/metric_hmr_smoke.py'


def run(args, cwd=REPO, timeout=300, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One smoke training run (2 epochs) shared by the tests below."""
    work = tmp_path_factory.mktemp('smoke_train')
    r = run([sys.executable, 'tools/train.py', SMOKE, '--work-dir', str(work)])
    assert r.returncode == 0, r.stderr[-3000:]
    return work


def test_train_writes_checkpoint(trained):
    assert (trained / 'epoch_2.pth').is_file()
    assert (trained / 'last_checkpoint').read_text().strip().endswith('epoch_2.pth')


def test_checkpoint_loads_with_weights_only(trained):
    # `import metric_hmr` is framework-free and lazy; the MMEngine side registers the globals
    import metric_hmr.registry  # noqa: F401
    ckpt = torch.load(trained / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert 'state_dict' in ckpt and 'linear.weight' in ckpt['state_dict']
    assert ckpt['meta']['epoch'] == 2


def test_untrusted_pickle_is_still_refused(tmp_path):
    """The allow-list must not turn into unsafe loading of arbitrary objects."""
    import metric_hmr.registry  # noqa: F401
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': subprocess.Popen}, path)
    with pytest.raises(Exception):
        torch.load(path, weights_only=True)


def test_resume_continues(trained):
    r = run([sys.executable, 'tools/train.py', SMOKE, '--work-dir', str(trained), '--resume',
             '--cfg-options', 'train_cfg.max_epochs=3'])
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'resumed epoch: 2' in log.lower() or 'resumed epoch 2' in log.lower(), log[-3000:]
    assert (trained / 'epoch_3.pth').is_file()


def test_test_tool_evaluates(trained, tmp_path):
    out = tmp_path / 'metrics.json'
    r = run([sys.executable, 'tools/test.py', SMOKE, str(trained / 'epoch_2.pth'),
             '--work-dir', str(tmp_path), '--out', str(out)])
    assert r.returncode == 0, r.stderr[-3000:]
    import json
    metrics = json.loads(out.read_text())
    # the linear map is learnable: after training the error is well below the data variance (~8)
    assert 0 <= metrics['smoke/mse'] < 1.0


def test_dist_train_two_cpu_processes(tmp_path):
    env_port = str(free_port())
    r = subprocess.run(['bash', 'tools/dist_train.sh', SMOKE, '2', '--work-dir', str(tmp_path)],
                       cwd=REPO, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PORT=env_port, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    assert (tmp_path / 'epoch_2.pth').is_file()
    log = r.stdout + r.stderr
    assert 'Distributed training: True' in log, log[-3000:]
    # 64 samples / batch 8 = 8 iterations per epoch on one process, 4 per rank on two
    assert 'Epoch(train) [2][4/4]' in log and '[2][8/8]' not in log, log[-3000:]
    # distributed evaluation: the run ends through close_distributed (an immediate exit),
    # so the metrics file must be written before it
    out = tmp_path / 'metrics.json'
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                        f'--master_port={free_port()}', 'tools/test.py', SMOKE,
                        str(tmp_path / 'epoch_2.pth'), '--launcher', 'pytorch', '--out', str(out),
                        '--work-dir', str(tmp_path / 'test')],
                       cwd=REPO, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    assert 'smoke/mse' in json.loads(out.read_text())


# --- bad input: one clear line naming the path or key -------------------------------------

def _one_error_line(r):
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert lines and lines[-1].startswith('error: '), r.stderr[-2000:]
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    return lines[-1]


def test_missing_config_is_one_line():
    r = run([sys.executable, 'tools/train.py', 'configs/does_not_exist.py'])
    assert 'configs/does_not_exist.py' in _one_error_line(r)


def test_missing_data_root_is_one_line(tmp_path):
    r = run([sys.executable, 'tools/train.py', SMOKE, '--work-dir', str(tmp_path),
             '--cfg-options', 'train_dataloader.dataset.data_root=/nonexistent/smoke_root'])
    assert '/nonexistent/smoke_root' in _one_error_line(r)


def test_checkpoint_of_another_model_is_one_line(tmp_path):
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.conv.weight': torch.zeros(3, 3)}}, other)
    r = run([sys.executable, 'tools/test.py', SMOKE, str(other), '--work-dir', str(tmp_path)])
    line = _one_error_line(r)
    assert str(other) in line and 'linear.weight' in line


def test_missing_checkpoint_is_one_line(tmp_path):
    r = run([sys.executable, 'tools/test.py', SMOKE, str(tmp_path / 'nope.pth'),
             '--work-dir', str(tmp_path)])
    assert 'nope.pth' in _one_error_line(r)
