# MA-HMR network (paper Sec. 3.3, supplement 8): SAT-HMR ViT-B/14 scale-adaptive encoder with a
# camera token + FoV head, DETR-style decoder (6 layers, 50 queries), paper loss weights.
# Paths come from mahmr_paths.py.
_base_ = ['./mahmr_paths.py', './mahmr_losses.py']
input_size = 1288                      # canvas side (multiple of 56; SAT-HMR: 1288)

# SMPL-A: 10 betas + the kid-template age blend (AGORA kids, DTO-Humans children)
body_model = dict(type='SMPLBodyModel', model_path={{_base_.smpl_model_path}}, gender='neutral',
                  num_betas=10, kid_template_path={{_base_.kid_template_path}})

model = dict(
    type='MAHMR',
    input_size=input_size,
    data_preprocessor=dict(type='MAHMRDataPreprocessor'),
    backbone=dict(type='ScaleAdaptiveViT', embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0,
                  patch_size=14, map_depth=12, pos_grid=37, scale_thresh=0.5, conf_thresh=0.3,
                  use_gt_map_in_train=True, pretrained={{_base_.dinov2_path}}),
    decoder=dict(type='HumanQueryDecoder', dim=768, num_layers=6, num_heads=4, ffn_dim=2048,
                 num_queries=50, dropout=0.0, use_dn=False, dn_groups=10, box_noise_scale=0.4,
                 heads=dict(type='HumanParamHeads', num_betas=11)),
    camera_head=dict(type='FoVHead', in_dim=768, hidden_dim=768, num_layers=4, min_fov=0.08,
                     init_fov_deg=60.0),
    body_model=body_model,
    matcher=dict(type='HungarianMatcher', cost_conf=2.0, cost_box=5.0, cost_giou=2.0),
    losses={{_base_.paper_losses}},
    aux_loss=True,
    score_thresh=0.3,
    default_fov_deg=60.0)
