# Stage 4 for Hi4D, as MA-HMR's configs/run/hi4d_ft.yaml: the 3DPW fine-tune recipe (10 epochs,
# lr 1e-5, cosine, zoom U(1.0, 2.0), batch 32) on Hi4D's training split, with the shape loss
# off (betas 0) and FoV weight 1.  (MA-HMR starts from its stage-3 epoch_2 checkpoint.)
_base_ = ['./mahmr_finetune_3dpw.py']

# MA-HMR datasets/hi4d.py: annotations hi4d/hi4d_smpl_train.npz, images at hi4d/<key>
hi4d_train = dict(type='Hi4DTrainDataset', data_root={{_base_.data_root}}, ann_file='hi4d/hi4d_smpl_train.npz',
                  img_prefix='hi4d', body_model={{_base_.body_model}}, pipeline={{_base_.finetune_pipeline}})
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset', datasets=[hi4d_train]))

# hi4d_ft.yaml weight_dict: as 3dpw_ft.yaml except betas 0 and fov 1
model = dict(losses=dict(shape=dict(loss_weight=0.0), fov=dict(loss_weight=1.0)))
