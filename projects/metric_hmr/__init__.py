"""metric_hmr: metric-aware multi-person human mesh recovery as an OpenMMLab plugin.

Paper terms -> code: DTO lives in the sibling package :mod:`dto_hooks`; MA-HMR in
:mod:`metric_hmr.models`; DTO-Humans generation in :mod:`metric_hmr.generation`;
evaluators in :mod:`metric_hmr.evaluation`.  See docs/ARCHITECTURE.md.
"""
__version__ = '0.1.0'

from .utils import register_all_modules, register_checkpoint_safe_globals  # noqa: E402

# MMEngine checkpoints must load under torch>=2.6's weights_only default.
register_checkpoint_safe_globals()

__all__ = ['__version__', 'register_all_modules']
