# Stage 4 for CMU Panoptic (paper Sec. 4.1: "finetune the model for each benchmark following
# [2, 45, 48]").  MA-HMR's released recipe (configs/run/panoptic_ft.yaml of gouba2333/MA-HMR)
# does NOT train on Panoptic (only its test annotations exist there): it fine-tunes on 3DPW
# train + BEDLAM train 1 fps (every 4th image) + AGORA train for 6 epochs, AdamW lr 1e-5,
# weight decay 1e-4, cosine decay without warm-up, zoom U(0.8, 2.0), with the relative-metric
# loss ('depths_mt') and without the absolute depth loss.  The same checkpoint is the one MA-HMR evaluates on MuPoTS
# (mahmr_finetune_mupots.py).  Loss weights are those of that file (weight_dict).
_base_ = ['./mahmr_stage3.py']

load_from = 'work_dirs/mahmr_stage3/epoch_5.pth'
max_epochs = 6
_smpl = {{_base_.body_model}}
_root = {{_base_.data_root}}

# panoptic_ft.yaml aug_cfg: rotation U(-15, 15), flip 0.5, zoom U(0.8, 2.0), crop always
finetune_pipeline = [
    dict(type='LoadHMRImage'),
    dict(type='RandomFlipHMR', prob=0.5),
    dict(type='RandomRotateHMR', max_deg=15.0, prob=1.0),
    dict(type='RandomScaleHMR', scale_range=(0.8, 2.0), prob=1.0),
    dict(type='CanvasHMR', input_size={{_base_.input_size}}),
    dict(type='PackHMRInputs'),
]
# image folders as MA-HMR's loaders join them: 3DPW keys start with 'imageFiles/' (relative
# to 3dpw/), BEDLAM and AGORA keys are file names inside <set>/train/.
threedpw_train = dict(type='ThreeDPWTrainDataset', data_root=_root, ann_file='3dpw/annots_smpl_train_genders.npz',
                      img_prefix='3dpw', body_model=_smpl, pipeline=finetune_pipeline)
bedlam_1fps = dict(type='BEDLAMDataset', data_root=_root, ann_file='bedlam/bedlam_smpl_train_1fps.npz',
                   img_prefix='bedlam/train', body_model=_smpl, downsample=4, pipeline=finetune_pipeline)
agora_train = dict(type='AGORADataset', data_root=_root,
                   ann_file='agora/smpl_neutral_annots/annots_smpl_train_fit.npz',
                   img_prefix='agora/train', body_model=_smpl, pipeline=finetune_pipeline)
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset',
                                     datasets=[threedpw_train, bedlam_1fps, agora_train]))

# panoptic_ft.yaml weight_dict: confs 2, poses 2, betas 2, boxes 2, giou 2, j3ds 10, j2ds 40,
# depths_mt 0.5 (MA-HMR criterion.py loss_relative_metric = the relative-metric loss rm),
# map_confs / map_scales 2, fov 0.5; the absolute depth loss ('depths') is not in its loss list.
model = dict(losses=dict(
    map=dict(loss_weight=2.0), depth=dict(loss_weight=0.0), pose=dict(loss_weight=2.0),
    shape=dict(loss_weight=2.0), j3d=dict(loss_weight=10.0), j2d=dict(loss_weight=40.0),
    box=dict(loss_weight=2.0), det=dict(loss_weight=2.0), fov=dict(loss_weight=0.5),
    rm=dict(loss_weight=0.5)))

train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True,
                        convert_to_iter_based=True)]
