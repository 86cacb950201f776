"""Closed-form solution of the DTO problem (paper Eq. 3, supplement 6.1), batched.

For one image with K persons the objective is

    L(s_d, t_d) = sum_i (a_i s_d + b_i t_d - c_i)^2,
    a_i = h_i d_i / (z_i sigma_i),  b_i = h_i / (z_i sigma_i),  c_i = mu_i / sigma_i,

subject to X_min <= s_d <= X_max.  It is a convex QP in two unknowns: solve the 2x2 normal
equations; if s_d falls outside the bounds, clamp it and re-solve t_d from dL/dt_d = 0.

Everything here works on a padded batch of B images with at most K persons each; ``valid``
(B, K) marks real persons.  All arrays are float64 numpy.

Posterior uncertainty: exp(-L/2) is (up to the bounds) a Gaussian likelihood of
theta = (s_d, t_d) with precision P = J^T J = [[Saa, Sab], [Sab, Sbb]].  Without an active
bound the posterior covariance is P^-1; with an active bound (or the singular fallback)
s_d is fixed and t_d | s_d has variance 1 / Sbb.  It is propagated linearly to the
corrected depth z_i* = s_d d_i + t_d and height h_i* = h_i z_i* / z_i.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:  # optional: a fused one-pass kernel; the numpy path computes the same numbers
    import numba
    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    _HAVE_NUMBA = False

__all__ = ['DTOSolution', 'solve_dto_batch', 'dto_objective', 'dto_coefficients',
           'ACTIVE_NONE', 'ACTIVE_LOWER', 'ACTIVE_UPPER']

ACTIVE_NONE, ACTIVE_LOWER, ACTIVE_UPPER = 0, -1, 1


class DTOSolution(NamedTuple):
    """Batched solution.  Shapes: (B,) per image, (B, K) per person (0 at padding)."""
    s_d: np.ndarray            # (B,) optimal scale
    t_d: np.ndarray            # (B,) optimal shift
    active: np.ndarray         # (B,) int: 0 none, -1 lower bound, +1 upper bound active
    singular: np.ndarray       # (B,) bool: normal equations singular -> s_d = X fallback
    objective: np.ndarray      # (B,) L(s_d, t_d)
    z_star: np.ndarray         # (B, K) corrected depth s_d d_i + t_d
    h_star: np.ndarray         # (B, K) corrected height h_i z_i* / z_i
    std_z: np.ndarray          # (B, K) posterior std of z_i*
    std_h: np.ndarray          # (B, K) posterior std of h_i*
    cov: np.ndarray            # (B, 2, 2) posterior covariance of (s_d, t_d)


def dto_coefficients(h, z, d, mu, sigma, valid=None):
    """a, b, c of supplement Eq. 8, zeroed at padding.  All inputs (B, K)."""
    h, z, d, mu, sigma = (np.asarray(x, dtype=np.float64) for x in (h, z, d, mu, sigma))
    if valid is None:
        valid = np.ones(h.shape, dtype=bool)
    # padding entries may hold garbage (0, NaN): replace them before dividing
    z_ = np.where(valid, z, 1.0)
    s_ = np.where(valid, sigma, 1.0)
    b = np.where(valid, np.where(valid, h, 0.0) / (z_ * s_), 0.0)
    a = b * np.where(valid, d, 0.0)
    c = np.where(valid, np.where(valid, mu, 0.0) / s_, 0.0)
    return a, b, c


def dto_objective(s_d, t_d, h, z, d, mu, sigma, valid=None):
    """L(s_d, t_d) per image, (B,)."""
    a, b, c = dto_coefficients(h, z, d, mu, sigma, valid)
    r = a * np.asarray(s_d, dtype=np.float64)[..., None] + b * np.asarray(t_d, dtype=np.float64)[..., None] - c
    return np.sum(r * r, axis=-1)


def _default_X(x_min, x_max):
    """Scale for singular problems when none is given: midpoint of finite bounds, else the
    finite bound, else 1."""
    lo_ok, hi_ok = np.isfinite(x_min), np.isfinite(x_max)
    lo, hi = np.where(lo_ok, x_min, 0.0), np.where(hi_ok, x_max, 0.0)
    return np.where(lo_ok & hi_ok, 0.5 * (lo + hi), np.where(lo_ok, lo, np.where(hi_ok, hi, 1.0)))


def _solve_kernel(h, z, d, mu, sigma, valid, x_min, x_max, X, tol):  # pragma: no cover - numba
    """One pass per image of the same algebra as the numpy path of solve_dto_batch."""
    B, K = h.shape
    s_out = np.empty(B)
    t_out = np.empty(B)
    active = np.zeros(B, np.int8)
    singular = np.zeros(B, np.bool_)
    objective = np.empty(B)
    cov = np.zeros((B, 2, 2))
    z_star = np.zeros((B, K))
    h_star = np.zeros((B, K))
    std_z = np.zeros((B, K))
    std_h = np.zeros((B, K))
    bk = np.empty(K)         # per-person b_i and c_i of the current image (reused)
    ck = np.empty(K)
    for i in range(B):
        Saa = 0.0
        Sab = 0.0
        Sbb = 0.0
        Sac = 0.0
        Sbc = 0.0
        for k in range(K):
            if valid[i, k]:
                inv_s = 1.0 / sigma[i, k]
                b = h[i, k] / z[i, k] * inv_s
                a = b * d[i, k]
                c = mu[i, k] * inv_s
                bk[k] = b
                ck[k] = c
                Saa += a * a
                Sab += a * b
                Sbb += b * b
                Sac += a * c
                Sbc += b * c
        det = Saa * Sbb - Sab * Sab
        sing = det <= tol * Saa * Sbb
        safe_det = 1.0 if sing else det
        s_cand = X[i] if sing else (Sac * Sbb - Sab * Sbc) / safe_det
        if s_cand < x_min[i]:
            s = x_min[i]
            active[i] = -1
        elif s_cand > x_max[i]:
            s = x_max[i]
            active[i] = 1
        else:
            s = s_cand
        fixed = sing or active[i] != 0
        safe_Sbb = Sbb if Sbb > 0 else 1.0
        empty = Sbb <= 0
        if empty:
            t = 0.0
        elif fixed:
            t = (Sbc - s * Sab) / safe_Sbb
        else:
            t = (Saa * Sbc - Sab * Sac) / safe_det
        if not empty:
            if fixed:
                cov[i, 1, 1] = 1.0 / safe_Sbb
            else:
                cov[i, 0, 0] = Sbb / safe_det
                cov[i, 0, 1] = -Sab / safe_det
                cov[i, 1, 0] = -Sab / safe_det
                cov[i, 1, 1] = Saa / safe_det
        obj = 0.0
        for k in range(K):
            if valid[i, k]:
                b = bk[k]
                r = b * (d[i, k] * s + t) - ck[k]
                obj += r * r
                zs = s * d[i, k] + t
                ratio = b * sigma[i, k]      # h_i / z_i
                z_star[i, k] = zs
                h_star[i, k] = ratio * zs
                dk = d[i, k]
                v = dk * dk * cov[i, 0, 0] + 2.0 * dk * cov[i, 0, 1] + cov[i, 1, 1]
                sz = np.sqrt(v) if v > 0 else 0.0
                std_z[i, k] = sz
                std_h[i, k] = abs(ratio) * sz
        s_out[i] = s
        t_out[i] = t
        singular[i] = sing or empty
        objective[i] = obj
    return s_out, t_out, active, singular, objective, z_star, h_star, std_z, std_h, cov


_solve_numba = numba.njit(cache=True, nogil=True)(_solve_kernel) if _HAVE_NUMBA else None


def solve_dto_batch(h, z, d, mu, sigma, x_min, x_max, valid=None, X=None,
                    singular_tol: float = 1e-12, backend: str = 'auto') -> DTOSolution:
    """Solve paper Eq. 3 for a padded batch of images.

    Args:
        h: (B, K) initial T-pose heights h_i (m).
        z: (B, K) initial depths z_i (m).
        d: (B, K) inter-human depth relations d_i (relative-depth units).
        mu, sigma: (B, K) height prior mean / std (m), sigma > 0.
        x_min, x_max: (B,) bounds on s_d (``-inf`` / ``inf`` for none); x_min <= x_max.
        valid: (B, K) bool, real persons (default all).
        X: (B,) scale used when the normal equations are singular (all d_i equal, or one
            person): s_d = clip(X, x_min, x_max).  Default: midpoint of finite bounds, or
            the finite bound, or 1.
        singular_tol: det(P) <= tol * Saa * Sbb counts as singular.
        backend: 'auto' (numba kernel if available), 'numba' or 'numpy' (same numbers).

    Returns:
        :class:`DTOSolution`.
    """
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 2:
        raise ValueError(f'solve_dto_batch expects (B, K) arrays, got h of shape {h.shape}')
    B, K = h.shape
    valid = np.ones((B, K), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    d = np.asarray(d, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    x_min = np.broadcast_to(np.asarray(x_min, dtype=np.float64), (B,))
    x_max = np.broadcast_to(np.asarray(x_max, dtype=np.float64), (B,))
    if X is None:
        X = _default_X(x_min, x_max)
    X = np.broadcast_to(np.asarray(X, dtype=np.float64), (B,))
    if backend == 'auto':
        backend = 'numba' if _HAVE_NUMBA else 'numpy'
    if backend == 'numba':
        if not _HAVE_NUMBA:
            raise ValueError("backend='numba' requested but numba is not installed")
        c64 = lambda x: np.ascontiguousarray(x, dtype=np.float64)
        out = _solve_numba(c64(h), c64(z), c64(d), c64(mu), c64(sigma), np.ascontiguousarray(valid),
                           c64(x_min), c64(x_max), c64(X), float(singular_tol))
        return DTOSolution(*out)
    if backend != 'numpy':
        raise ValueError(f"unknown solver backend {backend!r} (use 'auto', 'numba' or 'numpy')")
    return _solve_numpy(h, z, d, mu, sigma, valid, x_min, x_max, X, singular_tol)


def _solve_numpy(h, z, d, mu, sigma, valid, x_min, x_max, X, singular_tol) -> DTOSolution:
    """The numpy path of :func:`solve_dto_batch` (same numbers as the numba kernel)."""
    B = h.shape[0]
    a, b, c = dto_coefficients(h, z, d, mu, sigma, valid)

    Saa = np.einsum('bk,bk->b', a, a)
    Sab = np.einsum('bk,bk->b', a, b)
    Sbb = np.einsum('bk,bk->b', b, b)
    Sac = np.einsum('bk,bk->b', a, c)
    Sbc = np.einsum('bk,bk->b', b, c)
    det = Saa * Sbb - Sab * Sab
    singular = det <= singular_tol * Saa * Sbb
    safe_det = np.where(singular, 1.0, det)
    s_unc = (Sac * Sbb - Sab * Sbc) / safe_det      # Cramer's rule on Eq. 13

    s_cand = np.where(singular, X, s_unc)
    s = np.clip(s_cand, x_min, x_max)
    active = np.where(s_cand < x_min, ACTIVE_LOWER, np.where(s_cand > x_max, ACTIVE_UPPER, ACTIVE_NONE))
    fixed = singular | (active != ACTIVE_NONE)
    safe_Sbb = np.where(Sbb > 0, Sbb, 1.0)
    t_fixed = (Sbc - s * Sab) / safe_Sbb            # Eq. 17 / 19
    t_unc = (Saa * Sbc - Sab * Sac) / safe_det
    t = np.where(fixed, t_fixed, t_unc)
    # an image without persons has no information: leave (s, t) = (X, 0) and flag singular
    empty = Sbb <= 0
    t = np.where(empty, 0.0, t)

    r = a * s[:, None] + b * t[:, None] - c
    objective = np.sum(r * r, axis=1)

    # posterior covariance of (s_d, t_d)
    cov = np.zeros((B, 2, 2))
    cov[:, 0, 0] = Sbb / safe_det
    cov[:, 0, 1] = cov[:, 1, 0] = -Sab / safe_det
    cov[:, 1, 1] = Saa / safe_det
    cov[fixed] = 0.0
    cov[fixed, 1, 1] = 1.0 / safe_Sbb[fixed]
    cov[empty] = 0.0
    var_z = (d * d * cov[:, 0, 0, None] + 2 * d * cov[:, 0, 1, None] + cov[:, 1, 1, None])
    std_z = np.where(valid, np.sqrt(np.maximum(var_z, 0.0)), 0.0)
    z_safe = np.where(valid, z, 1.0)
    z_star = np.where(valid, s[:, None] * d + t[:, None], 0.0)
    ratio = np.where(valid, h / z_safe, 0.0)
    return DTOSolution(s_d=s, t_d=t, active=active.astype(np.int8), singular=singular | empty,
                       objective=objective, z_star=z_star, h_star=ratio * z_star,
                       std_z=std_z, std_h=np.abs(ratio) * std_z, cov=cov)
