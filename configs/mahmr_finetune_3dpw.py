# Stage 4 (paper Sec. 4.1) for 3DPW, as MA-HMR's released recipe (configs/run/3dpw_ft.yaml of
# gouba2333/MA-HMR; the paper gives no fine-tune values): the stage-3 model on the 3DPW
# training split for 10 epochs, AdamW lr 1e-5 (encoder too), weight decay 1e-4, cosine decay
# without warm-up, zoom U(1.0, 2.0), batch 32, and that file's weight_dict (below).
# (MA-HMR starts from its stage-3 epoch_3 checkpoint; ours from the last stage-3 epoch.)
_base_ = ['./mahmr_stage3.py']

load_from = 'work_dirs/mahmr_stage3/epoch_5.pth'
max_epochs = 10
# MA-HMR datasets/pw3d.py: images at 3dpw/<key>, keys start with 'imageFiles/'
threedpw_train = dict(type='ThreeDPWTrainDataset', data_root={{_base_.data_root}},
                      ann_file='3dpw/annots_smpl_train_genders.npz', img_prefix='3dpw',
                      body_model={{_base_.body_model}}, pipeline={{_base_.finetune_pipeline}})
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset', datasets=[threedpw_train]))

# 3dpw_ft.yaml losses [confs, poses, betas, boxes, j3ds, j2ds, depths_mt, scale_map, fov] with
# weight_dict confs 2, poses 2, betas 2, boxes 2, giou 2, j3ds 10, j2ds 40, depths_mt 0.5
# (the relative-metric loss rm), map_confs / map_scales 2, fov 0.5; the absolute depth loss
# ('depths') is not in the list: weight 0.
model = dict(losses=dict(
    map=dict(loss_weight=2.0), depth=dict(loss_weight=0.0), pose=dict(loss_weight=2.0),
    shape=dict(loss_weight=2.0), j3d=dict(loss_weight=10.0), j2d=dict(loss_weight=40.0),
    box=dict(loss_weight=2.0), det=dict(loss_weight=2.0), fov=dict(loss_weight=0.5),
    rm=dict(loss_weight=0.5)))

train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True,
                        convert_to_iter_based=True)]
