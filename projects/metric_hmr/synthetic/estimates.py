"""Initial estimates that fail the way single-person HMR fails (input of DTO).

Single-person HMR networks trained mostly on adults (CameraHMR & co.) predict bodies whose
size is pulled towards the adult mean: children come out enlarged, tall people shrunk.
Because the network explains the same 2D evidence, the predicted person is the true person
*scaled about the camera centre*: the projection stays, and the depth error follows the
height error.  A focal length biased long (as HumanFoV's is) scales the depth once more.

For person k with true T-pose height h_k and root (pelvis) ``r_k = (X, Y, Z)``:

    h_hmr = mu_adult + lambda * (h_k - mu_adult) + N(0, sigma_h^2)      (clipped)
    k_k   = h_hmr / h_k                          (size factor of the estimate)
    f_hmr = rho * f,  rho ~ logN(log rho_median, rho_sigma^2)    (one per image)
    r_hmr = (k X, k Y, k rho Z)                  (2D projection of the root preserved)
    v_hmr = r_hmr + k * R_noise @ G @ (v - r)    (rigid-scaled body, small rotation error
                                                   R_noise and girth noise G)

so ``z_hmr / z_true = k * rho``.  Age and gender estimates get configurable noise and
confusion between neighbouring age groups.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from typing import NamedTuple

import numpy as np

from ..conventions import AGE_GROUP_SPLITS, AgeGroup, age_group_from_years, is_minor
from ..geometry import axis_angle_to_matrix

__all__ = ['EstimateParams', 'InitialEstimates', 'sample_initial_estimates',
           'apply_estimate', 'age_group_of', 'AGE_GROUP_NAMES', 'AGE_GROUP_EDGES']

# Relative Human codes: 0 adult, 1 teen, 2 kid, 3 baby (ARCHITECTURE.md conventions)
AGE_GROUP_NAMES = tuple(AgeGroup(c).label for c in range(4))   # indexed by code
AGE_GROUP_EDGES = AGE_GROUP_SPLITS      # baby [0,3), kid [3,8), teen [8,15), adult >= 15
# order along age: baby(3) kid(2) teen(1) adult(0); neighbours differ by one code
_GROUP_MID_AGE = {3: 1.5, 2: 5.5, 1: 11.5, 0: 35.0}


# (N,) ages in years -> (N,) Relative-Human group codes (0 adult ... 3 baby): the one rule
age_group_of = age_group_from_years


@dataclass
class EstimateParams:
    """HMR failure model.  Defaults are documented in docs/synthetic.md.

    Attributes:
        mu_adult: height the HMR pulls towards (m); shrink: lambda (0 = every estimate is
            the mean, 1 = no pull); sigma_h: extra height noise (m); h_clip: height range.
        rho_median / rho_sigma: focal-length bias (f_hmr / f), lognormal, median > 1 = long.
        rot_sigma_deg: global-orientation error (deg, per axis); girth_sigma: relative girth
            noise (shape noise orthogonal to the body's up axis).
        age_sigma: age-estimate noise (years, grows with age: sigma * (1 + age/20));
        p_confuse: probability the age group is replaced by a neighbouring group.
        gender_flip_adult / gender_flip_minor: probability the gender estimate is wrong.
    """
    mu_adult: float = 1.70
    shrink: float = 0.3
    sigma_h: float = 0.06
    h_clip: tuple = (1.2, 2.0)
    rho_median: float = 1.15
    rho_sigma: float = 0.10
    rot_sigma_deg: float = 5.0
    girth_sigma: float = 0.05
    age_sigma: float = 2.0
    p_confuse: float = 0.15
    gender_flip_adult: float = 0.1
    gender_flip_minor: float = 0.3

    def to_dict(self):
        return asdict(self)


class InitialEstimates(NamedTuple):
    """Per-image HMR-like estimate (K persons).

    Attributes:
        size_factor: (K,) k (estimated / true size).
        rho: focal bias of the image (f_hmr / f).
        rot: (K, 3, 3) rotation error about the root; girth: (K,) girth factor.
        height: (K,) estimated T-pose height (= k * true height), metres.
        age: (K,) estimated age, years; age_group: (K,) estimated group code.
        p_male: (K,) estimated probability of being male.
    """
    size_factor: np.ndarray
    rho: float
    rot: np.ndarray
    girth: np.ndarray
    height: np.ndarray
    age: np.ndarray
    age_group: np.ndarray
    p_male: np.ndarray


def sample_initial_estimates(rng: np.random.Generator, height: np.ndarray, age: np.ndarray,
                             is_male: np.ndarray,
                             params: EstimateParams = EstimateParams()) -> InitialEstimates:
    """Draw the HMR failure of every person of one image (see module docstring)."""
    height = np.asarray(height, np.float64)
    age = np.asarray(age, np.float64)
    is_male = np.asarray(is_male, bool)
    K = len(height)
    p = params
    h_hmr = p.mu_adult + p.shrink * (height - p.mu_adult) + rng.normal(0, p.sigma_h, K)
    h_hmr = np.clip(h_hmr, *p.h_clip)
    k = h_hmr / height
    rho = float(np.exp(np.log(p.rho_median) + p.rho_sigma * rng.normal()))
    rot = axis_angle_to_matrix(np.deg2rad(p.rot_sigma_deg) * rng.normal(size=(K, 3)))
    girth = np.exp(p.girth_sigma * rng.normal(size=K))
    # age: noisy estimate, its group, then confusion with a neighbouring group
    age_est = np.clip(age + p.age_sigma * (1 + age / 20.0) * rng.normal(size=K), 0.0, 90.0)
    group = age_group_of(age_est)
    confuse = rng.uniform(size=K) < p.p_confuse
    step = np.where(rng.uniform(size=K) < 0.5, -1, 1)
    for i in np.nonzero(confuse)[0]:
        g = int(np.clip(group[i] + step[i], 0, 3))
        if g == group[i]:                       # at the end of the scale: the other side
            g = int(np.clip(group[i] - step[i], 0, 3))
        group[i] = g
        age_est[i] = _GROUP_MID_AGE[g]
    # gender: right side of 0.5 unless flipped; minors are harder
    flip_p = np.where(is_minor(age), p.gender_flip_minor, p.gender_flip_adult)
    wrong = rng.uniform(size=K) < flip_p
    confidence = rng.uniform(0.1, 0.45, size=K)
    sign = np.where(is_male ^ wrong, 1.0, -1.0)
    p_male = np.clip(0.5 + sign * confidence, 0.0, 1.0)
    return InitialEstimates(size_factor=k, rho=rho, rot=rot, girth=girth, height=h_hmr,
                            age=age_est, age_group=group, p_male=p_male)


def apply_estimate(vertices: np.ndarray, root: np.ndarray, up: np.ndarray, k: float,
                   rho: float, rot: np.ndarray, girth: float):
    """Move one true person (camera space) to its HMR estimate.

    Args:
        vertices: (V, 3) true camera-space vertices; root: (3,) true root (pelvis).
        up: (3,) unit up direction of the world in camera space (girth noise is orthogonal).
    Returns:
        (vertices_hmr (V,3), root_hmr (3,)).
    """
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    G = np.eye(3) + (girth - 1.0) * (np.eye(3) - np.outer(up, up))
    root = np.asarray(root, np.float64)
    root_hmr = np.array([k * root[0], k * root[1], k * rho * root[2]])
    v = (np.asarray(vertices, np.float64) - root) @ (k * rot @ G).T + root_hmr
    return v, root_hmr
