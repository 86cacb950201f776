"""Fixtures of the evaluation tests: a small SMPL-format model and its H36M regressor."""
import pickle
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope='session')
def eval_smpl(tmp_path_factory):
    """dict(path, regressor, head_top): SMPL-format fixture files for the metrics."""
    from metric_hmr.testing import make_h36m_regressor, make_smpl_model_file
    d = tmp_path_factory.mktemp('eval_smpl')
    path = make_smpl_model_file(d, seed=0)
    reg = str(d / 'J_regressor_h36m.npy')
    make_h36m_regressor(path, reg)
    with open(path, 'rb') as fh:
        v = pickle.load(fh, encoding='latin1')['v_template']
    return dict(path=str(path), regressor=reg, head_top=int(np.argmax(np.asarray(v)[:, 1])),
                folder=Path(d))
