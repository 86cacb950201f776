# DTO-Humans generation on a CameraHMR release (method.md §2): full pipeline.
#
#   python tools/dto_generate.py configs/dto/dto_camerahmr_release.py \
#       --cfg-options reader.release_file=data/camerahmr/coco-release.npz \
#                     reader.img_root=data/coco/train2017 reader.name=coco
#   bash tools/dist_dto_generate.sh configs/dto/dto_camerahmr_release.py 8
#
# Every network comes from a LOCAL path (nothing is downloaded); put them under
# checkpoints/ or override the paths:
#   * detector: an mmdet instance-segmentation config + checkpoint (e.g. Mask R-CNN);
#   * keypoints: an mmpose top-down config + checkpoint (e.g. ViTPose-H, COCO-17);
#   * depth: a Depth Anything v2 folder saved with transformers' save_pretrained;
#   * body model: SMPL (licensed, data/body_models/smpl) + the SMPL-A kid template.
default_scope = 'metric_hmr'
work_dir = 'work_dirs/dto_camerahmr_release'
ckpt = 'checkpoints'

reader = dict(type='CameraHMRReleaseReader', release_file='data/camerahmr/coco-release.npz',
              img_root='data/coco/train2017', name='coco')
stages = [
    dict(type='ReleaseIntrinsics'),
    dict(type='MMDetPersonDetector', config=ckpt + '/mask-rcnn_r50_fpn_2x_coco.py',
         checkpoint=ckpt + '/mask_rcnn_r50_fpn_2x_coco.pth', score_thr=0.5, nms_thr=0.7,
         batch_size=8),
    dict(type='MMPoseTopDown', config=ckpt + '/td-hm_ViTPose-huge_8xb64-210e_coco-256x192.py',
         checkpoint=ckpt + '/td-hm_ViTPose-huge_8xb64-210e_coco-256x192.pth', masked_crops=True,
         batch_size=64),
    dict(type='KeypointMatching', kpt_thr=0.5, min_visible=5, oks_nms_thr=0.9, head_factor=0.6),
    # unmatched detections need a fresh HMR estimate; none configured -> dropped and counted.
    # dict(type='TorchScriptInitialHMR', model_path=ckpt + '/hmr.pt'),
    dict(type='NoInitialHMR'),
    # an age/gender network exported to TorchScript ((B,3,S,S) -> (B,2) [years, P(male)]):
    # dict(type='TorchScriptAgeGender', model_path=ckpt + '/age_gender.pt'),
    dict(type='UnknownAgeGender'),
    dict(type='DepthAnythingDepth', model_dir=ckpt + '/depth-anything-v2-large-hf',
         input_size=518, batch_size=8),
    dict(type='DTOStage',
         body_model=dict(type='SMPLBodyModel', model_path='data/body_models/smpl',
                         kid_template_path='data/body_models/smpl_kid_template.npy'),
         dto=dict(preset='paper')),
]
generation = dict(shard_size=256, batch_size=16, progress=True, vis_every=2000, report=True,
                  torch_threads=1)
