"""MA-HMR losses (paper Eq. 4-6) as pure functions plus thin registered modules.

Each module multiplies its pure function by ``loss_weight`` (the paper's lambda).  Inputs
are already matched: per-person tensors are the concatenation of all matched persons of
the batch.  A loss without any valid element returns a zero that is still connected to
the graph (so DDP and the optimiser see every parameter used).
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from metric_hmr.registry import MODELS
from .boxes import box_cxcywh_to_xyxy, generalized_box_iou


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


@MODELS.register_module()
class ScaleMapLoss(_Weighted):
    """Scale-map loss: focal loss on patch presence (mean over patches) + L1 on the person
    scale of patches that contain a person (mean over those patches)."""

    def forward(self, pred_map: torch.Tensor, gt_map: torch.Tensor) -> torch.Tensor:
        """pred_map (B, g, g, 2) [logit, scale]; gt_map (B, g, g, 2) [presence, scale]."""
        presence = gt_map[..., 0]
        conf = sigmoid_focal_loss(pred_map[..., 0], presence).mean()
        pos = presence > 0.5
        scale = (pred_map[..., 1] - gt_map[..., 1]).abs()[pos].mean() if bool(pos.any()) else _zero(pred_map)
        return self.loss_weight * (conf + scale)


@MODELS.register_module()
class FocalDetectionLoss(_Weighted):
    """Focal loss on query confidences: matched queries are positives.  Sum over queries
    divided by the number of ground-truth persons (DETR normalisation)."""

    def __init__(self, loss_weight=1.0, alpha=0.25, gamma=2.0):
        super().__init__(loss_weight)
        self.alpha, self.gamma = alpha, gamma

    def forward(self, logits, labels, num_gt: float, valid: Optional[torch.Tensor] = None):
        loss = sigmoid_focal_loss(logits, labels, self.alpha, self.gamma)
        if valid is not None:
            loss = loss * valid
        return self.loss_weight * loss.sum() / max(num_gt, 1.0)


@MODELS.register_module()
class BoxL1GIoULoss(_Weighted):
    """L1 on (cx, cy, w, h) plus 1 - GIoU, each summed over persons / number of persons."""

    def forward(self, pred, gt):
        if len(pred) == 0:
            return _zero(pred)
        l1 = (pred - gt).abs().sum(-1)
        giou = torch.diag(generalized_box_iou(box_cxcywh_to_xyxy(pred), box_cxcywh_to_xyxy(gt)))
        return self.loss_weight * (l1 + (1 - giou)).mean()


@MODELS.register_module()
class L1ParamLoss(_Weighted):
    """Mean absolute error per person (optionally weighted per element), mean over persons.
    Used for pose (rotation matrices) and shape (betas)."""

    def __init__(self, loss_weight=1.0, element_weight: Optional[Sequence[float]] = None):
        super().__init__(loss_weight)
        self.element_weight = None if element_weight is None else torch.tensor(element_weight)

    def forward(self, pred, gt):
        if len(pred) == 0:
            return _zero(pred)
        err = (pred - gt).abs()
        if self.element_weight is not None:
            w = self.element_weight.to(err)
            err = err * w[:err.shape[-1]]
        return self.loss_weight * err.flatten(1).mean(-1).mean()


@MODELS.register_module()
class Joints3DLoss(_Weighted):
    """Root-aligned L1 on 3D joints (metres), mean over joints and persons."""

    def forward(self, pred, gt):
        if len(pred) == 0:
            return _zero(pred)
        pred = pred - pred[:, :1]
        gt = gt - gt[:, :1]
        return self.loss_weight * (pred - gt).abs().sum(-1).mean()


@MODELS.register_module()
class Joints2DLoss(_Weighted):
    """L1 on projected joints normalised by the canvas side, over visible joints only
    (the real visibility mask; the reference code forced it to all-true, method.md §7)."""

    def __init__(self, loss_weight=40.0, norm_scale: float = 1.0):
        super().__init__(loss_weight)
        self.norm_scale = norm_scale

    def forward(self, pred, gt, vis):
        """pred (P, J, 2) px, gt (P, J, 2) px, vis (P, J) in {0, 1}."""
        if len(pred) == 0 or float(vis.sum()) == 0:
            return _zero(pred)
        err = ((pred - gt).abs() / self.norm_scale).sum(-1) * vis
        return self.loss_weight * err.sum() / vis.sum()


@MODELS.register_module()
class InverseDepthLoss(_Weighted):
    """L1 on inverse translation depth |1/z_pred - 1/z_gt| (1/m), mean over persons.
    Inverse depth keeps far persons from dominating."""

    def forward(self, pred_z, gt_z):
        if len(pred_z) == 0:
            return _zero(pred_z)
        return self.loss_weight * (1.0 / pred_z.clamp_min(1e-3) - 1.0 / gt_z.clamp_min(1e-3)).abs().mean()
