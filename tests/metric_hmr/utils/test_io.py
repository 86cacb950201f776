"""Atomic writes and the guarded loader of pickled release/annotation files."""
import os

import numpy as np
import pytest

from metric_hmr.utils.io import atomic_save_json, atomic_save_npz, atomic_write, load_annots_npz


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / 'sub' / 'a.txt'
    atomic_write(p, 'first')
    atomic_write(p, b'second')
    assert p.read_text() == 'second'
    assert sorted(os.listdir(p.parent)) == ['a.txt']
    assert oct(os.stat(p).st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_atomic_write_failure_keeps_old_file(tmp_path):
    p = tmp_path / 'a.npz'
    atomic_save_npz(p, x=np.arange(3))

    def boom(tmp):
        with open(tmp, 'wb') as f:
            f.write(b'partial')
        raise RuntimeError('killed mid-write')

    with pytest.raises(RuntimeError):
        atomic_write(p, boom)
    assert np.load(p)['x'].tolist() == [0, 1, 2]
    assert sorted(os.listdir(tmp_path)) == ['a.npz']


def test_atomic_json_converts_numpy(tmp_path):
    p = atomic_save_json(tmp_path / 'm.json', {'a': np.float32(1.5), 'b': np.arange(2)})
    assert p.read_text() == '{"a": 1.5, "b": [0, 1]}'


def test_load_annots_npz_errors_name_the_file(tmp_path):
    good = tmp_path / 'good.npz'
    np.savez(good, annots=np.array({'img.jpg': [1]}, dtype=object))
    assert load_annots_npz(good) == {'img.jpg': [1]}
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        load_annots_npz(tmp_path / 'missing.npz')
    np.savez(tmp_path / 'nokey.npz', other=np.zeros(1))
    with pytest.raises(ValueError, match="nokey.npz.*'annots'"):
        load_annots_npz(tmp_path / 'nokey.npz')
    (tmp_path / 'corrupt.npz').write_bytes(b'PK\x03\x04 not really a zip')
    with pytest.raises(ValueError, match='corrupt.npz'):
        load_annots_npz(tmp_path / 'corrupt.npz')


def _fake_smpl_pickle(tmp_path, monkeypatch, payload=None):
    """A pickle shaped like the released SMPL files: chumpy arrays (``chumpy.ch.Ch``, state
    with ``x``) and a scipy CSC ``J_regressor``, written with protocol 2 as Python 2 did.
    chumpy is not importable on Python 3.11, so a stand-in module of that name pickles."""
    import pickle
    import sys
    import types

    import scipy.sparse
    ch_mod = types.ModuleType('chumpy.ch')

    class Ch:
        def __init__(self, x):
            self.x = x
            self.dterms = ['x']
            self._dirty_vars = set()

    Ch.__module__, Ch.__qualname__ = 'chumpy.ch', 'Ch'
    ch_mod.Ch = Ch
    monkeypatch.setitem(sys.modules, 'chumpy', types.ModuleType('chumpy'))
    monkeypatch.setitem(sys.modules, 'chumpy.ch', ch_mod)
    rng = np.random.default_rng(0)
    jreg = rng.random((24, 30)) * (rng.random((24, 30)) > 0.7)
    data = {'v_template': Ch(rng.random((30, 3))), 'shapedirs': Ch(rng.random((30, 3, 10))),
            'J_regressor': scipy.sparse.csc_matrix(jreg), 'f': np.arange(6).reshape(2, 3),
            'kintree_table': np.zeros((2, 24), np.int64)}
    if payload is not None:
        data['evil'] = payload
    path = tmp_path / 'SMPL_NEUTRAL.pkl'
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path, data, jreg


def test_load_smpl_model_file_reads_chumpy_and_sparse_without_their_code(tmp_path, monkeypatch):
    from metric_hmr.utils.io import load_smpl_model_file
    path, data, jreg = _fake_smpl_pickle(tmp_path, monkeypatch)
    out = load_smpl_model_file(path)
    np.testing.assert_array_equal(out['v_template'], data['v_template'].x)
    np.testing.assert_array_equal(out['shapedirs'], data['shapedirs'].x)
    np.testing.assert_array_equal(out['J_regressor'], jreg)
    np.testing.assert_array_equal(out['f'], data['f'])
    np.savez(tmp_path / 'smpl.npz', **out)
    np.testing.assert_array_equal(load_smpl_model_file(tmp_path / 'smpl.npz')['J_regressor'], jreg)


def test_load_smpl_model_file_refuses_code(tmp_path, monkeypatch):
    from metric_hmr.utils.io import UnsafeContentError, load_smpl_model_file

    class Payload:
        def __reduce__(self):
            return (os.system, ('echo pwned > ' + str(tmp_path / 'ran'),))

    path, _, _ = _fake_smpl_pickle(tmp_path, monkeypatch, payload=Payload())
    with pytest.raises(UnsafeContentError, match='SMPL_NEUTRAL.pkl'):
        load_smpl_model_file(path)
    assert not (tmp_path / 'ran').exists()
