"""Small I/O helpers shared by every writer: atomic files and clear load errors."""
import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

PathLike = Union[str, os.PathLike]


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


def load_annots_npz(path: PathLike, key: str = 'annots') -> Any:
    """Load ``np.load(path, allow_pickle=True)[key][()]`` of the known release formats.

    Pickle is only allowed here, for the documented annotation/release files
    (method.md §6); a missing file, a missing key or a corrupt file raises an error that
    names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'annotation file not found: {path}')
    try:
        with np.load(path, allow_pickle=True) as z:
            files = list(z.files)
            value = z[key][()] if key in files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
        raise ValueError(f'corrupt or unreadable npz file {path}: {e}') from e
    if key not in files:
        raise ValueError(f'{path}: expected an npz with an {key!r} entry, got {sorted(files)}')
    return value
