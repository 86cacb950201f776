"""DTO's affine fitted in disparity space: z_i* = a / (q_i - b) (DTO+, issue 15).

Depth-Anything-style networks output *disparity* that is affine-invariant: q = A / Z + B
with unknown scale A > 0 and shift B.  The paper inverts the map (D_rel = 1 / q) and fits
z = s_d D_rel + t_d, which is exact only when B = 0.  Here the model is the network's own:

    z_i*(a, b) = a / (q_i - b),     q_i > b for every used person,

with the same height objective as paper Eq. 3 (h_i* = h_i z_i* / z_i):

    L(a, b) = sum_i (p_i a / (q_i - b) - c_i)^2,   p_i = h_i / (z_i sigma_i),  c_i = mu_i / sigma_i.

1. For fixed b, L is linear least squares in a: a(b) = sum g c / sum g^2 with
   g_i = p_i / (q_i - b) (closed form), optionally clamped to intra-human bounds
   [alpha1 A_X(b), alpha2 A_X(b)], A_X(b) = weighted mean of X_i (q_i - b)^2 (the
   mesh slope |dz/dq| of each person turned into a scale), and always to a >= 0.
   With ``bound_softness`` s > 0 the lower bound is a one-sided Gaussian prior instead:
   below lo = alpha1 A_X(b) the objective gains ((a / lo - 1) / s)^2, so a(b) stays closed
   form, a = (sum g c + 1 / (s^2 lo)) / (sum g^2 + 1 / (s^2 lo^2)), and heights that all
   disagree with a mis-set bound can pull the scale below it (s -> 0: the hard bound).
2. The profile F(b) = L(a(b), b) is a 1-D function on b < min q_i.  It is
   parametrised by t = 1 - z_near / z_far in (0, 1) (b -> -inf: everyone at one depth;
   b -> min q: the farthest person at infinity; optionally capped lower, by the depth
   map's own far end ``b_max``).  A grid log-spaced in z_far / z_near - 1
   brackets the global minimum, then F'(b) = 0 is solved by a safeguarded
   regula falsi (Illinois) inside the bracket, to machine precision.

Everything is batched over B images with at most K persons (``valid`` marks real ones).
Per-person weights ``w`` (robust IRLS weights) enter as sigma_i / sqrt(w_i).

Posterior: Gauss-Newton covariance (J^T J)^-1 of (a, b) at the optimum (the soft bound's
residual one more row of J); with an active hard bound, a = alpha A_X(b) is a function of
b and only b is free.  Propagated linearly to
z_i* and h_i*.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = ['DisparitySolution', 'solve_disparity_batch', 'disparity_profile',
           'disparity_objective', 'shift_from_depth_ratio']

_GRID_EXCESS = (1e-5, 1e5)     # range of z_far / z_near - 1 on the bracketing grid


class DisparitySolution(NamedTuple):
    """Shapes: (B,) per image, (B, K) per person (0 at padding)."""
    a: np.ndarray              # (B,) scale (metres x disparity units)
    b: np.ndarray              # (B,) shift (disparity units), b < min q_i
    active: np.ndarray         # (B,) int8: 0 none, -1 lower bound (hard, the soft prior engaged, or a >= 0), +1 upper bound
    at_limit: np.ndarray       # (B,) bool: minimum at the end of the search range
    objective: np.ndarray      # (B,) L(a, b)
    z_star: np.ndarray         # (B, K)
    h_star: np.ndarray         # (B, K)
    std_z: np.ndarray          # (B, K) posterior std of z_i*
    std_h: np.ndarray          # (B, K)
    cov: np.ndarray            # (B, 2, 2) posterior covariance of (a, b)
    dz_dq: np.ndarray          # (B, K) local slope dz*/dq at q_i (= -a / (q_i - b)^2)


def shift_from_depth_ratio(t, q_min, q_span):
    """b for t = 1 - z_near / z_far: b = q_min - q_span (1 - t) / t."""
    return q_min - q_span * (1.0 - t) / t


def _prep(h, z, q, mu, sigma, valid, w):
    """p_i, c_i (weighted, zero at padding) and a safe q."""
    valid = np.asarray(valid, bool)
    z_ = np.where(valid, z, 1.0)
    s_ = np.where(valid, sigma, 1.0)
    sw = np.sqrt(np.where(valid, w, 0.0))
    p = np.where(valid, sw * np.where(valid, h, 0.0) / (z_ * s_), 0.0)
    c = np.where(valid, sw * np.where(valid, mu, 0.0) / s_, 0.0)
    return p, c, np.where(valid, q, np.inf)


class _SoftBound(NamedTuple):
    """Residual r_p = (a / lo - 1) / s of the soft lower bound and its partial
    derivatives, (B,) each (0 where the bound is not engaged)."""
    r: np.ndarray
    d_a: np.ndarray
    d_b: np.ndarray


def _scale_at(b, p, c, q, valid, X, wX, alpha, softness: float = 0.0):
    """a(b), da/db, active code, g, g', soft-bound residual for shifts b (B,) (see module
    docstring, step 1).  Where the soft bound is engaged, da/db is returned as 0: a(b)
    minimises the objective at fixed b, so the profile's derivative is its partial in b
    (envelope theorem)."""
    e = np.where(valid, q - b[:, None], 1.0)                      # q_i - b > 0
    g = np.where(valid, p / e, 0.0)
    gp = np.where(valid, g / e, 0.0)                              # dg/db
    Sgg = np.sum(g * g, 1)
    Sgc = np.sum(g * c, 1)
    a_unc = Sgc / np.where(Sgg > 0, Sgg, 1.0)
    lo = np.zeros_like(b)
    hi = np.full_like(b, np.inf)
    dlo = np.zeros_like(b)
    dhi = np.zeros_like(b)
    if alpha is not None:
        sw = np.sum(wX, 1)
        sw = np.where(sw > 0, sw, 1.0)
        AX = np.sum(np.where(valid, wX * X * e * e, 0.0), 1) / sw
        dAX = -2.0 * np.sum(np.where(valid, wX * X * e, 0.0), 1) / sw
        lo, hi = np.maximum(alpha[0] * AX, 0.0), alpha[1] * AX
        dlo = np.where(alpha[0] * AX > 0, alpha[0] * dAX, 0.0)
        dhi = alpha[1] * dAX
    soft = (softness > 0) & (lo > 0) & (a_unc < lo)
    if softness > 0:
        los = np.where(soft, lo, 1.0)
        # the closed form and the prior residual, arranged without cancellation for small s:
        # a = lo (1 + s^2 lo Sgc) / (1 + s^2 lo^2 Sgg), r = (a / lo - 1) / s
        k = 1.0 + (softness * los) ** 2 * Sgg
        a_soft = los * (1.0 + softness ** 2 * los * Sgc) / k
        r_soft = softness * los * (Sgc - los * Sgg) / k
        a_unc = np.where(soft, a_soft, a_unc)
        prior = _SoftBound(r=np.where(soft, r_soft, 0.0),
                           d_a=np.where(soft, 1.0 / (softness * los), 0.0),
                           d_b=np.where(soft, -a_unc * dlo / (softness * los * los), 0.0))
        lo = np.where(soft, 0.0, lo)              # the hard clamp no longer applies there
    else:
        zero = np.zeros_like(b)
        prior = _SoftBound(zero, zero, zero)
    a = np.minimum(np.maximum(a_unc, lo), hi)
    active = np.where(soft | (a_unc < lo), -1, np.where(a_unc > hi, 1, 0)).astype(np.int8)
    da = np.where(soft, 0.0, np.where(active == -1, dlo, np.where(active == 1, dhi, 0.0)))
    return a, da, active, g, gp, prior


def disparity_profile(b, p, c, q, valid, X=None, wX=None, alpha=None, softness: float = 0.0):
    """Profile objective F(b) and its derivative F'(b), (B,) each."""
    a, da, _, g, gp, prior = _scale_at(b, p, c, q, valid, X, wX, alpha, softness)
    r = a[:, None] * g - c
    F = np.sum(r * r, 1) + prior.r ** 2
    dF = 2.0 * np.sum(r * (da[:, None] * g + a[:, None] * gp), 1) + 2.0 * prior.r * prior.d_b
    return F, dF


