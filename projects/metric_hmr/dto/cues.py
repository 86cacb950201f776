"""Geometric cues of DTO (paper Sec. 3.2.2, supplement 6.3).

Per person i (all in relative-depth units unless stated):

* ``d_i`` (inter-human depth relation): mean of ``D_rel`` at the raster pixels of the
  person's visible vertex projections.
* ``X_i``, ``w_i`` (intra-human depth scale): slope and Pearson correlation of the linear
  regression of the person's own mesh depth (metres) on ``D_rel``, over its visible
  vertices (``regression_source='vertices'``, default) or over its rendered pixels
  (``'pixels'``: z-buffer depth vs ``D_rel``, as the released code does).
* ``var_i``: variance of ``D_rel`` over the same samples as ``d_i`` (within-person depth
  variance, used by the quasi-planar test).

Per image: ``X = sum(w_i X_i) / sum(w_i)`` and the quasi-planar flag
``var_i(d_i) < mean_i(var_i)`` (supplement 6.3).

Released-code refinements of the regression are options (``iqr_fence``,
``row_mean_removal``, ``inlier_thresh``); all default off.  DTO+ options (issue 15):
``depth_statistic`` (robust location of d_i), ``scale_estimator`` (errors-in-variables
X_i) and, with ``relief_space``, the relief cues of the fitted space
(:mod:`metric_hmr.dto.robust_cues`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .config import CueConfig
from .raster import RasterOutput, project_points_raster, resize_mask_nearest
from .robust_cues import relief_residual_spread, relief_slope, robust_location

__all__ = ['PersonCues', 'extract_cues', 'slope_and_correlation', 'weighted_scale',
           'is_quasi_planar']


@dataclass
class PersonCues:
    """Per-person cues of one image, arrays of shape (K,)."""
    d: np.ndarray              # d_i, NaN when no valid sample
    X: np.ndarray              # X_i slope (m per relative-depth unit), NaN if < 3 samples
    w: np.ndarray              # w_i Pearson r, NaN if undefined
    var_within: np.ndarray     # variance of D_rel over the person's visible samples
    std_within: np.ndarray
    n_visible: np.ndarray      # visible vertices with a valid depth sample
    n_pixels: np.ndarray       # rendered pixels of the person (after mask)
    z_render: np.ndarray       # mean z-buffer depth over the person's pixels (m), NaN if none
    reason: List[str]          # '' when usable, else why the person has no cue
    # samples kept for the released-code feet fit: per person (rows, rel, z) of its pixels
    pixel_samples: Optional[list] = field(default=None, repr=False)
    # DTO+ relief cues in the fitted space (``relief_space``), None when not requested:
    # v_i statistic (d_i or disparity q_i), |dz/dv| mesh slope, dv/dz (inverse regression),
    # its standard error, Pearson r of (v, z)
    v: Optional[np.ndarray] = None
    X_v: Optional[np.ndarray] = None
    dv_dz: Optional[np.ndarray] = None
    dv_dz_se: Optional[np.ndarray] = None
    corr_v: Optional[np.ndarray] = None
    v_spread: Optional[np.ndarray] = None   # robust residual spread of v about the relief line
    # mesh depth (m) of the same samples, same statistic (and space) as d_i: the surface of
    # the mesh that d_i measures (``z_source='samples'``); NaN where d_i is
    z_sample: Optional[np.ndarray] = None


def slope_and_correlation(x: np.ndarray, y: np.ndarray):
    """Least-squares slope of y on x and Pearson r. NaN for < 3 samples or constant x."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size < 3:
        return np.nan, np.nan
    xc = x - x.mean()
    yc = y - y.mean()
    sxx = float(xc @ xc)
    syy = float(yc @ yc)
    sxy = float(xc @ yc)
    if sxx <= 0:
        return np.nan, np.nan
    slope = sxy / sxx
    r = sxy / np.sqrt(sxx * syy) if syy > 0 else np.nan
    return slope, r


def _iqr_keep(x: np.ndarray, k: float = 1.5) -> np.ndarray:
    q1, q3 = np.percentile(x, [25, 75])
    iqr = q3 - q1
    return (x >= q1 - k * iqr) & (x <= q3 + k * iqr)


