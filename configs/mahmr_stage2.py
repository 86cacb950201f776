# Stage 2: add the camera branch (camera token -> FoV head) and train 5 more epochs with the
# FoV loss on the stage-1 data.
_base_ = ['./mahmr_stage1.py']

load_from = 'work_dirs/mahmr_stage1/epoch_5.pth'
model = dict(
    camera_head=dict(_delete_=True, type='FoVHead', in_dim=768, hidden_dim=768, num_layers=4, min_fov=0.08, init_fov_deg=60.0),
    decoder=dict(use_dn=False),
    losses=dict(fov=dict(_delete_=True, type='FoVLoss', loss_weight=0.5, over_weight=3.0), rm=None))
