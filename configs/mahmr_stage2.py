# Stage 2: add the camera branch (CLS token -> FoV head) and train 5 more epochs with the FoV
# loss on the stage-1 data (FoV supervised where the data has intrinsics: AGORA, BEDLAM and
# CameraHMR's 4D-Humans with its estimated intrinsics).  Denoising stops: the stage-1 dn_enc is
# dropped from the checkpoint, the FoV head starts fresh (both printed by tools/train.py).
_base_ = ['./mahmr_stage1.py']

load_from = 'work_dirs/mahmr_stage1/epoch_5.pth'
load_drop_prefixes = ['decoder.dn_enc.']
load_new_prefixes = ['camera_head.']
model = dict(
    camera_head=dict(_delete_=True, type='FoVHead', in_dim=768, hidden_dim=768, num_layers=4, min_fov=0.08),
    decoder=dict(dn_param_dim=0),
    dn=None,
    # MA-HMR configs/run/train_chmr_fov_continue.yaml: fov 0.5 and the absolute depth loss off
    # ('depths': 0.) while the new FoV head learns (the paper only says "with FoV loss")
    losses=dict(fov=dict(_delete_=True, type='FoVLoss', loss_weight=0.5, over_weight=3.0), rm=None,
                depth=dict(loss_weight=0.0)))
