# DTO-Humans generation demo: runs out of the box, no weights needed.
#
#   python tools/dto_generate.py configs/dto/dto_demo.py
#
# Input: a few synthetic scenes shipped in demo/dto_demo/ (made by demo/make_demo.py) in the
# CameraHMR release format, with precomputed relative depth (disparity) maps, so the
# detector / keypoint / depth networks are skipped.  The body model is a *procedural
# SMPL-format stand-in* (metric_hmr.testing.make_smpl_model_file, seed 0), written into
# work_dir at run time: it is not SMPL, whose files are licensed.
default_scope = 'metric_hmr'
work_dir = 'work_dirs/dto_demo'
demo_root = '{{ fileDirname }}/../../demo/dto_demo'

reader = dict(type='CameraHMRReleaseReader', release_file=demo_root + '/demo-release.npz',
              img_root=demo_root + '/images', name='demo')
stages = [
    dict(type='ReleaseIntrinsics'),                 # the release's cam_int
    dict(type='UnknownAgeGender'),                  # no age/gender model: neutral adult prior
    dict(type='PrecomputedDepth', depth_root=demo_root + '/depth', suffix='.npy',
         kind='disparity'),
    dict(type='DTOStage',
         body_model=dict(type='SMPLBodyModel', model_path=None, num_betas=10),
         dto=dict(preset='paper'), refit_shape=True),
]
procedural_smpl = dict(seed=0, with_kid_template=False)
generation = dict(
    shard_size=4,        # images per shard file (unit of resume)
    batch_size=4,        # images per stage call (network batch across images)
    progress=True,       # tqdm bar per rank
    vis_every=1,         # overlay + GLB scene for every n-th image (0: none)
    report=True,         # HTML report of the run (needs vis_every > 0)
)
