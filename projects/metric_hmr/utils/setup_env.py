"""Registration of every metric_hmr component (MMPose-style ``register_all_modules``)."""
import datetime
import importlib
import warnings

from mmengine import DefaultScope

# Sub-packages whose import registers components.  Order matters only for speed.
_MODULES = (
    'metric_hmr.utils.dist',
    'metric_hmr.body_models',
    'metric_hmr.models',
    'metric_hmr.datasets',
    'metric_hmr.evaluation',
    'metric_hmr.visualization',
    'metric_hmr.synthetic',
    'metric_hmr.generation',
    'metric_hmr.smoke',
)
# ``dto_hooks`` (the MMEngine glue of DTO) depends on metric_hmr, never the reverse: it
# registers DTORefiner / DTOTestHook / the DTO loops when imported (custom_imports).


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import all modules that register components into the ``metric_hmr`` registries.

    Args:
        init_default_scope: also make ``metric_hmr`` the current default scope, so that
            ``MODELS.build(dict(type=...))`` from mmengine finds our components.
    """
    for name in _MODULES:
        importlib.import_module(name)
    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('metric_hmr'))
    if never_created:
        DefaultScope.get_instance('metric_hmr', scope_name='metric_hmr')
        return
    current = DefaultScope.get_current_instance()
    if current.scope_name != 'metric_hmr':
        warnings.warn('The current default scope '
                      f'"{current.scope_name}" is not "metric_hmr", '
                      '`register_all_modules` will force the current'
                      'default scope to be "metric_hmr". If this is not '
                      'expected, please set `init_default_scope=False`.')
        # avoid name conflict
        new_instance_name = f'metric_hmr-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='metric_hmr')
