"""DAB-DETR decoder of SAT-HMR: anchor-box queries, conditional cross-attention, box refinement.

Each query has a content vector and an anchor box (cx, cy, w, h).  Per layer:

* the anchor's sine embedding gives the query position (``ref_point_head``);
* self-attention (pre-norm) over queries: content + position;
* conditional cross-attention (pre-norm) into the encoder memory: per head the query is
  [content, sine(anchor centre) modulated by the anchor size], the key is
  [content, memory position], so the attention dimension is twice the head width;
* FFN (pre-norm, ReLU);
* the layer's own box head (``bbox_embed[l]``, owned by the heads) refines the anchor,
  which enters the next layer detached.

Outputs are ``norm(query)`` of every layer and the anchor each layer started from.
Parameter names mirror SAT-HMR's ``decoder.decoder.*`` (see tools/convert_sat_hmr.py).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from metric_hmr.registry import MODELS
from .boxes import inverse_sigmoid
from .dinov2 import pad_sequences
from .mlp import MLP
from .sat_encoder import position_encoding_xy

__all__ = ['DABDecoderLayer', 'DABDecoder']


def _heads(x: torch.Tensor, n: int) -> torch.Tensor:
    """(B, L, C) -> (B, n, L, C/n)."""
    B, L, C = x.shape
    return x.reshape(B, L, n, C // n).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """(B, n, L, d) -> (B, L, n*d)."""
    B, n, L, d = x.shape
    return x.transpose(1, 2).reshape(B, L, n * d)


class DABDecoderLayer(nn.Module):
    """One decoder layer; ``ca_qpos_proj`` exists only in the first layer (SAT-HMR default)."""

    def __init__(self, d_model=768, nhead=4, dim_feedforward=2048, is_first=False):
        super().__init__()
        self.nhead = nhead
        for name in ('sa_qcontent_proj', 'sa_qpos_proj', 'sa_kcontent_proj', 'sa_kpos_proj', 'sa_v_proj',
                     'sa_out_proj', 'ca_qcontent_proj', 'ca_kcontent_proj', 'ca_kpos_proj', 'ca_v_proj',
                     'ca_qpos_sine_proj', 'ca_out_proj'):
            setattr(self, name, nn.Linear(d_model, d_model))
        self.ca_qpos_proj = nn.Linear(d_model, d_model) if is_first else None
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)

    def self_attention(self, tgt, query_pos, attn_mask):
        t = self.norm1(tgt)
        q = self.sa_qcontent_proj(t) + self.sa_qpos_proj(query_pos)
        k = self.sa_kcontent_proj(t) + self.sa_kpos_proj(query_pos)
        n = self.nhead
        out = F.scaled_dot_product_attention(_heads(q, n), _heads(k, n), _heads(self.sa_v_proj(t), n),
                                             attn_mask=attn_mask)
        return tgt + self.sa_out_proj(_merge(out))

    def cross_attention(self, tgt, query_pos, query_sine, memory, memory_pos, memory_mask):
        t = self.norm2(tgt)
        q = self.ca_qcontent_proj(t)
        k = self.ca_kcontent_proj(memory)
        k_pos = self.ca_kpos_proj(memory_pos)
        if self.ca_qpos_proj is not None:  # first layer: positions also join the content part
            q = q + self.ca_qpos_proj(query_pos)
            k = k + k_pos
        n = self.nhead
        q = torch.cat([_heads(q, n), _heads(self.ca_qpos_sine_proj(query_sine), n)], dim=-1)
        k = torch.cat([_heads(k, n), _heads(k_pos, n)], dim=-1)
        mask = None if memory_mask is None else memory_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, _heads(self.ca_v_proj(memory), n), attn_mask=mask)
        return tgt + self.ca_out_proj(_merge(out))

    def forward(self, tgt, query_pos, query_sine, memory, memory_pos, memory_mask=None, self_attn_mask=None):
        tgt = self.self_attention(tgt, query_pos, self_attn_mask)
        tgt = self.cross_attention(tgt, query_pos, query_sine, memory, memory_pos, memory_mask)
        return tgt + self.linear2(F.relu(self.linear1(self.norm3(tgt))))


@MODELS.register_module()
class DABDecoder(BaseModule):
    """SAT-HMR's decoder stack with its learned queries.

    Args:
        d_model, nhead, num_layers, dim_feedforward: 768, 4, 6, 2048 (SAT-HMR default).
        num_queries: matching queries (50).
        dn_param_dim: width of the denoising content input (pose axis-angle 72 + betas);
            0 builds no ``dn_enc`` (inference-only models, MA-HMR stages without denoising).
    """

    def __init__(self, d_model=768, nhead=4, num_layers=6, dim_feedforward=2048, num_queries=50,
                 dn_param_dim=0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.d_model, self.num_layers, self.num_queries = d_model, num_layers, num_queries
        self.layers = nn.ModuleList(
            DABDecoderLayer(d_model, nhead, dim_feedforward, is_first=(i == 0)) for i in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.query_scale = MLP(d_model, d_model, d_model, 2)
        self.ref_point_head = MLP(2 * d_model, d_model, d_model, 2)
        self.ref_anchor_head = MLP(d_model, d_model, 2, 2)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for layer in self.layers:
            nn.init.zeros_(layer.sa_out_proj.bias)
            nn.init.zeros_(layer.ca_out_proj.bias)
        self.refpoint_embed = nn.Embedding(num_queries, 4)
        self.tgt_embed = nn.Embedding(num_queries, d_model)
        self.dn_enc = nn.Linear(dn_param_dim, d_model) if dn_param_dim else None

    def query_sine(self, boxes: torch.Tensor) -> torch.Tensor:
        """(B, Q, 4) anchors -> (B, Q, 2C): [emb(cy), emb(cx), emb(h), emb(w)]."""
        b = boxes.reshape(-1, 4)
        xy = position_encoding_xy(b[:, 0], b[:, 1], self.d_model)
        wh = position_encoding_xy(b[:, 2], b[:, 3], self.d_model)
        return torch.cat([xy, wh], dim=1).reshape(*boxes.shape[:2], 2 * self.d_model)

    def forward(self, memory: Sequence[torch.Tensor], memory_pos: Sequence[torch.Tensor],
                tgt: torch.Tensor, refpoints_unsigmoid: torch.Tensor, bbox_embed: nn.ModuleList,
                self_attn_mask: Optional[torch.Tensor] = None):
        """memory/memory_pos: per image (L_i, C); tgt (B, Q, C); refpoints (B, Q, 4) logits;
        self_attn_mask (Q, Q) bool, True = may attend.  Returns hs (layers, B, Q, C) and the
        anchors entering each layer (layers, B, Q, 4)."""
        mem, mem_mask = pad_sequences(list(memory))
        pos, _ = pad_sequences(list(memory_pos))
        C = self.d_model
        output, ref = tgt, refpoints_unsigmoid.sigmoid()
        hs, refs = [], [ref]
        for lid, layer in enumerate(self.layers):
            sine = self.query_sine(ref)
            query_pos = self.ref_point_head(sine)
            sine = sine[..., :C] * (1 if lid == 0 else self.query_scale(output))
            # modulate the x / y halves by the predicted over the anchor width / height
            ref_hw = self.ref_anchor_head(output).sigmoid()
            sine = torch.cat([sine[..., :C // 2] * (ref_hw[..., 1] / ref[..., 3])[..., None],
                              sine[..., C // 2:] * (ref_hw[..., 0] / ref[..., 2])[..., None]], dim=-1)
            output = layer(output, query_pos, sine, mem, pos, mem_mask, self_attn_mask)
            h = self.norm(output)
            new_ref = (bbox_embed[lid](h) + inverse_sigmoid(ref)).sigmoid()
            if lid != self.num_layers - 1:
                refs.append(new_ref)
            ref = new_ref.detach()
            hs.append(h)
        return torch.stack(hs), torch.stack(refs)
