"""MMEngine registries of the ``metric_hmr`` scope.

Every component of the project (models, body models, losses, datasets, transforms,
metrics, hooks, visualizers, DTO stages) is registered in one of these child
registries, so configs with ``default_scope='metric_hmr'`` can build it by type name,
exactly as in MMPose/MMDetection.  ``locations`` lets MMEngine import the defining
modules lazily when a config asks for a type by name.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

SCOPE = 'metric_hmr'

# networks, backbones, heads, losses
MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE,
                  locations=['metric_hmr.models', 'metric_hmr.body_models', 'metric_hmr.evaluation',
                            'metric_hmr.smoke'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE)
# body models (SMPL / SMPL-A through smplx, Anny): used by DTO refinement, losses, metrics
BODY_MODELS = Registry('body_model', scope=SCOPE, locations=['metric_hmr.body_models'])

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope=SCOPE,
                    locations=['metric_hmr.datasets', 'metric_hmr.synthetic', 'metric_hmr.smoke'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope=SCOPE)
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE,
                      locations=['metric_hmr.datasets'])

METRICS = Registry('metric', parent=MMENGINE_METRICS, scope=SCOPE,
                   locations=['metric_hmr.evaluation', 'metric_hmr.smoke'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope=SCOPE)

OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, scope=SCOPE)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE)
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope=SCOPE)
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope=SCOPE)
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope=SCOPE,
                     locations=['metric_hmr.datasets'])

# (the test-time DTO hook / loops live in the top-level ``dto_hooks`` package, which imports
# metric_hmr and never the reverse: configs that use them add
# ``custom_imports = dict(imports=['dto_hooks'])``)
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE)
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, scope=SCOPE,
                       locations=['metric_hmr.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, scope=SCOPE,
                       locations=['metric_hmr.visualization'])

# matchers, coders, scene generators (and dto_hooks.DTORefiner once dto_hooks is imported)
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, scope=SCOPE,
                      locations=['metric_hmr.models', 'metric_hmr.synthetic'])
# DTO-Humans generation: input readers and pipeline stages (detector, keypoints, depth, ...)
DTO_STAGES = Registry('dto stage', scope=SCOPE, locations=['metric_hmr.generation'])

# Checkpoints of this scope load with torch's weights_only default (see utils/checkpoint.py).
from .utils.checkpoint import register_checkpoint_safe_globals  # noqa: E402

register_checkpoint_safe_globals()
