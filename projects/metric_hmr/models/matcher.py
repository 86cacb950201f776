"""Per-image Hungarian matching of queries to ground-truth persons (SAT-HMR's costs, scipy)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from scipy.optimize import linear_sum_assignment

from metric_hmr.registry import TASK_UTILS
from .boxes import box_cxcywh_to_xyxy, generalized_box_iou

__all__ = ['HungarianMatcher']


@TASK_UTILS.register_module()
class HungarianMatcher:
    """SAT-HMR ``models/matcher.py``: cost = w_conf * alpha (1 - p)^gamma (-log p)
    + w_box * L1(cx, cy, w, h) - w_giou * GIoU + w_kpts * mean L1 of the visible 2D joints
    (first ``num_kpts`` = 22 SMPL joints, pixels / input size).  SAT-HMR: 1, 1, 1, 20.

    ``cost_kpts = 0`` (or no keypoints given) drops the keypoint term.
    """

    def __init__(self, cost_conf: float = 1.0, cost_box: float = 1.0, cost_giou: float = 1.0,
                 cost_kpts: float = 20.0, num_kpts: int = 22, alpha: float = 0.25, gamma: float = 2.0):
        self.cost_conf, self.cost_box, self.cost_giou, self.cost_kpts = cost_conf, cost_box, cost_giou, cost_kpts
        self.num_kpts, self.alpha, self.gamma = num_kpts, alpha, gamma

    @torch.no_grad()
    def cost_matrix(self, logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor,
                    pred_kpts: Optional[torch.Tensor] = None, gt_kpts: Optional[torch.Tensor] = None,
                    norm_scale: float = 1.0) -> torch.Tensor:
        """logits (Q,), boxes (Q, 4), gt_boxes (N, 4) cxcywh; pred_kpts (Q, J, 2) px,
        gt_kpts (N, J, 3) px + visibility -> (Q, N) cost."""
        p = torch.sigmoid(logits.float())
        c_conf = (self.alpha * (1 - p) ** self.gamma * -(p + 1e-8).log())[:, None]
        c_box = torch.cdist(boxes.float(), gt_boxes.float(), p=1)
        c_giou = -generalized_box_iou(box_cxcywh_to_xyxy(boxes.float()), box_cxcywh_to_xyxy(gt_boxes.float()))
        cost = self.cost_conf * c_conf + self.cost_box * c_box + self.cost_giou * c_giou
        if self.cost_kpts and pred_kpts is not None and gt_kpts is not None:
            J = self.num_kpts
            pk = pred_kpts[:, :J].float() / norm_scale                      # (Q, J, 2)
            gk = gt_kpts[:, :J, :2].float() / norm_scale                    # (N, J, 2)
            vis = (gt_kpts[:, :J, 2] > 0).float()[..., None].expand(-1, -1, 2)  # per coordinate
            dist = ((pk[:, None] - gk[None]).abs() * vis[None]).flatten(2).sum(-1)
            cost = cost + self.cost_kpts * dist / vis.flatten(1).sum(-1).clamp_min(1.0)[None]
        return cost

    @torch.no_grad()
    def __call__(self, logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: Sequence[torch.Tensor],
                 pred_kpts: Optional[torch.Tensor] = None, gt_kpts: Optional[Sequence[torch.Tensor]] = None,
                 norm_scale: float = 1.0) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """logits (B, Q), boxes (B, Q, 4); gt_boxes per image (n_b, 4); optional pred_kpts
        (B, Q, J, 2) and gt_kpts per image (n_b, J, 3).

        Returns per image (query_index, gt_index), both (min(Q, n_b),) long, sorted by gt_index.
        """
        out = []
        for b, gt in enumerate(gt_boxes):
            device = logits.device
            if len(gt) == 0:
                empty = torch.zeros(0, dtype=torch.long, device=device)
                out.append((empty, empty))
                continue
            cost = self.cost_matrix(logits[b], boxes[b], gt, None if pred_kpts is None else pred_kpts[b],
                                    None if gt_kpts is None else gt_kpts[b], norm_scale).cpu().numpy()
            qi, gi = linear_sum_assignment(cost)
            order = gi.argsort()
            out.append((torch.as_tensor(qi[order], dtype=torch.long, device=device),
                        torch.as_tensor(gi[order], dtype=torch.long, device=device)))
        return out
