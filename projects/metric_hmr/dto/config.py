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
    # --- DTO+ (issue 15; docs/dto.md 'DTO+'); preset='plus' turns all on ---
    depth_statistic: str = 'mean'                   # d_i / q_i: 'mean' (paper) | 'median' | 'trimmed'
    trim_frac: float = 0.2                          # 'trimmed': share dropped at each end
    scale_estimator: str = 'ols'                    # X_i: 'ols' z on D (paper) | 'inverse' | 'rma'
    affine_space: str = 'depth'                     # 'depth' z = s d + t (paper) | 'disparity' z = a / (q - b)
    height_loss: str = 'gaussian'                   # 'gaussian' (paper) | 'huber' (IRLS)
    huber_c: float = 2.0                            # Huber threshold on (h* - mu) / sigma
    irls_max_iter: int = 10
    focal_refine: bool = False                      # estimate f from heights + depth relief
    focal_min_persons: int = 3
    focal_max_rel_std: float = 0.1                  # max std of log(f_hmr / f)
    focal_ratio_range: Tuple[float, float] = (0.5, 2.0)
    focal_min_corr: float = 0.3                     # |r| of a person's relief regression

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
        for key in ('gender_thresholds', 'focal_ratio_range'):
            if key in cfg:
                cfg[key] = tuple(cfg[key])
        presets = dict(paper=cls, released=cls.released, plus=cls.plus)
        if preset not in presets:
            raise ValueError(f"DTO preset must be one of {sorted(presets)}, got {preset!r}")
        out = dataclasses.replace(presets[preset](), **cfg)
        out.check_plus()
        return out

    @classmethod
    def released(cls) -> 'DTOConfig':
        """Behaviour of the authors' released code (method.md, 'Released-code behaviour')."""
        return cls(gender_thresholds=(0.33, 0.67), regression_source='pixels', z_source='rendered',
                   quasi_planar_test='std', bounds_mode='lower_only', min_corr=0.5,
                   fallback_X=20.0, skipped_penalty=3.0, min_mask_area_frac=1 / 400,
                   min_visible_vertices=500, iqr_fence=True, row_mean_removal=True,
                   inlier_thresh=0.1, max_height=2.1, near_far=True, feet_fit=True)

    @classmethod
    def plus(cls) -> 'DTOConfig':
        """DTO+ (issue 15): interior samples (erosion 2) with a median statistic, the
        inverse-regression intra-human scale, the affine in disparity space and a Huber
        height likelihood.  Bounds [0.5 X, 3 X]: X is no longer diluted, and
        s_d / X = f_hmr / (f k_i) may fall below 1 when the focal is short or a person was
        estimated too large.  Focal refinement stays an option (``focal_refine=True``): on
        the development scenes its relief-based estimate was biased by the estimate's mesh
        errors and raised the depth error (docs/dto.md, DTO+)."""
        return cls(edge_erosion=2, depth_statistic='median', scale_estimator='inverse',
                   affine_space='disparity', height_loss='huber', focal_refine=False,
                   alpha1=0.5, alpha2=3.0)

    @property
    def uses_plus_fit(self) -> bool:
        """Whether run_dto takes the DTO+ fit path (plus_fit.fit_plus)."""
        return self.affine_space != 'depth' or self.height_loss != 'gaussian' or self.focal_refine

    def check_plus(self) -> None:
        """Reject DTO+ options combined with released-code options they do not support."""
        for key, allowed in (('depth_statistic', ('mean', 'median', 'trimmed')),
                             ('scale_estimator', ('ols', 'inverse', 'rma')),
                             ('affine_space', ('depth', 'disparity')),
                             ('height_loss', ('gaussian', 'huber'))):
            if getattr(self, key) not in allowed:
                raise ValueError(f'DTO option {key} must be one of {allowed}, got {getattr(self, key)!r}')
        robust_cues = self.depth_statistic != 'mean' or self.scale_estimator != 'ols'
        released = [k for k in ('iqr_fence', 'row_mean_removal', 'near_far', 'feet_fit')
                    if getattr(self, k)]
        released += [k for k in ('inlier_thresh', 'max_height') if getattr(self, k) is not None]
        if self.regression_source != 'vertices':
            released.append('regression_source')
        if (self.uses_plus_fit or robust_cues) and released:
            raise ValueError(f'DTO+ options cannot be combined with the released-code options {released}')

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
