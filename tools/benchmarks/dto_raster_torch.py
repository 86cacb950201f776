"""Throughput of the batched torch rasteriser (``metric_hmr.dto.raster_torch``) on CPU or GPU.

Usage: python tools/benchmarks/dto_raster_torch.py [--device cuda] [--batch 32]
Prints images/s for B images of K=5 persons with 6,890-vertex meshes at 512 px, and
checks the first image against the per-image rasteriser.
"""
import argparse
import time

import numpy as np
import torch

from metric_hmr.dto.raster import rasterize_persons
from metric_hmr.dto.raster_torch import rasterize_persons_torch


def ellipsoid(center, axes, n_lat=65, n_lon=106):
    th = np.linspace(0, np.pi, n_lat)
    ph = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing='ij')
    v = np.stack([np.sin(T) * np.cos(P), -np.cos(T), np.sin(T) * np.sin(P)], -1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(n_lat - 1), np.arange(n_lon), indexing='ij')
    a = (i * n_lon + j).ravel()
    b = (i * n_lon + (j + 1) % n_lon).ravel()
    faces = np.concatenate([np.stack([a, a + n_lon, b], 1), np.stack([b, a + n_lon, b + n_lon], 1)])
    return v * np.asarray(axes) + np.asarray(center), faces


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--repeats', type=int, default=10)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    B, K, H, W = args.batch, 5, 720, 960
    verts = np.zeros((B, K, 6890, 3))
    for b in range(B):
        Z = np.sort(rng.uniform(3, 9, K))
        for k in range(K):
            hg = rng.uniform(1.5, 1.9)
            verts[b, k], faces = ellipsoid(((k - 2) * 0.25 * Z[k], 0.3, Z[k]), (0.13 * hg, 0.5 * hg, 0.12 * hg))
    f, c = np.array([900.0, 900.0]), np.array([W / 2, H / 2])
    dev = torch.device(args.device)
    vt = torch.as_tensor(verts, dtype=torch.float32, device=dev)
    ft = torch.as_tensor(faces, device=dev)
    out = rasterize_persons_torch(vt, ft, f, c, (H, W), 512)
    ref = rasterize_persons(list(verts[0]), faces, f, c, (H, W), 512)
    agree = float((out.person_id[0].cpu().numpy() == ref.person_id).mean())
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        rasterize_persons_torch(vt, ft, f, c, (H, W), 512)
    sync()
    dt = (time.perf_counter() - t0) / args.repeats
    print(f'device={dev} batch={B} ms_per_batch={1000 * dt:.2f} images_per_s={B / dt:.1f} '
          f'pixel_agreement_float32_vs_float64={agree:.5f}')


if __name__ == '__main__':
    main()
