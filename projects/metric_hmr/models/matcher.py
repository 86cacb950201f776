"""Per-image Hungarian matching of queries to ground-truth persons (scipy)."""
from typing import List, Sequence, Tuple

import torch
from scipy.optimize import linear_sum_assignment

from metric_hmr.registry import TASK_UTILS
from .boxes import box_cxcywh_to_xyxy, generalized_box_iou


@TASK_UTILS.register_module()
class HungarianMatcher:
    """Match queries to persons by a focal confidence cost + box L1 + GIoU cost.

    cost = w_conf * (focal cost of calling the query a person) + w_box * L1(cx, cy, w, h)
           - w_giou * GIoU
    """

    def __init__(self, cost_conf: float = 2.0, cost_box: float = 5.0, cost_giou: float = 2.0,
                 alpha: float = 0.25, gamma: float = 2.0):
        self.cost_conf, self.cost_box, self.cost_giou = cost_conf, cost_box, cost_giou
        self.alpha, self.gamma = alpha, gamma

    @torch.no_grad()
    def cost_matrix(self, logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor) -> torch.Tensor:
        """logits (Q,), boxes (Q, 4), gt_boxes (N, 4) cxcywh -> (Q, N) cost."""
        p = torch.sigmoid(logits.float())
        pos = self.alpha * (1 - p) ** self.gamma * -(p + 1e-8).log()
        neg = (1 - self.alpha) * p ** self.gamma * -(1 - p + 1e-8).log()
        c_conf = (pos - neg)[:, None]
        c_box = torch.cdist(boxes.float(), gt_boxes.float(), p=1)
        c_giou = -generalized_box_iou(box_cxcywh_to_xyxy(boxes.float()), box_cxcywh_to_xyxy(gt_boxes.float()))
        return self.cost_conf * c_conf + self.cost_box * c_box + self.cost_giou * c_giou

    @torch.no_grad()
    def __call__(self, logits: torch.Tensor, boxes: torch.Tensor,
                 gt_boxes: Sequence[torch.Tensor]) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """logits (B, Q), boxes (B, Q, 4); gt_boxes per image (n_b, 4).

        Returns per image (query_index, gt_index), both (min(Q, n_b),) long, sorted by gt_index.
        """
        out = []
        for b, gt in enumerate(gt_boxes):
            device = logits.device
            if len(gt) == 0:
                empty = torch.zeros(0, dtype=torch.long, device=device)
                out.append((empty, empty))
                continue
            cost = self.cost_matrix(logits[b], boxes[b], gt).cpu().numpy()
            qi, gi = linear_sum_assignment(cost)
            order = gi.argsort()
            out.append((torch.as_tensor(qi[order], dtype=torch.long, device=device),
                        torch.as_tensor(gi[order], dtype=torch.long, device=device)))
        return out
