# SMPL-format bodies (persons keep SMPL parameters), e.g. for a CameraHMR-release-format
# export with metric_hmr.synthetic.export_camerahmr_release.  The SMPL file is licensed:
# point model_path at SMPL_NEUTRAL.pkl, or at a test model written by
# metric_hmr.testing.make_smpl_model_file.
smpl_model_path = 'data/body_models/smpl/SMPL_NEUTRAL.pkl'
generator = dict(type='SyntheticCrowdGenerator', seed=0, image_size=(480, 640),
                 num_persons=dict(low=2, high=8), render_rgb=True,
                 body_model=dict(type='SMPLBodyModel', model_path=smpl_model_path))
output = dict(out_dir='data/synthetic_crowds/smpl', num_scenes=100, scenes_per_shard=50)
