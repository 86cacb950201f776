# MA-HMR training losses with the paper's weights (supplement 8.3): map 4.0, depth 0.5, pose 5.0,
# shape 3.0, j3d 8.0, j2d 40.0, box 2.0 (L1 and GIoU), det 1.0, fov 0.5, rm 0.5.  The ONE place
# of the loss weights (model defaults only mirror them).  Each loss is normalised as in SAT-HMR's
# criterion (models/losses.py), so the lambdas mean what they meant there: per person the mean
# over its elements, summed over persons / number of persons; detection the mean over queries.
# Per-beta shape weights are SAT-HMR's (2.56, 1.28, 0.64, 0.64, 0.32 x 6); the 11th (SMPL-A
# age blend) 10.0 as MA-HMR's criterion with use_kid (models/criterion.py betas_weight).
beta_weights = [2.56, 1.28, 0.64, 0.64, 0.32, 0.32, 0.32, 0.32, 0.32, 0.32, 10.0]
paper_losses = dict(
    map=dict(type='ScaleMapLoss', loss_weight=4.0),
    depth=dict(type='InverseDepthLoss', loss_weight=0.5),
    pose=dict(type='L1ParamLoss', loss_weight=5.0),
    shape=dict(type='L1ParamLoss', loss_weight=3.0, element_weight=beta_weights),
    j3d=dict(type='Joints3DLoss', loss_weight=8.0),
    j2d=dict(type='Joints2DLoss', loss_weight=40.0),
    box=dict(type='BoxL1GIoULoss', loss_weight=2.0),
    det=dict(type='FocalDetectionLoss', loss_weight=1.0),
    fov=dict(type='FoVLoss', loss_weight=0.5, over_weight=3.0),   # 3x on FoV over-estimation
    rm=dict(type='RelativeMetricLoss', loss_weight=0.5, tau=1.0))
# Relative Human fine-tune only: ordinal depth-layer loss on the translation depth of matched
# persons (models/losses.py ordinal_depth_loss); weight 0.5 as 'depths_re' in MA-HMR's
# configs/run/rh_ft.yaml (the paper gives none).
ordinal_loss = dict(type='OrdinalDepthLoss', loss_weight=0.5)
