"""Typed DTO options.  Defaults = paper behaviour; released-code behaviour = named options.

The same flat keys make up ``configs/_base_/dto.py`` (``dto_cfg``) and
``DTORefiner(dto=...)``; ``DTOConfig.released()`` returns the released-code preset.

A :class:`DTOConfig` is checked when it is built (also by ``dataclasses.replace``): a
string option outside its allowed values, or a number out of range, is one ``ValueError``
naming the option and what is allowed, before any image is touched.  The steps of DTO
read the option group they need as a sub-config: ``cfg.priors`` (:class:`PriorConfig`),
``cfg.cues`` (:class:`CueConfig`), ``cfg.bounds`` (:class:`BoundsConfig`) and
``cfg.verdict`` (:class:`VerdictConfig`) and ``cfg.plus`` (:class:`PlusConfig`, DTO+,
issue 15).  Presets: ``'paper'`` (default), ``'released'``, ``'plus'``.

``algorithm='released'`` (:mod:`metric_hmr.dto.released_algorithm`) reads only
``RELEASED_ALGORITHM_OPTIONS``; any other option that differs from the released preset is
a ``ValueError`` naming it (it would be ignored).  The paper path does not read
``RELEASED_ONLY_OPTIONS`` (2.1 m rejection, feet fit, far-group split); setting one with
``algorithm='paper'`` is a ``ValueError`` too.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Dict, Optional, Tuple, get_args, get_origin, get_type_hints

try:
    from typing import Literal
except ImportError:  # pragma: no cover  (python < 3.8)
    from typing_extensions import Literal

__all__ = ['DTOConfig', 'PriorConfig', 'CueConfig', 'BoundsConfig', 'VerdictConfig',
           'PlusConfig', 'PriorMode', 'DepthConvention', 'DepthResample', 'RegressionSource',
           'ZSource', 'QuasiPlanarTest', 'BoundsMode', 'DepthStatistic', 'ScaleEstimator',
           'AffineSpace', 'HeightLoss', 'GroundContact', 'Algorithm', 'RELEASED_ALGORITHM_OPTIONS',
           'RELEASED_ONLY_OPTIONS']

PriorMode = Literal['paper', 'cdc']                 # group table | continuous-age CDC (minors)
DepthConvention = Literal['disparity', 'depth']     # network output: 1/disp | already depth
DepthResample = Literal['before', 'after']          # resample the raw map before / after conversion
RegressionSource = Literal['vertices', 'pixels']    # X_i from visible vertices | rendered pixels
ZSource = Literal['transl', 'rendered', 'samples']  # z_i: T_z | mean z-buffer | mesh at d_i's samples
QuasiPlanarTest = Literal['variance', 'std']        # paper | released code
BoundsMode = Literal['paper', 'lower_only']         # [a1 X, a2 X] | [X, inf)
DepthStatistic = Literal['mean', 'median', 'trimmed']   # d_i location (DTO+: median)
ScaleEstimator = Literal['ols', 'inverse', 'rma']   # X_i: z on D (paper) | D on z, inverted | RMA
AffineSpace = Literal['depth', 'disparity']         # z = s d + t (paper) | z = a / (q - b)
HeightLoss = Literal['gaussian', 'huber']           # paper | Huber by IRLS
DepthFusionMode = Literal['none', 'fixed', 'spread']  # per-person depth: cue only (paper) | fused with size cue
GroundContact = Literal['none', 'plane']            # DTO+: persons' foot contacts on one ground plane
Algorithm = Literal['paper', 'released']            # run_dto steps | released_algorithm.py


# options :func:`metric_hmr.dto.released_algorithm.run_released` (and the refiner's released
# shape step) read; the others keep their released-preset value under algorithm='released'
RELEASED_ALGORITHM_OPTIONS = (
    'algorithm', 'gender_thresholds', 'gender_prior', 'use_X', 'depth_convention',
    'depth_resample', 'depth_aspect_tolerance', 'resolution', 'use_masks', 'min_mask_area_frac', 'min_visible_vertices',
    'inlier_thresh', 'max_height', 'max_reject_rounds', 'far_rel_depth', 'far_size_frac',
    'feet_fit', 'feet_frac', 'score_threshold', 'skipped_penalty')
# options only the released algorithm reads (the paper / DTO+ path keeps their defaults)
RELEASED_ONLY_OPTIONS = ('max_height', 'max_reject_rounds', 'far_rel_depth', 'far_size_frac',
                         'feet_fit', 'feet_frac')
# DTOConfig.released(): the values that differ from the paper defaults (mirrored by
# configs/_base_/dto.py ``dto_released``, tested)
_RELEASED_PRESET = dict(
    gender_thresholds=(0.33, 0.67), regression_source='pixels', z_source='rendered',
    quasi_planar_test='std', bounds_mode='lower_only', min_corr=0.5, fallback_X=20.0,
    skipped_penalty=3.0, min_mask_area_frac=1 / 400, min_visible_vertices=500, iqr_fence=True,
    row_mean_removal=True, inlier_thresh=0.1, max_height=2.1, feet_fit=True,
    far_rel_depth=0.02, algorithm='released', edge_erosion=0)


# ----------------------------------------------------------------------------- checks
@functools.lru_cache(maxsize=None)
def _literal_fields(cls) -> Tuple[Tuple[str, tuple], ...]:
    """(field, allowed values) of the ``Literal`` fields of a config class (resolved once:
    configs are built per image)."""
    hints = get_type_hints(cls, globalns=globals())
    return tuple((f.name, get_args(hints[f.name])) for f in dataclasses.fields(cls)
                 if get_origin(hints[f.name]) is Literal)


def _check_choices(obj) -> None:
    """Every field annotated with a ``Literal`` holds one of its values."""
    for name, allowed in _literal_fields(type(obj)):
        value = getattr(obj, name)
        if value not in allowed:
            raise ValueError(f'DTO option {name}={value!r} is not one of {allowed}')


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
    depth_aspect_tolerance: float = 0.03  # map vs image aspect ratio (relative); beyond: error
    resolution: Optional[int] = 512       # raster longest side, None = image size
    depth_tol: float = 0.02               # m, vertex-on-front-surface tolerance
    use_masks: bool = True                # restrict visibility to person masks if given
    edge_erosion: int = 1                 # raster px dropped inside silhouettes (0 = paper's letter)
    erosion_min_samples: int = 3          # fewer interior samples: erode one px less (down to 0)
    regression_source: RegressionSource = 'vertices'
    iqr_fence: bool = False               # released-code regression refinements
    row_mean_removal: bool = False
    inlier_thresh: Optional[float] = None
    depth_statistic: DepthStatistic = 'mean'   # DTO+ robust cues (robust_cues.py)
    trim_frac: float = 0.2
    scale_estimator: ScaleEstimator = 'ols'

    def __post_init__(self):
        _check_choices(self)
        _require(0.0 <= self.trim_frac < 0.5, 'trim_frac', self.trim_frac, 'must be in [0, 0.5)')
        refined = self.regression_source != 'vertices' or self.iqr_fence or self.row_mean_removal \
            or self.inlier_thresh is not None
        _require(self.scale_estimator == 'ols' or not refined, 'scale_estimator', self.scale_estimator,
                 "needs regression_source='vertices' without the released-code refinements")
        _opt_pos('resolution', self.resolution)
        _require(self.depth_tol > 0, 'depth_tol', self.depth_tol, 'must be > 0')
        _require(self.depth_aspect_tolerance >= 0, 'depth_aspect_tolerance',
                 self.depth_aspect_tolerance, 'must be >= 0')
        _require(int(self.edge_erosion) == self.edge_erosion and self.edge_erosion >= 0,
                 'edge_erosion', self.edge_erosion, 'must be an integer >= 0')
        _require(int(self.erosion_min_samples) == self.erosion_min_samples and self.erosion_min_samples >= 1,
                 'erosion_min_samples', self.erosion_min_samples, 'must be an integer >= 1')
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


@dataclass(frozen=True)
class PlusConfig:
    """DTO+ fit (issue 15, :mod:`metric_hmr.dto.plus_fit`): affine space, likelihood, focal."""
    affine_space: AffineSpace = 'depth'
    height_loss: HeightLoss = 'gaussian'
    huber_c: float = 2.0                  # Huber threshold on (h* - mu) / sigma
    irls_max_iter: int = 10
    focal_refine: bool = False            # focal from heights + depth relief where identifiable
    focal_min_persons: int = 3
    focal_max_rel_std: float = 0.1        # max std of log(f_input / f)
    focal_ratio_range: Tuple[float, float] = (0.5, 2.0)
    focal_min_corr: float = 0.3           # |r| of a person's relief regression
    cue_noise_scale: float = 0.0          # sigma_i^2 += (mu_i c s_i / (q_i - b))^2, s_i cue spread
    depth_fusion: DepthFusionMode = 'none'    # fuse z_i* with the size cue (depth_fusion.py)
    fusion_cue_std: float = 0.0           # 'fixed': relative std of the depth cue; 'spread': floor
    fusion_spread_scale: float = 1.0      # 'spread': tau_c,i = floor (+) scale * relative cue spread
    bound_min_corr: float = 0.0           # persons bounding the scale need |r| >= this (right sign)
    bound_softness: float = 0.0           # > 0: the lower scale bound as a one-sided prior of this relative std
    shift_limit_percentile: Optional[float] = None   # b below this percentile of the map's disparity
    ground_contact: GroundContact = 'none'    # fuse each depth with the others' ground plane
    ground_pixel_noise: float = 0.02      # contact pixel std / person's pixel height
    ground_depth_std_floor: float = 0.03  # added in quadrature to a person's own relative depth std
    ground_min_persons: int = 4           # contacts needed (a 2-parameter plane and 2 checks)
    ground_roll_min_persons: int = 6      # from this many contacts the horizon may be tilted
    ground_outlier_c: float = 2.5         # |log z - log z_plane| / std beyond: off the ground

    def __post_init__(self):
        object.__setattr__(self, 'focal_ratio_range', tuple(self.focal_ratio_range))
        _require(self.ground_pixel_noise >= 0, 'ground_pixel_noise', self.ground_pixel_noise, 'must be >= 0')
        _require(self.ground_depth_std_floor > 0, 'ground_depth_std_floor', self.ground_depth_std_floor,
                 'must be > 0')
        _require(self.ground_min_persons >= 3, 'ground_min_persons', self.ground_min_persons,
                 'must be >= 3 (two plane parameters and one check)')
        _require(self.ground_roll_min_persons >= 4, 'ground_roll_min_persons',
                 self.ground_roll_min_persons, 'must be >= 4 (three plane parameters and one check)')
        _require(self.ground_outlier_c > 0, 'ground_outlier_c', self.ground_outlier_c, 'must be > 0')
        _check_choices(self)
        _require(self.fusion_cue_std >= 0, 'fusion_cue_std', self.fusion_cue_std, 'must be >= 0')
        _require(0 <= self.bound_min_corr < 1, 'bound_min_corr', self.bound_min_corr, 'must be in [0, 1)')
        _require(self.bound_softness >= 0, 'bound_softness', self.bound_softness, 'must be >= 0')
        p = self.shift_limit_percentile
        _require(p is None or 0 <= p < 50, 'shift_limit_percentile', p, 'must be None or in [0, 50)')
        _require(p is None or self.affine_space == 'disparity', 'shift_limit_percentile', p,
                 "needs affine_space='disparity' (a limit of the disparity shift)")
        _require(self.bound_softness == 0 or self.affine_space == 'disparity', 'bound_softness',
                 self.bound_softness, "needs affine_space='disparity' (the depth-space bounds are hard)")
        _require(self.fusion_spread_scale >= 0, 'fusion_spread_scale', self.fusion_spread_scale,
                 'must be >= 0')

        _require(self.cue_noise_scale >= 0, 'cue_noise_scale', self.cue_noise_scale, 'must be >= 0')
        _require(self.huber_c > 0, 'huber_c', self.huber_c, 'must be > 0')
        _require(self.irls_max_iter >= 1, 'irls_max_iter', self.irls_max_iter, 'must be >= 1')
        _require(self.focal_min_persons >= 2, 'focal_min_persons', self.focal_min_persons, 'must be >= 2')
        _require(self.focal_max_rel_std > 0, 'focal_max_rel_std', self.focal_max_rel_std, 'must be > 0')
        lo, hi = self.focal_ratio_range
        _require(0 < lo <= 1 <= hi, 'focal_ratio_range', self.focal_ratio_range,
                 'must satisfy 0 < low <= 1 <= high')

    @property
    def active(self) -> bool:
        """Whether run_dto takes the DTO+ fit path."""
        return (self.affine_space != 'depth' or self.height_loss != 'gaussian' or self.focal_refine
                or self.cue_noise_scale > 0 or self.depth_fusion != 'none'
                or self.ground_contact != 'none')


def _check_algorithm_options(cfg: 'DTOConfig') -> None:
    """No option that the chosen algorithm would ignore differs from its preset value."""
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)}
    if cfg.algorithm == 'released':
        expected = dict(defaults, **_RELEASED_PRESET)
        ignored = [k for k, v in expected.items()
                   if k not in RELEASED_ALGORITHM_OPTIONS and getattr(cfg, k) != v]
        _require(not ignored, 'algorithm', cfg.algorithm,
                 f'the released algorithm does not read the option(s) {ignored}; leave them at '
                 "the released preset's values or use algorithm='paper'")
        return
    ignored = [k for k in RELEASED_ONLY_OPTIONS if getattr(cfg, k) != defaults[k]]
    _require(not ignored, 'algorithm', cfg.algorithm,
             f'the option(s) {ignored} are read only by the released-code sequence '
             "(algorithm='released', preset='released'); the paper and DTO+ paths ignore them")


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
    # (options marked 'released:' below are, on the paper path, approximations of the
    # released steps inside the paper's single fit; algorithm='released' is the released
    # sequence itself, docs/dto.md 'Released-code behaviour')
    depth_convention: DepthConvention = 'disparity'
    depth_resample: DepthResample = 'before'
    depth_aspect_tolerance: float = 0.03            # a map of another aspect ratio is an error
    resolution: Optional[int] = 512
    depth_tol: float = 0.02
    use_masks: bool = True
    edge_erosion: int = 1
    erosion_min_samples: int = 3                    # (DTO+) adaptive erosion for small persons
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
    # --- released-code person filters (both algorithms) ---
    min_mask_area_frac: Optional[float] = None      # released: 1/400 of H*W
    min_visible_vertices: Optional[int] = None      # released: 500
    iqr_fence: bool = False                         # (CueConfig) released regression refinements
    row_mean_removal: bool = False
    inlier_thresh: Optional[float] = None           # released: 0.1 m
    # --- read only by algorithm='released' (RELEASED_ONLY_OPTIONS; released_algorithm.py) ---
    max_height: Optional[float] = None              # released: 2.1 m rejection
    max_reject_rounds: int = 10                     # rounds of the 2.1 m rejection
    far_rel_depth: Optional[float] = None           # far when d_i > this (relative units)
    far_size_frac: float = 0.25                     # far when 2 m projects < frac * short side
    feet_fit: bool = False                          # released: second fit on bottom pixels
    feet_frac: float = 0.1
    # --- DTO+ (issue 15; docs/dto.md 'DTO+'); preset='plus' ---
    depth_statistic: DepthStatistic = 'mean'        # (CueConfig) d_i / q_i location
    trim_frac: float = 0.2
    scale_estimator: ScaleEstimator = 'ols'         # (CueConfig) intra-human slope
    affine_space: AffineSpace = 'depth'             # (PlusConfig)
    height_loss: HeightLoss = 'gaussian'
    huber_c: float = 2.0
    irls_max_iter: int = 10
    focal_refine: bool = False
    focal_min_persons: int = 3
    focal_max_rel_std: float = 0.1
    focal_ratio_range: Tuple[float, float] = (0.5, 2.0)
    focal_min_corr: float = 0.3
    cue_noise_scale: float = 0.0                    # (PlusConfig) per-person cue reliability
    depth_fusion: DepthFusionMode = 'none'          # (PlusConfig) depth cue + size cue per person
    fusion_cue_std: float = 0.0
    fusion_spread_scale: float = 1.0
    bound_min_corr: float = 0.0                     # (PlusConfig) relief persons setting the bounds
    bound_softness: float = 0.0                     # (PlusConfig) soft lower scale bound
    shift_limit_percentile: Optional[float] = None  # (PlusConfig) the map's far end bounds b
    ground_contact: GroundContact = 'none'          # (PlusConfig) ground-plane cue (ground_contact.py)
    ground_pixel_noise: float = 0.02
    ground_depth_std_floor: float = 0.03
    ground_min_persons: int = 4
    ground_roll_min_persons: int = 6
    ground_outlier_c: float = 2.5

    def __post_init__(self):
        object.__setattr__(self, 'gender_thresholds', tuple(self.gender_thresholds))
        object.__setattr__(self, 'focal_ratio_range', tuple(self.focal_ratio_range))
        _check_choices(self)
        for cls in (PriorConfig, CueConfig, BoundsConfig, VerdictConfig, PlusConfig):
            _sub(self, cls)               # each group checks its own ranges
        _check_algorithm_options(self)
        _opt_pos('min_mask_area_frac', self.min_mask_area_frac)
        _opt_pos('max_height', self.max_height)
        _require(self.max_reject_rounds >= 1, 'max_reject_rounds', self.max_reject_rounds,
                 'must be >= 1 (fit rounds of the 2.1 m rejection)')
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

    @property
    def plus(self) -> PlusConfig:
        return _sub(self, PlusConfig)

    @property
    def uses_plus_fit(self) -> bool:
        """Whether run_dto takes the DTO+ fit path (:mod:`metric_hmr.dto.plus_fit`)."""
        return self.plus.active

    @classmethod
    def from_dict(cls, cfg: Optional[dict] = None) -> 'DTOConfig':
        """Build from config keys; ``preset='paper'|'released'|'plus'`` picks the base values."""
        if cfg is None:
            return cls()
        if isinstance(cfg, DTOConfig):
            return cfg
        cfg = dict(cfg)
        preset = cfg.pop('preset', 'paper')
        presets = dict(paper=cls, released=cls.released, plus=cls.plus_preset)
        if preset not in presets:
            raise ValueError(f"DTO option preset={preset!r} is not one of {tuple(presets)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f'unknown DTO option(s) {unknown}; known: {sorted(known)}')
        return dataclasses.replace(presets[preset](), **cfg)

    @classmethod
    def released(cls) -> 'DTOConfig':
        """Behaviour of the authors' released code (method.md, 'Released-code behaviour'):
        ``algorithm='released'`` (:mod:`metric_hmr.dto.released_algorithm`)."""
        return cls(**_RELEASED_PRESET)

    @classmethod
    def plus_preset(cls) -> 'DTOConfig':
        """DTO+ (issue 15): interior samples (erosion 2) with a median statistic, the
        inverse-regression intra-human scale, the affine in disparity space and a Huber
        height likelihood.  Bounds [0.5 X, 3 X]: X is no longer diluted, and
        s_d / X = f_hmr / (f k_i) may fall below 1 when the focal is short or a person was
        estimated too large.  Focal refinement stays an option (``focal_refine=True``): on
        the development scenes its relief-based estimate was biased by the estimate's mesh
        errors and raised the depth error (docs/dto.md, DTO+).  Erosion adapts to the
        person's size (``erosion_min_samples=20``): a small person (baby, distant kid) keeps
        at least 20 interior samples by eroding one pixel less.  Each person's depth is
        fused with its size cue (``depth_fusion='spread'``), weighted by the depth cue's
        own spread at that person (:mod:`metric_hmr.dto.depth_fusion`).  Only persons whose
        relief correlates with their mesh (|r| >= 0.2) set the scale bounds, and the lower
        bound is soft (``bound_softness=0.05``): heights that all disagree with a relief
        slope inflated by blur can pull the scale below it.  The disparity shift stays below
        the map's own far end (1st percentile, ``shift_limit_percentile=1``): the visible
        scene, not only the persons, is in front of the camera.  With at
        least 4 foot contacts in the image, each depth is fused with the ground plane
        through the other persons' contacts (``ground_contact='plane'``,
        :mod:`metric_hmr.dto.ground_contact`); persons off that plane keep their depth.
        The fitted depth is that of the person's sampled surface, so each mesh is scaled
        about the camera by z_i* over the mesh's own depth at the same samples
        (``z_source='samples'``), not over its root depth: the surface-to-root offset
        differs between persons and would otherwise be read as depth."""
        return cls(z_source='samples',
                   edge_erosion=2, erosion_min_samples=20, depth_statistic='median',
                   scale_estimator='inverse', affine_space='disparity', height_loss='huber',
                   focal_refine=False, depth_fusion='spread', fusion_cue_std=0.0,
                   fusion_spread_scale=1.0, bound_min_corr=0.2, alpha1=0.5, alpha2=3.0,
                   bound_softness=0.05, shift_limit_percentile=1.0, ground_contact='plane')

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
