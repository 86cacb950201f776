# Stage 4 for Relative Human (paper Sec. 4.1/4.3), as MA-HMR's configs/run/rh_ft.yaml: the
# stage-3 model on RH's training split for 10 epochs (lr 1e-5, cosine, zoom U(1.0, 2.0)),
# batch 8.  RH has 2D keypoints, boxes, depth layers and age groups only; the yaml's weights:
# 2D joints 10, detection 2, pose 2 and shape 2 (no SMPL targets on RH: contribute nothing),
# depth-layer ranking ('depths_re', OrdinalDepthLoss here) 0.5, and 0 for 3D joints, boxes,
# the scale map, absolute depth and FoV; no relative-metric term.
# Not modelled: use_extra_j (MA-HMR supervises RH's keypoints on 14 CrowdPose joints from
# SMPL + extra regressors; RelativeHumanTrainDataset maps them by name onto SMPL-24).
_base_ = ['./mahmr_finetune_3dpw.py']

# MA-HMR datasets/rh.py: RelativeHuman/train_annots.npz, images at RelativeHuman/images/<key>
rh_train = dict(type='RelativeHumanTrainDataset', data_root={{_base_.data_root}},
                ann_file='RelativeHuman/train_annots.npz', img_prefix='RelativeHuman/images',
                pipeline={{_base_.finetune_pipeline}})
train_dataloader = dict(batch_size=8, dataset=dict(_delete_=True, type='ConcatDataset', datasets=[rh_train]))
model = dict(losses=dict(
    map=dict(loss_weight=0.0), depth=dict(loss_weight=0.0), pose=dict(loss_weight=2.0),
    shape=dict(loss_weight=2.0), j3d=dict(loss_weight=0.0), j2d=dict(loss_weight=10.0),
    box=dict(loss_weight=0.0), det=dict(loss_weight=2.0), fov=dict(loss_weight=0.0),
    rm=dict(loss_weight=0.0), ordinal={{_base_.ordinal_loss}}))
