"""tools/dist_train.sh on the small MA-HMR config: two CPU processes (gloo) train to the end."""
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_dist_train_small_synthetic_two_processes(tmp_path):
    data = tmp_path / 'crowds'
    gen = ('from metric_hmr.synthetic.shards import generate_set; '
           f'generate_set({str(data)!r}, num_scenes=8, seed=0, scenes_per_shard=8, image_size=(240, 320), '
           "layout='uniform', min_person_frac=0.08, num_persons=dict(low=3, high=4), render_rgb=True)")
    r = subprocess.run([sys.executable, '-c', gen], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = str(s.getsockname()[1])
    r = subprocess.run(['bash', 'tools/dist_train.sh', 'configs/mahmr_small_synthetic.py', '2',
                        '--work-dir', str(tmp_path / 'work'),
                        '--cfg-options', f'train_dataloader.dataset.data_root={data}'],
                       cwd=REPO, capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, PORT=port, OMP_NUM_THREADS='1'))
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    # 8 scenes, batch 2 per rank, 2 ranks -> 2 iterations per epoch on each rank
    assert 'Epoch(train) [2][2/2]' in log, log[-3000:]
    assert (tmp_path / 'work' / 'epoch_2.pth').is_file()
