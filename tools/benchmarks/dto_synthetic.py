"""DTO quality on synthetic crowds with exact ground truth.

    python tools/benchmarks/dto_synthetic.py --scenes 500 --severity 1.0
    python tools/benchmarks/dto_synthetic.py --scenes 300 --severities 0 1 2

Generates (or reuses, cached on disk by seed / N / severity / config hash) a set of
synthetic crowd scenes, runs every method of :mod:`metric_hmr.synthetic.benchmark` on
the same HMR-like initial estimates and writes to ``--out-dir``:

* ``dto_synthetic_sev<S>.json``: all numbers; ``dto_synthetic_sev<S>.md``: the table;
* ``heights_sev<S>.png``: height distribution of ground truth, initial and DTO (paper
  Fig. 8 analogue); ``errors_by_age_sev<S>.png``: height / depth error per age group;
* with ``--vis-every N``: visualisation records / pictures of every N-th scene
  (``metric_hmr.visualization.VisualizationWriter``, in ``vis_sev<S>/``).

With one severity the last printed line is ``pcdr_gain=<points> depth_err_reduction=<fraction>``
for DTO (paper default) against the initial placement: PCDR_0.2 gain in points and the
relative reduction of the mean absolute root-depth error.  With ``--severities`` it is
``plus_gain_s1=.. plus_gain_s2=.. plus_depth_err_reduction_s1=.. plus_vs_oracle_s1=..``
(DTO+ minus paper PCDR at severity 1 and 2, DTO+'s depth-error reduction vs initial at
severity 1, DTO+ minus oracle PCDR at severity 1; NaN for a severity not run).
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault('ANNY_CACHE_DIR', os.path.expanduser('~/.cache/metric_hmr/anny'))

LABELS = dict(initial='initial (HMR-like)', dto_paper='DTO paper default',
              dto_released='DTO released-code variant', no_intra_bound='ablation: no intra-human bound',
              gender_agnostic='ablation: gender-agnostic prior', no_age_prior='ablation: no age prior',
              oracle='oracle (true scale and shift)', initial_gt_focal='diag: initial, true focal',
              dto_paper_gt_focal='diag: DTO paper, true focal', plus_gt_focal='diag: DTO+, true focal',
              dto_plus='DTO+ (preset plus)',
              plus_no_robust_stat='DTO+ ablation: mean statistic, erosion 1',
              plus_fixed_erosion='DTO+ ablation: erosion not adapted to person size',
              plus_depth_space='DTO+ ablation: depth-space affine',
              plus_ols_scale='DTO+ ablation: OLS intra-human scale',
              plus_gaussian='DTO+ ablation: Gaussian likelihood',
              plus_focal='DTO+ with focal refinement (opt-in)',
              plus_no_fusion='DTO+ ablation: no depth fusion (cue depth only)',
              plus_cue_noise='DTO+ with cue-noise height std (opt-in)',
              plus_bound_all_persons='DTO+ ablation: every person sets the bounds (|r| > 0)',
              plus_hard_bound='DTO+ ablation: hard lower scale bound',
              plus_no_shift_limit="DTO+ ablation: shift limited by the persons only (not the map's far end)",
              plus_no_ground='DTO+ ablation: no ground-contact cue',
              plus_root_reference="DTO+ ablation: meshes scaled by the root depth (z_source='transl')")


def parse_args(argv=None):
    from metric_hmr.synthetic.benchmark import add_scene_set_args
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scene_set_args(p, scenes=500)
    p.add_argument('--severity', type=float, default=1.0, help='relative-depth corruption severity')
    p.add_argument('--severities', type=float, nargs='+', default=None,
                   help='run several severities; the last line then compares DTO+ (see above)')
    p.add_argument('--platforms', type=float, default=0.0,
                   help='share of persons standing on platforms 0.3-1.2 m high instead of the '
                        'ground (robustness of the ground-contact cue; default 0: flat world)')
    p.add_argument('--out-dir', default='work_dirs/benchmarks/dto_synthetic')
    p.add_argument('--vis-every', type=int, default=0, help='visualise every N-th scene (0: off)')
    p.add_argument('--methods', nargs='+', default=None, help='subset of methods (default all)')
    return p.parse_args(argv)


def fmt(x, nd=1):
    return 'n/a' if x is None or (isinstance(x, float) and not np.isfinite(x)) else f'{x:.{nd}f}'


def markdown_table(summary, methods, args, counts, gen_time) -> str:
    lines = [f'# DTO on synthetic crowds (severity {args.severity}, {counts["images"]} images, '
             f'{counts["persons"]} detected persons, seed {args.seed})', '',
             f'persons per age group: {counts["persons_by_age"]}; generation {gen_time:.0f} s', '',
             '| method | PCDR_0.2 | PCDR baby/kid/teen/adult | root-depth err median / mean (m) '
             '| height err (cm) all | baby | kid | teen | adult | kept by 1.5 filter | runtime (ms/img) |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for m in methods:
        r = summary[m]
        pa = r['pcdr_by_age']
        he = r['height_err_cm_by_age']
        kept = 'n/a' if r['kept_share'] is None else f'{100 * r["kept_share"]:.1f} %'
        lines.append(f'| {LABELS.get(m, m)} | {fmt(r["pcdr"])} | {fmt(pa["baby"])} / {fmt(pa["kid"])} / '
                     f'{fmt(pa["teen"])} / {fmt(pa["adult"])} | {fmt(r["depth_err_median"], 3)} / '
                     f'{fmt(r["depth_err_mean"], 3)} | {fmt(r["height_err_cm_mean"])} | {fmt(he["baby"])} | '
                     f'{fmt(he["kid"])} | {fmt(he["teen"])} | {fmt(he["adult"])} | {kept} | '
                     f'{fmt(r["runtime_ms"], 0)} |')
    return '\n'.join(lines) + '\n'


def plot_heights(per_scene, path, severity):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    gt = np.concatenate([s['gt']['h'] for s in per_scene])
    fig, ax = plt.subplots(1, 1, figsize=(7, 4))
    bins = np.linspace(0.4, 2.3, 58)
    ax.hist(gt, bins=bins, histtype='stepfilled', alpha=0.35, color='k', label='ground truth')
    for m, c in (('initial', 'tab:red'), ('dto_paper', 'tab:blue'), ('oracle', 'tab:green'),
                 ('dto_plus', 'tab:purple')):
        if m in per_scene[0]:
            ax.hist(np.concatenate([s[m]['h'] for s in per_scene]), bins=bins, histtype='step',
                    lw=1.8, color=c, label=LABELS[m])
    ax.set_xlabel('T-pose height (m)')
    ax.set_ylabel('persons')
    ax.set_title(f'Height distribution before / after DTO (severity {severity})')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_errors_by_age(summary, methods, path, severity):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    groups = ('baby', 'kid', 'teen', 'adult')
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    w = 0.8 / len(methods)
    x = np.arange(len(groups))
    for i, m in enumerate(methods):
        axes[0].bar(x + i * w, [summary[m]['height_err_cm_by_age'][g] for g in groups], w, label=LABELS.get(m, m))
        axes[1].bar(x + i * w, [summary[m]['depth_err_by_age'][g] for g in groups], w)
    for ax, t in zip(axes, ('mean abs height error (cm)', 'mean abs root-depth error (m)')):
        ax.set_xticks(x + 0.4 - w / 2)
        ax.set_xticklabels(groups)
        ax.set_title(t)
    axes[0].legend(fontsize=7)
    fig.suptitle(f'Errors per age group (severity {severity})')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def make_vis_writer(args, out_dir, faces):
    if args.vis_every <= 0:
        return None
    from metric_hmr.visualization.writer import VisualizationWriter
    return VisualizationWriter(out_dir / f'vis_sev{args.severity:g}', every_n=args.vis_every, faces=faces,
                               export=False, glb=False, resolution=640)


def vis_add(writer, i, scene, ev, gen):
    res = ev['dto_results'].get('dto_paper')
    if res is None:
        return
    det = ev['detected']
    H, W = (int(x) for x in scene['image_size'])
    focal = np.asarray(scene['focal']) * float(scene['est_rho'])
    ratio = res.depth_ratio
    v_before = ev['vertices_init']
    v_after = [v * r for v, r in zip(v_before, ratio)]     # scaling about the camera centre
    rel = np.asarray(scene['rel_disparity'], np.float64)
    img = (255 * (rel - rel.min()) / max(np.ptp(rel), 1e-9)).astype(np.uint8)
    img = np.repeat(img[..., None], 3, -1) if 'rgb' not in scene else np.asarray(scene['rgb'])
    sample = dict(img_path=f'synthetic_scene_{int(scene["scene_index"]):06d}', ori_shape=(H, W),
                  pred=dict(transl=res.transl_star, focal=focal, princpt=np.asarray(scene['princpt']),
                            height=res.h_star, age=np.asarray(scene['est_age'])[det]))
    before = dict(transl=np.asarray(scene['est_root'])[det], height=res.h_init,
                  vertices=np.stack(v_before) if len(v_before) else np.zeros((0, 0, 3)))
    writer.add(i, sample, vertices=np.stack(v_after) if len(v_after) else None, before=before,
               dto=res, image=img)


def plus_diag_lines(summary) -> str:
    d = summary.get('plus_focal', summary.get('dto_plus', {})).get('diag') or {}
    if not d:
        return ''
    return (f"\nDTO+ diagnostics: with focal_refine=True, focal refined in {100 * d['focal_refined_share']:.1f} % of images, "
            f"median |log(rho_est / rho)| {d['focal_log_err_median_refined']:.3f} there "
            f"(initial |log rho| {d['focal_log_err_median_initial']:.3f}); outliers {d['outliers']}; "
            f"intra-human slope / true (median [IQR]): inverse {d['slope_ratio_inverse_median']:.2f} "
            f"{[round(x, 2) for x in d['slope_ratio_inverse_iqr']]}, RMA {d['slope_ratio_rma_median']:.2f} "
            f"{[round(x, 2) for x in d['slope_ratio_rma_iqr']]}, OLS {d['slope_ratio_ols_median']:.2f} "
            f"{[round(x, 2) for x in d['slope_ratio_ols_iqr']]}\n")


def paired_lines(d) -> str:
    """DTO+ minus paper with its paired scene-bootstrap interval (markdown)."""
    if not d:
        return ''
    ci = lambda x, nd: f"{x['diff']:+.{nd}f} [{x['lo']:+.{nd}f}, {x['hi']:+.{nd}f}]"
    he = d['height_cm']
    return (f"\nDTO+ minus paper on these {d['n_scenes']} scenes ({100 * d['level']:.0f} % paired "
            f"scene-bootstrap interval): PCDR {ci(d['pcdr'], 2)} points; height error (cm) "
            + ', '.join(f'{g} {ci(he[g], 2)}' for g in ('baby', 'kid', 'teen', 'adult')) + '\n')


def plot_plus_minus_paper(reports, path):
    """DTO+ minus paper per severity with the paired intervals: PCDR (left), height error per
    age group (right); a bar whose interval crosses 0 is not resolved by the scenes."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sevs = [s for s, r in sorted(reports.items()) if r.get('plus_minus_paper')]
    if not sevs:
        return False
    d = [reports[s]['plus_minus_paper'] for s in sevs]
    # a percentile interval need not contain the point estimate: clip the bar's whiskers at 0
    err = lambda xs: np.maximum(np.array([[x['diff'] - x['lo'] for x in xs],
                                          [x['hi'] - x['diff'] for x in xs]]), 0.0)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    pc = [x['pcdr'] for x in d]
    axes[0].bar(np.arange(len(sevs)), [x['diff'] for x in pc], yerr=err(pc), capsize=4, color='tab:purple')
    axes[0].set_xticks(np.arange(len(sevs)))
    axes[0].set_xticklabels([f'severity {s:g}' for s in sevs])
    axes[0].axhline(3.0, color='gray', ls='--', lw=0.8, label="issue 15's target at severity 1, 2")
    axes[0].legend(fontsize=8)
    axes[0].set_title('PCDR_0.2, DTO+ minus paper (points)')
    groups = ('baby', 'kid', 'teen', 'adult')
    w = 0.8 / len(sevs)
    for i, (s, x) in enumerate(zip(sevs, d)):
        he = [x['height_cm'][g] for g in groups]
        axes[1].bar(np.arange(len(groups)) + i * w, [h['diff'] for h in he], w, yerr=err(he), capsize=3,
                    label=f'severity {s:g}')
    axes[1].set_xticks(np.arange(len(groups)) + 0.4 - w / 2)
    axes[1].set_xticklabels(groups)
    axes[1].set_title('height error, DTO+ minus paper (cm; < 0: DTO+ better)')
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.axhline(0.0, color='k', lw=0.8)
    fig.suptitle(f"95 % paired scene-bootstrap intervals ({d[0]['n_scenes']} scenes per severity)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None):
    args = parse_args(argv)
    if not args.severities:
        return run_severity(args)
    if args.methods and not {'initial', 'dto_paper', 'dto_plus', 'oracle'} <= set(args.methods):
        raise SystemExit('--severities needs the methods initial, dto_paper, dto_plus and oracle')
    reports = {}
    for sev in args.severities:
        args.severity = sev
        reports[sev] = run_severity(args, last_line=False)
    nan = float('nan')

    def val(sev, fn):
        r = reports.get(float(sev))
        return fn(r['summary']) if r is not None else nan
    gain = lambda S: S['dto_plus']['pcdr'] - S['dto_paper']['pcdr']
    line = (f"plus_gain_s1={val(1, gain):.2f} plus_gain_s2={val(2, gain):.2f} "
            f"plus_depth_err_reduction_s1={val(1, lambda S: 1 - S['dto_plus']['depth_err_mean'] / S['initial']['depth_err_mean']):.3f} "
            f"plus_vs_oracle_s1={val(1, lambda S: S['dto_plus']['pcdr'] - S['oracle']['pcdr']):.2f}")
    for sev, r in reports.items():
        S = r['summary']
        print(f"[dto_synthetic] severity {sev:g}: PCDR initial {S['initial']['pcdr']:.1f} paper "
              f"{S['dto_paper']['pcdr']:.1f} plus {S['dto_plus']['pcdr']:.1f} oracle {S['oracle']['pcdr']:.1f}; "
              f"ms/img paper {S['dto_paper']['runtime_ms']:.1f} plus {S['dto_plus']['runtime_ms']:.1f}")
        d = r['plus_minus_paper']['pcdr']
        print(f"[dto_synthetic] severity {sev:g}: plus - paper PCDR {d['diff']:+.2f} "
              f"(95 % paired scene bootstrap [{d['lo']:+.2f}, {d['hi']:+.2f}])")
    if plot_plus_minus_paper(reports, Path(args.out_dir) / 'plus_minus_paper.png'):
        print(f'[dto_synthetic] wrote {args.out_dir}/plus_minus_paper.png', flush=True)
    print(line)
    return reports


def run_severity(args, last_line: bool = True):
    from metric_hmr.synthetic.benchmark import (METHODS, evaluate_scene, open_scene_set,
                                                paired_differences, summarize)

    methods = tuple(args.methods) if args.methods else METHODS
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise SystemExit(f'unknown methods {sorted(unknown)}; known: {METHODS}')
    if 'initial' not in methods or 'dto_paper' not in methods:
        raise SystemExit('methods must include initial and dto_paper (the last line compares them)')
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = dict(platforms=dict(p=args.platforms)) if args.platforms > 0 else {}
    t0 = time.perf_counter()
    gen, store, cache = open_scene_set(args, args.severity, **extra)
    gen_time = time.perf_counter() - t0
    print(f'[dto_synthetic] {len(store)} scenes in {cache} ({gen_time:.0f} s)', flush=True)

    writer = make_vis_writer(args, out_dir, gen.faces)
    per_scene = []
    t0 = time.perf_counter()
    for i in range(len(store)):
        scene = store[i]
        ev = evaluate_scene(gen, scene, methods=methods, min_pixels=args.min_pixels)
        if writer is not None:
            vis_add(writer, i, scene, ev, gen)
        ev.pop('dto_results')
        ev.pop('vertices_init')
        per_scene.append(ev)
        if (i + 1) % 50 == 0:
            print(f'[dto_synthetic] evaluated {i + 1}/{len(store)} ({time.perf_counter() - t0:.0f} s)', flush=True)
    if writer is not None:
        writer.close()
    summary = summarize(per_scene, methods)
    counts = summary.pop('_counts')
    tag = f'sev{args.severity:g}' + (f'_platforms{args.platforms:g}' if args.platforms > 0 else '')
    ini, dto = summary['initial'], summary['dto_paper']
    pcdr_gain = dto['pcdr'] - ini['pcdr']
    depth_red = 1.0 - dto['depth_err_mean'] / ini['depth_err_mean']
    report = dict(args=vars(args), cache=str(cache), generator_config=gen.cfg,
                  config_hash=gen.config_hash, counts=counts, summary=summary,
                  pcdr_gain=pcdr_gain, depth_err_reduction=depth_red,
                  eval_seconds=time.perf_counter() - t0, generation_seconds=gen_time)
    if {'dto_plus', 'dto_paper'} <= set(methods):
        # is DTO+ better than the paper on *these* scenes, or within their noise?
        report['plus_minus_paper'] = paired_differences(per_scene, 'dto_plus', 'dto_paper',
                                                        seed=args.seed)
    from metric_hmr.utils.io import atomic_save_json, atomic_write
    atomic_save_json(out_dir / f'dto_synthetic_{tag}.json', report, indent=1)
    md = markdown_table(summary, methods, args, counts, gen_time)
    md += (f'\npcdr_gain = {pcdr_gain:.2f} points, depth_err_reduction = {depth_red:.3f} '
           f'(DTO paper default vs initial, mean abs root-depth error)\n')
    md += plus_diag_lines(summary)
    md += paired_lines(report.get('plus_minus_paper'))
    atomic_write(out_dir / f'dto_synthetic_{tag}.md', md)
    plot_heights(per_scene, out_dir / f'heights_{tag}.png', args.severity)
    plot_errors_by_age(summary, [m for m in methods if m in ('initial', 'dto_paper', 'dto_released', 'oracle', 'dto_plus')],
                       out_dir / f'errors_by_age_{tag}.png', args.severity)
    print(md)
    print(f'[dto_synthetic] wrote {out_dir}/dto_synthetic_{tag}.json/.md and plots', flush=True)
    if last_line:
        print(f'pcdr_gain={pcdr_gain:.2f} depth_err_reduction={depth_red:.3f}')
    return report


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
