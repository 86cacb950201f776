# Shared pieces of the benchmark test configs that score precomputed predictions
# (`PrecomputedPredictor`): test loop, runtime, body-model / regressor paths.
# Every path is a config option: override with
#   tools/test.py CONFIG --cfg-options model.pred_file=... test_dataloader.dataset.data_root=...
_base_ = ['../../_base_/default_runtime.py']
default_scope = 'metric_hmr'
custom_imports = dict(imports=['metric_hmr.evaluation', 'metric_hmr.datasets'],
                      allow_failed_imports=False)

# user-provided SMPL files (licensed; see datasets/benchmarks.md)
smpl_model_path = 'data/body_models/smpl'          # folder with SMPL_{NEUTRAL,MALE,FEMALE}.pkl
j_regressor_h36m = 'data/body_models/J_regressor_h36m.npy'
body_model = dict(type='SMPLBodyModel', model_path=smpl_model_path, gender='neutral')
gendered_body_models = dict(
    male=dict(type='SMPLBodyModel', model_path=smpl_model_path, gender='male'),
    female=dict(type='SMPLBodyModel', model_path=smpl_model_path, gender='female'))

test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='metric_hmr.benchmark_collate'))  # scoped: Runner looks it up in the root registry
default_hooks = dict(logger=dict(type='LoggerHook', interval=200))
