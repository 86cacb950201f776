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
