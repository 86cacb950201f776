# Optimisation of every MA-HMR stage (paper Sec. 4.1): AdamW lr 1e-5, weight decay 1e-4,
# 5 epochs, total batch 64 (2 GPUs x 32).  With another GPU count keep 64 in total or let
# MMEngine rescale the lr: tools/train.py --auto-scale-lr (base_batch_size 64 below).
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-5, weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=64)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=5, val_interval=1000)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=5)]
# some parameters get no gradient in a given step (e.g. the 56-px level embedding when an
# image has no background block, denoising embeddings outside stage 1)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
