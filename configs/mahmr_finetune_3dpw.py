# Stage 4 (paper Sec. 4.1): fine-tune the stage-3 model for the 3DPW benchmark on the 3DPW
# training split (the paper follows Multi-HMR / SAT-HMR / BEV; epochs are not given there).
_base_ = ['./mahmr_stage3.py']

load_from = 'work_dirs/mahmr_stage3/epoch_5.pth'
threedpw_train = dict(type='ThreeDPWTrainDataset', data_root={{_base_.data_root}},
                      ann_file='3dpw/annots_smpl_train_genders.npz', img_prefix='3dpw/imageFiles',
                      body_model={{_base_.body_model}}, pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset', datasets=[threedpw_train]))
train_cfg = dict(max_epochs=5)
