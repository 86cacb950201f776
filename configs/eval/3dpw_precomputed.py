# 3DPW test set: MPJPE / PA-MPJPE / PVE / height error (mm) of precomputed predictions.
_base_ = ['./_base_/precomputed_runtime.py']

data_root = 'data/3dpw'
ann_file = 'annots_smpl_test_genders.npz'
pred_file = 'work_dirs/predictions/3dpw_test.npz'

model = dict(type='PrecomputedPredictor', pred_file=pred_file)
test_dataloader = dict(dataset=dict(
    type='PW3DDataset', data_root=data_root, ann_file=ann_file,
    data_prefix=dict(img_path=''),
    # image sizes: FoV error and the in-view filter of MeshMetric (needs the images)
    read_image_size=True))
test_evaluator = dict(
    type='MeshMetric', prefix='3dpw', use_gt_gender=True,
    geometry=dict(body_model={{_base_.body_model}},
                  gendered_body_models={{_base_.gendered_body_models}},
                  j_regressor_h36m={{_base_.j_regressor_h36m}}))
