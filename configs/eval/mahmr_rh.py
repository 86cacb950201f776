# Relative Human test set from an MA-HMR checkpoint: PCDR (depth ordering by age group), PCK.
_base_ = ['./_base_/mahmr_eval.py']
test_dataloader = dict(dataset=dict(
    type='RelativeHumanDataset', data_root='data/RelativeHuman', ann_file='test_annots.npz',
    data_prefix=dict(img_path='images'), pipeline={{_base_.eval_pipeline}}))
test_evaluator = dict(type='RelativeHumanMetric', geometry=dict(body_model={{_base_.eval_body_model}}))
