# Stage 3: AGORA + BEDLAM + DTO-Humans with the full loss (FoV + relative metric), 5 epochs.
_base_ = ['./_base_/default_runtime.py', './_base_/mahmr_data.py', './_base_/mahmr_schedule.py']

load_from = 'work_dirs/mahmr_stage2/epoch_5.pth'
# SMPL-A shapes (11 betas + kid template) as in stages 1-2: DTO-Humans kids keep their age blend.
model = dict(body_model={{_base_.body_model_smpla}}, heads=dict(num_betas=11))
