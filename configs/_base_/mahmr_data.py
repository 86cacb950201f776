# MA-HMR training data: roots, annotation files and pipelines (method.md §6 formats).
# Chained after the model base so both share the paths of mahmr_paths.py and input_size.
_base_ = ['./mahmr_model.py']
train_batch_size = 32          # per GPU: 2 GPUs x 32 = 64 in total (paper)
train_num_workers = 8

_smpl = {{_base_.body_model_smpla}}   # 11 betas + kid template: kids' age blend is kept
data_root = {{_base_.data_root}}

# SAT-HMR's augmentation (configs/run/train_all.yaml aug_cfg): every image rotated by
# U(-15, 15) degrees, flipped with p 0.5, zoomed by U(0.8, 1.8) about the principal point
# (crop when > 1), then fitted onto the S x S canvas.
train_pipeline = [
    dict(type='LoadHMRImage'),
    dict(type='RandomFlipHMR', prob=0.5),
    dict(type='RandomRotateHMR', max_deg=15.0, prob=1.0),
    dict(type='RandomScaleHMR', scale_range=(0.8, 1.8), prob=1.0),
    dict(type='CanvasHMR', input_size={{_base_.input_size}}),
    dict(type='PackHMRInputs'),
]

# MA-HMR's benchmark fine-tunes (configs/run/{3dpw,hi4d,rh}_ft.yaml aug_cfg): the same rotation
# and flip, zoom U(1.0, 2.0) (never zoomed out)
finetune_pipeline = [
    dict(type='LoadHMRImage'),
    dict(type='RandomFlipHMR', prob=0.5),
    dict(type='RandomRotateHMR', max_deg=15.0, prob=1.0),
    dict(type='RandomScaleHMR', scale_range=(1.0, 2.0), prob=1.0),
    dict(type='CanvasHMR', input_size={{_base_.input_size}}),
    dict(type='PackHMRInputs'),
]

agora_train = dict(type='AGORADataset', data_root=data_root, ann_file='agora/smpl_neutral_annots/annots_smpl_train_fit.npz',
                   img_prefix='agora/train', body_model=_smpl, pipeline=train_pipeline)
# image folders as MA-HMR's loaders join them (datasets/bedlam.py: bedlam/train/<key>)
bedlam_train = dict(type='BEDLAMDataset', data_root=data_root, ann_file='bedlam/bedlam_smpl_train_6fps.npz',
                    img_prefix='bedlam/train', body_model=_smpl, pipeline=train_pipeline)
camerahmr_train = dict(type='CameraHMRDataset', data_root=data_root, ann_file='4dhumans/4dhumans_CHMR_SMPL.npz',
                       img_prefix='4dhumans/images', body_model=_smpl, pipeline=train_pipeline)
dtohumans_train = dict(type='DTOHumansDataset', data_root=data_root, ann_file='dto_humans/4dhumans_CHMR_SMPL_OPT.npz',
                       img_prefix='4dhumans/images', body_model=_smpl, pipeline=train_pipeline)

train_dataloader = dict(
    batch_size=train_batch_size, num_workers=train_num_workers, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # scoped name: the Runner looks collate functions up without the default scope
    collate_fn=dict(type='metric_hmr.mahmr_collate'),
    dataset=dict(type='ConcatDataset', datasets=[agora_train, bedlam_train, dtohumans_train]))
val_dataloader = None
val_cfg = None
val_evaluator = None
