"""Relative depth: Depth Anything v2 (transformers, local directory) or precomputed files.

Depth Anything outputs affine-invariant *inverse* depth (disparity); maps are stored with
``state.depth_kind = 'disparity'`` and converted by the DTO engine (method.md §1).
Non-finite pixels are kept as NaN: DTO masks them.  Files are read by the one depth-file
reader, :func:`metric_hmr.dto.depth_map.load_depth_map` (``aspect_mismatch`` lives there too).
"""
from __future__ import annotations

import math
import os
from collections import defaultdict
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..dto.depth_map import DepthFileError, aspect_mismatch, load_depth_map
from ..registry import DTO_STAGES
from .stage_base import BaseStage, resolve_device
from .state import ImageState

__all__ = ['IMAGENET_MEAN', 'IMAGENET_STD', 'depth_input_size', 'DepthAnythingDepth',
           'aspect_mismatch', 'load_depth_file', 'PrecomputedDepth']

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def depth_input_size(h: int, w: int, size: int = 518, multiple: int = 14):
    """Network input size of Depth Anything: aspect kept, both sides >= ``size``, rounded up
    to a multiple of the patch size.  Returns (h', w')."""
    scale = size / min(h, w)
    return (int(math.ceil(h * scale / multiple) * multiple),
            int(math.ceil(w * scale / multiple) * multiple))


@DTO_STAGES.register_module()
class DepthAnythingDepth(BaseStage):
    """Depth Anything v2 from a local ``save_pretrained`` directory (no download).

    Images whose network input size agrees are batched together (up to ``batch_size``).
    ``output_size='network'`` keeps the map at the network's resolution (DTO resamples it
    to its raster anyway, which saves an upsampling and memory); 'image' resizes it to
    the image size.
    """
    name = 'depth'
    needs_pixels = True

    def __init__(self, model_dir: str, input_size: int = 518, batch_size: int = 4,
                 device: Optional[str] = None, dtype: str = 'float32',
                 output_size: str = 'network'):
        if output_size not in ('network', 'image'):
            raise ValueError(f"output_size must be 'network' or 'image', got {output_size!r}")
        self.output_size = output_size
        from transformers import AutoModelForDepthEstimation
        if not os.path.isdir(model_dir):
            raise FileNotFoundError(f'Depth Anything model directory not found: {model_dir}')
        self.device = resolve_device(device)
        self.dtype = getattr(torch, dtype)
        self.model = AutoModelForDepthEstimation.from_pretrained(
            model_dir, local_files_only=True).to(self.device, self.dtype).eval()
        self.input_size, self.batch_size = input_size, batch_size
        self.multiple = int(getattr(getattr(self.model.config, 'backbone_config', None),
                                    'patch_size', 14) or 14)

    def needs(self, state: ImageState) -> bool:
        return state.depth is None

    @torch.no_grad()
    def process(self, states: List[ImageState]) -> None:
        groups = defaultdict(list)
        for s in states:
            h, w = s.image().shape[:2]
            groups[depth_input_size(h, w, self.input_size, self.multiple)].append(s)
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        for size, group in groups.items():
            for i in range(0, len(group), self.batch_size):
                chunk = group[i:i + self.batch_size]
                x = torch.stack([torch.from_numpy(s.image()).permute(2, 0, 1) for s in chunk]) \
                    if len({s.image().shape for s in chunk}) == 1 else None
                if x is not None:
                    x = F.interpolate(x.to(self.device).float() / 255.0, size=size, mode='bicubic',
                                      align_corners=False)
                else:  # same network size, different image sizes
                    x = torch.cat([F.interpolate(torch.from_numpy(s.image()).permute(2, 0, 1)[None]
                                                 .to(self.device).float() / 255.0, size=size,
                                                 mode='bicubic', align_corners=False) for s in chunk])
                x = ((x.clamp(0, 1) - mean) / std).to(self.dtype)
                pred = self.model(pixel_values=x).predicted_depth.float()   # (B,h,w) disparity
                for s, p in zip(chunk, pred):
                    if self.output_size == 'image':
                        p = F.interpolate(p[None, None], size=s.image().shape[:2], mode='bilinear',
                                          align_corners=False)[0, 0]
                    s.depth = p.cpu().numpy().astype(np.float32)
                    s.depth_kind = 'disparity'


def load_depth_file(path: str, key: Optional[str], image_hw, tolerance: float):
    """(depth (H,W) float32, '') from a depth file (:func:`metric_hmr.dto.depth_map.load_depth_map`),
    or (None, reason) for a missing, unreadable or wrong-shape file (the reason names the
    file and the shape)."""
    try:
        d = np.asarray(load_depth_map(path, key), np.float32)
    except FileNotFoundError:
        return None, f'missing_depth: {path}'
    except DepthFileError as e:
        return None, f'{e.reason}: {e}'
    if aspect_mismatch(d.shape, image_hw, tolerance):
        return None, (f'bad_depth_shape: {path}: shape {d.shape} has another aspect ratio than the '
                      f'image {tuple(image_hw)} (tolerance {tolerance:.0%})')
    return d, ''


@DTO_STAGES.register_module()
class PrecomputedDepth(BaseStage):
    """Depth maps from files ``<depth_root>/<img_id without extension><suffix>``.

    ``.npy`` holds an (H,W) float array; ``.npz`` its first array (or ``key``).  ``kind`` is
    'disparity' (Depth Anything output) or 'depth'.  A missing, unreadable or wrong-shape
    file skips the image (reason ``missing_depth`` / ``corrupt_depth`` / ``bad_depth_shape``
    with the file and shape); maps are resampled only when their aspect ratio is within
    ``aspect_tolerance`` of the image's.
    """
    name = 'depth'

    def __init__(self, depth_root: str, suffix: str = '.npy', kind: str = 'disparity',
                 key: Optional[str] = None, aspect_tolerance: float = 0.03):
        if kind not in ('disparity', 'depth'):
            raise ValueError(f"PrecomputedDepth.kind must be 'disparity' or 'depth', got {kind!r}")
        self.root, self.suffix, self.kind, self.key = depth_root, suffix, kind, key
        self.aspect_tolerance = float(aspect_tolerance)

    def needs(self, state: ImageState) -> bool:
        return state.depth is None

    def path(self, img_id: str) -> str:
        return os.path.join(self.root, os.path.splitext(img_id)[0] + self.suffix)

    def input_files(self, img_id: str) -> List[str]:
        return [self.path(img_id)]

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            d, reason = load_depth_file(self.path(s.img_id), self.key, s.ori_shape,
                                        self.aspect_tolerance)
            if d is None:
                s.skip(reason)
                continue
            s.depth, s.depth_kind = d, self.kind