def _regress(rel, z, rows, cfg: CueConfig):
    """Slope/correlation of z on rel with the optional released-code refinements."""
    if cfg.iqr_fence and rel.size >= 4:
        keep = _iqr_keep(rel)
        rel, z, rows = rel[keep], z[keep], rows[keep]
    if cfg.row_mean_removal and rel.size:
        # remove each image row's mean from both variables: the fit then only sees depth
        # changes within a row, insensitive to the top-to-bottom tilt of a standing body
        _, inv, cnt = np.unique(rows, return_inverse=True, return_counts=True)
        rel = rel - (np.bincount(inv, rel) / cnt)[inv]
        z = z - (np.bincount(inv, z) / cnt)[inv]
    slope, r = slope_and_correlation(rel, z)
    if cfg.inlier_thresh is not None and np.isfinite(slope):
        resid = z - (slope * rel + (z.mean() - slope * rel.mean()))
        inl = np.abs(resid) < cfg.inlier_thresh
        if inl.sum() >= 3:
            slope, r = slope_and_correlation(rel[inl], z[inl])
    return slope, r


class _OnePerson(NamedTuple):
    """Cues of one person (see :class:`PersonCues`)."""
    d: float = np.nan
    var: float = np.nan
    std: float = np.nan
    X: float = np.nan
    w: float = np.nan
    n_visible: int = 0
    reason: str = ''
    pixel_samples: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None
    relief: Tuple[float, ...] = (np.nan,) * 6   # v, X_v, dv_dz, se, r, v_spread
    z_sample: float = np.nan


def extract_cues(vertices: Sequence[np.ndarray], raster: RasterOutput, rel_depth: np.ndarray,
                 focal, princpt, masks: Optional[np.ndarray] = None,
                 config: Optional[CueConfig] = None, keep_pixel_samples: bool = False,
                 relief_space: Optional[str] = None) -> PersonCues:
    """Per-person cues of one image.

    Args:
        vertices: K arrays (V_k, 3) camera space.
        raster: output of :func:`rasterize_persons` for the same vertices.
        rel_depth: (h, w) relative depth at raster resolution, NaN = invalid
            (see :func:`metric_hmr.dto.depth_map.prepare_depth`).
        masks: optional (K, H, W) person masks (image resolution) restricting the pixels of
            ``regression_source='pixels'`` (vertex visibility already used them).
        config: :class:`~metric_hmr.dto.config.CueConfig`; reads ``regression_source``,
            ``edge_erosion`` (drop samples within this many raster pixels of the person's
            silhouette, 4-neighbourhood, where depth maps mix person and background; falls
            back to all samples when fewer than 3 remain; 0 = every visible vertex, the
            paper's letter) and the released-code regression refinements.
        keep_pixel_samples: keep each person's (rows, rel, z) pixel samples (feet fit).
        relief_space: None, 'depth' (v = D_rel) or 'disparity' (v = 1 / D_rel): also
            return the DTO+ relief cues in that space.
    """
    cfg = config if config is not None else CueConfig()
    # 1. inputs at raster resolution
    h, w = raster.person_id.shape
    if rel_depth.shape != (h, w):
        raise ValueError(f'rel_depth must have the raster shape {(h, w)}, got {rel_depth.shape}')
    K = len(vertices)
    masks_r = resize_mask_nearest(masks, (h, w)) if masks is not None else None
    # 2. rendered pixels per person: count and mean z-buffer depth
    n_pix, z_render = rendered_depth_stats(raster, masks_r, K)
    # 3. per person: depth samples at the visible vertices (and pixels), then the regression
    need_pixels = cfg.regression_source == 'pixels' or keep_pixel_samples
    interior = _interior(raster.person_id, cfg.edge_erosion) if need_pixels else None
    if relief_space not in (None, 'depth', 'disparity'):
        raise ValueError(f"relief_space must be None, 'depth' or 'disparity', got {relief_space!r}")
    persons = [_person_cues(k, np.asarray(vertices[k], dtype=np.float64), raster, rel_depth,
                            focal, princpt, masks_r, interior, cfg, need_pixels, relief_space)
               for k in range(K)]
    # 4. gather into (K,) arrays
    col = lambda name: np.array([getattr(p, name) for p in persons], np.float64).reshape(K)  # noqa: E731
    rel_ = np.array([p.relief for p in persons], np.float64).reshape(K, 6)
    relief = {} if relief_space is None else dict(v=rel_[:, 0], X_v=rel_[:, 1], dv_dz=rel_[:, 2],
                                                  dv_dz_se=rel_[:, 3], corr_v=rel_[:, 4],
                                                  v_spread=rel_[:, 5])
    return PersonCues(d=col('d'), X=col('X'), w=col('w'), var_within=col('var'),
                      std_within=col('std'),
                      n_visible=np.array([p.n_visible for p in persons], np.int64).reshape(K),
                      n_pixels=n_pix, z_render=z_render, reason=[p.reason for p in persons],
                      pixel_samples=[p.pixel_samples for p in persons] if keep_pixel_samples else None,
                      z_sample=col('z_sample'), **relief)


