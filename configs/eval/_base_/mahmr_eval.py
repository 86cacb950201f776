# Shared pieces of the benchmark configs that evaluate an MA-HMR checkpoint:
#   python tools/test.py configs/eval/mahmr_<bench>.py CHECKPOINT [--cfg-options ...]
# The network is configs/_base_/mahmr_model.py (stage-3 model; strict checkpoint loading by
# tools/test.py); each benchmark image is read, fitted onto the S x S canvas, the FoV predicted,
# and the predictions (original-image pixels, camera from the predicted FoV) scored against the
# benchmark's ground truth by the same metrics as configs/eval/*_precomputed.py.
_base_ = ['../../_base_/default_runtime.py', '../../_base_/mahmr_model.py']
default_scope = 'metric_hmr'
# the network as trained in stages 1-3 and the fine-tunes: SMPL-A shapes (11 betas + kid template)
model = dict(body_model={{_base_.body_model_smpla}}, heads=dict(num_betas=11))
custom_imports = dict(imports=['metric_hmr.evaluation', 'metric_hmr.datasets', 'metric_hmr.models'],
                      allow_failed_imports=False)

# evaluator body models (user-provided SMPL files).  The neutral one carries the kid template,
# so 11-beta (SMPL-A) predictions are scored with their age blend; 10-beta ones are padded with 0.
j_regressor_h36m = 'data/body_models/J_regressor_h36m.npy'
eval_body_model = dict(type='SMPLBodyModel', model_path={{_base_.smpl_model_path}}, gender='neutral',
                       kid_template_path={{_base_.kid_template_path}})
eval_gendered_body_models = dict(
    male=dict(type='SMPLBodyModel', model_path={{_base_.smpl_model_path}}, gender='male'),
    female=dict(type='SMPLBodyModel', model_path={{_base_.smpl_model_path}}, gender='female'))

eval_pipeline = [
    dict(type='BenchmarkToHMRInput'),
    dict(type='CanvasHMR', input_size={{_base_.input_size}}),
    dict(type='PackHMRInputs', keep_ori_gt=True),
]
test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='metric_hmr.mahmr_collate'))
default_hooks = dict(logger=dict(type='LoggerHook', interval=50))
