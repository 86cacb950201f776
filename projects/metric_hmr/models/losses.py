"""MA-HMR losses (paper Eq. 4-6) as pure functions plus thin registered modules.

Each module multiplies its pure function by ``loss_weight`` (the paper's lambda).  Inputs
are already matched: per-person tensors are the concatenation of all matched persons of
the batch.  A loss without any valid element returns a zero that is still connected to
the graph (so DDP and the optimiser see every parameter used).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from metric_hmr.registry import MODELS
from .boxes import box_cxcywh_to_xyxy, generalized_box_iou

__all__ = ['fov_loss', 'relative_metric_loss', 'sigmoid_focal_loss', 'FoVLoss',
           'RelativeMetricLoss', 'ScaleMapLoss', 'FocalDetectionLoss', 'BoxL1GIoULoss',
           'L1ParamLoss', 'Joints3DLoss', 'Joints2DLoss', 'InverseDepthLoss',
           'ordinal_depth_loss', 'OrdinalDepthLoss']


def _zero(t: torch.Tensor) -> torch.Tensor:
    return t.sum() * 0.0


# ------------------------------------------------------------------------ pure functions
def fov_loss(pred: torch.Tensor, gt: torch.Tensor, valid: Optional[torch.Tensor] = None,
             over_weight: float = 3.0) -> torch.Tensor:
    """Eq. 4: w (v_gt - v_pred)^2, w = 3 if v_pred > v_gt else 1, averaged over images.

    (The reference code sums over the batch; the average is used here, method.md §7.)

    Args:
        pred, gt: (B,) vertical FoV in radians; valid: (B,) bool (e.g. FoV known).
    """
    if valid is None:
        valid = torch.isfinite(gt)
    if not bool(valid.any()):
        return _zero(pred)
    p, g = pred[valid], gt[valid]
    w = torch.where(p > g, torch.full_like(p, over_weight), torch.ones_like(p))
    return (w * (g - p) ** 2).mean()


def relative_metric_loss(pred_depth: Sequence[torch.Tensor], gt_depth: Sequence[torch.Tensor],
                         tau: float = 1.0) -> torch.Tensor:
    """Eq. 5: mean over close pairs of log(1 + |rd_pred - rd_gt|).

    Pairs (i, j), i < j, of matched persons of the same image whose ground-truth depths
    differ by less than ``tau`` metres; rd = z_i - z_j (signed).  Predicted and
    ground-truth depths must be the same quantity (translation depth vs translation depth).

    Args:
        pred_depth, gt_depth: per image a (n,) tensor of matched persons' depths, in the
            same person order; persons with unknown depth must be left out by the caller.
    Returns:
        scalar; zero when no image has a qualifying pair.
    """
    terms = []
    for p, g in zip(pred_depth, gt_depth):
        if len(p) < 2:
            continue
        i, j = torch.triu_indices(len(p), len(p), offset=1, device=p.device)
        close = (g[i] - g[j]).abs() < tau
        if bool(close.any()):
            rd_pred = p[i] - p[j]
            rd_gt = g[i] - g[j]
            terms.append(torch.log1p((rd_pred - rd_gt).abs())[close])
    if not terms:
        ref = pred_depth[0] if len(pred_depth) else torch.zeros(())
        return _zero(ref) if isinstance(ref, torch.Tensor) else torch.zeros(())
    return torch.cat(terms).mean()


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """Element-wise focal loss (RetinaNet) on logits; returns the unreduced tensor."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss


# ----------------------------------------------------------------------------- modules
class _Weighted(nn.Module):
    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight


@MODELS.register_module()
class FoVLoss(_Weighted):
    """Paper Eq. 4 (HumanFoV loss), batch mean; ``over_weight`` = 3."""

    def __init__(self, loss_weight=0.5, over_weight=3.0):
        super().__init__(loss_weight)
        self.over_weight = over_weight

    def forward(self, pred, gt, valid=None):
        return self.loss_weight * fov_loss(pred, gt, valid, self.over_weight)


