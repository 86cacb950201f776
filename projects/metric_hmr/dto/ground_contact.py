"""Ground-contact cue of DTO+: persons standing on one ground plane (issue 15).

Why: after the affine fit each person's depth still carries the depth network's error *at
that person* (blur, bleeding, warp).  Persons who stand on the same ground share one
surface, so their foot contacts pool evidence across the image: each person's depth can be
predicted from the others' through the plane.

Geometry (camera space OpenCV, pinhole): a plane n . X = c that does not pass through the
camera; a point X = z (x, y, 1) with normalised coordinates x = (u - cx) / fx,
y = (v - cy) / fy lies on it when

    g = 1 / z = (n_x x + n_y y + n_z) / c = A x + B y + C      (inverse depth affine in the pixel)

so the inverse depths g_i = 1 / z_f,i of the foot contacts are a linear model of
(x_i, y_i, 1); a level horizon (no camera roll) drops A.  Heights and focal do not enter:
the cue says where persons are relative to each other, not the metric scale.

Steps of :func:`ground_fusion` (one image, K persons):

1. contacts: persons whose foot contact (:func:`foot_contact`) is inside the image and in
   front of the camera; at least ``min_persons`` of them, else declined with a reason;
2. weighted least squares of g_i on (y_i, 1) (on (x_i, y_i, 1), a tilted horizon, with
   >= ``roll_min_persons`` and at least 5 contacts),
   var(g_i) = g_i^2 (t_i^2 + tau^2) + (B sigma_y,i)^2: t_i the person's own relative depth
   error, sigma_y,i the contact's pixel error (``pixel_noise`` times the person's pixel
   height, normalised), tau how far the persons are from one plane (uneven ground, steps, a
   person on a bench), found by a robust method of moments (median of the squared
   standardised residuals = median of chi2(1), in closed form; 0 when the data are already
   within their own errors);
3. leave-one-out prediction of each person's contact depth: the plane refitted to the
   others (with their own tau, so a person far off the plane does not widen the standard
   it is judged by), its covariance, tau and the person's pixel error;
4. the person whose depth disagrees most with its prediction, if by more than
   ``outlier_c`` standard deviations, is ``off_ground`` (not on the others' plane) and keeps
   its depth; steps 2-4 are repeated without it until nobody is beyond ``outlier_c``;
5. fusion in log depth: the precision-weighted mean of the person's depth (std t_i) and
   the plane's prediction; the returned factor scales the whole person about the camera
   centre (depth and height together, as every DTO correction does).
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np


__all__ = ['FootContact', 'PlaneFit', 'GroundFusion', 'foot_contact', 'fit_inverse_depth_plane',
           'robust_tau', 'ground_fusion']


class FootContact(NamedTuple):
    """Foot contact of K persons (input placement), (K,) each."""
    u: np.ndarray          # pixel column of the contact (OpenCV pixel centres)
    v: np.ndarray          # pixel row
    z: np.ndarray          # camera depth of the contact, metres
    h_pix: np.ndarray      # projected vertical extent of the person, pixels


class PlaneFit(NamedTuple):
    """Weighted fit of 1/z = A x + B y + C to n contacts."""
    beta: np.ndarray       # (3,) (A, B, C); A = 0 without roll
    cov: np.ndarray        # (3, 3) covariance of beta (zeros in A's row / column without roll)
    tau: float             # relative spread of the contacts about the plane
    var: np.ndarray        # (n,) variance of each g_i the final weights used


class GroundFusion(NamedTuple):
    """Outcome of :func:`ground_fusion` for K persons."""
    factor: np.ndarray       # (K,) z_new / z (1 where not fused)
    weight: np.ndarray       # (K,) weight of the plane's prediction (NaN where not used)
    rel_std: np.ndarray      # (K,) relative std of the fused depth (NaN where not fused)
    off_ground: np.ndarray   # (K,) bool, disagrees with the others' plane
    plane: Optional[np.ndarray]   # (3,) (A, B, C) of 1/z = A x + B y + C, or None
    tau: float               # relative spread of the persons about one plane (NaN: not fitted)
    reason: str              # '' when fused, else why declined


# ---------------------------------------------------------------------- foot contact
def foot_contact(vertices: Sequence[np.ndarray], focal, princpt, frac: float = 0.01,
                 min_vertices: int = 5) -> FootContact:
    """Mean pixel and depth of each person's lowest-projecting vertices (the soles of a
    standing person, the contact of a sitting or crouching one).

    Args:
        vertices: K arrays (V, 3), camera space, metres.
        focal, princpt: (2,) intrinsics, pixels.
        frac: share of the vertices (largest image row) averaged, at least ``min_vertices``.
    """
    K = len(vertices)
    out = np.full((4, K), np.nan)
    fx, fy = np.broadcast_to(np.asarray(focal, np.float64), (2,))
    cx, cy = np.broadcast_to(np.asarray(princpt, np.float64), (2,))
    for k, v in enumerate(vertices):
        v = np.asarray(v, np.float64)
        v = v[v[:, 2] > 1e-6]
        if len(v) < min_vertices:
            continue
        row = fy * v[:, 1] / v[:, 2] + cy           # image rows only (pinhole, OpenCV)
        n = max(int(min_vertices), int(np.ceil(frac * len(v))))
        low = np.argpartition(row, len(v) - n)[-n:]
        out[:, k] = (fx * (v[low, 0] / v[low, 2]).mean() + cx, row[low].mean(), v[low, 2].mean(),
                     np.ptp(row))
    return FootContact(*out)


# ------------------------------------------------------------------ 2. the plane fit
def _design(x, y, roll: bool) -> np.ndarray:
    cols = (x, y, np.ones_like(y)) if roll else (y, np.ones_like(y))
    return np.stack(cols, -1)


def _wls(D, g, var):
    """Weighted least squares: coefficients and their covariance (N^-1, N = D^T W D)."""
    w = 1.0 / var
    N = D.T @ (D * w[:, None])
    cov = np.linalg.pinv(N)
    return cov @ (D.T @ (w * g)), cov


_CHI2_1_MEDIAN = 0.454936423119572      # median of a chi-square with one degree of freedom


def robust_tau(r, g, base_var, keep) -> float:
    """tau >= 0 with median_i r_i^2 / (keep_i (base_i + g_i^2 tau^2)) = median of chi2(1).

    ``keep`` = 1 - leverage of each residual.  The median, not the sum, so that one person
    far off the plane does not set tau.  Closed form: term i exceeds the chi2 median
    exactly while tau^2 < tau_i^2 = (r_i^2 / (keep_i m) - base_i) / g_i^2, so the median
    of the terms equals m at tau^2 = median_i tau_i^2."""
    tau2 = np.median((r ** 2 / (keep * _CHI2_1_MEDIAN) - base_var) / g ** 2)
    return float(np.sqrt(max(float(tau2), 0.0)))


def fit_inverse_depth_plane(x, y, g, t, sigma_y, roll: bool = False,
                            rounds: int = 3) -> PlaneFit:
    """Fit g = (A x +) B y + C with the noise model of step 2.

    Args:
        x, y: (n,) normalised contact coordinates; g: (n,) inverse contact depths;
        t: (n,) relative depth std of each person; sigma_y: (n,) normalised pixel std.
    Each round: weighted fit with the current (tau, B), then tau from its residuals.
    """
    D = _design(x, y, roll)
    p = D.shape[1]
    var = np.maximum(g ** 2 * t ** 2, 1e-30)
    beta, cov = _wls(D, g, var)
    tau = 0.0
    if len(g) <= p:                   # exact fit: nothing to estimate tau from
        rounds = 0
    for _ in range(rounds):
        base = g ** 2 * t ** 2 + (beta[-2] * sigma_y) ** 2
        lev = np.einsum('ij,jk,ik->i', D, cov, D) / var          # leverage of this fit
        tau = robust_tau(g - D @ beta, g, base, np.clip(1.0 - lev, 1e-6, None))
        var = np.maximum(base + g ** 2 * tau ** 2, 1e-30)
        beta, cov = _wls(D, g, var)
    if not roll:      # embed (B, C) as (0, B, C)
        beta = np.r_[0.0, beta]
        cov = np.pad(cov, ((1, 0), (1, 0)))
    return PlaneFit(beta, cov, tau, var)


# ----------------------------------------------------------- 3. leave-one-out prediction
def _predict_from(fit: PlaneFit, x, y, sigma_y):
    """Prediction of contacts from a plane fit and its variance (the fit's covariance, tau
    and the contact's pixel error)."""
    d = np.stack([x, y, np.ones_like(y)], -1)
    g_hat = d @ fit.beta
    return g_hat, (np.einsum('ij,jk,ik->i', d, fit.cov, d) + g_hat ** 2 * fit.tau ** 2
                   + (fit.beta[1] * sigma_y) ** 2)


def _loo_predictions(x, y, g, t, sigma_y, roll: bool):
    """Each contact predicted by the plane of all the *other* contacts (refitted without it,
    its own tau: a person off the plane does not widen the standard it is judged by).
    Returns (g_hat, var_g_hat, the PlaneFit of all contacts)."""
    n = len(g)
    g_hat, var_hat = np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        o = np.arange(n) != i
        fit = fit_inverse_depth_plane(x[o], y[o], g[o], t[o], sigma_y[o], roll)
        g_hat[i:i + 1], var_hat[i:i + 1] = _predict_from(fit, x[i:i + 1], y[i:i + 1], sigma_y[i:i + 1])
    return g_hat, var_hat, fit_inverse_depth_plane(x, y, g, t, sigma_y, roll)


# ------------------------------------------------------------------------- steps 1-5
def ground_fusion(contact: FootContact, depth_ratio: np.ndarray, rel_std: np.ndarray,
                  use: np.ndarray, focal, princpt, image_hw: Tuple[int, int],
                  pixel_noise: float = 0.02, min_persons: int = 4, roll_min_persons: int = 6,
                  outlier_c: float = 2.5) -> GroundFusion:
    """Fuse each used person's depth with the ground plane through the others' contacts.

    Args:
        contact: foot contacts under the input placement (:func:`foot_contact`).
        depth_ratio: (K,) current depth / input depth of each person (the DTO correction so
            far); the contact's current depth is ``contact.z * depth_ratio``.
        rel_std: (K,) relative std t_i of each person's current depth (its own error, not
            the image-wide affine's).
        use: (K,) bool, persons of the fit.
    """
    K = len(use)
    none = GroundFusion(np.ones(K), np.full(K, np.nan), np.full(K, np.nan), np.zeros(K, bool),
                        None, float('nan'), '')
    H, W = image_hw
    fx, fy = np.broadcast_to(np.asarray(focal, np.float64), (2,))
    cx, cy = np.broadcast_to(np.asarray(princpt, np.float64), (2,))
    z = contact.z * np.asarray(depth_ratio, np.float64)
    t = np.asarray(rel_std, np.float64)
    # 1. persons with a usable contact
    inside = (contact.u >= -0.5) & (contact.u < W - 0.5) & (contact.v >= -0.5) & (contact.v < H - 0.5)
    ok = (np.asarray(use, bool) & inside & np.isfinite(z) & (z > 0) & np.isfinite(t) & (t > 0)
          & np.isfinite(contact.h_pix))
    idx = np.nonzero(ok)[0]
    if len(idx) < min_persons:
        return none._replace(reason=f'ground_contacts<{min_persons}')
    x, y = (contact.u[idx] - cx) / fx, (contact.v[idx] - cy) / fy
    g, t = 1.0 / z[idx], t[idx]
    sy = pixel_noise * contact.h_pix[idx] / fy
    if np.ptp(y) <= 0:
        return none._replace(reason='ground_contacts_on_one_row')
    # 2.-4. leave-one-out predictions; persons off the others' plane out, refit until
    # nobody new is flagged (each round flags >= 1, so at most n rounds)
    off = np.zeros(len(idx), bool)
    for _ in range(len(idx)):
        if (~off).sum() < min_persons:
            return none._replace(reason=f'ground_contacts<{min_persons}',
                                 off_ground=_scatter_bool(K, idx, off))
        # 3 parameters and a leave-one-out check with tau need >= 5 contacts
        roll = (~off).sum() >= max(roll_min_persons, 5)
        gh, vh, beta, tau = _predict(x, y, g, t, sy, roll, ~off)
        with np.errstate(invalid='ignore', divide='ignore'):
            s2 = vh / gh ** 2                        # relative variance of the prediction
            dev = np.abs(np.log(g) - np.log(gh)) / np.sqrt(t ** 2 + s2)
        dev = np.where((gh > 0) & np.isfinite(dev), dev, np.inf)
        worst = int(np.argmax(np.where(off, -1.0, dev)))
        if off[worst] or dev[worst] <= outlier_c:
            break
        off[worst] = True                            # one at a time: the worst first
    # 5. precision-weighted mean in log depth: log z_new = log z + w (log z_pred - log z)
    fused = ~off
    w = np.where(fused, t ** 2 / (t ** 2 + s2), np.nan)
    factor, weight, rel = np.ones(K), np.full(K, np.nan), np.full(K, np.nan)
    factor[idx] = np.exp(np.where(fused, w * (np.log(g) - np.log(np.where(fused, gh, 1.0))), 0.0))
    weight[idx] = w
    rel[idx] = np.where(fused, np.sqrt(t ** 2 * s2 / (t ** 2 + s2)), np.nan)
    return GroundFusion(factor=factor, weight=weight, rel_std=rel,
                        off_ground=_scatter_bool(K, idx, off), plane=beta, tau=float(tau),
                        reason='' if fused.any() else 'no_person_on_the_plane')


def _predict(x, y, g, t, sy, roll, keep):
    """Predictions and variances for every contact: leave-one-out for the kept persons,
    from the fit of all kept persons for the others."""
    gh, vh = np.full(len(g), np.nan), np.full(len(g), np.nan)
    ki = np.nonzero(keep)[0]
    gh[ki], vh[ki], fit = _loo_predictions(x[ki], y[ki], g[ki], t[ki], sy[ki], roll)
    if (~keep).any():
        gh[~keep], vh[~keep] = _predict_from(fit, x[~keep], y[~keep], sy[~keep])
    return gh, vh, fit.beta, fit.tau


def _scatter_bool(K, idx, values):
    out = np.zeros(K, bool)
    out[idx] = values
    return out
