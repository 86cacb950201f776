"""Person detection + instance masks (mmdet) and 2D keypoints (mmpose top-down).

Both networks are built from a model config and a *local* checkpoint path (nothing is
downloaded) and run batched across the images of a chunk.  The config is a file path, a
Config/dict, or a model-zoo name (e.g. ``'cascade-mask-rcnn_x101-64x4d_fpn_ms-3x_coco'``,
``'td-hm_ViTPose-base-simple_8xb64-210e_coco-256x192'``) looked up, as the OpenMMLab
inferencers do, in the model index bundled with the installed package
(:func:`resolve_model_config`).  OpenMMLab pipelines expect BGR pixels (as read by
OpenCV); :class:`ImageState` holds RGB, so channels are flipped here.
"""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..registry import DTO_STAGES
from .stage_base import BaseStage, resolve_device, weights_only_loads
from .state import Detections, ImageState


__all__ = ['MMDetPersonDetector', 'MMPoseTopDown', 'resolve_model_config', 'check_local_checkpoint']


def resolve_model_config(config, scope: str) -> Tuple[object, Optional[str]]:
    """(config usable by init_detector / init_model, zoo weights URL or None).

    ``config``: a Config / dict (returned as is), an existing config file, or a model name
    (or alias) of the model index of the installed ``scope`` package ('mmdet' / 'mmpose'),
    read through mmengine's ``BaseInferencer`` metafile helpers.  The URL is only reported
    (weights are never downloaded here).
    """
    if not isinstance(config, str):
        return config, None
    if os.path.isfile(config):
        return config, None
    from mmengine.infer import BaseInferencer
    root = BaseInferencer._get_repo_or_mim_dir(scope)
    name = config.lower()
    for m in BaseInferencer._get_models_from_metafile(root):
        aliases = m.get('Alias', [])
        aliases = [aliases] if isinstance(aliases, str) else list(aliases)
        if name == m['Name'].lower() or name in (a.lower() for a in aliases):
            weights = m.get('Weights')
            weights = weights[0] if isinstance(weights, list) else weights
            return os.path.join(root, m['Config']), weights
    raise FileNotFoundError(f'{scope} model config {config!r} is neither a file nor a model name '
                            f'of the installed {scope} model index ({root}/model-index.yml)')


def check_local_checkpoint(checkpoint: Optional[str], zoo_url: Optional[str], what: str) -> None:
    """Weights come from a local file only; a URL or a missing file is an error naming it."""
    if checkpoint is None:
        return
    if '://' in str(checkpoint) or not os.path.isfile(checkpoint):
        hint = f' (download {zoo_url} yourself and pass its local path)' if zoo_url else ''
        raise FileNotFoundError(f'{what}: checkpoint must be a local file, got {checkpoint!r}{hint}')


def _chunks(seq, n):
    for i in range(0, len(seq), max(int(n), 1)):
        yield seq[i:i + n]