def disparity_objective(a, b, h, z, q, mu, sigma, valid=None):
    """L(a, b) per image (B,), unweighted."""
    h = np.asarray(h, np.float64)
    valid = np.ones(h.shape, bool) if valid is None else np.asarray(valid, bool)
    p, c, qq = _prep(h, z, q, mu, sigma, valid, np.ones(h.shape))
    e = np.where(valid, qq - np.asarray(b, np.float64)[:, None], 1.0)
    r = np.where(valid, p * np.asarray(a, np.float64)[:, None] / e - c, 0.0)
    return np.sum(r * r, 1)


def _bracket(p, c, q, valid, X, wX, alpha, n_grid, softness=0.0, b_max=None):
    """Grid in log(z_far / z_near); returns the grid shifts (B, N) and F values (B, N).
    With ``b_max`` the grid's far end is min(min q_i, b_max) instead of min q_i."""
    qmin = np.min(np.where(valid, q, np.inf), 1)
    qmax = np.max(np.where(valid, q, -np.inf), 1)
    span = np.maximum(qmax - qmin, 1e-9 * np.maximum(np.abs(qmin), 1.0))
    if b_max is not None:
        cap = np.where(np.isfinite(b_max), b_max, np.inf)
        span = np.where(cap < qmin, qmax - cap, span)       # same z_far / z_near - 1 grid from the cap
        qmin = np.minimum(qmin, cap)
    # log-spaced z_far / z_near - 1 = t / (1 - t): fine both near 1 and far from it
    excess = np.exp(np.linspace(np.log(_GRID_EXCESS[0]), np.log(_GRID_EXCESS[1]), n_grid))
    t = excess / (1.0 + excess)
    bs = shift_from_depth_ratio(t[None, :], qmin[:, None], span[:, None])    # (B, N) increasing
    B, K = p.shape
    tile = lambda x: None if x is None else np.repeat(x, n_grid, 0)     # (B * N, K)
    F = disparity_profile(bs.reshape(-1), tile(p), tile(c), tile(q), tile(valid), tile(X),
                          tile(wX), alpha, softness)[0]
    return bs, F.reshape(B, n_grid)


