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
``row_mean_removal``, ``inlier_thresh``); all default off.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np

from .raster import RasterOutput, project_points, resize_mask_nearest
from .robust_cues import relief_slope, robust_location

__all__ = ['PersonCues', 'ImageCues', 'extract_cues', 'slope_and_correlation',
           'weighted_scale', 'is_quasi_planar']


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


@dataclass
class ImageCues:
    persons: PersonCues
    X: float                   # weighted scale estimate, NaN if no positive weight
    quasi_planar: bool


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


def _regress(rel, z, rows, iqr_fence, row_mean_removal, inlier_thresh):
    """Slope/correlation of z on rel with the optional released-code refinements."""
    if iqr_fence and rel.size >= 4:
        keep = _iqr_keep(rel)
        rel, z, rows = rel[keep], z[keep], rows[keep]
    if row_mean_removal and rel.size:
        # remove each image row's mean from both variables: the fit then only sees depth
        # changes within a row, insensitive to the top-to-bottom tilt of a standing body
        _, inv, cnt = np.unique(rows, return_inverse=True, return_counts=True)
        rel = rel - (np.bincount(inv, rel) / cnt)[inv]
        z = z - (np.bincount(inv, z) / cnt)[inv]
    slope, r = slope_and_correlation(rel, z)
    if inlier_thresh is not None and np.isfinite(slope):
        resid = z - (slope * rel + (z.mean() - slope * rel.mean()))
        inl = np.abs(resid) < inlier_thresh
        if inl.sum() >= 3:
            slope, r = slope_and_correlation(rel[inl], z[inl])
    return slope, r


