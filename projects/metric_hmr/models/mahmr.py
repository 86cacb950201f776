"""MA-HMR: the metric-aware multi-person HMR network (paper Sec. 3.3) as an MMEngine model.

MA-HMR is SAT-HMR (ViT-B, public code ChiSu001/SAT-HMR) plus a camera branch:

  image -> SATEncoder (scale map, scale-adaptive tokens, camera = CLS token)
        -> FoVHead(camera token) = vertical FoV v -> focal f = H / (2 tan(v/2))
        -> DABDecoder (50 anchor queries x 6 layers, box refinement, optional denoising)
        -> SATHeads per layer: box, pose (interleaved 6D), betas, camera (x, y, s), confidence
        -> translation t = (x/s, y/s, 2 f / (s S)) with S the input size (SAT-HMR's camera model).

Image quantities are in network-input pixels; ``img_h`` of a sample is the image height in
the input and ``princpt_input`` its principal point (default: the centre of the S x S canvas
made by ``metric_hmr.datasets.train.transforms``).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModel

from metric_hmr.geometry import (focal_to_vfov, matrix_to_axis_angle, project_points_torch,
                                 rot6d_interleaved_to_matrix, vfov_to_focal)
from metric_hmr.conventions import adapt_betas
from metric_hmr.registry import BODY_MODELS, MODELS, TASK_UTILS
from .boxes import box_cxcywh_to_xyxy
from .denoising import build_denoising_queries
from .heads import cam_to_transl
from .matcher import HungarianMatcher
from .scale_map import build_scale_map_target, mesh_edge_midpoint_index

__all__ = ['MAHMR', 'smpl_joints']


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
    """Metric-Aware HMR = SAT-HMR (ViT-B) + the FoV camera branch.

    Args:
        backbone: :class:`SATEncoder` config.
        decoder: :class:`DABDecoder` config.
        heads: :class:`SATHeads` config (``num_betas`` must equal the body model's).
        body_model: BODY_MODELS config; kept out of the state dict (SAT-HMR's ``human_model.*``
            buffers are rebuilt from the user's SMPL files, never loaded).
        camera_head: :class:`FoVHead` config, or None (SAT-HMR / stage 1: the ground-truth focal
            while training, ``default_fov`` at inference, as SAT-HMR's fixed camera).
        dn: denoising config (``dn_number``, ``box_noise_scale``, ``tgt_noise_scale``) or None.
        sat_use_gt_map: select tokens from the ground-truth scale map while training (SAT-HMR's
            first epoch from scratch only; False for every MA-HMR stage).
        matcher: TASK_UTILS config (:class:`HungarianMatcher`).
        losses: name -> loss config (the paper's weights live in ONE place,
            ``configs/_base_/mahmr_losses.py`` ``paper_losses``); a name set to None is switched off.
        input_size: the long side S of the network input (SAT-HMR: 1288).
        default_fov: vertical FoV (rad) without a camera branch (SAT-HMR: pi/3 of S).
    """

    def __init__(self, backbone: dict, decoder: dict, heads: dict, body_model: dict,
                 camera_head: Optional[dict] = None, dn: Optional[dict] = None, sat_use_gt_map: bool = False,
                 matcher: Optional[dict] = None, losses: Optional[dict] = None, input_size: int = 1288,
                 default_fov: float = math.pi / 3, aux_loss: bool = True, score_thresh: float = 0.3,
                 predict_vertices: bool = False, data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor or dict(type='MAHMRDataPreprocessor'))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(dict(dict(backbone), input_size=input_size))
        self.decoder = MODELS.build(decoder)
        self.heads = MODELS.build(dict(dict(heads), dim=self.decoder.d_model, num_layers=self.decoder.num_layers))
        self.camera_head = MODELS.build(camera_head) if camera_head is not None else None
        self.dn = dict(dn) if dn else None
        if self.dn and self.decoder.dn_enc is None:
            raise ValueError('denoising (dn) needs decoder.dn_param_dim = 72 + num_betas')
        self.sat_use_gt_map = sat_use_gt_map
        self.matcher = TASK_UTILS.build(matcher) if matcher is not None else HungarianMatcher()
        if not losses:
            raise ValueError('MAHMR needs `losses` (configs/_base_/mahmr_losses.py: paper_losses)')
        cfgs = dict(losses)
        self.losses = torch.nn.ModuleDict({k: MODELS.build(v) for k, v in cfgs.items() if v is not None})
        if 'j2d' in self.losses:
            self.losses['j2d'].norm_scale = float(input_size)
        self.input_size = input_size
        self.default_fov = float(default_fov)
        self.aux_loss, self.score_thresh, self.predict_vertices = aux_loss, score_thresh, predict_vertices
        # built on first use and not a registered submodule: keeps SMPL out of checkpoints and DDP
        # buckets, and lets the network be built (converted, counted) without SMPL files
        self._body_model_cfg = body_model
        self._body_model = []

    @property
    def body_model(self):
        if not self._body_model:
            bm = BODY_MODELS.build(self._body_model_cfg)
            nb_model = int(getattr(bm, 'num_betas', self.heads.num_betas))
            if nb_model != self.heads.num_betas:
                raise ValueError(f'heads predict {self.heads.num_betas} betas but the body model has {nb_model} '
                                 f'(SMPL: 10, SMPL-A with kid template: 11)')
            self._body_model.append(bm)
        bm = self._body_model[0]
        device = self.backbone.level_embed.device
        if isinstance(bm, torch.nn.Module):
            ref = next(iter(bm.buffers()), None)
            if ref is not None and ref.device != device:
                bm.to(device)
        return bm

    def _check_gt_betas(self, data_samples: Sequence[dict]) -> None:
        """Stored (N, 11) shapes are cut to the heads' betas below: only an all-zero age blend
        may be cut (``conventions.adapt_betas`` raises naming image and person); a kid's blend
        needs the SMPL-A heads (num_betas 11 + kid template, configs/mahmr_stage*.py)."""
        for s in data_samples:
            betas = s['gt']['betas']
            if betas.shape[-1] > self.heads.num_betas:
                adapt_betas(betas.detach().cpu().double().numpy(), self.heads.num_betas,
                            context=f"image {s.get('img_path')!r}")

    # -------------------------------------------------------------------------- network
    def _focal(self, fov: Optional[torch.Tensor], samples: Sequence[dict], B: int, device) -> torch.Tensor:
        """Per-image focal length (network-input pixels): f = H / (2 tan(v/2)).

        With the camera branch v is predicted and H is the image height in the input; without
        it, training uses the ground-truth focal and inference SAT-HMR's camera
        (``default_fov`` over the input size S).
        """
        if fov is not None:
            img_h = torch.tensor([float(s.get('img_h', self.input_size)) for s in samples] or
                                 [float(self.input_size)] * B, device=device)
            return vfov_to_focal(fov, img_h)
        f = torch.full((B,), vfov_to_focal(self.default_fov, self.input_size), device=device)
        if self.training and samples and all('focal' in s for s in samples):
            gt = torch.stack([torch.as_tensor(s['focal'], device=device, dtype=torch.float32).reshape(-1)[-1]
                              for s in samples])
            f = torch.where(torch.isfinite(gt), gt, f)  # unknown cameras: SAT-HMR's default
        return f

    def _princpt(self, samples: Sequence[dict], B: int, device) -> torch.Tensor:
        """Principal point per image in input pixels (``princpt_input``, default the centre of S x S)."""
        pp = [s.get('princpt_input', (self.input_size / 2, self.input_size / 2)) for s in samples] or \
            [(self.input_size / 2, self.input_size / 2)] * B
        return torch.as_tensor(pp, dtype=torch.float32, device=device).reshape(B, 2)

    def _queries(self, B: int, targets: Optional[List[dict]]):
        """Learned queries, with the denoising groups in front while training with ``dn``."""
        tgt = self.decoder.tgt_embed.weight[None].expand(B, -1, -1)
        ref = self.decoder.refpoint_embed.weight[None].expand(B, -1, -1)
        if not (self.training and self.dn and targets):
            return tgt, ref, None, None
        params = [torch.cat([t['global_orient'].float(), t['body_pose'].float(),
                             t['betas'].float()[:, :self.heads.num_betas]], 1) for t in targets]
        dn_tgt, dn_ref, allow, meta = build_denoising_queries(
            [t['boxes'].float() for t in targets], params, self.decoder.dn_enc, self.decoder.num_queries,
            **self.dn)
        return torch.cat([dn_tgt, tgt], 1), torch.cat([dn_ref, ref], 1), allow, meta

    def _network(self, inputs, samples: Sequence[dict], targets: Optional[List[dict]] = None,
                 gt_scale_maps=None):
        """Encoder, camera branch, decoder and heads; returns a dict of per-layer outputs."""
        images = list(inputs)
        B, device = len(images), images[0].device
        enc = self.backbone(images, gt_scale_maps)
        fov = self.camera_head(enc.cam_token) if self.camera_head is not None else None
        focal = self._focal(fov, samples, B, device)
        tgt, ref, allow, meta = self._queries(B, targets)
        hs, refs = self.decoder(enc.memory, enc.memory_pos, tgt, ref, self.heads.bbox_embed, allow)
        layers = self.heads(hs, refs)
        for out in layers:
            out['transl'] = cam_to_transl(out['cam'], focal[:, None], self.input_size)
        D = 0 if meta is None else meta.valid.shape[1]
        match = [{k: v[:, D:] for k, v in out.items()} for out in layers]
        dn_layers = [{k: v[:, :D] for k, v in out.items()} for out in layers] if D else None
        return dict(enc=enc, fov=fov, focal=focal, princpt=self._princpt(samples, B, device), layers=match,
                    dn_layers=dn_layers, dn_meta=meta, refs=refs[:, :, D:], hs=hs[:, :, D:])

    def scale_map_grid(self, enc) -> torch.Tensor:
        """Predicted scale map as (B, h1, w1, 2) grids of [presence logit, scale in (0,1)]."""
        grids = []
        for logits, pos, (h, w) in zip(enc.scale_logits, enc.lvl1_pos, enc.lvl1_hw):
            g = logits.new_zeros(h, w, 2)
            g[pos[:, 0], pos[:, 1]] = torch.stack([logits[:, 0], logits[:, 1].sigmoid()], 1)
            grids.append(g)
        return torch.stack(grids)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[dict]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._network(inputs, data_samples or [])
        raise ValueError(f'unknown mode {mode!r}')

    # ----------------------------------------------------------------------------- loss
    def loss(self, inputs: torch.Tensor, data_samples: List[dict]) -> Dict[str, torch.Tensor]:
        device = inputs.device
        targets = [s['gt'] for s in data_samples]
        self._check_gt_betas(data_samples)
        gt_boxes = [t['boxes'].float() for t in targets]  # cxcywh, normalised by the input size
        p28 = 2 * self.backbone.patch_size
        gt_map = build_scale_map_target(
            [box_cxcywh_to_xyxy(b) for b in gt_boxes], (inputs.shape[-2] // p28, inputs.shape[-1] // p28), device,
            input_size=self.input_size, points=self._gt_mesh_points(data_samples, targets),
            depths=[t['transl'][:, 2].float() for t in targets], patch=p28)
        net = self._network(inputs, data_samples, targets, list(gt_map) if self.sat_use_gt_map else None)
        fov, focal, princpt = net['fov'], net['focal'], net['princpt']
        losses: Dict[str, torch.Tensor] = {}
        if 'map' in self.losses:
            losses['loss_map'] = self.losses['map'](self.scale_map_grid(net['enc']), gt_map)
        if fov is not None and 'fov' in self.losses:
            fov_gt = torch.tensor([float(s.get('fov_v', float('nan'))) for s in data_samples], device=device)
            losses['loss_fov'] = self.losses['fov'](fov, fov_gt, torch.isfinite(fov_gt))
        num_gt = float(sum(len(b) for b in gt_boxes))
        gt_focal = torch.tensor([float(torch.as_tensor(s['focal']).reshape(-1)[-1]) if 'focal' in s else float('nan')
                                 for s in data_samples], device=device)
        gt_kpts = [t['kpts2d'].float() for t in targets]
        layers = net['layers'] if self.aux_loss else net['layers'][-1:]
        for i, out in enumerate(layers):
            pred_kpts = self._all_query_kpts(out, focal, princpt) if self.matcher.cost_kpts else None
            indices = self.matcher(out['logits'].detach(), out['boxes'].detach(), gt_boxes, pred_kpts, gt_kpts,
                                   norm_scale=self.input_size)
            prefix = '' if i == len(layers) - 1 else f'd{i}.'
            for k, v in self._person_losses(out, focal, princpt, indices, targets, num_gt,
                                            gt_focal=gt_focal).items():
                losses[prefix + k] = v
        meta = net['dn_meta']
        if meta is not None:
            indices = [(torch.nonzero(meta.valid[b])[:, 0], meta.gt_index[b][meta.valid[b]])
                       for b in range(len(targets))]
            n_dn = float(meta.valid.sum())
            dn_layers = net['dn_layers'] if self.aux_loss else net['dn_layers'][-1:]
            for i, out in enumerate(dn_layers):
                prefix = 'dn.' if i == len(dn_layers) - 1 else f'dn.d{i}.'
                det_valid = meta.valid | meta.negative
                for k, v in self._person_losses(out, focal, princpt, indices, targets, n_dn, det_valid,
                                                gt_focal).items():
                    losses[prefix + k] = v
        return losses

    @torch.no_grad()
    def _gt_mesh_points(self, data_samples: List[dict], targets: List[dict]) -> List[list]:
        """Per image, per person: the ground-truth mesh (vertices + edge midpoints) projected into
        the input (pixels), or None without SMPL parameters or camera (SAT-HMR's scale-map target)."""
        out = []
        for s, t in zip(data_samples, targets):
            n = len(t['boxes'])
            pts: list = [None] * n
            focal = torch.as_tensor(s.get('focal', [float('nan')] * 2), dtype=torch.float32).reshape(-1)
            ok = t['has_smpl'].bool() & torch.isfinite(t['transl']).all(-1) & (t['transl'][:, 2] > 0)
            if bool(ok.any()) and bool(torch.isfinite(focal).all()) and 'princpt' in s:
                bm = self.body_model
                nb = int(getattr(bm, 'num_betas', t['betas'].shape[1]))
                idx = torch.nonzero(ok)[:, 0]
                res = bm(betas=t['betas'][idx, :nb].float(), global_orient=t['global_orient'][idx].float(),
                         body_pose=t['body_pose'][idx].float(), transl=t['transl'][idx].float())
                v = res.vertices
                if not hasattr(self, '_edge_index'):
                    self._edge_index = mesh_edge_midpoint_index(bm.faces)
                e = self._edge_index.to(v.device)
                mesh = torch.cat([v, (v[:, e[:, 0]] + v[:, e[:, 1]]) / 2], 1)
                princpt = torch.as_tensor(s['princpt'], dtype=torch.float32, device=v.device).reshape(1, 2)
                uv = project_points_torch(mesh, focal.to(v.device).reshape(1, 2), princpt)
                for k, i in enumerate(idx.tolist()):
                    pts[i] = uv[k]
            out.append(pts)
        return out

    @torch.no_grad()
    def _all_query_kpts(self, out: Dict[str, torch.Tensor], focal: torch.Tensor, princpt: torch.Tensor):
        """Projected SMPL joints of every query (B, Q, 24, 2) for the matcher's keypoint cost."""
        B, Q = out['logits'].shape
        if B * Q == 0:
            return out['boxes'].new_zeros(B, Q, 24, 2)
        rot = rot6d_interleaved_to_matrix(out['pose6d'].flatten(0, 1))
        joints = smpl_joints(self.body_model, out['betas'].flatten(0, 1), rot, out['transl'].flatten(0, 1))
        kp = project_points_torch(joints, focal.repeat_interleave(Q), princpt.repeat_interleave(Q, 0))
        return kp.reshape(B, Q, -1, 2)

    def _person_losses(self, out: Dict[str, torch.Tensor], focal: torch.Tensor, princpt: torch.Tensor, indices,
                       targets: List[dict], num_gt: float, det_valid: Optional[torch.Tensor] = None,
                       gt_focal: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
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
        rotmats = rot6d_interleaved_to_matrix(out['pose6d'][bi, qi])  # (P, 24, 3, 3)
        betas = out['betas'][bi, qi]
        nb = betas.shape[-1]
        has_smpl = gt_cat('has_smpl').bool()
        has_3d = gt_cat('has_3d').bool()
        gt_transl = gt_cat('transl').float()
        depth_known = torch.isfinite(gt_transl[:, 2]) & (gt_transl[:, 2] > 0)

        if 'pose' in L:  # SAT-HMR: L1 on axis-angle (72 values)
            gt_aa = torch.cat([gt_cat('global_orient').float(), gt_cat('body_pose').float()], 1)
            pred_aa = matrix_to_axis_angle(rotmats[has_smpl]).flatten(1)
            res['loss_pose'] = L['pose'](pred_aa, gt_aa[has_smpl])
        if 'shape' in L:
            res['loss_shape'] = L['shape'](betas[has_smpl], gt_cat('betas').float()[has_smpl, :nb])
        if any(k in L for k in ('j3d', 'j2d')):
            joints = smpl_joints(self.body_model, betas, rotmats, transl)  # (P, 24, 3)
            if 'j3d' in L:
                res['loss_j3d'] = L['j3d'](joints[has_3d], gt_cat('joints3d').float()[has_3d])
            if 'j2d' in L:
                f = focal[bi]
                kp = gt_cat('kpts2d').float()
                res['loss_j2d'] = L['j2d'](project_points_torch(joints, f, princpt[bi]), kp[..., :2],
                                           (kp[..., 2] > 0).float())
        if 'depth' in L:
            # SAT-HMR compares the focal-normalised depth z / f at the ground-truth focal
            f_pred = focal[bi]
            f_gt = f_pred if gt_focal is None else torch.where(torch.isfinite(gt_focal[bi]), gt_focal[bi], f_pred)
            z = transl[:, 2] / f_pred * f_gt
            res['loss_depth'] = L['depth'](z[depth_known], gt_transl[depth_known, 2])
        if 'ordinal' in L and det_valid is None:  # Relative Human depth layers
            dids = gt_cat('depth_id') if all('depth_id' in t for t in targets) else torch.full_like(bi, -1)
            res['loss_ordinal'] = L['ordinal']([transl[bi == b, 2] for b in range(B)],
                                               [dids[bi == b] for b in range(B)])
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
        net = self._network(inputs, samples)
        out, fov, focal, princpt = net['layers'][-1], net['fov'], net['focal'], net['princpt']
        S = self.input_size
        results = []
        for b in range(B):
            s = samples[b]
            scores = torch.sigmoid(out['logits'][b])
            keep = torch.nonzero(scores > self.score_thresh)[:, 0]
            keep = keep[scores[keep].argsort(descending=True)]
            rot = rot6d_interleaved_to_matrix(out['pose6d'][b, keep])
            aa = matrix_to_axis_angle(rot)
            transl = out['transl'][b, keep]
            betas = out['betas'][b, keep]
            r = float(s.get('scale', 1.0))
            offset = torch.as_tensor(s.get('offset', (0.0, 0.0)), dtype=torch.float32, device=inputs.device)
            f_ori = float(focal[b]) / r
            img_h_ori = float(s['img_h']) / r
            fov_b = float(fov[b]) if fov is not None else focal_to_vfov(f_ori, img_h_ori)
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
                kp = project_points_torch(joints, focal[b].expand(len(keep)), princpt[b].expand(len(keep), 2))
                pred['kpts2d'] = (kp - offset) / r
                if hasattr(self.body_model, 'tpose_height'):  # T-pose height of the predicted shape
                    pred['height'] = torch.as_tensor(self.body_model.tpose_height(betas), dtype=torch.float32)
            else:
                pred['joints3d'] = torch.zeros(0, 24, 3)
                pred['kpts2d'] = torch.zeros(0, 24, 2)
                pred['height'] = torch.zeros(0)
            pred = {k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v) for k, v in pred.items()}
            res = dict(img_path=s.get('img_path'), img_key=s.get('img_key', s.get('img_path')),
                       ori_shape=tuple(s.get('ori_shape', (S, S))), pred=pred)
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
