#!/usr/bin/env python
"""Regenerate the DTO-Humans generation demo input in demo/dto_demo/ (deterministic).

    python demo/make_demo.py [--out demo/dto_demo] [--num-images 6] [--seed 0]

Writes synthetic scenes in the CameraHMR release format (demo-release.npz), their
rendered images (images/*.png), precomputed relative depth maps (depth/*.npy, float16
disparity) and the true heights/depths (truth.json).  Persons are bodies of the procedural
SMPL-format stand-in (metric_hmr.testing.make_smpl_model_file, seed 0; NOT SMPL), and the
release persons carry the single-view scale ambiguity DTO has to resolve
(see metric_hmr/generation/synthetic_release.py).  Used by configs/dto/dto_demo.py.
"""
import argparse
import os
import tempfile


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=os.path.join(here, 'dto_demo'))
    p.add_argument('--num-images', type=int, default=6)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    from metric_hmr.body_models import SMPLBodyModel
    from metric_hmr.generation.synthetic_release import make_release_scenes
    from metric_hmr.testing import make_smpl_model_file
    with tempfile.TemporaryDirectory() as tmp:
        bm = SMPLBodyModel(make_smpl_model_file(tmp, seed=0))
        path = make_release_scenes(args.out, bm, num_images=args.num_images, seed=args.seed)
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