def extract_cues(vertices: Sequence[np.ndarray], raster: RasterOutput, rel_depth: np.ndarray,
                 focal, princpt, masks: Optional[np.ndarray] = None,
                 regression_source: str = 'vertices', iqr_fence: bool = False,
                 row_mean_removal: bool = False, inlier_thresh: Optional[float] = None,
                 keep_pixel_samples: bool = False, edge_erosion: int = 1,
                 statistic: str = 'mean', trim: float = 0.2, scale_estimator: str = 'ols',
                 relief_space: Optional[str] = None) -> PersonCues:
    """Per-person cues of one image.

    Args:
        vertices: K arrays (V_k, 3) camera space.
        raster: output of :func:`rasterize_persons` for the same vertices.
        rel_depth: (h, w) relative depth at raster resolution, NaN = invalid
            (see :func:`metric_hmr.dto.depth.prepare_depth`).
        masks: optional (K, H, W) person masks (image resolution) restricting the pixels of
            ``regression_source='pixels'`` (vertex visibility already used them).
        edge_erosion: drop samples within this many raster pixels of the person's
            silhouette (4-neighbourhood), where depth maps mix person and background
            (network blur, resampling).  Falls back to all samples when fewer than 3
            remain.  0 = use every visible vertex exactly as the paper states.
        statistic, trim: location of the samples for d_i (DTO+: 'median' / 'trimmed',
            :func:`metric_hmr.dto.robust_cues.robust_location`).
        scale_estimator: X_i by 'ols' (paper), 'inverse' or 'rma'
            (:func:`metric_hmr.dto.robust_cues.relief_slope`, vertices only).
        relief_space: None, 'depth' (v = D_rel) or 'disparity' (v = 1 / D_rel): also
            return the DTO+ relief cues in that space.
    """
    h, w = raster.person_id.shape
    if rel_depth.shape != (h, w):
        raise ValueError(f'rel_depth must have the raster shape {(h, w)}, got {rel_depth.shape}')
    if regression_source not in ('vertices', 'pixels'):
        raise ValueError(f"regression_source must be 'vertices' or 'pixels', got {regression_source!r}")
    if scale_estimator != 'ols' and (regression_source != 'vertices' or iqr_fence
                                     or row_mean_removal or inlier_thresh is not None):
        raise ValueError(f'scale_estimator={scale_estimator!r} needs regression_source=vertices '
                         'without the released-code regression refinements')
    K = len(vertices)
    out = {k: np.full(K, np.nan) for k in ('d', 'X', 'w', 'var', 'std', 'zr', 'v', 'Xv', 'b', 'bse', 'rv')}
    n_vis = np.zeros(K, np.int64)
    n_pix = np.zeros(K, np.int64)
    reasons = [''] * K
    pixel_samples = [None] * K
    masks_r = resize_mask_nearest(masks, (h, w)) if masks is not None else None

    need_pixels = regression_source == 'pixels' or keep_pixel_samples
    pid = raster.person_id
    # mean rendered depth and pixel count per person in one pass (bincount)
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
    n_pix[:] = cnt
    out['zr'] = np.where(cnt > 0, sz / np.maximum(cnt, 1), np.nan)

    interior = _interior(pid, edge_erosion) if need_pixels else None
    for k in range(K):
        v = np.asarray(vertices[k], dtype=np.float64)
        vis = raster.vertex_visible[k]
        if not vis.any():
            # why: no vertex projects inside the image (or all behind the camera) vs hidden
            p = project_points(v, focal, princpt, raster.scale)
            with np.errstate(invalid='ignore'):
                inside = (np.isfinite(p).all(1) & (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0)
                          & (p[:, 1] < h) & (v[:, 2] > 0))
            reasons[k] = 'fully_occluded' if inside.any() else 'outside_image'
            continue
        vv = v[vis]
        p = project_points(vv, focal, princpt, raster.scale)
        c = p[:, 0].astype(np.int64)
        r = p[:, 1].astype(np.int64)
        rel = rel_depth[r, c]
        good = np.isfinite(rel)
        if edge_erosion > 0:
            inner = good & _interior_at(pid, r, c, k, edge_erosion)
            if inner.sum() >= 3:
                good = inner
        n_vis[k] = int(good.sum())
        if n_vis[k] == 0:
            reasons[k] = 'no_valid_depth'
            continue
        rel_g = rel[good]
        out['d'][k] = robust_location(rel_g, statistic, trim)
        out['var'][k] = rel_g.var()
        out['std'][k] = rel_g.std()
        if regression_source == 'vertices' and scale_estimator == 'ols':
            s_, r_ = _regress(rel_g, vv[good, 2], r[good], iqr_fence, row_mean_removal, inlier_thresh)
        elif regression_source == 'vertices':
            s_, r_ = relief_slope(vv[good, 2], rel_g, scale_estimator)[:2]
        if relief_space is not None:
            _relief_cues(out, k, vv[good, 2], rel_g, relief_space, statistic, trim, scale_estimator)
        if need_pixels:
            sel = pid == k
            if masks_r is not None:
                sel &= masks_r[k]
            rows, cols = np.nonzero(sel)
            relp = rel_depth[rows, cols]
            okp = np.isfinite(relp)
            if edge_erosion > 0 and (okp & interior[rows, cols]).sum() >= 3:
                okp &= interior[rows, cols]
            rows, cols, relp = rows[okp], cols[okp], relp[okp]
            zp = raster.depth[rows, cols].astype(np.float64)
            if keep_pixel_samples:
                pixel_samples[k] = (rows, relp, zp)
            if regression_source == 'pixels':
                s_, r_ = _regress(relp, zp, rows, iqr_fence, row_mean_removal, inlier_thresh)
        out['X'][k], out['w'][k] = s_, r_
    return PersonCues(d=out['d'], X=out['X'], w=out['w'], var_within=out['var'],
                      std_within=out['std'], n_visible=n_vis, n_pixels=n_pix,
                      z_render=out['zr'], reason=reasons,
                      pixel_samples=pixel_samples if keep_pixel_samples else None,
                      **({} if relief_space is None else dict(
                          v=out['v'], X_v=out['Xv'], dv_dz=out['b'], dv_dz_se=out['bse'],
                          corr_v=out['rv'])))


def _relief_cues(out, k, z, rel, space, statistic, trim, estimator):
    """DTO+ cues of person k in the fitted space: v_i, |dz/dv|, dv/dz, its se, r."""
    if space == 'disparity':
        v = 1.0 / rel
    elif space == 'depth':
        v = rel
    else:
        raise ValueError(f"relief_space must be 'depth' or 'disparity', got {space!r}")
    out['v'][k] = robust_location(v, statistic, trim)
    rs = relief_slope(z, v, estimator)
    out['Xv'][k], out['b'][k], out['bse'][k], out['rv'][k] = abs(rs.dz_dv), rs.dv_dz, rs.dv_dz_se, rs.corr


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
