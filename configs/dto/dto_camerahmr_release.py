# DTO-Humans generation on a CameraHMR release, as the authors' released generator does it
# (docs/dto_generate.md, "Released algorithm"; method.md §2).
#
#   python tools/dto_generate.py configs/dto/dto_camerahmr_release.py \
#       --cfg-options reader.release_file=data/insta/insta1-release.npz \
#                     reader.img_root=data/insta/images/insta-train reader.name=insta1
#   bash tools/dist_dto_generate.sh configs/dto/dto_camerahmr_release.py 8
#
# Every network comes from a LOCAL path (nothing is downloaded); put them under
# checkpoints/ or override the paths:
#   * detector: an mmdet instance-segmentation model, by model-zoo name (its config comes
#     from the installed mmdet) + a local checkpoint.  The authors used Detectron2's ViTDet
#     cascade Mask R-CNN; the closest mmdet model-zoo entry is the cascade Mask R-CNN below;
#   * keypoints: ViTPose-B "simple" (the authors' usyd-community/vitpose-base-simple) by
#     model-zoo name + a local checkpoint;
#   * age / gender: MiVOLO v2 saved with save_pretrained.  Its model code ships inside the
#     folder (remote code), so it runs only after you opt in: trust_remote_code=True on the
#     HFAgeGender stage below, or --cfg-options stages.5.trust_remote_code=True (only for a
#     folder you trust).  The default False refuses such a folder with a one-line error;
#     a plain age/gender classifier folder needs no opt-in;
#   * depth: a Depth Anything v2 (large) folder saved with transformers' save_pretrained;
#   * body model: SMPL (licensed, data/body_models/smpl) + the SMPL-A kid template.
#
# Paper behaviour instead of the released one: dto=dict(preset='paper') and
# KeypointMatching(unmatched_persons='keep', assignment='best_first', nms='oks').
# Ablations: dto=dict(preset='released', gender_prior=False) is Table 8's D';
# dto=dict(preset='released', use_X=False) is Table 6's "+D without X".
default_scope = 'metric_hmr'
work_dir = 'work_dirs/dto_camerahmr_release'
ckpt = 'checkpoints'

reader = dict(type='CameraHMRReleaseReader', release_file='data/insta/insta1-release.npz',
              img_root='data/insta/images/insta-train', name='insta1')
stages = [
    # known intrinsics first, if you have them (they replace cam_int and move the release's
    # persons to the new focal; docs/dto_generate.md, "Known intrinsics"):
    # dict(type='IntrinsicsFile', path='data/insta/intrinsics.json'),  # or dict(type='ExifIntrinsics'),
    dict(type='ReleaseIntrinsics'),
    dict(type='MMDetPersonDetector', config='cascade-mask-rcnn_x101-64x4d_fpn_ms-3x_coco',
         checkpoint=ckpt + '/cascade_mask_rcnn_x101_64x4d_fpn_mstrain_3x_coco.pth',
         score_thr=0.5, nms_thr=0.7, batch_size=8),
    dict(type='MMPoseTopDown', config='td-hm_ViTPose-base-simple_8xb64-210e_coco-256x192',
         checkpoint=ckpt + '/td-hm_ViTPose-base-simple_8xb64-210e_coco-256x192.pth',
         masked_crops=True, batch_size=64),
    # released matching: J19 body joints, detections in order, distance keypoint NMS,
    # release persons without a detection dropped (dto_framework.py 322-411)
    dict(type='KeypointMatching', kpt_thr=0.5, min_visible=5, head_factor=0.6, nms='distance',
         dist_ratio=1 / 8, body_joints='j19', assignment='detection_order',
         unmatched_persons='drop'),
    # unmatched detections need a fresh HMR estimate; none configured -> dropped and counted.
    # dict(type='TorchScriptInitialHMR', model_path=ckpt + '/hmr.pt'),
    # with an HMR, its persons pass the released second-stage keypoint check:
    # dict(type='HMRKeypointCheck', body_model=dict(type='SMPLBodyModel',
    #                                               model_path='data/body_models/smpl')),
    dict(type='NoInitialHMR'),
    dict(type='HFAgeGender', model_dir=ckpt + '/mivolo_v2', kind='mivolo',
         trust_remote_code=False,  # opt in for MiVOLO v2's own code: see the header
         flip_average=True, missing_face='none', batch_size=64),
    dict(type='DepthAnythingDepth', model_dir=ckpt + '/depth-anything-v2-large-hf',
         input_size=518, batch_size=8),
    dict(type='DTOStage',
         body_model=dict(type='SMPLBodyModel', model_path='data/body_models/smpl',
                         kid_template_path='data/body_models/smpl_kid_template.npy'),
         dto=dict(preset='released')),
]
generation = dict(shard_size=256, batch_size=16, progress=True, vis_every=2000, report=True,
                  torch_threads=1)
