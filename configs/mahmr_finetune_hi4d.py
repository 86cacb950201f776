# Stage 4: fine-tune the stage-3 model for Hi4D on its training split (BUDDI split).
_base_ = ['./mahmr_stage3.py']

load_from = 'work_dirs/mahmr_stage3/epoch_5.pth'
hi4d_train = dict(type='Hi4DTrainDataset', data_root={{_base_.data_root}}, ann_file='hi4d/hi4d_smpl_train.npz',
                  img_prefix='hi4d/images', body_model={{_base_.body_model}}, pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset', datasets=[hi4d_train]))
train_cfg = dict(max_epochs=5)
