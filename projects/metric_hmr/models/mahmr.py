"""MA-HMR: the metric-aware multi-person HMR network (paper Sec. 3.3) as an MMEngine model.

Pipeline (one forward):
  canvas -> ScaleAdaptiveViT (scale map, adaptive tokens, camera token)
         -> FoVHead(camera token) = vertical FoV v -> focal f = h / (2 tan(v/2))
         -> HumanQueryDecoder (50 queries x 6 layers, box refinement, optional denoising)
         -> per query: box, SMPL pose (6D) / shape, camera (s, root position), confidence
         -> translation t = (u/s, v/s, 2 f / (s S)) with the *predicted* f.

All image quantities are in canvas pixels (the S x S network input whose centre is the
principal point, see ``metric_hmr.datasets.train.transforms``); ``img_h`` of a sample is
the height of the visible image in the canvas, the H of f = H / (2 tan(v/2)).
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModel

from metric_hmr.registry import BODY_MODELS, MODELS, TASK_UTILS
from .geometry import (axis_angle_to_matrix, box_cxcywh_to_xyxy, cam_to_transl,
                       fov_to_focal, matrix_to_axis_angle, project_points, rot6d_to_matrix)
from .matcher import HungarianMatcher
from .scale_map import build_scale_map_target

DEFAULT_LOSSES = dict(
    map=dict(type='ScaleMapLoss', loss_weight=4.0),
    depth=dict(type='InverseDepthLoss', loss_weight=0.5),
    pose=dict(type='L1ParamLoss', loss_weight=5.0),
    shape=dict(type='L1ParamLoss', loss_weight=3.0),
    j3d=dict(type='Joints3DLoss', loss_weight=8.0),
    j2d=dict(type='Joints2DLoss', loss_weight=40.0),
    box=dict(type='BoxL1GIoULoss', loss_weight=2.0),
    det=dict(type='FocalDetectionLoss', loss_weight=1.0),
    fov=dict(type='FoVLoss', loss_weight=0.5),
    rm=dict(type='RelativeMetricLoss', loss_weight=0.5, tau=1.0),
)


def smpl_joints(body_model, betas: torch.Tensor, rotmats: torch.Tensor, transl: torch.Tensor,
                with_vertices: bool = False):
    """SMPL joints (and vertices) from rotation matrices, differentiable.

    Uses the smplx skinning with rotation matrices directly when the body model wraps an
    ``smplx.SMPL`` (avoids the singular axis-angle map at identity), else its ``forward``.

    Args:
        betas (P, nb), rotmats (P, 24, 3, 3), transl (P, 3).
    Returns:
        joints (P, 24, 3) [, vertices (P, V, 3)]
    """
    smpl = getattr(body_model, 'smpl', None)
    if betas.shape[0] == 0:  # no person in the whole batch: skinning cannot reshape an empty batch
        joints = transl[:, None, :].expand(-1, 24, 3)
        if with_vertices:
            num_verts = smpl.v_template.shape[0] if smpl is not None else 0
            return joints, transl[:, None, :].expand(-1, num_verts, 3)
        return joints
    if smpl is not None:
        from smplx.lbs import lbs
        dtype = smpl.v_template.dtype
        nb = smpl.shapedirs.shape[-1]
        b = betas.to(dtype)
        if b.shape[1] < nb:
            b = torch.cat([b, b.new_zeros(b.shape[0], nb - b.shape[1])], 1)
        verts, joints = lbs(b[:, :nb], rotmats.to(dtype), smpl.v_template, smpl.shapedirs,
                            smpl.posedirs, smpl.J_regressor, smpl.parents, smpl.lbs_weights, pose2rot=False)
        joints = joints[:, :24] + transl[:, None]
        return (joints, verts + transl[:, None]) if with_vertices else joints
    aa = matrix_to_axis_angle(rotmats)
    out = body_model(betas=betas, global_orient=aa[:, 0], body_pose=aa[:, 1:].flatten(1), transl=transl)
    return (out.joints[:, :24], out.vertices) if with_vertices else out.joints[:, :24]


@MODELS.register_module()
class MAHMR(BaseModel):
    """Metric-Aware HMR.

    Args:
        backbone: :class:`ScaleAdaptiveViT` config.
        decoder: :class:`HumanQueryDecoder` config (its heads' ``num_betas`` must equal the
            body model's).
        body_model: BODY_MODELS config (``SMPLBodyModel``); kept out of the state dict so
            checkpoints never contain the licensed SMPL arrays.
        camera_head: :class:`FoVHead` config, or None (stage 1: no camera branch; training
            uses the ground-truth focal, inference the ``default_fov_deg``).
        matcher: TASK_UTILS config (:class:`HungarianMatcher`).
        losses: name -> loss config; missing names take :data:`DEFAULT_LOSSES`; a name set to
            None is switched off (e.g. ``fov=None, rm=None`` in stage 1).
        input_size: canvas side S.
        aux_loss: also supervise every intermediate decoder layer.
        score_thresh: confidence threshold of :meth:`predict` (paper: 0.3).
        predict_vertices: add ``vertices`` to predictions.
    """

    def __init__(self, backbone: dict, decoder: dict, body_model: dict, camera_head: Optional[dict] = None,
                 matcher: Optional[dict] = None, losses: Optional[dict] = None, input_size: int = 1288,
                 default_fov_deg: float = 60.0, aux_loss: bool = True, score_thresh: float = 0.3,
                 predict_vertices: bool = False, data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            # built from our scope, so the model also builds outside ``default_scope='metric_hmr'``
            data_preprocessor = MODELS.build(data_preprocessor or dict(type='MAHMRDataPreprocessor'))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        backbone = dict(backbone)
        backbone.setdefault('input_size', input_size)
        self.backbone = MODELS.build(backbone)
        decoder = dict(decoder)
        decoder.setdefault('memory_dim', self.backbone.embed_dim)
        self.decoder = MODELS.build(decoder)
        self.camera_head = MODELS.build(camera_head) if camera_head is not None else None
        self.matcher = TASK_UTILS.build(matcher) if matcher is not None else HungarianMatcher()
        cfgs = dict(DEFAULT_LOSSES)
        cfgs.update(losses or {})
        self.losses = torch.nn.ModuleDict({k: MODELS.build(v) for k, v in cfgs.items() if v is not None})
        if 'j2d' in self.losses:
            self.losses['j2d'].norm_scale = float(input_size)
        self.input_size = input_size
        self.default_fov = math.radians(default_fov_deg)
        self.aux_loss, self.score_thresh, self.predict_vertices = aux_loss, score_thresh, predict_vertices
        # not a registered submodule: keeps SMPL out of checkpoints and DDP buckets
        self._body_model = [BODY_MODELS.build(body_model)]
        nb_model = int(getattr(self._body_model[0], 'num_betas', self.decoder.heads.num_betas))
        if nb_model != self.decoder.heads.num_betas:
            raise ValueError(f'decoder heads predict {self.decoder.heads.num_betas} betas but the body '
                             f'model has {nb_model} (SMPL: 10, SMPL-A with kid template: 11)')

    @property
    def body_model(self):
        bm = self._body_model[0]
        device = self.backbone.level_embed.device
        if isinstance(bm, torch.nn.Module):
            ref = next(iter(bm.buffers()), None)
            if ref is not None and ref.device != device:
                bm.to(device)
        return bm

    # -------------------------------------------------------------------------- network
    def _focal(self, fov: Optional[torch.Tensor], samples: Sequence[dict], B: int, device) -> torch.Tensor:
        """Per-image focal length in canvas pixels used for translation and projection."""
        img_h = torch.tensor([float(s['img_h']) for s in samples], device=device) if samples \
            else torch.full((B,), float(self.input_size), device=device)
        if fov is not None:
            return fov_to_focal(fov, img_h)
        if self.training and samples:  # stage 1: the ground-truth camera (SAT-HMR)
            f = torch.stack([torch.as_tensor(s['focal'], device=device, dtype=torch.float32)[1] for s in samples])
            return f
        return fov_to_focal(torch.full((B,), self.default_fov, device=device), img_h)

    def _network(self, inputs: torch.Tensor, samples: Sequence[dict], gt_map=None, gt_boxes=None):
        bb = self.backbone(inputs, gt_map)
        fov = self.camera_head(bb.cam_token) if self.camera_head is not None else None
        focal = self._focal(fov, samples, inputs.shape[0], inputs.device)
        dec = self.decoder(bb.tokens, bb.pad_mask, bb.token_boxes, gt_boxes=gt_boxes)
        for out in dec.layers + (dec.dn_layers or []):
            out['transl'] = cam_to_transl(out['cam_scale'], out['root_uv'], focal[:, None], self.input_size)
        return bb, fov, focal, dec

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[dict]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            bb, fov, focal, dec = self._network(inputs, data_samples or [])
            return dict(layers=dec.layers, fov=fov, focal=focal, scale_map=bb.scale_map)
        raise ValueError(f'unknown mode {mode!r}')

    # ----------------------------------------------------------------------------- loss
    def loss(self, inputs: torch.Tensor, data_samples: List[dict]) -> Dict[str, torch.Tensor]:
        device = inputs.device
        targets = [s['gt'] for s in data_samples]
        gt_boxes = [t['boxes'].float() for t in targets]  # cxcywh, canvas-normalised
        gt_map = build_scale_map_target([box_cxcywh_to_xyxy(b) for b in gt_boxes], self.backbone.grid, device)
        bb, fov, focal, dec = self._network(inputs, data_samples, gt_map, gt_boxes)
        losses: Dict[str, torch.Tensor] = {}
        if 'map' in self.losses:
            losses['loss_map'] = self.losses['map'](bb.scale_map, gt_map)
        if fov is not None and 'fov' in self.losses:
            fov_gt = torch.tensor([float(s.get('fov_v', float('nan'))) for s in data_samples], device=device)
            losses['loss_fov'] = self.losses['fov'](fov, fov_gt, torch.isfinite(fov_gt))
        num_gt = float(sum(len(b) for b in gt_boxes))
        layers = dec.layers if self.aux_loss else dec.layers[-1:]
        for i, out in enumerate(layers):
            indices = self.matcher(out['logits'].detach(), out['boxes'].detach(), gt_boxes)
            prefix = '' if i == len(layers) - 1 else f'd{i}.'
            for k, v in self._person_losses(out, focal, indices, targets, num_gt).items():
                losses[prefix + k] = v
        if dec.dn_layers is not None:
            meta = dec.dn_meta
            indices = [(torch.nonzero(meta.valid[b])[:, 0], meta.gt_index[b][meta.valid[b]])
                       for b in range(len(targets))]
            n_dn = float(meta.valid.sum())
            dn_layers = dec.dn_layers if self.aux_loss else dec.dn_layers[-1:]
            for i, out in enumerate(dn_layers):
                prefix = 'dn.' if i == len(dn_layers) - 1 else f'dn.d{i}.'
                for k, v in self._person_losses(out, focal, indices, targets, n_dn, meta.valid).items():
                    losses[prefix + k] = v
        return losses

    def _person_losses(self, out: Dict[str, torch.Tensor], focal: torch.Tensor, indices, targets: List[dict],
                       num_gt: float, det_valid: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Losses of one decoder layer for matched (query, person) pairs.

        ``det_valid`` is given for denoising queries (padding slots excluded); their groups
        repeat the same persons, so the pairwise relative metric loss is skipped there.
        """
        L = self.losses
        B, Q = out['logits'].shape
        device = out['logits'].device
        bi = torch.cat([torch.full_like(q, b) for b, (q, _) in enumerate(indices)])
        qi = torch.cat([q for q, _ in indices])

        def gt_cat(key):
            return torch.cat([targets[b][key][g] for b, (_, g) in enumerate(indices)])

        res = {}
        if 'det' in L:
            labels = torch.zeros(B, Q, device=device)
            labels[bi, qi] = 1.0
            res['loss_det'] = L['det'](out['logits'], labels, num_gt,
                                       None if det_valid is None else det_valid.float())
        if 'box' in L:
            res['loss_box'] = L['box'](out['boxes'][bi, qi], gt_cat('boxes').float())

        transl = out['transl'][bi, qi]
        rotmats = rot6d_to_matrix(out['pose6d'][bi, qi])  # (P, 24, 3, 3)
        betas = out['betas'][bi, qi]
        nb = betas.shape[-1]
        has_smpl = gt_cat('has_smpl').bool()
        has_3d = gt_cat('has_3d').bool()
        gt_transl = gt_cat('transl').float()
        depth_known = torch.isfinite(gt_transl[:, 2]) & (gt_transl[:, 2] > 0)

        if 'pose' in L:
            go = gt_cat('global_orient').float()
            bp = gt_cat('body_pose').float().reshape(-1, 23, 3)
            gt_rot = axis_angle_to_matrix(torch.cat([go[:, None], bp], 1))
            res['loss_pose'] = L['pose'](rotmats[has_smpl].flatten(1), gt_rot[has_smpl].flatten(1))
        if 'shape' in L:
            res['loss_shape'] = L['shape'](betas[has_smpl], gt_cat('betas').float()[has_smpl, :nb])
        if any(k in L for k in ('j3d', 'j2d')):
            joints = smpl_joints(self.body_model, betas, rotmats, transl)  # (P, 24, 3)
            if 'j3d' in L:
                res['loss_j3d'] = L['j3d'](joints[has_3d], gt_cat('joints3d').float()[has_3d])
            if 'j2d' in L:
                f = focal[bi]
                kp = gt_cat('kpts2d').float()
                res['loss_j2d'] = L['j2d'](project_points(joints, f, self.input_size), kp[..., :2],
                                           (kp[..., 2] > 0).float())
        if 'depth' in L:
            res['loss_depth'] = L['depth'](transl[depth_known, 2], gt_transl[depth_known, 2])
        if 'rm' in L and det_valid is None:
            pred_z, gt_z = [], []
            for b in range(B):
                sel = (bi == b) & depth_known
                pred_z.append(transl[sel, 2])
                gt_z.append(gt_transl[sel, 2])
            res['loss_rm'] = L['rm'](pred_z, gt_z)
        return res

    # -------------------------------------------------------------------------- predict
    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: Optional[List[dict]] = None) -> List[dict]:
        """Per-image prediction dicts (docs/ARCHITECTURE.md) in original-image pixels."""
        B = inputs.shape[0]
        samples = data_samples or [dict(img_h=self.input_size) for _ in range(B)]
        bb, fov, focal, dec = self._network(inputs, samples)
        out = dec.layers[-1]
        S = self.input_size
        results = []
        for b in range(B):
            s = samples[b]
            scores = torch.sigmoid(out['logits'][b])
            keep = torch.nonzero(scores > self.score_thresh)[:, 0]
            keep = keep[scores[keep].argsort(descending=True)]
            rot = rot6d_to_matrix(out['pose6d'][b, keep])
            aa = matrix_to_axis_angle(rot)
            transl = out['transl'][b, keep]
            betas = out['betas'][b, keep]
            r = float(s.get('scale', 1.0))
            offset = torch.as_tensor(s.get('offset', (0.0, 0.0)), dtype=torch.float32, device=inputs.device)
            f_ori = float(focal[b]) / r
            img_h_ori = float(s['img_h']) / r
            fov_b = float(fov[b]) if fov is not None else 2 * math.atan(img_h_ori / (2 * f_ori))
            boxes = box_cxcywh_to_xyxy(out['boxes'][b, keep]) * S
            boxes = (boxes - offset.repeat(2)) / r
            pred = dict(global_orient=aa[:, 0], body_pose=aa[:, 1:].flatten(1), betas=betas, transl=transl,
                        scores=scores[keep], boxes=boxes,
                        focal=torch.tensor([f_ori, f_ori]),
                        princpt=torch.as_tensor(s.get('ori_princpt', (S / 2 / r, S / 2 / r)), dtype=torch.float32),
                        fov=fov_b)
            if len(keep):
                if self.predict_vertices:
                    joints, verts = smpl_joints(self.body_model, betas, rot, transl, with_vertices=True)
                    pred['vertices'] = verts
                else:
                    joints = smpl_joints(self.body_model, betas, rot, transl)
                pred['joints3d'] = joints
                kp = project_points(joints, focal[b].expand(len(keep)), S)
                pred['kpts2d'] = (kp - offset) / r
                if hasattr(self.body_model, 'tpose_height'):  # T-pose height of the predicted shape
                    pred['height'] = torch.as_tensor(self.body_model.tpose_height(betas), dtype=torch.float32)
            else:
                pred['joints3d'] = torch.zeros(0, 24, 3)
                pred['kpts2d'] = torch.zeros(0, 24, 2)
                pred['height'] = torch.zeros(0)
            pred = {k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v) for k, v in pred.items()}
            res = dict(img_path=s.get('img_path'), ori_shape=tuple(s.get('ori_shape', (S, S))), pred=pred)
            if 'gt_ori' in s:
                res['gt'] = _to_numpy(s['gt_ori'])
            results.append(res)
        return results


def _to_numpy(d):
    if isinstance(d, dict):
        return {k: _to_numpy(v) for k, v in d.items()}
    if isinstance(d, torch.Tensor):
        return d.detach().cpu().numpy()
    return d
