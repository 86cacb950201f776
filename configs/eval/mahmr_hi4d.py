# Hi4D test set from an MA-HMR checkpoint: MPJPE / PA-MPJPE / PVE / height, focal and FoV errors.
_base_ = ['./_base_/mahmr_eval.py']
test_dataloader = dict(dataset=dict(
    type='Hi4DDataset', data_root='data/hi4d', ann_file='hi4d_smpl_test.npz',
    data_prefix=dict(img_path=''), read_image_size=True, pipeline={{_base_.eval_pipeline}}))
test_evaluator = dict(
    type='MeshMetric', prefix='hi4d', use_gt_gender=True,
    geometry=dict(body_model={{_base_.eval_body_model}}, gendered_body_models={{_base_.eval_gendered_body_models}},
                  j_regressor_h36m={{_base_.j_regressor_h36m}}))