@MODELS.register_module()
class RelativeMetricLoss(_Weighted):
    """Paper Eq. 5 with threshold ``tau`` (1 m)."""

    def __init__(self, loss_weight=0.5, tau=1.0):
        super().__init__(loss_weight)
        self.tau = tau

    def forward(self, pred_depth, gt_depth):
        return self.loss_weight * relative_metric_loss(pred_depth, gt_depth, self.tau)


def _per_person_sum(err: torch.Tensor, num: Optional[float]) -> torch.Tensor:
    """SAT-HMR's normalisation: mean over a person's elements, summed over persons, divided by
    the number of supervised persons of the batch (``num``; default: the persons given)."""
    return err.flatten(1).mean(-1).sum() / max(float(len(err) if num is None else num), 1.0)


@MODELS.register_module()
class ScaleMapLoss(_Weighted):
    """SAT-HMR scale-map loss: focal loss on the presence channel, mean over all 28-px patches,
    plus L1 on the scale channel summed over patches with a person / their number."""

    def forward(self, pred_map: torch.Tensor, gt_map: torch.Tensor) -> torch.Tensor:
        """pred_map (B, g, g, 2) [presence logit, scale in (0, 1)]; gt_map (B, g, g, 2) [presence, scale]."""
        presence = gt_map[..., 0]
        conf = sigmoid_focal_loss(pred_map[..., 0], presence).mean()
        pos = presence > 0.5
        scale = (pred_map[..., 1] - gt_map[..., 1]).abs()[pos].sum() / max(float(pos.sum()), 1.0)
        return self.loss_weight * (conf + scale)


@MODELS.register_module()
class FocalDetectionLoss(_Weighted):
    """SAT-HMR confidence loss: focal loss over all queries of the batch, *mean* over them
    (matched queries are positives; SAT-HMR divides by 1, not by the number of persons).
    ``valid`` restricts the mean (e.g. denoising slots of real persons)."""

    def __init__(self, loss_weight=1.0, alpha=0.25, gamma=2.0):
        super().__init__(loss_weight)
        self.alpha, self.gamma = alpha, gamma

    def forward(self, logits, labels, num_gt: float = 1.0, valid: Optional[torch.Tensor] = None):
        loss = sigmoid_focal_loss(logits, labels, self.alpha, self.gamma)
        if valid is None:
            return self.loss_weight * loss.mean()
        return self.loss_weight * (loss * valid).sum() / valid.sum().clamp_min(1.0)


@MODELS.register_module()
class BoxL1GIoULoss(_Weighted):
    """SAT-HMR box loss: L1 on (cx, cy, w, h) summed over the 4 values and 1 - GIoU, each summed
    over persons / number of persons (the same lambda for both, as SAT-HMR's boxes = giou = 2)."""

    def forward(self, pred, gt, num: Optional[float] = None):
        if len(pred) == 0:
            return _zero(pred)
        l1 = (pred - gt).abs().sum(-1)
        giou = torch.diag(generalized_box_iou(box_cxcywh_to_xyxy(pred), box_cxcywh_to_xyxy(gt)))
        return self.loss_weight * (l1 + (1 - giou)).sum() / max(float(len(pred) if num is None else num), 1.0)


@MODELS.register_module()
class L1ParamLoss(_Weighted):
    """SAT-HMR parameter loss: |pred - gt| (times a per-element weight, e.g. SAT-HMR's per-beta
    weights 2.56, 1.28, 0.64, 0.64, 0.32 x 6), mean per person, summed / number of persons.
    Pose: axis-angle (72 values), shape: betas."""

    def __init__(self, loss_weight=1.0, element_weight: Optional[Sequence[float]] = None):
        super().__init__(loss_weight)
        self.element_weight = None if element_weight is None else torch.tensor(element_weight)

    def forward(self, pred, gt, num: Optional[float] = None):
        if len(pred) == 0:
            return _zero(pred)
        err = (pred - gt).abs()
        if self.element_weight is not None:
            w = self.element_weight.to(err)
            if len(w) < err.shape[-1]:
                raise ValueError(f'element_weight has {len(w)} values for {err.shape[-1]} parameters')
            err = err * w[:err.shape[-1]]
        return self.loss_weight * _per_person_sum(err, num)


