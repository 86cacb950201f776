# MA-HMR network (paper Sec. 3.3) = SAT-HMR ViT-B (configs/models/default.yaml of ChiSu001/SAT-HMR:
# input 1288, patch 14, 3 token levels, scale threshold 0.5, confidence 0.3, 6 decoder layers,
# hidden 768, 4 heads, FFN 2048, 50 queries) + the camera branch MLP(768, 768, 1, 4) on the CLS
# token.  Paths come from mahmr_paths.py, loss weights from mahmr_losses.py.
_base_ = ['./mahmr_paths.py', './mahmr_losses.py']
input_size = 1288                      # long side of the network input (multiple of 56)
num_betas = 10                         # 11 with the SMPL-A kid template (see body_model_smpla)

# SAT-HMR's body model (10 betas): the evaluation configs and the SAT-HMR-equivalent network.
body_model = dict(type='SMPLBodyModel', model_path={{_base_.smpl_model_path}}, gender='neutral',
                  num_betas=10, kid_template_path=None)
# SMPL-A (11 betas, last = kid-template blend): training (configs/mahmr_stage*.py), so that
# DTO-Humans / AGORA kids keep their age blend (a 10-beta model refuses such shapes).
body_model_smpla = dict(type='SMPLBodyModel', model_path={{_base_.smpl_model_path}}, gender='neutral',
                        num_betas=11, kid_template_path={{_base_.kid_template_path}})

model = dict(
    type='MAHMR',
    input_size=input_size,
    data_preprocessor=dict(type='MAHMRDataPreprocessor'),
    backbone=dict(type='SATEncoder', embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, hidden_dim=768,
                  map_layers=3, conf_thresh=0.3, scale_thresh=0.5),
    decoder=dict(type='DABDecoder', d_model=768, nhead=4, num_layers=6, dim_feedforward=2048, num_queries=50,
                 dn_param_dim=0),
    heads=dict(type='SATHeads', num_betas=num_betas, mean_params={{_base_.smpl_mean_params_path}}),
    camera_head=dict(type='FoVHead', in_dim=768, hidden_dim=768, num_layers=4, min_fov=0.08),
    dn=None,
    sat_use_gt_map=False,
    body_model=body_model,
    matcher=dict(type='HungarianMatcher', cost_conf=1.0, cost_box=1.0, cost_giou=1.0, cost_kpts=20.0),  # SAT-HMR
    losses={{_base_.paper_losses}},
    aux_loss=True,
    score_thresh=0.3)
