# Stage 4 for Relative Human (paper Sec. 4.1/4.3): fine-tune the stage-3 model on the Relative
# Human training split.  RH has 2D keypoints, boxes, depth layers and age groups only, so the
# SMPL / 3D / metric-depth / FoV / relative-metric terms have nothing to supervise there and an
# ordinal depth-layer loss is added (closer layer -> smaller translation depth).
_base_ = ['./mahmr_stage3.py']

load_from = 'work_dirs/mahmr_stage3/epoch_5.pth'
rh_train = dict(type='RelativeHumanTrainDataset', data_root={{_base_.data_root}},
                ann_file='RelativeHuman/train_annots.npz', img_prefix='RelativeHuman/images',
                pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset', datasets=[rh_train]))
model = dict(losses=dict(ordinal={{_base_.ordinal_loss}}))
train_cfg = dict(max_epochs=5)
