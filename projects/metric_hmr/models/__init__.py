"""MA-HMR (paper Sec. 3.3): scale-adaptive ViT with a camera token, FoV head, DETR-style
human-query decoder, per-query heads, losses and Hungarian matcher.  See docs/mahmr.md."""
from .backbone import BackboneOutput, ScaleAdaptiveViT
from .camera_head import FoVHead
from .data_preprocessor import MAHMRDataPreprocessor
from .decoder import DecoderOutput, HumanQueryDecoder
from .demo_body import DemoSMPLBodyModel
from .heads import HumanParamHeads
from .losses import (BoxL1GIoULoss, FocalDetectionLoss, FoVLoss, InverseDepthLoss, Joints2DLoss,
                     Joints3DLoss, L1ParamLoss, RelativeMetricLoss, ScaleMapLoss, fov_loss,
                     relative_metric_loss)
from .mahmr import MAHMR
from .matcher import HungarianMatcher

__all__ = ['DemoSMPLBodyModel', 'BackboneOutput', 'ScaleAdaptiveViT', 'FoVHead', 'MAHMRDataPreprocessor', 'DecoderOutput',
           'HumanQueryDecoder', 'HumanParamHeads', 'BoxL1GIoULoss', 'FocalDetectionLoss', 'FoVLoss',
           'InverseDepthLoss', 'Joints2DLoss', 'Joints3DLoss', 'L1ParamLoss', 'RelativeMetricLoss',
           'ScaleMapLoss', 'fov_loss', 'relative_metric_loss', 'MAHMR', 'HungarianMatcher']
