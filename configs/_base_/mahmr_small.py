# MA-HMR architecture at tiny width/depth/resolution for CPU runs (same components as the
# full model: scale-adaptive ViT + camera token + FoV head, DETR decoder, paper loss weights).
_base_ = ['./mahmr_losses.py']
input_size = 112
model = dict(
    type='MAHMR',
    input_size=input_size,
    data_preprocessor=dict(type='MAHMRDataPreprocessor'),
    backbone=dict(type='ScaleAdaptiveViT', embed_dim=64, depth=3, num_heads=4, mlp_ratio=4.0, patch_size=14,
                  map_depth=1, pos_grid=8, scale_thresh=0.5, conf_thresh=0.3, use_gt_map_in_train=True,
                  pretrained=None),
    decoder=dict(type='HumanQueryDecoder', dim=64, num_layers=3, num_heads=4, ffn_dim=128, num_queries=12,
                 dropout=0.0, use_dn=False, heads=dict(type='HumanParamHeads', num_betas=10)),
    camera_head=dict(type='FoVHead', in_dim=64, hidden_dim=64, num_layers=4, min_fov=0.08, init_fov_deg=60.0),
    # procedural SMPL-format stand-in (licensed SMPL absent); use SMPLBodyModel with real files otherwise
    body_model=dict(type='DemoSMPLBodyModel', cache_dir='work_dirs/demo_smpl'),
    matcher=dict(type='HungarianMatcher'),
    losses={{_base_.paper_losses}},
    aux_loss=True,
    score_thresh=0.3)
