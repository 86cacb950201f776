"""Typed DTO options.  Defaults = paper behaviour; released-code behaviour = named options.

The same keys make up ``configs/_base_/dto.py`` (``dto_cfg``) and ``DTORefiner(dto=...)``.
``DTOConfig.released()`` returns the released-code preset.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

__all__ = ['DTOConfig']


@dataclass
class DTOConfig:
    # --- height priors (priors.py) ---
    prior_mode: str = 'paper'                       # 'paper' group table | 'cdc' continuous age
    gender_thresholds: Tuple[float, float] = (0.5, 0.5)   # released: (0.33, 0.67)
    adult_hybrid: bool = True                       # mu = (h_HMR + mu_gender) / 2
    fallback_prior: str = 'adult_neutral'           # unknown age / unknown adult gender
    group_priors: Optional[Dict[str, Tuple[float, float]]] = None   # overrides of the table
    # --- depth map (depth.py) ---
    depth_convention: str = 'disparity'             # 'depth' | 'disparity' (1/disp)
    depth_resample: str = 'before'                  # resample raw map 'before' or 'after' conversion
    # --- visibility and cues (raster.py, cues.py) ---
    resolution: Optional[int] = 512                 # raster longest side, None = image size
    depth_tol: float = 0.02                         # m, vertex-on-front-surface tolerance
    use_masks: bool = True                          # restrict visibility to person masks if given
    edge_erosion: int = 1                           # drop samples this many raster px inside silhouettes (0 = paper's letter)
    regression_source: str = 'vertices'             # X_i from 'vertices' | 'pixels'
    z_source: str = 'transl'                        # z_i: 'transl' (paper) | 'rendered' (released)
    quasi_planar_test: str = 'variance'             # 'variance' (paper) | 'std' (released)
    # --- bounds (supplement 6.3) ---
    bounds_mode: str = 'paper'                      # 'paper' [a1 X, a2 X] | 'lower_only' [X, inf)
    alpha1: float = 1.0
    alpha2: float = 5.0
    min_corr: Optional[float] = None                # released: 0.5 (X from persons with r > 0.5)
    fallback_X: Optional[float] = None              # released: 20; None -> s_d >= 0 only
    # --- verdict ---
    score_threshold: float = 1.5
    skipped_penalty: Optional[float] = None         # released: 3 (skipped persons in the score)
    # --- released-code person filters / regression refinements ---
    min_mask_area_frac: Optional[float] = None      # released: 1/400 of H*W
    min_visible_vertices: Optional[int] = None      # released: 500
    iqr_fence: bool = False
    row_mean_removal: bool = False
    inlier_thresh: Optional[float] = None           # released: 0.1 m
    # --- released-code scene handling ---
    max_height: Optional[float] = None              # released: 2.1 m greedy rejection
    max_reject_rounds: int = 10
    near_far: bool = False                          # released: split into near / far groups
    far_rel_depth: Optional[float] = None           # far when d_i > this (relative units)
    far_size_frac: float = 0.25                     # far when 2 m projects < frac * short side
    feet_fit: bool = False                          # released: second fit on bottom pixels
    feet_frac: float = 0.1

    @classmethod
    def from_dict(cls, cfg: Optional[dict] = None) -> 'DTOConfig':
        if cfg is None:
            return cls()
        if isinstance(cfg, DTOConfig):
            return cfg
        cfg = dict(cfg)
        preset = cfg.pop('preset', 'paper')
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f'unknown DTO option(s) {unknown}; known: {sorted(known)}')
        if 'gender_thresholds' in cfg:
            cfg['gender_thresholds'] = tuple(cfg['gender_thresholds'])
        base = cls.released() if preset == 'released' else cls()
        if preset not in ('paper', 'released'):
            raise ValueError(f"DTO preset must be 'paper' or 'released', got {preset!r}")
        return dataclasses.replace(base, **cfg)

    @classmethod
    def released(cls) -> 'DTOConfig':
        """Behaviour of the authors' released code (method.md, 'Released-code behaviour')."""
        return cls(gender_thresholds=(0.33, 0.67), regression_source='pixels', z_source='rendered',
                   quasi_planar_test='std', bounds_mode='lower_only', min_corr=0.5,
                   fallback_X=20.0, skipped_penalty=3.0, min_mask_area_frac=1 / 400,
                   min_visible_vertices=500, iqr_fence=True, row_mean_removal=True,
                   inlier_thresh=0.1, max_height=2.1, near_far=True, feet_fit=True)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
