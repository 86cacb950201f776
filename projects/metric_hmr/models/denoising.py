"""Contrastive query denoising with parameter content queries (SAT-HMR ``dn_cfg``; DINO-style).

``dn_number`` groups, each holding a positive and a negative copy of every ground-truth
person of the image (``pad = max persons``, so a group has 2*pad slots: positives first):

* anchor: the person's box with its corners moved by ``U[0,1) * box_noise_scale * (w/2, h/2)``
  for positives and ``U[1,2)`` times that for negatives (random signs), clamped to [0, 1];
* content: ``dn_enc([pose axis-angle (72), betas])`` of the person with noise
  ``U[0,1) * tgt_noise_scale`` (negatives ``U[1,2)``) and random signs.

Positives must reconstruct their person; negatives must be called "no person".  Matching
queries never see denoising queries; groups never see each other.  The denoising queries
come first in the query sequence (as in SAT-HMR).
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import torch

from .boxes import inverse_sigmoid

__all__ = ['DenoisingMeta', 'build_denoising_queries']


class DenoisingMeta(NamedTuple):
    valid: torch.Tensor      # (B, D) bool: positive query of a real person
    negative: torch.Tensor   # (B, D) bool: negative query of a real person
    gt_index: torch.Tensor   # (B, D) long: which ground-truth person of its image
    num_groups: int


def _noised_boxes(boxes: torch.Tensor, negative: torch.Tensor, scale: float, generator) -> torch.Tensor:
    """(N, 4) cxcywh -> noised cxcywh (corner noise, DINO's contrastive rule)."""
    xyxy = torch.cat([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], 1)
    diff = torch.cat([boxes[:, 2:] / 2, boxes[:, 2:] / 2], 1)
    sign = torch.randint(0, 2, boxes.shape, generator=generator, device=boxes.device).float() * 2 - 1
    part = torch.rand(boxes.shape, generator=generator, device=boxes.device) + negative[:, None].float()
    xyxy = (xyxy + sign * part * diff * scale).clamp(0.0, 1.0)
    return torch.cat([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], 1)


def _noised_params(params: torch.Tensor, negative: torch.Tensor, scale: float, generator) -> torch.Tensor:
    sign = torch.randint(0, 2, params.shape, generator=generator, device=params.device).float() * 2 - 1
    part = torch.rand(params.shape, generator=generator, device=params.device) + negative[:, None].float()
    return params + sign * part * scale


def build_denoising_queries(gt_boxes: Sequence[torch.Tensor], gt_params: Sequence[torch.Tensor], dn_enc,
                            num_queries: int, dn_number: int = 10, box_noise_scale: float = 0.4,
                            tgt_noise_scale: float = 0.2, generator: Optional[torch.Generator] = None):
    """Denoising content, anchors (logits) and the self-attention permission.

    Args:
        gt_boxes: per image (n_b, 4) cxcywh in [0, 1]; gt_params: per image (n_b, P) =
            [pose axis-angle, betas] (P = ``dn_enc.in_features``).
    Returns:
        tgt (B, D, C), anchors (B, D, 4) logits, allow (D+Q, D+Q) bool (True = may attend),
        :class:`DenoisingMeta`.
    """
    device = gt_boxes[0].device
    B = len(gt_boxes)
    pad = max(1, max(len(b) for b in gt_boxes))
    D = 2 * pad * dn_number
    C = dn_enc.out_features
    tgt = torch.zeros(B, D, C, device=device)
    anchors = torch.zeros(B, D, 4, device=device)
    valid = torch.zeros(B, D, dtype=torch.bool, device=device)
    negative = torch.zeros(B, D, dtype=torch.bool, device=device)
    gt_index = torch.zeros(B, D, dtype=torch.long, device=device)
    for b, (boxes, params) in enumerate(zip(gt_boxes, gt_params)):
        n = len(boxes)
        if n == 0:
            continue
        rep = 2 * dn_number
        neg = (torch.arange(rep, device=device) % 2 == 1).repeat_interleave(n)  # [pos, neg] per group
        slots = (torch.arange(rep, device=device) * pad).repeat_interleave(n) + torch.arange(n, device=device).repeat(rep)
        box = _noised_boxes(boxes.float().repeat(rep, 1), neg, box_noise_scale, generator)
        par = _noised_params(params.float().repeat(rep, 1), neg, tgt_noise_scale, generator)
        tgt[b, slots] = dn_enc(par)
        anchors[b, slots] = inverse_sigmoid(box)
        valid[b, slots] = ~neg
        negative[b, slots] = neg
        gt_index[b, slots] = torch.arange(n, device=device).repeat(rep)
    group = torch.arange(D, device=device) // (2 * pad)
    allow = torch.ones(D + num_queries, D + num_queries, dtype=torch.bool, device=device)
    allow[:D, :D] = group[:, None] == group[None, :]
    allow[D:, :D] = False
    return tgt, anchors, allow, DenoisingMeta(valid, negative, gt_index, dn_number)
