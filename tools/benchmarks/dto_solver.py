"""Benchmark of the DTO engine on one CPU core.

1. Solver: batched closed-form KKT solution (``metric_hmr.dto.solve_dto_batch``) against a
   generic bounded least-squares solver (``scipy.optimize.lsq_linear``, method 'bvls')
   called once per problem, on the same random well-posed problems (K <= 8 persons,
   each bound case present).  Reports solves/s and the largest disagreement of (s_d, t_d)
   (relative above magnitude 1, absolute below).
2. Cues: visibility (z-buffer rasteriser) + cue extraction per image for K=5 persons with
   6,890-vertex closed meshes (SMPL's vertex count) at 512 px, after JIT warm-up.

Times are CPU time of this process (``time.process_time``) with all libraries on one
thread, so other load on the machine does not distort them.

Last line: ``speedup_vs_scipy=<x> max_rel_err=<e> cue_ms_per_image=<t>``.

The batched rate of the last line solves all problems in calls of ``--chunk`` (10,000)
images; the table also shows one call over all of them (slower: the arrays leave the cache).

Usage: python tools/benchmarks/dto_solver.py [--problems 200000] [--scipy-problems 500] [--chunk 10000]
"""
import os

# one CPU core for every library (must be set before numpy / numba / torch load)
for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'NUMBA_NUM_THREADS'):
    os.environ[_var] = '1'

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import lsq_linear  # noqa: E402

from metric_hmr.dto import raster as raster_mod  # noqa: E402
from metric_hmr.dto import solver as solver_mod  # noqa: E402
from metric_hmr.dto.cues import extract_cues  # noqa: E402
from metric_hmr.dto.depth_map import prepare_depth  # noqa: E402
from metric_hmr.dto.raster import rasterize_persons  # noqa: E402
from metric_hmr.dto.solver import dto_coefficients, solve_dto_batch  # noqa: E402


def _clock():
    """CPU time of this process: on a shared machine wall-clock time would mostly measure
    the other processes; with every library limited to one thread, CPU time is the time
    the work takes on one core."""
    return time.process_time()


def make_problems(n, seed=0, K=8):
    """Padded random problems; bounds chosen so that interior / lower / upper / one-sided
    cases each make a quarter."""
    rng = np.random.default_rng(seed)
    valid = np.arange(K)[None, :] < rng.integers(2, K + 1, n)[:, None]
    h = rng.uniform(1.0, 2.0, (n, K))
    z = rng.uniform(2.0, 15.0, (n, K))
    d = rng.uniform(0.3, 10.0, (n, K))
    d[:, 1] = d[:, 0] + rng.choice([-1, 1], n) * rng.uniform(0.5, 3.0, n)
    mu = rng.uniform(1.0, 1.9, (n, K))
    sigma = rng.uniform(0.05, 0.16, (n, K))
    s_unc = solve_dto_batch(h, z, d, mu, sigma, -np.inf, np.inf, valid).s_d
    case = np.arange(n) % 4
    u = rng.uniform(0.05, 1.0, n)
    x_min = np.select([case == 0, case == 1, case == 2], [s_unc - u * np.abs(s_unc), s_unc + u, s_unc - 2 * u - 1],
                      s_unc + u)
    x_max = np.select([case == 0, case == 1, case == 2], [s_unc + u * np.abs(s_unc), s_unc + 3 * u, s_unc - u],
                      np.inf)
    return dict(h=h, z=z, d=d, mu=mu, sigma=sigma, x_min=x_min, x_max=x_max, valid=valid)


def scipy_solve_one(p, b):
    v = p['valid'][b]
    a, bb, c = dto_coefficients(p['h'][b, v][None], p['z'][b, v][None], p['d'][b, v][None],
                                p['mu'][b, v][None], p['sigma'][b, v][None])
    A = np.stack([a[0], bb[0]], 1)
    return lsq_linear(A, c[0], bounds=([p['x_min'][b], -np.inf], [p['x_max'][b], np.inf]),
                      method='bvls', tol=1e-15).x


KEYS = ('h', 'z', 'd', 'mu', 'sigma', 'x_min', 'x_max', 'valid')


def bench_solver(n, n_scipy, chunk, repeats=5):
    p = make_problems(n, seed=0)
    args = tuple(p[k] for k in KEYS)
    solve_dto_batch(*args)                                # warm-up (JIT)
    times = []
    for _ in range(repeats):
        t0 = _clock()
        sol = solve_dto_batch(*args)
        times.append(_clock() - t0)
    one_call_rate = n / min(times)
    # the same problems in calls of `chunk` images (how a pipeline feeds it): the working
    # set stays in cache, which a single huge call cannot do
    chunks = [tuple(p[k][a:a + chunk] for k in KEYS) for a in range(0, n, chunk)]
    times = []
    for _ in range(repeats):
        t0 = _clock()
        sols = [solve_dto_batch(*c) for c in chunks]
        times.append(_clock() - t0)
    batched_rate = n / min(times)
    assert np.array_equal(np.concatenate([s_.s_d for s_ in sols]), sol.s_d)

    idx = np.arange(n_scipy)
    t0 = _clock()
    ref = np.array([scipy_solve_one(p, b) for b in idx])
    scipy_rate = n_scipy / (_clock() - t0)

    # the closed form one problem at a time (no batching), for reference
    sub = {k: v[:n_scipy] for k, v in p.items()}
    t0 = _clock()
    for b in idx:
        solve_dto_batch(*(sub[k][b:b + 1] for k in ('h', 'z', 'd', 'mu', 'sigma', 'x_min', 'x_max', 'valid')))
    single_rate = n_scipy / (_clock() - t0)

    err = lambda x, y: np.abs(x - y) / np.maximum(1.0, np.abs(y))
    max_err = float(max(err(sol.s_d[idx], ref[:, 0]).max(), err(sol.t_d[idx], ref[:, 1]).max()))
    active = np.bincount(sol.active[idx] + 1, minlength=3)
    return dict(batched_rate=batched_rate, one_call_rate=one_call_rate, scipy_rate=scipy_rate,
                single_rate=single_rate, max_err=max_err, n=n, n_scipy=n_scipy, active=active,
                chunk=chunk)