def rendered_depth_stats(raster: RasterOutput, masks_r: Optional[np.ndarray], K: int):
    """(K,) rendered pixel counts and (K,) mean z-buffer depth (NaN without pixels), in one
    pass (bincount); ``masks_r`` (K, h, w) restricts each person's pixels."""
    pid = raster.person_id
    if masks_r is None:
        flat = pid.ravel() + 1                       # bin 0 = background
        cnt = np.bincount(flat, minlength=K + 1)[1:K + 1]
        dep = np.where(flat > 0, raster.depth.ravel(), 0.0)
        sz = np.bincount(flat, dep, minlength=K + 1)[1:K + 1]
    else:
        rr, cc = np.nonzero(pid >= 0)
        ids = pid[rr, cc]
        ok = masks_r[ids, rr, cc]
        cnt = np.bincount(ids[ok], minlength=K)[:K]
        sz = np.bincount(ids[ok], raster.depth[rr[ok], cc[ok]].astype(np.float64), minlength=K)[:K]
    n_pix = np.zeros(K, np.int64)
    n_pix[:] = cnt
    return n_pix, np.where(cnt > 0, sz / np.maximum(cnt, 1), np.nan)


def _why_invisible(v: np.ndarray, focal, princpt, raster: RasterOutput) -> str:
    """No visible vertex: none projects inside the image (or all behind the camera) vs hidden."""
    h, w = raster.person_id.shape
    p = project_points_raster(v, focal, princpt, raster.scale)
    with np.errstate(invalid='ignore'):
        inside = (np.isfinite(p).all(1) & (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0)
                  & (p[:, 1] < h) & (v[:, 2] > 0))
    return 'fully_occluded' if inside.any() else 'outside_image'


def _vertex_samples(k: int, vv: np.ndarray, raster: RasterOutput, rel_depth: np.ndarray,
                    focal, princpt, edge_erosion: int, min_samples: int = 3):
    """Raster rows, relative depth and a 'good' mask at the visible vertices ``vv`` of k."""
    p = project_points_raster(vv, focal, princpt, raster.scale)
    c = p[:, 0].astype(np.int64)
    r = p[:, 1].astype(np.int64)
    rel = rel_depth[r, c]
    good = np.isfinite(rel)
    # interior samples; a small person keeps too few of them, so erode one pixel less at a
    # time until ``min_samples`` remain (erosion 1, the paper preset: eroded or not at all)
    for n in range(edge_erosion, 0, -1):
        inner = good & _interior_at(raster.person_id, r, c, k, n)
        if inner.sum() >= min_samples:
            return r, rel, inner
    return r, rel, good


def _pixel_samples(k: int, raster: RasterOutput, rel_depth: np.ndarray,
                   masks_r: Optional[np.ndarray], interior: np.ndarray, edge_erosion: int):
    """(rows, rel, z) at the rendered pixels of person k with a valid relative depth."""
    sel = raster.person_id == k
    if masks_r is not None:
        sel &= masks_r[k]
    rows, cols = np.nonzero(sel)
    relp = rel_depth[rows, cols]
    okp = np.isfinite(relp)
    if edge_erosion > 0 and (okp & interior[rows, cols]).sum() >= 3:
        okp &= interior[rows, cols]
    rows, cols, relp = rows[okp], cols[okp], relp[okp]
    return rows, relp, raster.depth[rows, cols].astype(np.float64)


def _person_cues(k, v, raster, rel_depth, focal, princpt, masks_r, interior, cfg: CueConfig,
                 need_pixels: bool, relief_space: Optional[str] = None) -> _OnePerson:
    """d_i, var_i and (X_i, w_i) of person k."""
    vis = raster.vertex_visible[k]
    if not vis.any():
        return _OnePerson(reason=_why_invisible(v, focal, princpt, raster))
    # inter-human cue d_i and within-person spread from the visible vertices
    vv = v[vis]
    r, rel, good = _vertex_samples(k, vv, raster, rel_depth, focal, princpt, cfg.edge_erosion,
                                   cfg.erosion_min_samples)
    n_vis = int(good.sum())
    if n_vis == 0:
        return _OnePerson(reason='no_valid_depth')
    rel_g = rel[good]
    d = robust_location(rel_g, cfg.depth_statistic, cfg.trim_frac)
    # the mesh's depth at the same samples, by the same statistic in the same space as the
    # fitted value (disparity: 1 / location of 1 / z, exact for the mean as for the median)
    zg = vv[good, 2]
    if relief_space == 'disparity':
        z_sample = 1.0 / robust_location(1.0 / zg, cfg.depth_statistic, cfg.trim_frac)
    else:
        z_sample = robust_location(zg, cfg.depth_statistic, cfg.trim_frac)
    var, std = rel_g.var(), rel_g.std()
    # intra-human scale X_i, w_i: regression over the vertices or the rendered pixels
    samples = _pixel_samples(k, raster, rel_depth, masks_r, interior, cfg.edge_erosion) \
        if need_pixels else None
    if cfg.regression_source == 'vertices' and cfg.scale_estimator == 'ols':
        X, wr = _regress(rel_g, vv[good, 2], r[good], cfg)
    elif cfg.regression_source == 'vertices':
        X, wr = relief_slope(vv[good, 2], rel_g, cfg.scale_estimator)[:2]
    else:
        rows, relp, zp = samples
        X, wr = _regress(relp, zp, rows, cfg)
    relief = (np.nan,) * 6
    if relief_space is not None:
        relief = _relief_cues(vv[good, 2], rel_g, relief_space, cfg)
    return _OnePerson(d, var, std, X, wr, n_vis, '', samples, relief, z_sample)