@MODELS.register_module()
class Joints3DLoss(_Weighted):
    """SAT-HMR 3D joint loss: root-relative L1 (metres), mean over joints x xyz per person,
    summed / number of persons."""

    def forward(self, pred, gt, num: Optional[float] = None):
        if len(pred) == 0:
            return _zero(pred)
        err = ((pred - pred[:, :1]) - (gt - gt[:, :1])).abs()
        return self.loss_weight * _per_person_sum(err, num)


@MODELS.register_module()
class Joints2DLoss(_Weighted):
    """SAT-HMR 2D joint loss: L1 on projected joints divided by the input size S, times the
    visibility mask, mean over joints x uv per person, summed / number of persons."""

    def __init__(self, loss_weight=40.0, norm_scale: float = 1.0):
        super().__init__(loss_weight)
        self.norm_scale = norm_scale

    def forward(self, pred, gt, vis, num: Optional[float] = None):
        """pred (P, J, 2) px, gt (P, J, 2) px, vis (P, J) in {0, 1}."""
        if len(pred) == 0:
            return _zero(pred)
        err = (pred - gt).abs() / self.norm_scale * vis[..., None]
        return self.loss_weight * _per_person_sum(err, num)


@MODELS.register_module()
class InverseDepthLoss(_Weighted):
    """SAT-HMR depth loss |1/z_pred - 1/z_gt| (1/m), summed over persons / number of persons.
    The caller passes z_pred rescaled to the ground-truth focal (z / f_pred * f_gt), as SAT-HMR
    compares the focal-normalised depth, so a wrong focal is not punished twice."""

    def forward(self, pred_z, gt_z, num: Optional[float] = None):
        if len(pred_z) == 0:
            return _zero(pred_z)
        err = (1.0 / pred_z.clamp_min(1e-3) - 1.0 / gt_z.clamp_min(1e-3)).abs()
        return self.loss_weight * err.sum() / max(float(len(pred_z) if num is None else num), 1.0)


def ordinal_depth_loss(pred_z: Sequence[torch.Tensor], depth_id: Sequence[torch.Tensor]) -> torch.Tensor:
    """Ordinal depth-layer loss (Relative Human fine-tune), per image over person pairs with
    known layers (``depth_id`` >= 0, smaller = closer, BEV's depth layers):

    * different layers, i closer than j: softplus(z_i - z_j) (pushes z_i below z_j);
    * same layer: (z_i - z_j)^2.

    Mean over all such pairs of the batch; zero (connected to the graph) without pairs.
    """
    terms = []
    for z, d in zip(pred_z, depth_id):
        known = d >= 0
        z, d = z[known], d[known]
        if len(z) < 2:
            continue
        i, j = torch.triu_indices(len(z), len(z), offset=1, device=z.device)
        closer_first = torch.where(d[i] <= d[j], i, j)   # order each pair: a closer, b farther
        farther = torch.where(d[i] <= d[j], j, i)
        dz = z[closer_first] - z[farther]
        same = d[i] == d[j]
        terms.append(torch.where(same, dz ** 2, F.softplus(dz)))
    if not terms:
        ref = pred_z[0] if len(pred_z) else torch.zeros(())
        return _zero(ref) if isinstance(ref, torch.Tensor) else torch.zeros(())
    return torch.cat(terms).mean()


@MODELS.register_module()
class OrdinalDepthLoss(_Weighted):
    """:func:`ordinal_depth_loss` times ``loss_weight`` (Relative Human fine-tune)."""

    def forward(self, pred_z, depth_id):
        return self.loss_weight * ordinal_depth_loss(pred_z, depth_id)
