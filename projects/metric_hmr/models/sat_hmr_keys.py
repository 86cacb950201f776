"""Key mapping from SAT-HMR / MA-HMR state dicts to :class:`MAHMR` (used by tools/convert_sat_hmr.py).

MA-HMR (gouba2333/MA-HMR, models/sat_model.py) is SAT-HMR's ``Model`` with the same key names
plus ``fov_head.*`` (the camera branch, -> ``camera_head.*``); its ``fov_kid`` checkpoints carry
11 betas (``mean_shape`` (11,), ``shape_head.*.layers.4`` (11, 768)) and need ``num_betas=11``.

Every SAT-HMR key is *mapped* (renamed, same tensor), an *alias* (a second name of a mapped
tensor: SAT-HMR registers its box heads twice), *rebuilt* (buffers our model computes from
its config or the user's SMPL files: ``cam_intrinsics``, the z-order maps, ``human_model.*``)
or *unmapped* (reported; a correct SAT-HMR ViT-B file has none).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

__all__ = ['SAT_HMR_PREFIXES', 'REBUILT_KEYS', 'ConversionReport', 'unwrap_state_dict', 'map_sat_hmr_key',
           'convert_sat_hmr_state_dict']

# (SAT-HMR prefix, our prefix), first match wins (longest prefixes first where they overlap)
SAT_HMR_PREFIXES: List[Tuple[str, str]] = [
    ('encoder.additional_blocks.', 'backbone.additional_blocks.'),
    ('encoder.blocks.', 'backbone.blocks.'),
    ('encoder.norm.', 'backbone.norm.'),
    ('encoder_patch_proj.', 'backbone.patch_proj.'),
    ('encoder_cr_token', 'backbone.cr_token'),
    ('encoder_pos_embeds', 'backbone.pos_embed'),
    ('enc_inter_norm.', 'backbone.inter_norm.'),
    ('scale_head.', 'backbone.scale_head.'),
    ('level_embed', 'backbone.level_embed'),
    ('feature_proj.', 'backbone.feature_proj.'),
    ('decoder.decoder.bbox_embed.', None),  # alias of bbox_embed.*
    ('decoder.decoder.', 'decoder.'),
    ('refpoint_embed.', 'decoder.refpoint_embed.'),
    ('tgt_embed.', 'decoder.tgt_embed.'),
    ('dn_enc.', 'decoder.dn_enc.'),
    ('bbox_embed.', 'heads.bbox_embed.'),
    ('pose_head.', 'heads.pose_head.'),
    ('shape_head.', 'heads.shape_head.'),
    ('cam_head.', 'heads.cam_head.'),
    ('conf_head.', 'heads.conf_head.'),
    ('mean_pose', 'heads.mean_pose'),
    ('mean_shape', 'heads.mean_shape'),
    # MA-HMR's camera branch (gouba2333/MA-HMR models/sat_model.py:141-145, ``fov_cfg.use_fov``):
    # ``self.fov_head = MLP(768, 768, 1, 4)`` -> fov_head.layers.{0..3}.{weight,bias}
    ('fov_head.', 'camera_head.'),
    ('camera_head.', 'camera_head.'),  # a file already in this project's naming
]
REBUILT_KEYS = ('cam_intrinsics', 'z_order_map', 'y_coords', 'x_coords')
REBUILT_PREFIXES = ('human_model.',)


class ConversionReport(dict):
    """key -> (status, our key or note); status in mapped / alias / rebuilt / dropped / unmapped."""

    def count(self, status: str) -> int:
        return sum(1 for s, _ in self.values() if s == status)

    def table(self) -> str:
        rows = [f'{"SAT-HMR key":60s} {"status":9s} target']
        rows += [f'{k:60s} {s:9s} {t}' for k, (s, t) in sorted(self.items())]
        counts = ', '.join(f'{s}={self.count(s)}' for s in ('mapped', 'alias', 'rebuilt', 'dropped', 'unmapped'))
        return '\n'.join(rows + [f'total={len(self)}: {counts}'])


def unwrap_state_dict(obj) -> Dict[str, torch.Tensor]:
    """Accept a flat state dict, a ``model`` / ``state_dict`` wrapper and a ``module.`` prefix."""
    for key in ('model', 'state_dict'):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError('checkpoint is not a {name: tensor} state dict (nor model/state_dict wrapped)')
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v) for k, v in obj.items())


def map_sat_hmr_key(key: str) -> Tuple[str, Optional[str]]:
    """(status, our key) of one SAT-HMR key (status mapped / alias / rebuilt / unmapped)."""
    if key in REBUILT_KEYS or key.startswith(REBUILT_PREFIXES):
        return 'rebuilt', None
    for src, dst in SAT_HMR_PREFIXES:
        if key.startswith(src):
            if dst is None:
                return 'alias', 'heads.bbox_embed.' + key[len(src):]
            return 'mapped', dst + key[len(src):]
    return 'unmapped', None


def _pad_rows(t: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """Zero-pad ``t`` along ``dim`` to size ``n`` (extra betas start at 0)."""
    if t.shape[dim] >= n:
        return t
    shape = list(t.shape)
    shape[dim] = n - t.shape[dim]
    return torch.cat([t, t.new_zeros(shape)], dim)


def _check_betas(key: str, size: int, num_betas: int) -> None:
    """An 11-beta MA-HMR file (``fov_kid``: SMPL-A age blend) cannot become a 10-beta model."""
    if size > num_betas:
        raise ValueError(f'{key} has {size} betas but num_betas={num_betas}: an MA-HMR kid checkpoint '
                         f'(models/fov_kid.yaml, use_kid) needs --num-betas {size}')


def _adapt_betas(key: str, t: torch.Tensor, num_betas: int) -> torch.Tensor:
    """10-beta SAT-HMR tensors -> ``num_betas`` (11: SMPL-A's kid blend gets zero weights)."""
    if key == 'heads.mean_shape' or (key.startswith('heads.shape_head.') and 'layers.4.' in key):
        _check_betas(key, t.shape[0], num_betas)
    elif key == 'decoder.dn_enc.weight':
        _check_betas(key, t.shape[1] - 72, num_betas)
    if key == 'heads.mean_shape':
        return _pad_rows(t, num_betas, 0)
    if key.startswith('heads.shape_head.') and key.endswith(('layers.4.weight', 'layers.4.bias')):
        return _pad_rows(t, num_betas, 0)
    if key.startswith('decoder.dn_enc.weight'):
        return _pad_rows(t, 72 + num_betas, 1)
    return t


def convert_sat_hmr_state_dict(sd: Dict[str, torch.Tensor], num_betas: int = 10, keep_dn: bool = True,
                               keep_camera: bool = True):
    """SAT-HMR / MA-HMR state dict -> (our state dict, :class:`ConversionReport`).

    Aliases must equal their canonical tensor (else ValueError naming the key).  ``keep_dn``
    False drops ``dn_enc`` (models without denoising); ``keep_camera`` False drops a FoV head.
    """
    out: Dict[str, torch.Tensor] = OrderedDict()
    report = ConversionReport()
    for key, value in sd.items():
        status, target = map_sat_hmr_key(key)
        if status == 'mapped' and ((not keep_dn and target.startswith('decoder.dn_enc.'))
                                   or (not keep_camera and target.startswith('camera_head.'))):
            status = 'dropped'
        if status == 'mapped':
            out[target] = _adapt_betas(target, value, num_betas)
        report[key] = (status, target or '')
    for key, (status, target) in report.items():
        if status == 'alias':
            canon = 'bbox_embed.' + key[len('decoder.decoder.bbox_embed.'):]
            if canon not in sd:
                raise ValueError(f'alias {key} has no canonical key {canon}')
            if not torch.equal(sd[key], sd[canon]):
                raise ValueError(f'alias {key} differs from {canon}: not a SAT-HMR checkpoint')
    return out, report
