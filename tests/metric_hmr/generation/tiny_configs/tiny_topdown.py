# A tiny randomly initialised top-down heatmap pose model (mmpose 1.x) for tests:
# ResNet-18 layout with 8 base channels, 64x64 input, 8x8 heatmaps, COCO-17 keypoints.
default_scope = 'mmpose'
codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(8, 8), sigma=2)
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, init_cfg=None),
    head=dict(type='HeatmapHead', in_channels=64, out_channels=17,
              deconv_out_channels=(16, 16), deconv_kernel_sizes=(4, 4),
              loss=dict(type='KeypointMSELoss', use_target_weight=True), decoder=codec),
    test_cfg=dict(flip_test=False))
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
test_dataloader = dict(batch_size=1, dataset=dict(type='CocoDataset', data_mode='topdown',
                                                  pipeline=test_pipeline))
