"""Small I/O helpers shared by every writer: atomic files, clear load errors, and a safe
reader for the object arrays of npz annotation files (no code runs while loading them)."""
from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

__all__ = ['atomic_write', 'atomic_save_npz', 'atomic_save_json', 'load_annots_npz',
           'SafeUnpickler', 'read_npz_member', 'UnsafeContentError', 'load_smpl_model_file']

PathLike = Union[str, os.PathLike]

# The only globals a pickled object array of numbers, strings, lists and dicts refers to
# (numpy moved ``numpy.core`` to ``numpy._core`` in 2.0: both spellings).  None of them can
# run code: they rebuild arrays, dtypes and numpy scalars from plain data.
_SAFE_GLOBALS = frozenset({
    ('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
    ('numpy', 'ndarray'), ('numpy', 'dtype'), ('collections', 'OrderedDict'),
    ('builtins', 'dict'), ('builtins', 'list'),
})


class UnsafeContentError(ValueError):
    """An input file wanted to run code (a pickled global outside the allow-list)."""


# torch tensors pickled inside annotation files (e.g. 3DPW-style benchmark files): the
# tensor is rebuilt from its storage; the storage's own loader would unpickle with
# ``weights_only=False``, so it is replaced by :func:`_storage_from_bytes`
_TORCH_TENSOR_GLOBALS = frozenset({('torch._utils', '_rebuild_tensor_v2'),
                                   ('torch._utils', '_rebuild_tensor')})


def _storage_from_bytes(data: bytes):
    """Stand-in for ``torch.storage._load_from_bytes``: the same bytes, loaded with
    ``weights_only=True`` (storages and tensors only)."""
    import io

    import torch
    return torch.load(io.BytesIO(data), weights_only=True)


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds numpy arrays / scalars / dtypes, torch tensors and
    Python containers.

    Any other global (``os.system``, ``builtins.eval``, a class of some package, ...) raises
    :class:`UnsafeContentError` *before* it is called, so a planted payload never runs.
    """

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _storage_from_bytes
        if (module, name) in _SAFE_GLOBALS or (module, name) in _TORCH_TENSOR_GLOBALS or (
                module == 'numpy.dtypes' and name.endswith('DType') and name.isidentifier()):
            return super().find_class(module, name)
        raise UnsafeContentError(f'refusing to load {module}.{name}: only numpy arrays, numbers, '
                                 'strings, lists and dicts are accepted')


def _read_npy(f, where: str, allow_objects: bool) -> np.ndarray:
    """One ``.npy`` stream: plain arrays as numpy reads them, object arrays through
    :class:`SafeUnpickler` (``allow_objects``) or refused."""
    from numpy.lib import format as npf
    version = npf.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = npf.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = npf.read_array_header_2_0(f)
    else:  # (3, 0): utf8 header, same layout
        shape, fortran, dtype = npf._read_array_header(f, version)  # noqa: SLF001
    if not dtype.hasobject:
        count = int(np.prod(shape, dtype=np.int64))
        buf = np.empty(count * dtype.itemsize, np.uint8)   # writable, like np.load's arrays
        view, got = memoryview(buf), 0
        while got < buf.size:
            n = f.readinto(view[got:])
            if not n:
                raise ValueError(f'{where}: truncated array data')
            got += n
        arr = buf.view(dtype)
        return arr.reshape(shape[::-1]).transpose() if fortran else arr.reshape(shape)
    if not allow_objects:
        raise UnsafeContentError(f'{where}: object array (pickled Python objects) not accepted')
    try:
        arr = SafeUnpickler(f).load()
    except UnsafeContentError as e:
        raise UnsafeContentError(f'{where}: {e}') from None
    if not isinstance(arr, np.ndarray):
        raise ValueError(f'{where}: expected an array, got {type(arr).__name__}')
    return arr


def read_npz_member(path: PathLike, key: str, allow_objects: bool = False) -> np.ndarray:
    """Array ``key`` of the npz ``path`` without ``allow_pickle``: numbers and strings as
    numpy stores them; an object array only with ``allow_objects`` and then through
    :class:`SafeUnpickler` (containers of arrays, numbers and strings; nothing callable).
    Other members of the archive are never read.

    Raises:
        KeyError: no member ``key``.  UnsafeContentError / ValueError: refused or corrupt
        content (the message names file and member).
    """
    path = Path(path)
    where = f'{path} [{key}]'
    with zipfile.ZipFile(path) as zf:
        name = key + '.npy'
        if name not in zf.namelist():
            raise KeyError(key)
        with zf.open(name) as f:
            try:
                return _read_npy(f, where, allow_objects)
            except (UnsafeContentError, KeyError):
                raise
            except (ValueError, EOFError, OSError, pickle.UnpicklingError, TypeError,
                    AttributeError, IndexError, zipfile.BadZipFile) as e:
                raise ValueError(f'{where}: corrupt array: {e}') from e


def atomic_write(path: PathLike, data: Union[bytes, str, Callable[[str], None]]) -> Path:
    """Write ``path`` atomically: readers see the old file or the complete new one.

    Args:
        path: destination file.
        data: bytes/str to write, or a callable ``f(tmp_path)`` that writes the file itself
            (e.g. ``lambda p: np.savez(p, **arrays)``; numpy's ``savez`` appends ``.npz`` to
            names without it, so the temporary name keeps the destination suffix).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.stem}.', suffix='.tmp' + path.suffix)
    os.close(fd)
    try:
        if callable(data):
            data(tmp)
        else:
            mode = 'wb' if isinstance(data, bytes) else 'w'
            with open(tmp, mode) as f:
                f.write(data)
        # mkstemp creates 0600 files; give the result the usual umask-based mode
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)  # atomic on POSIX within one filesystem
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def atomic_save_npz(path: PathLike, **arrays: Any) -> Path:
    """``np.savez_compressed`` through :func:`atomic_write`."""
    return atomic_write(path, lambda p: np.savez_compressed(p, **arrays))