def _relief_cues(z, rel, space, cfg: CueConfig):
    """DTO+ cues of one person in the fitted space: (v_i, |dz/dv|, dv/dz, its se, r,
    robust residual spread of v about the relief line)."""
    v = 1.0 / rel if space == 'disparity' else rel
    rs = relief_slope(z, v, cfg.scale_estimator)
    return (robust_location(v, cfg.depth_statistic, cfg.trim_frac), abs(rs.dz_dv), rs.dv_dz,
            rs.dv_dz_se, rs.corr, relief_residual_spread(z, v, rs.dv_dz))


def _interior_at(pid: np.ndarray, r: np.ndarray, c: np.ndarray, k: int, n: int) -> np.ndarray:
    """Same test as :func:`_interior`, only at the pixels (r, c) of person k."""
    h, w = pid.shape
    inner = np.ones(len(r), bool)
    for s in range(1, n + 1):
        for dr, dc in ((-s, 0), (s, 0), (0, -s), (0, s)):
            rr, cc = r + dr, c + dc
            ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            inner &= ok & (pid[np.clip(rr, 0, h - 1), np.clip(cc, 0, w - 1)] == k)
    return inner


def _interior(pid: np.ndarray, n: int) -> np.ndarray:
    """(h, w) bool: pixels whose 4-neighbours up to distance ``n`` carry the same id."""
    inner = np.ones(pid.shape, bool)
    if n <= 0:
        return inner
    pad = np.pad(pid, n, mode='constant', constant_values=-2)
    h, w = pid.shape
    for s in range(1, n + 1):
        for dy, dx in ((-s, 0), (s, 0), (0, -s), (0, s)):
            inner &= pad[n + dy:n + dy + h, n + dx:n + dx + w] == pid
    return inner


def weighted_scale(X_i: np.ndarray, w_i: np.ndarray, use: Optional[np.ndarray] = None,
                   min_corr: Optional[float] = None) -> float:
    """X = sum(w_i X_i) / sum(w_i) over persons in ``use``.

    Weights are the correlations clipped at 0 (a person whose mesh depth anti-correlates
    with the depth map says nothing about the scale).  ``min_corr`` (released code: 0.5)
    keeps only persons with r > min_corr.  NaN when no person has a positive weight.
    """
    X_i = np.asarray(X_i, dtype=np.float64)
    w_i = np.asarray(w_i, dtype=np.float64)
    ok = np.isfinite(X_i) & np.isfinite(w_i) & (w_i > 0)
    if use is not None:
        ok &= np.asarray(use, dtype=bool)
    if min_corr is not None:
        ok &= w_i > min_corr
    if not ok.any():
        return float('nan')
    return float(np.sum(w_i[ok] * X_i[ok]) / np.sum(w_i[ok]))


def is_quasi_planar(d_i: np.ndarray, var_within: np.ndarray, use: Optional[np.ndarray] = None,
                    test: str = 'variance') -> bool:
    """Supplement 6.3: var(d_i) < mean(var_within).  ``test='std'``: std(d) < mean(std_within)
    (released code)."""
    d_i = np.asarray(d_i, dtype=np.float64)
    var_within = np.asarray(var_within, dtype=np.float64)
    ok = np.isfinite(d_i) & np.isfinite(var_within)
    if use is not None:
        ok &= np.asarray(use, dtype=bool)
    if ok.sum() < 2:
        return False
    if test == 'variance':
        return bool(np.var(d_i[ok]) < np.mean(var_within[ok]))
    if test == 'std':
        return bool(np.std(d_i[ok]) < np.mean(np.sqrt(var_within[ok])))
    raise ValueError(f"quasi-planar test must be 'variance' or 'std', got {test!r}")