@DTO_STAGES.register_module()
class MMDetPersonDetector(BaseStage):
    """Persons + instance masks with an mmdet instance-segmentation model (e.g. Mask R-CNN).

    Args:
        config: mmdet model config file, Config / dict, or model-zoo name.
        checkpoint: local checkpoint path (None = random init, only for tests).
        score_thr: keep detections scoring >= this (method.md §2: 0.5).
        nms_thr: class-agnostic box NMS IoU threshold applied afterwards (0.7).
        person_label: class index of 'person' (COCO: 0).
        batch_size: images per forward pass.  device: None = GPU when available.
        weights_only: load the checkpoint with torch's weights_only (no code from the file);
            False only for a trusted checkpoint that needs full unpickling.
    Images whose reader already provides detections are skipped.
    """
    name = 'detection'
    needs_pixels = True

    def __init__(self, config, checkpoint: Optional[str] = None, score_thr: float = 0.5,
                 nms_thr: float = 0.7, person_label: int = 0, batch_size: int = 4,
                 device: Optional[str] = None, weights_only: bool = True):
        from mmcv.transforms import Compose
        from mmdet.apis import init_detector
        from mmdet.utils import get_test_pipeline_cfg
        from mmengine.registry import DefaultScope
        self.device = resolve_device(device)
        self.score_thr, self.nms_thr = score_thr, nms_thr
        self.person_label, self.batch_size = person_label, batch_size
        config, url = resolve_model_config(config, 'mmdet')
        check_local_checkpoint(checkpoint, url, 'MMDetPersonDetector')
        # the checkpoint is an input file: never unpickle code from it unless asked to
        with DefaultScope.overwrite_default_scope('mmdet'), weights_only_loads(weights_only):
            self.model = init_detector(config, checkpoint, palette='none', device=str(self.device))
            pipeline = get_test_pipeline_cfg(self.model.cfg.copy())
            pipeline[0].type = 'mmdet.LoadImageFromNDArray'
            self.pipeline = Compose(pipeline)
        self.model.eval()

    def needs(self, state: ImageState) -> bool:
        return state.detections is None

    @torch.no_grad()
    def process(self, states: List[ImageState]) -> None:
        from mmengine.registry import DefaultScope
        from torchvision.ops import nms
        for chunk in _chunks(states, self.batch_size):
            with DefaultScope.overwrite_default_scope('mmdet'):
                data = [self.pipeline(dict(img=np.ascontiguousarray(s.image()[..., ::-1]), img_id=i))
                        for i, s in enumerate(chunk)]
                batch = dict(inputs=[d['inputs'] for d in data],
                             data_samples=[d['data_samples'] for d in data])
                results = self.model.test_step(batch)
            for s, res in zip(chunk, results):
                inst = res.pred_instances
                keep = (inst.labels == self.person_label) & (inst.scores >= self.score_thr)
                boxes, scores = inst.bboxes[keep].float(), inst.scores[keep].float()
                masks = inst.masks[keep] if 'masks' in inst else None
                order = nms(boxes.cpu(), scores.cpu(), self.nms_thr).numpy()
                order = np.sort(order)  # keep the detector's order among survivors
                s.count('detections_below_score', int((~keep).sum()))
                s.count('detections_nms_removed', int(keep.sum()) - len(order))
                h, w = s.ori_shape
                m = None if masks is None else masks[order].bool().cpu().numpy().reshape(len(order), h, w)
                s.detections = Detections(boxes=boxes.cpu().numpy()[order].astype(np.float64),
                                          scores=scores.cpu().numpy()[order].astype(np.float64),
                                          masks=m)


@DTO_STAGES.register_module()
class MMPoseTopDown(BaseStage):
    """COCO-17 keypoints of every detection with an mmpose top-down model (e.g. ViTPose).

    Args:
        config: mmpose model config file, Config / dict, or model-zoo name.
        checkpoint: local checkpoint path (None = random init, only for tests).
        masked_crops: run on the instance-masked image (paper supplement 6.2).
        batch_size: person crops per forward pass (crops of several images are batched).
    """
    name = 'keypoints'
    needs_pixels = True

    def __init__(self, config, checkpoint: Optional[str] = None, masked_crops: bool = True,
                 batch_size: int = 32, device: Optional[str] = None, weights_only: bool = True):
        from mmcv.transforms import Compose
        from mmengine.registry import DefaultScope
        from mmpose.apis import init_model
        self.device = resolve_device(device)
        self.masked_crops, self.batch_size = masked_crops, batch_size
        config, url = resolve_model_config(config, 'mmpose')
        check_local_checkpoint(checkpoint, url, 'MMPoseTopDown')
        with DefaultScope.overwrite_default_scope('mmpose'), weights_only_loads(weights_only):
            self.model = init_model(config, checkpoint, device=str(self.device))
            self.pipeline = Compose(self.model.cfg.test_dataloader.dataset.pipeline)
        self.model.eval()

    def needs(self, state: ImageState) -> bool:
        return state.detections is not None and state.detections.kpts is None

    @torch.no_grad()
    def process(self, states: List[ImageState]) -> None:
        from mmengine.dataset import pseudo_collate
        from mmengine.registry import DefaultScope
        jobs = []  # (state, detection index)
        for s in states:
            s.detections.kpts = np.zeros((len(s.detections), 17, 3))
            jobs += [(s, k) for k in range(len(s.detections))]
        meta = self.model.dataset_meta
        for chunk in _chunks(jobs, self.batch_size):
            data = []
            with DefaultScope.overwrite_default_scope('mmpose'):
                for s, k in chunk:
                    img = s.image()[..., ::-1]
                    if self.masked_crops and s.detections.masks is not None:
                        img = img * s.detections.masks[k][..., None]
                    info = dict(img=np.ascontiguousarray(img),
                                bbox=s.detections.boxes[k][None].astype(np.float32),
                                bbox_score=np.ones(1, np.float32))
                    info.update(meta)
                    data.append(self.pipeline(info))
                results = self.model.test_step(pseudo_collate(data))
            for (s, k), res in zip(chunk, results):
                kp = np.asarray(res.pred_instances.keypoints)[0]
                sc = np.asarray(res.pred_instances.keypoint_scores)[0]
                s.detections.kpts[k, :, :2] = kp[:17]
                s.detections.kpts[k, :, 2] = sc[:17]
