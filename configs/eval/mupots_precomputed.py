# MuPoTS-3D: 3D-PCK@150mm (All / Match) and MPJPE of precomputed predictions.
_base_ = ['./_base_/precomputed_runtime.py']

data_root = 'data/mupots'
ann_file = 'mupots_annots.npz'
pred_file = 'work_dirs/predictions/mupots.npz'

model = dict(type='PrecomputedPredictor', pred_file=pred_file)
test_dataloader = dict(dataset=dict(
    type='MuPoTSDataset', data_root=data_root, ann_file=ann_file,
    data_prefix=dict(img_path='MultiPersonTestSet')))
test_evaluator = dict(
    type='MuPoTSMetric',
    geometry=dict(body_model={{_base_.body_model}},
                  j_regressor_h36m={{_base_.j_regressor_h36m}}))
