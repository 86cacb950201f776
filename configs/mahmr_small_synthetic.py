# Tiny MA-HMR trained on synthetic crowds, on CPU (smoke / demo / DDP check):
#   python tools/train.py configs/mahmr_small_synthetic.py
#   bash tools/dist_train.sh configs/mahmr_small_synthetic.py 2        (gloo on CPU)
# The synthetic set must exist first (Anny persons: 2D / box / depth / FoV / relative-metric
# supervision only), e.g.
#   python -c "from metric_hmr.synthetic.shards import generate_set; generate_set('data/synthetic_crowds/small', \
#       num_scenes=16, seed=0, scenes_per_shard=16, image_size=(240, 320), layout='uniform', min_person_frac=0.08, \
#       num_persons=dict(low=3, high=5), render_rgb=True)"
_base_ = ['./_base_/default_runtime.py', './_base_/mahmr_small.py']

synthetic_root = 'data/synthetic_crowds/small'
train_pipeline = [
    dict(type='LoadHMRImage'),
    dict(type='RandomFlipHMR', prob=0.5),
    dict(type='RandomScaleHMR', scale_range=(0.9, 1.1), prob=1.0),
    dict(type='CanvasHMR', input_size={{_base_.input_size}}),
    dict(type='PackHMRInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # scoped name: the Runner looks collate functions up without the default scope
    collate_fn=dict(type='metric_hmr.mahmr_collate'),
    dataset=dict(type='SyntheticCrowdsDataset', data_root=synthetic_root, pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None

# a tiny model from scratch learns with a larger lr than the paper's 1e-5 fine-tuning
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
                     clip_grad=dict(max_norm=1.0))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1000)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
default_hooks = dict(logger=dict(type='LoggerHook', interval=1), checkpoint=dict(type='CheckpointHook', interval=1))
log_processor = dict(window_size=1)
