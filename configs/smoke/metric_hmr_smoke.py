# Smoke config: a tiny linear model on random data, trains in seconds on CPU.
# Used by the tests of tools/train.py, tools/test.py and tools/dist_train.sh.
_base_ = ['../_base_/default_runtime.py']

model = dict(type='SmokeRegressor', dim_in=8, dim_out=2)

train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='SmokeDataset', num_samples=64, seed=0))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SmokeDataset', num_samples=32, seed=0))
test_dataloader = val_dataloader
val_evaluator = dict(type='SmokeMetric')
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
param_scheduler = [dict(type='MultiStepLR', milestones=[10], gamma=0.1, by_epoch=True)]

default_hooks = dict(logger=dict(interval=2), checkpoint=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
