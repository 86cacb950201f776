# Local paths of every MA-HMR config (nothing is downloaded).  Edit here, or override the
# nested keys on the command line (the values below are substituted when a config loads):
#   --cfg-options model.body_model.model_path=... model.backbone.pretrained=... load_from=...
data_root = 'data'
smpl_model_path = 'data/body_models/smpl'                      # folder with SMPL_NEUTRAL.pkl (or the .pkl)
kid_template_path = 'data/body_models/smpl_kid_template.npy'  # SMPL-A kid template (11th beta)
dinov2_path = 'data/pretrained/dinov2_vitb14_pretrain.pth'    # DINOv2 ViT-B/14 (hub naming or HF)
smpl_mean_params_path = None                                  # SAT-HMR's smpl_mean_params.npz (None: identity/zero)
sat_hmr_checkpoint = 'data/pretrained/sat_hmr_vitb_converted.pth'  # tools/convert_sat_hmr.py --num-betas 11 output
