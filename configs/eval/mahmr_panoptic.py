# CMU Panoptic (haggling, mafia, ultimatum, pizza) from an MA-HMR checkpoint: MPJPE per sequence.
_base_ = ['./_base_/mahmr_eval.py']
test_dataloader = dict(dataset=dict(
    type='PanopticDataset', data_root='data/cmu_panoptic', ann_file='annots_test.npz',
    data_prefix=dict(img_path='images'), pipeline={{_base_.eval_pipeline}}))
test_evaluator = dict(
    type='PanopticMetric',
    geometry=dict(body_model={{_base_.eval_body_model}}, j_regressor_h36m={{_base_.j_regressor_h36m}}))
