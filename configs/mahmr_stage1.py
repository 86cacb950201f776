# Stage 1 (paper Sec. 4.1): from SAT-HMR's released checkpoint, train on AGORA + BEDLAM +
# CameraHMR's 4D-Humans (its pGT supervises the projected 2D keypoints only) for 5 epochs with
# SAT-HMR's contrastive query denoising; no camera branch yet (ground-truth focal in training,
# SAT-HMR's FoV pi/3 at test).
#
# Shapes are SMPL-A (11 betas, kid template: body_model_smpla of mahmr_model.py) in every training
# stage, so AGORA / DTO-Humans kids train as kids.  SAT-HMR predicts 10 betas: the converter adds
# the kid-blend output as zeros (shape-head output row and bias, mean shape, dn_enc input column),
# so the converted model starts as SAT-HMR with an adult template (blend 0).
#
# load_from: SAT-HMR's checkpoint converted once with
#   python tools/convert_sat_hmr.py sat_hmr_vitb.pth data/pretrained/sat_hmr_vitb_converted.pth --num-betas 11
# (path option: sat_hmr_checkpoint in configs/_base_/mahmr_paths.py or --cfg-options load_from=...).
# It loads strictly (tools/train.py); --non-strict prints what does not match.
_base_ = ['./_base_/default_runtime.py', './_base_/mahmr_data.py', './_base_/mahmr_schedule.py']

load_from = {{_base_.sat_hmr_checkpoint}}
num_betas = 11
model = dict(
    body_model={{_base_.body_model_smpla}},
    heads=dict(num_betas=num_betas),
    camera_head=None,
    decoder=dict(dn_param_dim=72 + num_betas),  # dn_enc: pose axis-angle (72) + betas
    dn=dict(_delete_=True, dn_number=10, box_noise_scale=0.4, tgt_noise_scale=0.2),
    losses=dict(fov=None, rm=None))
train_dataloader = dict(dataset=dict(datasets=[
    {{_base_.agora_train}}, {{_base_.bedlam_train}}, {{_base_.camerahmr_train}}]))
