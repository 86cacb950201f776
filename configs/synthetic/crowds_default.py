# Synthetic crowds with the default generator (Anny bodies, 1-20 persons of all ages,
# groups layout, relative depth at severity 1):
#   python -m metric_hmr.synthetic.shards configs/synthetic/crowds_default.py
# Every key of metric_hmr.synthetic.generator.DEFAULT_CONFIG can be overridden here.
generator = dict(
    type='SyntheticCrowdGenerator',
    seed=0,
    image_size=(480, 640),
    num_persons=dict(low=1, high=20),
    age_range=(0.0, 80.0),
    p_male=0.5,
    pose_weights=None,                     # dict(standing=.., walking=.., sitting=.., crouching=..)
    camera=dict(height_range=(1.0, 4.0), pitch_deg_range=(0.0, 25.0), vfov_deg_range=(30.0, 90.0)),
    layout='groups',
    severity=1.0,
    render_rgb=True,
)
output = dict(out_dir='data/synthetic_crowds/default', num_scenes=1000, scenes_per_shard=50)