def ellipsoid(center, axes, n_lat=65, n_lon=106):
    th = np.linspace(0, np.pi, n_lat)
    ph = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing='ij')
    v = np.stack([np.sin(T) * np.cos(P), -np.cos(T), np.sin(T) * np.sin(P)], -1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(n_lat - 1), np.arange(n_lon), indexing='ij')
    a = (i * n_lon + j).ravel()
    b = (i * n_lon + (j + 1) % n_lon).ravel()
    c = a + n_lon
    e = b + n_lon
    faces = np.concatenate([np.stack([a, c, b], 1), np.stack([b, c, e], 1)])
    return v * np.asarray(axes) + np.asarray(center), faces


def bench_cues(repeats=50, K=5, H=720, W=960):
    rng = np.random.default_rng(0)
    f = np.array([900.0, 900.0])
    c = np.array([W / 2, H / 2])
    Z = np.sort(rng.uniform(3, 9, K))
    verts = []
    for k in range(K):
        hgt = rng.uniform(1.5, 1.9)
        v, faces = ellipsoid(((k - (K - 1) / 2) * 0.25 * Z[k], 0.3, Z[k]), (0.13 * hgt, 0.5 * hgt, 0.12 * hgt))
        verts.append(v)
    disp = 1.0 / np.maximum(rng.uniform(1, 2, (H // 2, W // 2)), 1e-3)   # a network-size map
    res = 512
    hw = raster_mod.raster_size((H, W), res)[0]
    rel = prepare_depth(disp, hw, 'disparity')
    for _ in range(3):                                                  # JIT warm-up
        r = rasterize_persons(verts, faces, f, c, (H, W), res)
        extract_cues(verts, r, rel, f, c)
    t_r, t_c, t_d = [], [], []
    for _ in range(repeats):
        t0 = _clock()
        r = rasterize_persons(verts, faces, f, c, (H, W), res)
        t1 = _clock()
        extract_cues(verts, r, rel, f, c)
        t2 = _clock()
        prepare_depth(disp, hw, 'disparity')
        t3 = _clock()
        t_r.append(t1 - t0)
        t_c.append(t2 - t1)
        t_d.append(t3 - t2)
    ms = lambda x: 1000 * float(np.median(x))
    return dict(raster_ms=ms(t_r), cues_ms=ms(t_c), total_ms=ms(np.add(t_r, t_c)), depth_ms=ms(t_d),
                V=len(verts[0]), F=len(faces), backend='numba' if raster_mod._HAVE_NUMBA else 'numpy',
                visible=[int(v.sum()) for v in r.vertex_visible])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--problems', type=int, default=200_000)
    ap.add_argument('--scipy-problems', type=int, default=500)
    ap.add_argument('--chunk', type=int, default=10_000, help='images per solver call')
    ap.add_argument('--cue-repeats', type=int, default=50)
    args = ap.parse_args()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    if raster_mod._HAVE_NUMBA:
        import numba
        numba.set_num_threads(1)

    s = bench_solver(args.problems, args.scipy_problems, args.chunk)
    cu = bench_cues(args.cue_repeats)
    print('DTO solver (one CPU core, process CPU time)')
    print(f"{'method':<52}{'problems':>10}{'solves/s':>14}")
    kind = 'numba kernel' if solver_mod._HAVE_NUMBA else 'numpy'
    print(f"{'closed form, batched (' + kind + '), ' + str(s['chunk']) + '/call':<52}{s['n']:>10}"
          f"{s['batched_rate']:>14.4g}")
    print(f"{'closed form, batched, all in one call':<52}{s['n']:>10}{s['one_call_rate']:>14.4g}")
    print(f"{'closed form, one problem per call':<52}{s['n_scipy']:>10}{s['single_rate']:>14.4g}")
    print(f"{'scipy lsq_linear bvls, one problem per call':<52}{s['n_scipy']:>10}{s['scipy_rate']:>14.4g}")
    print(f"active bounds in the compared problems (lower/none/upper): {s['active'].tolist()}")
    print(f"max |diff| of (s_d, t_d) vs scipy (relative above 1): {s['max_err']:.3g}")
    print()
    print(f"Visibility + cues: K=5 persons, {cu['V']} vertices / {cu['F']} faces each, 512 px, "
          f"backend={cu['backend']}, median of {args.cue_repeats}")
    print(f"{'step':<52}{'ms/image':>10}")
    print(f"{'z-buffer + vertex visibility':<52}{cu['raster_ms']:>10.3f}")
    print(f"{'cue extraction (d_i, X_i, w_i, ...)':<52}{cu['cues_ms']:>10.3f}")
    print(f"{'visibility + cues':<52}{cu['total_ms']:>10.3f}")
    print(f"{'(depth map resample + disparity inversion)':<52}{cu['depth_ms']:>10.3f}")
    print(f"visible vertices per person: {cu['visible']}")
    print(f"speedup_vs_scipy={s['batched_rate'] / s['scipy_rate']:.4g} max_rel_err={s['max_err']:.3g} "
          f"cue_ms_per_image={cu['total_ms']:.3g}")


if __name__ == '__main__':
    main()