def _illinois(lo, hi, flo, fhi, fun, tol=1e-15, max_iter=100):
    """Batched safeguarded regula falsi (Anderson-Bjorck variant of Illinois) for a sign
    change flo < 0 < fhi.

    Converged where the bracket is below ``tol`` (relative) or |f(x)| is at round-off
    level (1e-14 of the bracket's end values); bisection when the secant leaves the bracket.
    The end kept twice in a row has its value scaled by m = 1 - f(x) / f(replaced end)
    (1/2 when m <= 0, Illinois): only then, so that alternating steps stay plain secants.
    """
    ftol = 1e-14 * np.maximum(np.abs(flo), np.abs(fhi))
    x = 0.5 * (lo + hi)
    conv = (hi - lo) <= tol * np.maximum(np.abs(lo), 1.0)
    kept = np.zeros(lo.shape, np.int8)          # end kept by the last step: -1 lo, +1 hi
    for _ in range(max_iter):
        if np.all(conv):
            break
        xn = hi - fhi * (hi - lo) / (fhi - flo)
        bad = ~np.isfinite(xn) | (xn <= lo) | (xn >= hi)
        xn = np.where(bad, 0.5 * (lo + hi), xn)
        fx = fun(xn)
        left = fx < 0                                            # root in [xn, hi]: hi kept
        f_rep = np.where(left, flo, fhi)
        m = 1.0 - fx / np.where(f_rep != 0, f_rep, 1.0)
        m = np.where(m > 0, m, 0.5)
        again = np.where(left, kept == 1, kept == -1)            # same end kept twice
        fhi_n = np.where(left, np.where(again, fhi * m, fhi), fx)
        flo_n = np.where(left, fx, np.where(again, flo * m, flo))
        lo_n, hi_n = np.where(left, xn, lo), np.where(left, hi, xn)
        c = ~conv
        x = np.where(c, xn, x)
        lo, hi = np.where(c, lo_n, lo), np.where(c, hi_n, hi)
        flo, fhi = np.where(c, flo_n, flo), np.where(c, fhi_n, fhi)
        kept = np.where(c, np.where(left, 1, -1), kept).astype(np.int8)
        conv = conv | (np.abs(fx) <= ftol) | ((hi - lo) <= tol * np.maximum(np.abs(lo), 1.0))
    return x