def atomic_save_json(path: PathLike, obj: Any, **kwargs: Any) -> Path:
    """JSON through :func:`atomic_write` (numpy scalars/arrays converted)."""
    return atomic_write(path, json.dumps(obj, default=_to_builtin, **kwargs))


def _to_builtin(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f'cannot serialise {type(o).__name__} to JSON')


def load_annots_npz(path: PathLike, key: str = 'annots', allow_unsafe_pickle: bool = False) -> Any:
    """``np.load(path, allow_pickle=True)[key][()]`` of the known release formats, safely.

    The documented annotation/release files (method.md §6) store a pickled dict of arrays;
    it is rebuilt by :class:`SafeUnpickler` (numpy arrays, numbers, strings, lists, dicts:
    a planted payload is refused, never run).  ``allow_unsafe_pickle=True`` is the explicit
    opt-in for a trusted file that needs other Python classes.  A missing file, a missing key
    or a corrupt file raises an error that names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'annotation file not found: {path}')
    if not zipfile.is_zipfile(path):
        raise ValueError(f'corrupt or unreadable npz file {path}: not an npz archive')
    if allow_unsafe_pickle:
        try:
            with np.load(path, allow_pickle=True) as z:
                files = list(z.files)
                value = z[key][()] if key in files else None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
            raise ValueError(f'corrupt or unreadable npz file {path}: {e}') from e
        if key not in files:
            raise ValueError(f'{path}: expected an npz with an {key!r} entry, got {sorted(files)}')
        return value
    try:
        arr = read_npz_member(path, key, allow_objects=True)
    except KeyError:
        with zipfile.ZipFile(path) as zf:
            files = sorted(n[:-4] for n in zf.namelist() if n.endswith('.npy'))
        raise ValueError(f'{path}: expected an npz with an {key!r} entry, got {files}') from None
    except (OSError, zipfile.BadZipFile) as e:
        raise ValueError(f'corrupt or unreadable npz file {path}: {e}') from e
    return arr[()]


# ---------------------------------------------------------------------------------------
# SMPL model files (the user's licensed ``SMPL_<GENDER>.pkl``): read without running code.
# The official files were pickled by Python 2 with chumpy arrays (``chumpy.ch.Ch``, whose
# pickled state holds the plain array under ``'x'``) and a scipy CSC ``J_regressor``.  Both
# classes are replaced by inert stand-ins that only keep their pickled state; the arrays
# are then taken out of that state.  No chumpy / scipy code runs while loading.

class _PickledState:
    """Inert stand-in for a pickled class instance: keeps the state ``BUILD`` hands it."""

    def __init__(self, *args):
        self.state = {}

    def __setstate__(self, state):
        self.state = state[0] if isinstance(state, tuple) and state and isinstance(
            state[0], dict) else state


class _ChumpyArray(_PickledState):
    pass


class _SparseMatrix(_PickledState):
    pass


def _safe_reconstructor(cls, base, state):
    """``copyreg._reconstructor`` (Python-2 protocol 0/1 pickles) for the stand-ins only."""
    if not (isinstance(cls, type) and issubclass(cls, _PickledState)):
        raise UnsafeContentError(f'refusing to rebuild {cls!r} in an SMPL model file')
    return cls()


def _latin1_bytes(text: str, encoding: str = 'latin1') -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of Python 3 use it for bytes (latin-1 only)."""
    if encoding not in ('latin1', 'latin-1') or not isinstance(text, str):
        raise UnsafeContentError(f'refusing _codecs.encode with encoding {encoding!r}')
    return text.encode('latin1')


