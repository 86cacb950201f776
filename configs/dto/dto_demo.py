# DTO-Humans generation demo: runs out of the box, no weights needed.
#
#   python tools/dto_generate.py configs/dto/dto_demo.py
#
# Input: 6 synthetic scenes shipped in demo/dto_demo/ (made by demo/make_demo.py with the
# project's synthetic-crowd generator and metric_hmr.synthetic.export_camerahmr_release):
# CameraHMR release format (the persons are HMR-like initial estimates), rendered images,
# precomputed relative depth (disparity), visible masks and simulated age / gender
# estimates, all attached by SyntheticScenesReader, so the detector / keypoint / depth /
# age networks are skipped.  The body model is a *procedural SMPL-format stand-in*
# (metric_hmr.testing.make_smpl_model_file, seed 0), written into work_dir at run time:
# it is not SMPL, whose files are licensed.
default_scope = 'metric_hmr'
work_dir = 'work_dirs/dto_demo'
demo_root = '{{ fileDirname }}/../../demo/dto_demo'

reader = dict(type='SyntheticScenesReader', scene_root=demo_root, name='demo')
stages = [
    dict(type='ReleaseIntrinsics'),                 # the release's cam_int (the estimate's focal)
    dict(type='UnknownAgeGender'),                  # only for persons without an age estimate
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
