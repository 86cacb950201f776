"""Typed DTO options.  Defaults = paper behaviour; released-code behaviour = named options.

The same flat keys make up ``configs/_base_/dto.py`` (``dto_cfg``) and
``DTORefiner(dto=...)``; ``DTOConfig.released()`` returns the released-code preset.

A :class:`DTOConfig` is checked when it is built (also by ``dataclasses.replace``): a
string option outside its allowed values, or a number out of range, is one ``ValueError``
naming the option and what is allowed, before any image is touched.  The steps of DTO
read the option group they need as a sub-config: ``cfg.priors`` (:class:`PriorConfig`),
``cfg.cues`` (:class:`CueConfig`), ``cfg.bounds`` (:class:`BoundsConfig`) and
``cfg.verdict`` (:class:`VerdictConfig`); the released-code scene handling
(:mod:`metric_hmr.dto.released`) reads the whole config.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, Optional, Tuple, get_args, get_origin, get_type_hints

try:
    from typing import Literal
except ImportError:  # pragma: no cover  (python < 3.8)
    from typing_extensions import Literal

__all__ = ['DTOConfig', 'PriorConfig', 'CueConfig', 'BoundsConfig', 'VerdictConfig',
           'PriorMode', 'DepthConvention', 'DepthResample', 'RegressionSource', 'ZSource',
           'QuasiPlanarTest', 'BoundsMode', 'Algorithm']

PriorMode = Literal['paper', 'cdc']                 # group table | continuous-age CDC (minors)
DepthConvention = Literal['disparity', 'depth']     # network output: 1/disp | already depth
DepthResample = Literal['before', 'after']          # resample the raw map before / after conversion
RegressionSource = Literal['vertices', 'pixels']    # X_i from visible vertices | rendered pixels
ZSource = Literal['transl', 'rendered']             # z_i: translation z | mean z-buffer depth
QuasiPlanarTest = Literal['variance', 'std']        # paper | released code
BoundsMode = Literal['paper', 'lower_only']         # [a1 X, a2 X] | [X, inf)
Algorithm = Literal['paper', 'released']            # run_dto steps | released_algorithm.py


# ----------------------------------------------------------------------------- checks
def _check_choices(obj) -> None:
    """Every field annotated with a ``Literal`` holds one of its values."""
    hints = get_type_hints(type(obj), globalns=globals())
    for f in dataclasses.fields(obj):
        allowed = get_args(hints[f.name]) if get_origin(hints[f.name]) is Literal else None
        value = getattr(obj, f.name)
        if allowed is not None and value not in allowed:
            raise ValueError(f'DTO option {f.name}={value!r} is not one of {allowed}')


def _require(ok: bool, name: str, value, what: str) -> None:
    if not ok:
        raise ValueError(f'DTO option {name}={value!r}: {what}')


def _opt_pos(name: str, value) -> None:
    _require(value is None or value > 0, name, value, 'must be None or > 0')


# ------------------------------------------------------------------------ sub-configs
@dataclass(frozen=True)
class PriorConfig:
    """Height priors (paper supplement 6.4, :func:`metric_hmr.dto.priors.height_priors`)."""
    prior_mode: PriorMode = 'paper'
    gender_thresholds: Tuple[float, float] = (0.5, 0.5)   # (female below, male above)
    adult_hybrid: bool = True                             # mu = (h_HMR + mu_gender) / 2
    fallback_prior: str = 'adult_neutral'                 # unknown age / unknown adult gender
    group_priors: Optional[Dict[str, Tuple[float, float]]] = None   # overrides of the table
    gender_prior: bool = True                             # False: Table 8's D', adults N(h, 0.073^2)

    def __post_init__(self):
        object.__setattr__(self, 'gender_thresholds', tuple(self.gender_thresholds))
        _check_choices(self)
        lo, hi = self.gender_thresholds
        _require(0.0 <= lo <= hi <= 1.0, 'gender_thresholds', self.gender_thresholds,
                 'must satisfy 0 <= female_below <= male_above <= 1')
        from .priors import PAPER_GROUP_PRIORS   # the table lives with the priors
        known = set(PAPER_GROUP_PRIORS) | set(self.group_priors or {})
        _require(self.fallback_prior in known, 'fallback_prior', self.fallback_prior,
                 f'must be one of {sorted(known)}')


@dataclass(frozen=True)
class CueConfig:
    """Depth map, visibility and per-person cues (``depth``, ``raster``, ``cues``)."""
    depth_convention: DepthConvention = 'disparity'
    depth_resample: DepthResample = 'before'
    resolution: Optional[int] = 512       # raster longest side, None = image size
    depth_tol: float = 0.02               # m, vertex-on-front-surface tolerance
    use_masks: bool = True                # restrict visibility to person masks if given
    edge_erosion: int = 1                 # raster px dropped inside silhouettes (0 = paper's letter)
    regression_source: RegressionSource = 'vertices'
    iqr_fence: bool = False               # released-code regression refinements
    row_mean_removal: bool = False
    inlier_thresh: Optional[float] = None

    def __post_init__(self):
        _check_choices(self)
        _opt_pos('resolution', self.resolution)
        _require(self.depth_tol > 0, 'depth_tol', self.depth_tol, 'must be > 0')
        _require(int(self.edge_erosion) == self.edge_erosion and self.edge_erosion >= 0,
                 'edge_erosion', self.edge_erosion, 'must be an integer >= 0')
        _opt_pos('inlier_thresh', self.inlier_thresh)


@dataclass(frozen=True)
class BoundsConfig:
    """Bounds on s_d (supplement 6.3) and the weighted scale X."""
    bounds_mode: BoundsMode = 'paper'
    alpha1: float = 1.0
    alpha2: float = 5.0
    min_corr: Optional[float] = None      # released: 0.5 (X from persons with r > 0.5)
    fallback_X: Optional[float] = None    # released: 20; None -> s_d >= 0 only

    def __post_init__(self):
        _check_choices(self)
        _require(0 < self.alpha1 <= self.alpha2, 'alpha1/alpha2', (self.alpha1, self.alpha2),
                 'must satisfy 0 < alpha1 <= alpha2')
        _opt_pos('fallback_X', self.fallback_X)


@dataclass(frozen=True)
class VerdictConfig:
    """Image verdict (paper Sec. 3.2.4)."""
    score_threshold: float = 1.5
    skipped_penalty: Optional[float] = None   # released: 3 (skipped persons in the score)

    def __post_init__(self):
        _require(self.score_threshold > 0, 'score_threshold', self.score_threshold, 'must be > 0')


def _sub(cfg: 'DTOConfig', cls):
    return cls(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls)})


# ------------------------------------------------------------------------- the config
@dataclass(frozen=True)
class DTOConfig:
    # --- height priors (PriorConfig) ---
    prior_mode: PriorMode = 'paper'
    gender_thresholds: Tuple[float, float] = (0.5, 0.5)   # released: (0.33, 0.67)
    adult_hybrid: bool = True
    fallback_prior: str = 'adult_neutral'
    group_priors: Optional[Dict[str, Tuple[float, float]]] = None
    gender_prior: bool = True                       # False: Table 8's D' (gender-agnostic adults)
    # --- which algorithm: the paper's run_dto steps or the released code's sequence ---
    algorithm: Algorithm = 'paper'                  # released: metric_hmr.dto.released_algorithm
    use_X: bool = True                              # False: Table 6's "+D without X" (released: X = 20)
    # --- depth map, visibility and cues (CueConfig) ---
    depth_convention: DepthConvention = 'disparity'
    depth_resample: DepthResample = 'before'
    resolution: Optional[int] = 512
    depth_tol: float = 0.02
    use_masks: bool = True
    edge_erosion: int = 1
    regression_source: RegressionSource = 'vertices'
    z_source: ZSource = 'transl'                    # released: 'rendered'
    quasi_planar_test: QuasiPlanarTest = 'variance'  # released: 'std'
    # --- bounds (BoundsConfig) ---
    bounds_mode: BoundsMode = 'paper'
    alpha1: float = 1.0
    alpha2: float = 5.0
    min_corr: Optional[float] = None
    fallback_X: Optional[float] = None
    # --- verdict (VerdictConfig) ---
    score_threshold: float = 1.5
    skipped_penalty: Optional[float] = None
    # --- released-code person filters and scene handling (metric_hmr.dto.released) ---
    min_mask_area_frac: Optional[float] = None      # released: 1/400 of H*W
    min_visible_vertices: Optional[int] = None      # released: 500
    iqr_fence: bool = False                         # (CueConfig) released regression refinements
    row_mean_removal: bool = False
    inlier_thresh: Optional[float] = None           # released: 0.1 m
    max_height: Optional[float] = None              # released: 2.1 m greedy rejection
    max_reject_rounds: int = 10
    near_far: bool = False                          # released: split into near / far groups
    far_rel_depth: Optional[float] = None           # far when d_i > this (relative units)
    far_size_frac: float = 0.25                     # far when 2 m projects < frac * short side
    feet_fit: bool = False                          # released: second fit on bottom pixels
    feet_frac: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, 'gender_thresholds', tuple(self.gender_thresholds))
        _check_choices(self)
        for cls in (PriorConfig, CueConfig, BoundsConfig, VerdictConfig):
            _sub(self, cls)               # each group checks its own ranges
        _opt_pos('min_mask_area_frac', self.min_mask_area_frac)
        _opt_pos('max_height', self.max_height)
        _require(self.max_reject_rounds >= 0, 'max_reject_rounds', self.max_reject_rounds, 'must be >= 0')
        _require(0 < self.far_size_frac, 'far_size_frac', self.far_size_frac, 'must be > 0')
        _require(0 < self.feet_frac <= 1, 'feet_frac', self.feet_frac, 'must be in (0, 1]')

    # sub-configs: the option group each step of DTO reads
    @property
    def priors(self) -> PriorConfig:
        return _sub(self, PriorConfig)

    @property
    def cues(self) -> CueConfig:
        return _sub(self, CueConfig)

    @property
    def bounds(self) -> BoundsConfig:
        return _sub(self, BoundsConfig)

    @property
    def verdict(self) -> VerdictConfig:
        return _sub(self, VerdictConfig)

    @classmethod
    def from_dict(cls, cfg: Optional[dict] = None) -> 'DTOConfig':
        """Build from config keys; ``preset='paper'|'released'`` picks the base values."""
        if cfg is None:
            return cls()
        if isinstance(cfg, DTOConfig):
            return cfg
        cfg = dict(cfg)
        preset = cfg.pop('preset', 'paper')
        if preset not in ('paper', 'released'):
            raise ValueError(f"DTO option preset={preset!r} is not one of ('paper', 'released')")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f'unknown DTO option(s) {unknown}; known: {sorted(known)}')
        base = cls.released() if preset == 'released' else cls()
        return dataclasses.replace(base, **cfg)

    @classmethod
    def released(cls) -> 'DTOConfig':
        """Behaviour of the authors' released code (method.md, 'Released-code behaviour')."""
        return cls(gender_thresholds=(0.33, 0.67), regression_source='pixels', z_source='rendered',
                   quasi_planar_test='std', bounds_mode='lower_only', min_corr=0.5,
                   fallback_X=20.0, skipped_penalty=3.0, min_mask_area_frac=1 / 400,
                   min_visible_vertices=500, iqr_fence=True, row_mean_removal=True,
                   inlier_thresh=0.1, max_height=2.1, near_far=True, feet_fit=True,
                   far_rel_depth=0.02, algorithm='released', edge_erosion=0)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
