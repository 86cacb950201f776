"""Checkpoint compatibility with torch>=2.6 (``torch.load(weights_only=True)`` by default).

MMEngine 0.10.7 saves checkpoints whose ``meta``/``message_hub`` hold a few non-tensor
objects (its ``HistoryBuffer``, numpy arrays and scalars).  Under ``weights_only=True``
torch refuses them.  Instead of falling back to unsafe unpickling (which would execute
arbitrary code from untrusted files), we allow-list exactly these trusted types.
"""

from __future__ import annotations

import collections
from typing import List

import numpy as np
import torch

__all__ = ['safe_checkpoint_globals', 'register_checkpoint_safe_globals', 'load_model_weights', 'read_checkpoint',
           'strict_runner_class']


def _numpy_globals() -> List[object]:
    # numpy moved its internals in 2.0 (numpy.core -> numpy._core); allow both spellings.
    out: List[object] = [np.ndarray, np.dtype]
    for modname in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            mod = __import__(modname, fromlist=['_reconstruct', 'scalar'])
            out += [mod._reconstruct, mod.scalar]
        except (ImportError, AttributeError):
            pass
    # concrete dtype classes (np.dtypes.Float64DType, ...) appear in pickles of numpy>=1.25
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return out


def safe_checkpoint_globals() -> List[object]:
    """The trusted non-tensor types found in MMEngine checkpoints."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, collections.OrderedDict, collections.defaultdict] + _numpy_globals()


def _history_buffer_getstate(self) -> dict:
    # MMEngine pickles its statistics *methods* (``builtins.getattr`` on the class), which
    # cannot be allow-listed safely: getattr would open a path to arbitrary code.  They are
    # class-level and re-created on load, so the project's checkpoints simply leave them out.
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def _history_buffer_setstate(self, state: dict) -> None:
    from mmengine.logging.history_buffer import HistoryBuffer
    state = dict(state)
    state.pop('statistics_methods', None)
    self.__dict__.update(state)
    for name in ('min', 'max', 'current', 'mean'):  # what HistoryBuffer.__init__ registers
        self._statistics_methods.setdefault(name, getattr(HistoryBuffer, name))


def register_checkpoint_safe_globals() -> None:
    """Make MMEngine checkpoints save and load under ``torch.load(weights_only=True)``.

    Allow-lists the trusted data types and makes ``HistoryBuffer`` pickle plain data only.
    Checkpoints written by stock MMEngine 0.10.7 elsewhere still hold ``getattr`` and are
    refused by torch with a clear error rather than loaded unsafely.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    HistoryBuffer.__setstate__ = _history_buffer_setstate
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no weights_only default to satisfy
        add(safe_checkpoint_globals())


# ------------------------------------------------------------------ strict weight loading
def read_checkpoint(path: str, map_location='cpu'):
    """``torch.load`` of a checkpoint file with ``weights_only=True`` (no code from the file)."""
    import os.path as osp
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    register_checkpoint_safe_globals()
    return torch.load(path, map_location=map_location, weights_only=True)


def load_model_weights(model, path: str, strict: bool = True, logger=print, drop_prefixes=(),
                       new_prefixes=(), checkpoint=None) -> tuple:
    """Load ``path`` (MMEngine checkpoint or flat state dict) into ``model``.

    Strict by default: any missing or unexpected key raises ``RuntimeError`` listing them.
    Stage changes name their exceptions explicitly: checkpoint keys under ``drop_prefixes``
    are dropped (e.g. ``decoder.dn_enc.`` after the denoising stage) and model keys under
    ``new_prefixes`` may be missing (e.g. ``camera_head.`` when the FoV branch is added); both
    are printed.  With ``strict=False`` every missing / unexpected key is printed (never
    silently ignored).  Returns (missing, unexpected).  Read with ``weights_only=True``, unless
    the caller already loaded it (``checkpoint``; ``path`` then only names it in messages).
    """
    obj = read_checkpoint(path) if checkpoint is None else checkpoint
    sd = obj.get('state_dict', obj) if isinstance(obj, dict) else obj
    sd = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in sd.items()}
    dropped = [k for k in sd if k.startswith(tuple(drop_prefixes))]
    sd = {k: v for k, v in sd.items() if k not in dropped}
    result = model.load_state_dict(sd, strict=False)
    new = [k for k in result.missing_keys if k.startswith(tuple(new_prefixes))]
    missing = [k for k in result.missing_keys if k not in new]
    unexpected = list(result.unexpected_keys)
    if dropped or new:
        logger(f'{path}: dropped {len(dropped)} checkpoint keys under {list(drop_prefixes)}; '
               f'{len(new)} new model keys under {list(new_prefixes)} keep their initialisation')
    if (missing or unexpected) and strict:
        raise RuntimeError(f'{path} does not match the model (strict loading): '
                           f'{len(missing)} missing keys {missing[:10]}, '
                           f'{len(unexpected)} unexpected keys {unexpected[:10]}; '
                           f'convert SAT-HMR files with tools/convert_sat_hmr.py, or pass the non-strict option')
    if missing or unexpected:
        logger(f'non-strict load of {path}: {len(missing)} missing keys: {missing}')
        logger(f'non-strict load of {path}: {len(unexpected)} unexpected keys: {unexpected}')
    return missing, unexpected


def strict_runner_class(strict_load: bool = True, drop_prefixes=(), new_prefixes=()):
    """An MMEngine ``Runner`` whose ``load_from`` loading is strict (MMEngine's default is lenient).

    With ``strict_load=False`` the mismatching keys are printed by :func:`load_model_weights`.
    """
    from mmengine.runner import Runner

    class StrictLoadRunner(Runner):
        def load_checkpoint(self, filename, map_location='cpu', strict=False, revise_keys=None):
            # the caller's ``strict`` (MMEngine passes False) is replaced by the tool's choice
            model = self.model.module if hasattr(self.model, 'module') else self.model
            checkpoint = read_checkpoint(filename, map_location)   # read once: it may be ~1 GB
            load_model_weights(model, filename, strict=strict_load, logger=self.logger.info,
                               drop_prefixes=drop_prefixes, new_prefixes=new_prefixes,
                               checkpoint=checkpoint)
            self._has_loaded = True
            self.logger.info(f'Load checkpoint from {filename} (strict={strict_load})')
            # as MMEngine's own load_checkpoint: hooks see it, resume() reads its states
            self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
            return checkpoint

    return StrictLoadRunner