def _minimise_shift(p, c, q, valid, X, wX, alpha, n_grid, softness=0.0, b_max=None):
    """Step 2: global bracketing on the grid, then F'(b) = 0 inside the bracket."""
    bs, F = _bracket(p, c, q, valid, X, wX, alpha, n_grid, softness, b_max)
    B, N = F.shape
    j = np.argmin(F, 1)
    rows = np.arange(B)
    at_limit = (j == 0) | (j == N - 1)
    jl, jh = np.maximum(j - 1, 0), np.minimum(j + 1, N - 1)
    fun = lambda x: disparity_profile(x, p, c, q, valid, X, wX, alpha, softness)[1]
    b_j = bs[rows, j]
    d_j = fun(b_j)
    # sub-bracket on the side where F' changes sign
    lo = np.where(d_j > 0, bs[rows, jl], b_j)
    hi = np.where(d_j > 0, b_j, bs[rows, jh])
    flo, fhi = fun(lo), fun(hi)
    ok = (flo < 0) & (fhi > 0) & ~at_limit
    b = b_j.copy()
    if ok.any():
        root = _illinois(lo[ok], hi[ok], flo[ok], fhi[ok],
                         lambda x: disparity_profile(x, p[ok], c[ok], q[ok], valid[ok],
                                                     None if X is None else X[ok],
                                                     None if wX is None else wX[ok], alpha,
                                                     softness)[1])
        b[ok] = root
    # keep whichever of grid point / root is lower (a kink can defeat the sign test)
    F_root = disparity_profile(b, p, c, q, valid, X, wX, alpha, softness)[0]
    b = np.where(F_root <= F[rows, j], b, b_j)
    if b_max is not None:
        # a map limit below the persons is itself feasible (q_i - b_max > 0): the minimum
        # at the grid's far end may lie on it
        qmin = np.min(np.where(valid, q, np.inf), 1)
        cap = (j == N - 1) & np.isfinite(b_max) & (b_max < qmin)
        if cap.any():
            F_b = np.minimum(F_root, F[rows, j])
            F_cap = disparity_profile(np.where(cap, b_max, b), p, c, q, valid, X, wX, alpha,
                                      softness)[0]
            b = np.where(cap & (F_cap <= F_b), b_max, b)
    return b, at_limit


def _posterior(a, b, da, active, p, q, valid, prior):
    """Gauss-Newton covariance of (a, b) and std of z_i* (see module docstring)."""
    e = np.where(valid, q - b[:, None], 1.0)
    g = np.where(valid, p / e, 0.0)
    Ja, Jb = g, a[:, None] * g / e
    B = len(a)
    cov = np.zeros((B, 2, 2))
    soft = prior.d_a > 0
    free = (active == 0) | soft                     # a soft bound leaves a free
    Saa = np.sum(Ja * Ja, 1) + prior.d_a ** 2
    Sab = np.sum(Ja * Jb, 1) + prior.d_a * prior.d_b
    Sbb = np.sum(Jb * Jb, 1) + prior.d_b ** 2
    det = Saa * Sbb - Sab * Sab
    good = free & (det > 1e-12 * Saa * Sbb)
    sd = np.where(good, det, 1.0)
    cov[:, 0, 0] = np.where(good, Sbb / sd, 0.0)
    cov[:, 0, 1] = cov[:, 1, 0] = np.where(good, -Sab / sd, 0.0)
    cov[:, 1, 1] = np.where(good, Saa / sd, 0.0)
    # bound active: a = a(b); only b is free, var(b) = 1 / sum (da g + a g')^2.  A soft
    # prior too stiff for the 2 x 2 (s -> 0) is the hard bound: a moves along its
    # residual's level curve, da/db = -d_b / d_a
    pinned = ~free | (soft & ~good)
    da = np.where(soft, -prior.d_b / np.where(soft, prior.d_a, 1.0), da)
    Jt = da[:, None] * Ja + Jb
    St = np.sum(Jt * Jt, 1)
    vb = np.where(pinned & (St > 0), 1.0 / np.where(St > 0, St, 1.0), 0.0)
    cov[pinned, 0, 0] = (da * da * vb)[pinned]
    cov[pinned, 0, 1] = cov[pinned, 1, 0] = (da * vb)[pinned]
    cov[pinned, 1, 1] = vb[pinned]
    za, zb = np.where(valid, 1.0 / e, 0.0), np.where(valid, a[:, None] / (e * e), 0.0)
    var_z = (za * za * cov[:, 0, 0, None] + 2 * za * zb * cov[:, 0, 1, None]
             + zb * zb * cov[:, 1, 1, None])
    return cov, np.where(valid, np.sqrt(np.maximum(var_z, 0.0)), 0.0)


