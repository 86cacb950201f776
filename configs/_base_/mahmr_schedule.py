# Optimisation of every MA-HMR stage (paper Sec. 4.1): AdamW lr 1e-5, weight decay 1e-4, 5 epochs,
# total batch 64 (2 GPUs x 32).  The encoder trains at the same lr (paper; MA-HMR's yamls set
# lr_encoder = lr = 1e-5; SAT-HMR itself used half).  From SAT-HMR's / MA-HMR's engine: gradient
# clipping at norm 1.0, cosine decay per iteration without warm-up.  With another GPU
# count keep 64 in total or use tools/train.py --auto-scale-lr (base_batch_size 64 below).
max_epochs = 5
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-5, weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0))
auto_scale_lr = dict(enable=False, base_batch_size=64)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1000)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True,
                        convert_to_iter_based=True)]
# some parameters get no gradient in a given step (e.g. the 56-px level embedding when an
# image has no background block, the denoising encoder outside stage 1)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
