# DTO generation on a plain image folder: every person comes from detection + initial HMR.
#
#   python tools/dto_generate.py configs/dto/dto_image_folder.py \
#       --cfg-options reader.img_root=path/to/images
#
# Without an HMR model every detection is dropped (and counted), so TorchScriptInitialHMR
# is configured: a TorchScript network (B,3,S,S) masked crops -> (B,85) [pose 72, betas 10,
# weak-perspective camera s, tx, ty].  Intrinsics: a fixed vertical FoV unless an estimator
# is configured (FoVEstimatorIntrinsics with a TorchScript model).  Local paths only.
default_scope = 'metric_hmr'
work_dir = 'work_dirs/dto_image_folder'
ckpt = 'checkpoints'
reader = dict(type='ImageFolderReader', img_root='data/images', name='images')
stages = [
    # known intrinsics first, if you have them; the fixed FoV then fills only the others:
    # dict(type='ExifIntrinsics'),  # or dict(type='IntrinsicsFile', path='data/intrinsics.json'),
    dict(type='FixedFoVIntrinsics', fov_deg=60.0),
    dict(type='MMDetPersonDetector', config=ckpt + '/mask-rcnn_r50_fpn_2x_coco.py',
         checkpoint=ckpt + '/mask_rcnn_r50_fpn_2x_coco.pth', score_thr=0.5, nms_thr=0.7,
         batch_size=8),
    dict(type='MMPoseTopDown', config=ckpt + '/td-hm_ViTPose-huge_8xb64-210e_coco-256x192.py',
         checkpoint=ckpt + '/td-hm_ViTPose-huge_8xb64-210e_coco-256x192.pth', batch_size=64),
    dict(type='KeypointMatching', kpt_thr=0.5, min_visible=5, oks_nms_thr=0.9),
    dict(type='TorchScriptInitialHMR', model_path=ckpt + '/hmr.pt', crop_size=256),
    dict(type='UnknownAgeGender'),
    dict(type='DepthAnythingDepth', model_dir=ckpt + '/depth-anything-v2-large-hf', batch_size=8),
    dict(type='DTOStage',
         body_model=dict(type='SMPLBodyModel', model_path='data/body_models/smpl',
                         kid_template_path='data/body_models/smpl_kid_template.npy'),
         dto=dict(preset='paper')),
]
generation = dict(shard_size=256, batch_size=16, progress=True, vis_every=2000, report=True,
                  torch_threads=1)