def solve_disparity_batch(h, z, q, mu, sigma, valid=None, w=None, X=None, wX=None,
                          alpha: Optional[tuple] = None, n_grid: int = 96,
                          bound_softness: float = 0.0, b_max=None) -> DisparitySolution:
    """Fit z_i* = a / (q_i - b) to the height priors for a padded batch of images.

    Args:
        h, z: (B, K) initial T-pose heights and depths (m).
        q: (B, K) per-person disparity statistic (network units, larger = nearer).
        mu, sigma: (B, K) height prior (m).
        valid: (B, K) real persons (default all); each image needs >= 2 of them.
        w: (B, K) robust weights in [0, 1] (default 1): sigma_i -> sigma_i / sqrt(w_i).
        X, wX: (B, K) per-person mesh slope |dz/dq| and its weight; with ``alpha``
            = (alpha1, alpha2) they bound a to [alpha1 A_X(b), alpha2 A_X(b)].
        n_grid: bracketing grid size (log-spaced z_far / z_near - 1 in [1e-5, 1e5]).
        bound_softness: s > 0 makes the lower bound the one-sided prior of step 1
            (0: the hard bound).
        b_max: (B,) optional upper limit of the shift below the persons' min q_i (NaN: none),
            e.g. the depth map's own far end: the visible scene, not only the persons, must
            stay in front of the camera, q - b > 0.
    """
    softness = float(bound_softness)
    h = np.asarray(h, np.float64)
    if h.ndim != 2:
        raise ValueError(f'solve_disparity_batch expects (B, K) arrays, got h of shape {h.shape}')
    valid = np.ones(h.shape, bool) if valid is None else np.asarray(valid, bool)
    if np.any(valid.sum(1) < 2):
        raise ValueError('solve_disparity_batch: every image needs at least 2 valid persons')
    w = np.ones(h.shape) if w is None else np.asarray(w, np.float64)
    q = np.asarray(q, np.float64)
    if alpha is not None:
        X = np.where(valid, np.asarray(X, np.float64), 0.0)
        wX = np.where(valid & np.isfinite(X), np.asarray(wX, np.float64), 0.0)
        X = np.where(np.isfinite(X), X, 0.0)
        alpha = (float(alpha[0]), float(alpha[1]))
    p, c, qq = _prep(h, z, q, mu, sigma, valid, w)
    b, at_limit = _minimise_shift(p, c, qq, valid, X, wX, alpha, n_grid, softness,
                                  None if b_max is None else np.asarray(b_max, np.float64))
    a, da, active, _, _, prior = _scale_at(b, p, c, qq, valid, X, wX, alpha, softness)
    cov, std_z = _posterior(a, b, da, active, p, qq, valid, prior)
    e = np.where(valid, qq - b[:, None], 1.0)
    z_star = np.where(valid, a[:, None] / e, 0.0)
    ratio = np.where(valid, h / np.where(valid, np.asarray(z, np.float64), 1.0), 0.0)
    obj = disparity_objective(a, b, h, z, q, mu, np.asarray(sigma) / np.sqrt(np.where(valid, w, 1.0)), valid)
    return DisparitySolution(a=a, b=b, active=active, at_limit=at_limit, objective=obj,
                             z_star=z_star, h_star=ratio * z_star, std_z=std_z,
                             std_h=np.abs(ratio) * std_z, cov=cov,
                             dz_dq=np.where(valid, -a[:, None] / (e * e), 0.0))
