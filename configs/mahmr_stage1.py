# Stage 1 (paper Sec. 4.1): from the SAT-HMR stage-1 checkpoint, train on AGORA + BEDLAM +
# CameraHMR's 4D-Humans (its pGT supervises the projected 2D keypoints only) for 5 epochs
# with query denoising; no camera branch yet (ground-truth focal for training, 60 deg at test).
_base_ = ['./_base_/default_runtime.py', './_base_/mahmr_data.py', './_base_/mahmr_schedule.py']

# The paper starts from SAT-HMR's stage-1 checkpoint.  A checkpoint of this project's MAHMR
# (same parameter names) can be given here; SAT-HMR release files use their own key names and
# would need a key conversion first (not provided), so the default starts from DINOv2
# (model.backbone.pretrained).
load_from = None
model = dict(
    camera_head=None,
    decoder=dict(use_dn=True),
    losses=dict(fov=None, rm=None))
train_dataloader = dict(dataset=dict(datasets=[
    {{_base_.agora_train}}, {{_base_.bedlam_train}}, {{_base_.camerahmr_train}}]))
