"""MA-HMR (paper Sec. 3.3) = SAT-HMR's network (scale-adaptive DINOv2 encoder, DAB-DETR decoder,
per-layer heads, contrastive denoising) + the FoV camera branch; losses and matcher.
See docs/mahmr.md and tools/convert_sat_hmr.py."""

from __future__ import annotations

from .boxes import box_cxcywh_to_xyxy, box_xyxy_to_cxcywh, generalized_box_iou, inverse_sigmoid
from .camera_head import FoVHead
from .dab_decoder import DABDecoder, DABDecoderLayer
from .data_preprocessor import MAHMRDataPreprocessor
from .demo_body import DemoSMPLBodyModel
from .denoising import DenoisingMeta, build_denoising_queries
from .dinov2 import DinoBlock
from .heads import SATHeads, cam_to_transl, load_smpl_mean_params
from .losses import (BoxL1GIoULoss, FocalDetectionLoss, FoVLoss, InverseDepthLoss, Joints2DLoss, OrdinalDepthLoss,
                     Joints3DLoss, L1ParamLoss, RelativeMetricLoss, ScaleMapLoss, fov_loss,
                     relative_metric_loss)
from .mahmr import MAHMR
from .matcher import HungarianMatcher
from .mlp import MLP
from .sat_encoder import SATEncoder, SATEncoderOutput, build_z_map, position_encoding_xy

__all__ = ['box_cxcywh_to_xyxy', 'box_xyxy_to_cxcywh', 'generalized_box_iou', 'inverse_sigmoid', 'FoVHead',
           'DABDecoder', 'DABDecoderLayer', 'MAHMRDataPreprocessor', 'DemoSMPLBodyModel', 'DenoisingMeta',
           'build_denoising_queries', 'DinoBlock', 'SATHeads', 'cam_to_transl', 'load_smpl_mean_params',
           'BoxL1GIoULoss', 'FocalDetectionLoss', 'FoVLoss', 'InverseDepthLoss', 'Joints2DLoss', 'Joints3DLoss',
           'L1ParamLoss', 'OrdinalDepthLoss', 'RelativeMetricLoss', 'ScaleMapLoss', 'fov_loss', 'relative_metric_loss', 'MAHMR',
           'HungarianMatcher', 'MLP', 'SATEncoder', 'SATEncoderOutput', 'build_z_map', 'position_encoding_xy']
