# The small RGB set used by configs/mahmr_small_synthetic.py (CPU smoke training):
#   python -m metric_hmr.synthetic.shards configs/synthetic/crowds_small_rgb.py
generator = dict(type='SyntheticCrowdGenerator', seed=0, image_size=(120, 160),
                 num_persons=dict(low=2, high=4), render_rgb=True)
output = dict(out_dir='data/synthetic_crowds/small', num_scenes=16, scenes_per_shard=16)
