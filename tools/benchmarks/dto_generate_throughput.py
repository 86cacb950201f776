#!/usr/bin/env python
"""Throughput of DTO-Humans generation from precomputed inputs, and its 2-rank scaling.

    python tools/benchmarks/dto_generate_throughput.py [--images 96] [--resolution 512]

Input: scenes of the synthetic-crowd generator (``metric_hmr.synthetic``, 480x360 px, 2-5
persons of all ages, procedural SMPL-format body) exported in the CameraHMR release format
with precomputed relative depth and visible masks (``export_camerahmr_release``, read by
``SyntheticScenesReader``), so no network runs: reading, body model, rasteriser, DTO, shape
refit, records and shard files are timed (the per-image work of a real run once the
networks' outputs exist).

Measurements (each worker is a separate process with one torch thread, i.e. one core;
imports, model construction and a 2-image warm-up are not timed):

* 1 rank processes all images -> ``images_per_s_per_core = N / t1``;
* 2 ranks process shards j % 2 concurrently -> ``scaling_2_ranks = t1 / t2`` (t2: wall time
  until the last rank finishes).
Workers start together once all are warm (file barrier); each rank count runs ``--repeats``
times, alternating, and the fastest run counts.

The shard file format is timed too: writing and reading the shards of the 1-rank run in
today's npz format (no pickle) against the pickle format it replaced (per shard).

The last line is ``images_per_s_per_core=<x> scaling_2_ranks=<y> shard_npz_write_ms=...
shard_npz_read_ms=... shard_pickle_write_ms=... shard_pickle_read_ms=...``.  The machine's
load is printed too: a busy machine lowers the numbers.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('ANNY_CACHE_DIR', os.path.join(os.path.expanduser('~'), '.cache', 'metric_hmr', 'anny'))


# the scenes: 2-5 persons of all ages standing inside the view, 2.5-8 m from the camera
SCENES = dict(image_size=(360, 480), num_persons=dict(low=2, high=5), age_range=(3.0, 65.0),
              camera=dict(height_range=(1.2, 2.0), pitch_deg_range=(0.0, 15.0),
                          vfov_deg_range=(45.0, 70.0)),
              layout='uniform', fov_margin=0.8, dist_min=2.5, dist_max=8.0, min_person_frac=0.2,
              render_rgb=True)


def _stages(smpl, resolution):
    # CPU on purpose: the number is images per second per *core*.  Depth, masks and age /
    # gender estimates come with the reader.
    return [dict(type='ReleaseIntrinsics'), dict(type='UnknownAgeGender'),
            dict(type='DTOStage', body_model=dict(type='SMPLBodyModel', model_path=smpl),
                 dto=dict(resolution=resolution), device='cpu')]


def make_scenes(out_dir, smpl, num_scenes: int, seed: int = 0) -> None:
    """``num_scenes`` synthetic scenes exported in the CameraHMR release format."""
    from metric_hmr.synthetic import SyntheticCrowdGenerator, export_camerahmr_release
    gen = SyntheticCrowdGenerator(seed=seed, body_model=dict(type='SMPLBodyModel', model_path=smpl),
                                  **SCENES)
    export_camerahmr_release((gen.generate(i) for i in range(num_scenes)), out_dir, gen,
                             min_pixels=100)


def worker(args) -> None:
    """One rank: build everything, wait for the common start, process own shards, report."""
    import torch
    torch.set_num_threads(1)
    from metric_hmr import register_all_modules
    from metric_hmr.generation.pipeline import GenerationPipeline
    from metric_hmr.generation.shard_store import fingerprint, make_shards, rank_shards, write_shard
    register_all_modules()
    reader = dict(type='SyntheticScenesReader', scene_root=args.data, name='bench')
    pipe = GenerationPipeline(reader, _stages(args.smpl, args.resolution), batch_size=8)
    shards = make_shards(pipe.reader.image_ids(), args.shard_size)
    mine = rank_shards(len(shards), args.rank, args.world)
    pipe.run(shards[0][:2])                       # warm-up (numba kernels, allocator), untimed
    # barrier: report ready, start when the parent says go (all ranks are warm by then)
    open(os.path.join(args.sync, f'ready{args.rank}'), 'w').close()
    go = os.path.join(args.sync, 'go')
    while not os.path.exists(go):
        time.sleep(0.0005)
    t0 = time.time()
    n = 0
    status = {}
    for j in mine:
        records, annots = pipe.run(shards[j])
        for r in records:
            status[r['status']] = status.get(r['status'], 0) + 1
        write_shard(args.out, j, fingerprint({}, shards[j]), shards[j], records, annots,
                    [pipe.reader.input_signature(i) for i in shards[j]])
        n += len(shards[j])
    print(json.dumps({'rank': args.rank, 'images': n, 'start': t0, 'end': time.time(),
                      'status': status}))


def launch(args, world: int):
    """Run ``world`` workers concurrently; (wall seconds from 'go' (all ranks warm) to the
    last rank's end, the folder the shards were written to)."""
    sync = tempfile.mkdtemp(dir=args.out_root)
    procs = [subprocess.Popen([sys.executable, __file__, '--worker', '--rank', str(r), '--world',
                               str(world), '--sync', sync, '--data', args.data, '--smpl',
                               args.smpl, '--out', os.path.join(sync, 'out'),
                               '--resolution', str(args.resolution),
                               '--shard-size', str(args.shard_size)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(world)]
    while not all(os.path.exists(os.path.join(sync, f'ready{r}')) for r in range(world)):
        if any(p.poll() not in (None, 0) for p in procs):
            break
        time.sleep(0.01)
    start = time.time()
    open(os.path.join(sync, 'go'), 'w').close()
    reports = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f'worker failed:\n{err[-3000:]}')
        reports.append(json.loads(out.strip().splitlines()[-1]))
    total = sum(r['images'] for r in reports)
    assert total == args.images, (total, args.images)
    print(f'  {world} rank(s): ' + ', '.join(f"rank {r['rank']} {r['images']} images in "
                                             f"{r['end'] - r['start']:.2f} s {r['status']}"
                                             for r in reports))
    return max(r['end'] for r in reports) - start, os.path.join(sync, 'out')


def shard_format_cost(out_dir, repeats: int = 5) -> dict:
    """Write / read time and size per shard: today's npz shard format against the pickle
    format it replaced (same records and released entries; best of ``repeats``)."""
    import glob
    import pickle

    from metric_hmr.generation.shard_store import load_shard, write_shard
    from metric_hmr.utils.io import atomic_write
    files = sorted(glob.glob(os.path.join(out_dir, 'shards', 'shard_*.npz')))
    shards = [load_shard(f) for f in files]
    tmp = tempfile.mkdtemp(dir=os.path.dirname(out_dir))

    def best(fn):
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return min(ts) / len(shards) * 1000.0

    def w_npz():
        for d in shards:
            write_shard(tmp, d['shard'], d['fingerprint'], d['img_ids'], d['records'], d['annots'],
                        d['inputs'])

    def w_pkl():
        for d in shards:
            atomic_write(os.path.join(tmp, 'pkl', f"shard_{d['shard']:06d}.pkl"),
                         pickle.dumps(d, protocol=4))

    def r_npz():
        for d in shards:
            load_shard(os.path.join(tmp, 'shards', f"shard_{d['shard']:06d}.npz"))

    def r_pkl():
        for d in shards:
            with open(os.path.join(tmp, 'pkl', f"shard_{d['shard']:06d}.pkl"), 'rb') as f:
                pickle.load(f)
    out = {'npz_write_ms': best(w_npz), 'pickle_write_ms': best(w_pkl),
           'npz_read_ms': best(r_npz), 'pickle_read_ms': best(r_pkl)}

    def size(pat):
        return sum(os.path.getsize(f) for f in glob.glob(os.path.join(tmp, pat))) / len(shards)
    out['npz_kb'] = size('shards/*.npz') / 1024
    out['pickle_kb'] = size('pkl/*.pkl') / 1024
    return out


def main():
    p = argparse.ArgumentParser(description='DTO generation throughput')
    p.add_argument('--images', type=int, default=96)
    p.add_argument('--resolution', type=int, default=512, help='DTO raster resolution (default 512)')
    p.add_argument('--shard-size', type=int, default=8)
    p.add_argument('--repeats', type=int, default=3, help='best of n runs per rank count')
    p.add_argument('--worker', action='store_true')
    p.add_argument('--rank', type=int, default=0)
    p.add_argument('--world', type=int, default=1)
    p.add_argument('--sync')
    p.add_argument('--data')
    p.add_argument('--smpl')
    p.add_argument('--out')
    args = p.parse_args()
    if args.worker:
        return worker(args)

    with tempfile.TemporaryDirectory() as tmp:
        from metric_hmr.testing import make_smpl_model_file
        args.smpl = make_smpl_model_file(os.path.join(tmp, 'smpl'), seed=0)
        args.data = os.path.join(tmp, 'data')
        args.out_root = tmp
        t = time.time()
        make_scenes(args.data, args.smpl, args.images)
        from metric_hmr.generation.readers import SyntheticScenesReader
        n = len(SyntheticScenesReader(args.data).image_ids())   # scenes with a visible person
        print(f'made {args.images} scenes (480x360, 2-5 persons) in {time.time() - t:.1f} s, '
              f'{n} with persons')
        args.images = n
        print(f'cpu count {os.cpu_count()}, load average before: {os.getloadavg()}')
        # alternate 1 and 2 ranks so drifting machine load affects both alike
        t1s, t2s = [], []
        for _ in range(args.repeats):
            t, out1 = launch(args, 1)
            t1s.append(t)
            t2s.append(launch(args, 2)[0])
        t1, t2 = min(t1s), min(t2s)
        print(f'load average after: {os.getloadavg()}')
        fmt = shard_format_cost(out1)
        print(f"shard file ({args.shard_size} images): npz write {fmt['npz_write_ms']:.2f} ms, "
              f"read {fmt['npz_read_ms']:.2f} ms, {fmt['npz_kb']:.0f} KB; pickle (before) write "
              f"{fmt['pickle_write_ms']:.2f} ms, read {fmt['pickle_read_ms']:.2f} ms, "
              f"{fmt['pickle_kb']:.0f} KB")
    x = args.images / t1
    y = t1 / t2
    print(f'1 rank: {t1:.2f} s for {args.images} images ({1000 * t1 / args.images:.1f} ms/image); '
          f'2 ranks: {t2:.2f} s; DTO raster resolution {args.resolution}')
    print(f'images_per_s_per_core={x:.1f} scaling_2_ranks={y:.2f} '
          f"shard_npz_write_ms={fmt['npz_write_ms']:.2f} shard_npz_read_ms={fmt['npz_read_ms']:.2f} "
          f"shard_pickle_write_ms={fmt['pickle_write_ms']:.2f} "
          f"shard_pickle_read_ms={fmt['pickle_read_ms']:.2f}")


if __name__ == '__main__':
    main()
