# MuPoTS-3D from an MA-HMR checkpoint: 3DPCK (matched / all) and MPJPE.
_base_ = ['./_base_/mahmr_eval.py']
test_dataloader = dict(dataset=dict(
    type='MuPoTSDataset', data_root='data/mupots', ann_file='mupots_annots.npz',
    data_prefix=dict(img_path='MultiPersonTestSet'), pipeline={{_base_.eval_pipeline}}))
test_evaluator = dict(
    type='MuPoTSMetric',
    geometry=dict(body_model={{_base_.eval_body_model}}, j_regressor_h36m={{_base_.j_regressor_h36m}}))
