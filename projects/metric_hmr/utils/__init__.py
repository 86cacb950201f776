from __future__ import annotations

from .checkpoint import register_checkpoint_safe_globals
from .io import atomic_save_json, atomic_save_npz, atomic_write, load_annots_npz
from .setup_env import register_all_modules

# MMEngine checkpoints must load under torch>=2.6's weights_only default; every path that
# builds or loads a model goes through metric_hmr.utils (register_all_modules, tools).
register_checkpoint_safe_globals()

__all__ = ['register_all_modules', 'register_checkpoint_safe_globals', 'atomic_write',
           'atomic_save_npz', 'atomic_save_json', 'load_annots_npz']
