"""The benchmark script runs and ends with its machine-readable line (no timing asserted)."""
import os
import re
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'benchmarks', 'dto_solver.py')


def test_benchmark_last_line_format():
    out = subprocess.run([sys.executable, SCRIPT, '--problems', '2000', '--scipy-problems', '20',
                          '--cue-repeats', '2', '--chunk', '500'],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    last = out.strip().splitlines()[-1]
    m = re.fullmatch(r'speedup_vs_scipy=(\S+) max_rel_err=(\S+) cue_ms_per_image=(\S+)', last)
    assert m, last
    assert float(m.group(2)) <= 1e-6          # accuracy is deterministic, timings are not
