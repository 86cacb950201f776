# CMU Panoptic: MPJPE (mm) per sequence and mean of precomputed predictions.
_base_ = ['./_base_/precomputed_runtime.py']

data_root = 'data/cmu_panoptic'
ann_file = 'annots_test.npz'
pred_file = 'work_dirs/predictions/panoptic_test.npz'

model = dict(type='PrecomputedPredictor', pred_file=pred_file)
test_dataloader = dict(dataset=dict(
    type='PanopticDataset', data_root=data_root, ann_file=ann_file,
    data_prefix=dict(img_path='images')))
test_evaluator = dict(
    type='PanopticMetric',
    geometry=dict(body_model={{_base_.body_model}},
                  j_regressor_h36m={{_base_.j_regressor_h36m}}))
