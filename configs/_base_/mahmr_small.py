# MA-HMR architecture at tiny width/depth/resolution for CPU runs (same components as the
# full model: SAT encoder + camera token + FoV head, DAB-DETR decoder, SAT heads, paper losses).
_base_ = ['./mahmr_losses.py']
input_size = 112
model = dict(
    type='MAHMR',
    input_size=input_size,
    data_preprocessor=dict(type='MAHMRDataPreprocessor'),
    backbone=dict(type='SATEncoder', embed_dim=64, depth=4, num_heads=4, mlp_ratio=4.0, hidden_dim=64,
                  map_layers=1, conf_thresh=0.3, scale_thresh=0.5),
    decoder=dict(type='DABDecoder', d_model=64, nhead=4, num_layers=3, dim_feedforward=128, num_queries=12,
                 dn_param_dim=0),
    heads=dict(type='SATHeads', num_betas=10),
    camera_head=dict(type='FoVHead', in_dim=64, hidden_dim=64, num_layers=4, min_fov=0.08),
    # procedural SMPL-format stand-in (licensed SMPL absent); use SMPLBodyModel with real files otherwise
    body_model=dict(type='DemoSMPLBodyModel', cache_dir='work_dirs/demo_smpl'),
    matcher=dict(type='HungarianMatcher'),
    losses={{_base_.paper_losses}},
    aux_loss=True,
    score_thresh=0.3)
