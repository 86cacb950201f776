"""How good must the focal length be for DTO to cut the root-depth error?  (issue 15)

    python tools/benchmarks/dto_focal_requirement.py --scenes 300 --severities 1

Heights fix a person's depth per focal length (z = f h / p), so whatever focal DTO is given
scales every corrected depth: with the HMR's focal ``rho f`` the depths come out ``rho``
times too far, and no cue inside DTO removes that (docs/dto.md, issue 15).  This benchmark
measures the lever: on the cached synthetic scenes of ``dto_synthetic.py`` it re-makes the
HMR-like estimate with other focal errors (:func:`metric_hmr.synthetic.benchmark.
estimate_with_focal_bias`, same size / pose / shape errors) and runs DTO (paper) and DTO+
on each:

* bias path: focal ``rho^t f`` for ``t`` in ``--bias-fractions`` (1: the HMR's focal,
  0: the true focal), i.e. the HMR's error shrunk towards the truth;
* noise path: focal ``exp(sigma e) f`` for ``sigma`` in ``--noise``, one ``e ~ N(0, 1)`` per
  scene (seeded by ``--seed`` and the scene index): an unbiased focal estimator.

The depth-error reduction is always against the *actual* initial estimate (as in
``dto_synthetic.py``), so the rows say what DTO would reach if an outside focal estimator
(a FoV network, calibration) had that error.  Written to ``--out-dir``:
``dto_focal_requirement_sev<S>.json/.md`` and ``focal_requirement.png`` (reduction against
the mean |log focal error| per image).  The last line, per severity S:

    plus_needed_focal_log_err_bias_s<S>=.. plus_needed_focal_log_err_noise_s<S>=..
    hmr_focal_log_err_s<S>=.. plus_reduction_true_focal_s<S>=.. plus_reduction_hmr_focal_s<S>=..

``needed``: the mean |log focal error| up to which DTO+ reaches ``--target`` (first crossing,
linear interpolation along the path; NaN when even the true focal misses it).  Both paths
start at the true focal (``t = 0`` is always run).
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault('ANNY_CACHE_DIR', os.path.expanduser('~/.cache/metric_hmr/anny'))

METHOD_LABELS = dict(dto_paper='DTO paper', dto_plus='DTO+')


def parse_args(argv=None):
    from metric_hmr.synthetic.benchmark import add_scene_set_args
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scene_set_args(p)
    p.add_argument('--severities', type=float, nargs='+', default=[1.0])
    p.add_argument('--bias-fractions', type=float, nargs='+', default=[1.0, 0.75, 0.5, 0.25, 0.0])
    p.add_argument('--noise', type=float, nargs='+', default=[0.05, 0.1, 0.15, 0.2, 0.3])
    p.add_argument('--target', type=float, default=0.45, help="issue 15's depth-error reduction")
    p.add_argument('--out-dir', default='work_dirs/benchmarks/dto_focal_requirement')
    return p.parse_args(argv)


def focal_variants(rho: float, bias_fractions, noise, eps: float):
    """[(name, path, rho_new)]: the focal bias of each re-made estimate (see module doc);
    the true focal (``t = 0``) is always included, the anchor of both paths."""
    fractions = sorted(set(float(t) for t in bias_fractions) | {0.0}, reverse=True)
    out = [(f'bias_t{t:g}', 'bias', float(rho) ** t) for t in fractions]
    out += [(f'noise_{s:g}', 'noise', float(np.exp(s * eps))) for s in noise]
    return out


def needed_focal_error(x, y, target: float):
    """Focal error up to which the reduction y(x) reaches ``target``.

    x: focal errors, y: reductions (same length).  Walking up from the smallest error,
    the first crossing below ``target`` is interpolated linearly (on a curve that is not
    monotone a later point may reach the target again; it is not counted).  Returns
    ``(error, censored)``: NaN if y < target already at the smallest error; the largest x
    with ``censored=True`` if y never falls below (the requirement is at least that loose).
    """
    order = np.argsort(x)
    x, y = np.asarray(x, np.float64)[order], np.asarray(y, np.float64)[order]
    if not len(x) or y[0] < target:
        return float('nan'), False
    for i in range(1, len(x)):
        if y[i] < target:
            return float(x[i - 1] + (y[i - 1] - target) * (x[i] - x[i - 1]) / (y[i - 1] - y[i])), False
    return float(x[-1]), True


def run_severity(args, severity: float) -> dict:
    from metric_hmr.synthetic.benchmark import (estimate_with_focal_bias, open_scene_set,
                                                run_method_dto, scene_inputs, summarize)

    gen, store, cache = open_scene_set(args, severity)
    per_scene, log_err, paths = [], {}, {}
    t0 = time.perf_counter()
    for i in range(len(store)):
        if i and i % 50 == 0:
            print(f'[dto_focal_requirement] severity {severity:g}: {i}/{len(store)} scenes '
                  f'({time.perf_counter() - t0:.0f} s)', flush=True)
        # 1. the scene's inputs and ground truth, as in dto_synthetic.py
        scene = store[i]
        inp = scene_inputs(gen, scene, args.min_pixels)
        if not len(inp.det):
            continue
        ev = dict(gt=inp.gt, initial=dict(z=inp.transl[:, 2].copy(), h=inp.h0, kept=None, runtime=0.0))
        # 2. one seeded draw per scene for the unbiased path (order-independent)
        eps = float(np.random.default_rng([args.seed, int(scene['scene_index'])]).normal())
        for name, path, rho_new in focal_variants(inp.rho, args.bias_fractions, args.noise, eps):
            paths[name] = path
            log_err.setdefault(name, []).append(abs(np.log(rho_new)))
            verts, transl, focal = estimate_with_focal_bias(scene, inp.det, inp.verts_gt, rho_new)
            for m in METHOD_LABELS:
                t1 = time.perf_counter()
                res = run_method_dto(gen, inp, m, verts, transl, focal)
                ev[f'{m}@{name}'] = dict(z=res.transl_star[:, 2].copy(), h=res.h_star.copy(),
                                         kept=bool(res.kept), runtime=time.perf_counter() - t1)
        per_scene.append(ev)
    # 3. aggregate: depth-error reduction against the actual initial estimate
    keys = ['initial'] + [f'{m}@{n}' for n in paths for m in METHOD_LABELS]
    S = summarize(per_scene, methods=keys)
    e0 = S['initial']['depth_err_mean']
    rows = []
    for name, path in paths.items():
        row = dict(variant=name, path=path, focal_log_err=float(np.mean(log_err[name])))
        for m in METHOD_LABELS:
            r = S[f'{m}@{name}']
            row[m] = dict(pcdr=r['pcdr'], depth_err_mean=r['depth_err_mean'],
                          reduction=1.0 - r['depth_err_mean'] / e0)
        rows.append(row)
    needed, censored = {}, {}
    for path in ('bias', 'noise'):
        pts = [r for r in rows if r['path'] == path or r['variant'] == 'bias_t0']
        needed[path], censored[path] = needed_focal_error(
            [r['focal_log_err'] for r in pts], [r['dto_plus']['reduction'] for r in pts], args.target)
    by = {r['variant']: r for r in rows}
    return dict(severity=severity, cache=str(cache), images=len(per_scene),
                persons=S['_counts']['persons'], initial_depth_err_mean=e0,
                initial_pcdr=S['initial']['pcdr'], rows=rows, needed=needed,
                needed_censored=censored, target=args.target,
                hmr_focal_log_err=by['bias_t1']['focal_log_err'] if 'bias_t1' in by else float('nan'),
                plus_reduction_true_focal=by['bias_t0']['dto_plus']['reduction'],
                plus_reduction_hmr_focal=(by['bias_t1']['dto_plus']['reduction'] if 'bias_t1' in by
                                          else float('nan')),
                eval_seconds=time.perf_counter() - t0)


def markdown(rep: dict, seed: int) -> str:
    def f(path):
        x = rep['needed'][path]
        return 'n/a' if not np.isfinite(x) else ('>= ' if rep['needed_censored'][path] else '') + f'{x:.3f}'
    lines = [f"# Focal-length requirement of DTO (severity {rep['severity']:g}, {rep['images']} images, "
             f"{rep['persons']} persons, seed {seed})", '',
             f"initial mean root-depth error {rep['initial_depth_err_mean']:.3f} m, PCDR "
             f"{rep['initial_pcdr']:.1f}; target reduction {rep['target']}", '',
             '| focal given to DTO | mean abs log focal error | paper: depth err (m) / reduction / PCDR '
             '| DTO+: depth err (m) / reduction / PCDR |', '|---|---|---|---|']
    for r in rep['rows']:
        cells = [f"{r[m]['depth_err_mean']:.3f} / {r[m]['reduction']:.3f} / {r[m]['pcdr']:.1f}"
                 for m in METHOD_LABELS]
        lines.append(f"| {r['variant']} | {r['focal_log_err']:.3f} | {cells[0]} | {cells[1]} |")
    lines += ['', f"DTO+ reaches {rep['target']} up to a mean abs log focal error of "
              f"{f('bias')} (HMR's error shrunk) / {f('noise')} (unbiased estimator); the HMR's "
              f"focal has {rep['hmr_focal_log_err']:.3f}."]
    return '\n'.join(lines) + '\n'


def plot(reports, path, target):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(reports), figsize=(5.5 * len(reports), 4), squeeze=False)
    for ax, rep in zip(axes[0], reports):
        for m, c in (('dto_paper', 'tab:blue'), ('dto_plus', 'tab:purple')):
            for kind, ls, mk in (('bias', '-', 'o'), ('noise', '--', 's')):
                pts = sorted((r['focal_log_err'], r[m]['reduction']) for r in rep['rows']
                             if r['path'] == kind or r['variant'] == 'bias_t0')
                if pts:
                    ax.plot(*zip(*pts), ls=ls, marker=mk, color=c,
                            label=f"{METHOD_LABELS[m]}, "
                                  f"{'HMR error shrunk' if kind == 'bias' else 'unbiased'}")
        ax.axhline(target, color='gray', ls=':', lw=1, label=f'target {target}')
        ax.axvline(rep['hmr_focal_log_err'], color='tab:red', ls=':', lw=1, label="HMR's focal")
        ax.set_xlabel('mean |log(focal / true focal)| per image')
        ax.set_ylabel('root-depth error reduction vs initial')
        ax.set_title(f"severity {rep['severity']:g}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    from metric_hmr.utils.io import atomic_save_json, atomic_write
    args = parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reports = []
    for sev in args.severities:
        rep = run_severity(args, sev)
        reports.append(rep)
        atomic_save_json(out / f'dto_focal_requirement_sev{sev:g}.json', dict(args=vars(args), **rep),
                         indent=1)
        md = markdown(rep, args.seed)
        atomic_write(out / f'dto_focal_requirement_sev{sev:g}.md', md)
        print(md, flush=True)
    plot(reports, out / 'focal_requirement.png', args.target)
    print(f'[dto_focal_requirement] wrote {out}', flush=True)
    print(' '.join(f"plus_needed_focal_log_err_bias_s{r['severity']:g}={r['needed']['bias']:.3f} "
                   f"plus_needed_focal_log_err_noise_s{r['severity']:g}={r['needed']['noise']:.3f} "
                   f"hmr_focal_log_err_s{r['severity']:g}={r['hmr_focal_log_err']:.3f} "
                   f"plus_reduction_true_focal_s{r['severity']:g}={r['plus_reduction_true_focal']:.3f} "
                   f"plus_reduction_hmr_focal_s{r['severity']:g}={r['plus_reduction_hmr_focal']:.3f}"
                   for r in reports))
    return reports


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