class _SMPLUnpickler(SafeUnpickler):
    """:class:`SafeUnpickler` plus inert stand-ins for chumpy arrays and scipy CSC matrices."""

    def find_class(self, module: str, name: str):
        # Python-2 module names (protocol < 3 pickles), as pickle's own find_class maps them
        module = {'__builtin__': 'builtins', 'copy_reg': 'copyreg'}.get(module, module)
        if module.split('.')[0] == 'chumpy' and name.isidentifier():
            return _ChumpyArray
        if module.startswith('scipy.sparse') and name in ('csc_matrix', 'csr_matrix'):
            return _SparseMatrix
        if (module, name) == ('copyreg', '_reconstructor'):
            return _safe_reconstructor
        if (module, name) == ('_codecs', 'encode'):
            return _latin1_bytes
        if (module, name) in (('builtins', 'object'), ('builtins', 'set'),
                              ('builtins', 'frozenset')):
            return super(SafeUnpickler, self).find_class(module, name)
        return super().find_class(module, name)


def _plain(value: Any, where: str) -> Any:
    """Arrays out of the stand-ins (chumpy ``x``; CSC/CSR matrix -> dense array)."""
    if isinstance(value, _ChumpyArray):
        if not isinstance(getattr(value, 'state', None), dict) or 'x' not in value.state:
            raise ValueError(f'{where}: a chumpy object without its array (x)')
        return np.asarray(_plain(value.state['x'], where))
    if isinstance(value, _SparseMatrix):
        st = getattr(value, 'state', None)
        st = st if isinstance(st, dict) else {}
        if not {'data', 'indices', 'indptr', '_shape'} <= set(st):
            raise ValueError(f'{where}: a sparse matrix without data/indices/indptr/_shape')
        import scipy.sparse
        fmt = scipy.sparse.csr_matrix if st.get('format') == 'csr' else scipy.sparse.csc_matrix
        return fmt((np.asarray(st['data']), np.asarray(st['indices']), np.asarray(st['indptr'])),
                   shape=tuple(st['_shape'])).toarray()
    return value


def load_smpl_model_file(path: PathLike) -> dict:
    """The arrays of an SMPL model file (``.pkl`` as released, or ``.npz``) as a dict.

    ``.pkl`` is read by a restricted unpickler: numpy arrays, plain containers, and
    chumpy arrays / scipy CSC matrices through inert stand-ins (see above); any other
    pickled global raises :class:`UnsafeContentError` before it runs.  ``.npz`` is read
    with ``allow_pickle=False``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'SMPL model file not found: {path}')
    if path.suffix == '.npz':
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    try:
        with open(path, 'rb') as fh:
            data = _SMPLUnpickler(fh, encoding='latin1').load()
    except UnsafeContentError as e:
        raise UnsafeContentError(f'{path}: {e}') from None
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as e:
        raise ValueError(f'{path}: not a readable SMPL model file ({e})') from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: an SMPL model file holds a dict, got {type(data).__name__}')
    return {k: _plain(v, f'{path}[{k!r}]') for k, v in data.items()}
