#!/usr/bin/env python
"""Regenerate the DTO-Humans generation demo input in demo/dto_demo/ (deterministic).

    python demo/make_demo.py [--out demo/dto_demo] [--num-scenes 6] [--seed 0]

Scenes come from the project's synthetic-crowd generator
(``metric_hmr.synthetic.SyntheticCrowdGenerator``) with an SMPL-format body, exported in
CameraHMR's release format by ``metric_hmr.synthetic.export_camerahmr_release`` (layout in
``metric_hmr/synthetic/camerahmr_export.py``): ``release.npz`` (the persons are the HMR-like
initial estimates DTO refines), ``images/`` (rendered RGB), ``depth/`` (simulated relative
disparity, float16), ``masks/`` (visible person masks, compressed npz) and ``truth.npz`` (true
heights / roots / ages and the simulated age / gender estimates).  Read by
``SyntheticScenesReader`` in configs/dto/dto_demo.py.

The body is the procedural SMPL-format stand-in (``metric_hmr.testing.make_smpl_model_file``,
seed 0; NOT SMPL, whose files are licensed), as in configs/synthetic/crowds_smpl_release.py.
Running it twice gives byte-identical files (one torch thread, seeded, fixed zip times).
"""
import argparse
import os
import shutil
import tempfile

# Small scenes with persons large enough to see: 2-6 persons of mixed ages (children and
# adults) 2.5-8 m from a camera at eye height, standing inside the view (fov_margin < 1).
DEMO_SCENES = dict(
    image_size=(288, 384),
    num_persons=dict(low=2, high=6),
    age_range=(3.0, 65.0),
    camera=dict(height_range=(1.2, 2.0), pitch_deg_range=(0.0, 15.0),
                vfov_deg_range=(45.0, 70.0)),
    layout='uniform', fov_margin=0.8,
    dist_min=2.5, dist_max=8.0, min_person_frac=0.2, wall_gap=(2.0, 6.0),
    render_rgb=True,
)
# export: persons a detector would see; file formats that keep the demo small (< 4 MB)
DEMO_EXPORT = dict(min_pixels=100, depth_dtype='float16', mask_format='npz')


def make_demo(out_dir: str, num_scenes: int = 6, seed: int = 0) -> str:
    """Write the demo scenes into ``out_dir`` (replacing an earlier demo there, so no stale
    file survives); returns the release npz path."""
    import torch
    torch.set_num_threads(1)        # float reductions independent of the thread count
    from metric_hmr.synthetic import SyntheticCrowdGenerator, export_camerahmr_release
    from metric_hmr.testing import make_smpl_model_file
    out = os.path.abspath(out_dir)
    if os.path.isdir(out) and os.listdir(out) and not _is_demo_dir(out):
        raise ValueError(f'{out} is neither empty nor a demo folder (no release.npz): not replaced')
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    new = tempfile.mkdtemp(prefix='.make_demo.', dir=parent)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            smpl = make_smpl_model_file(tmp, seed=0)
            gen = SyntheticCrowdGenerator(seed=seed, body_model=dict(type='SMPLBodyModel', model_path=smpl),
                                          **DEMO_SCENES)
            scenes = [gen.generate(i) for i in range(num_scenes)]
            release = export_camerahmr_release(scenes, new, gen, seed=seed, **DEMO_EXPORT)
        os.chmod(new, 0o755)            # mkdtemp makes it private
        if os.path.isdir(out):          # swap in the new folder, then drop the old one
            old = out + '.old'
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(new, out)
            shutil.rmtree(old)
        else:
            os.replace(new, out)
    finally:
        shutil.rmtree(new, ignore_errors=True)
    return os.path.join(out, os.path.basename(release))


def _is_demo_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, 'release.npz'))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=os.path.join(here, 'dto_demo'))
    p.add_argument('--num-scenes', type=int, default=6)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    print(f'wrote {make_demo(args.out, args.num_scenes, args.seed)}')


if __name__ == '__main__':
    main()
