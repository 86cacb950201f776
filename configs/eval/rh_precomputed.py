# Relative Human test set: PCDR_0.2 (all / per age), PCK, detection P/R/F1 of
# precomputed predictions (e.g. CameraHMR).  See docs/evaluation.md.
_base_ = ['./_base_/precomputed_runtime.py']

data_root = 'data/RelativeHuman'
ann_file = 'test_annots.npz'
pred_file = 'work_dirs/predictions/rh_test.npz'

model = dict(type='PrecomputedPredictor', pred_file=pred_file)
test_dataloader = dict(dataset=dict(
    type='RelativeHumanDataset', data_root=data_root, ann_file=ann_file,
    data_prefix=dict(img_path='images')))
test_evaluator = dict(
    type='RelativeHumanMetric',
    geometry=dict(body_model={{_base_.body_model}}))
