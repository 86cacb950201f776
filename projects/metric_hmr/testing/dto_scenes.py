"""Scene makers for DTO tests and benchmarks: closed person-like meshes and synthetic scenes
with known metric depth (used by tests/metric_hmr/dto and tests/dto_hooks)."""

from __future__ import annotations

import numpy as np

__all__ = ['ellipsoid_mesh', 'person_mesh', 'synthetic_scene', 'smpl_scene']


def ellipsoid_mesh(center, semi_axes, n_lat=24, n_lon=32):
    """Closed UV ellipsoid: vertices (V,3), faces (F,3). Pole rings are collapsed rings."""
    th = np.linspace(0, np.pi, n_lat)              # polar angle from -y (head up: y down)
    ph = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing='ij')
    x = np.sin(T) * np.cos(P)
    y = -np.cos(T)
    z = np.sin(T) * np.sin(P)
    v = np.stack([x, y, z], -1).reshape(-1, 3) * np.asarray(semi_axes) + np.asarray(center)
    faces = []
    for i in range(n_lat - 1):
        for j in range(n_lon):
            a = i * n_lon + j
            b = i * n_lon + (j + 1) % n_lon
            c = (i + 1) * n_lon + j
            e = (i + 1) * n_lon + (j + 1) % n_lon
            faces += [(a, c, b), (b, c, e)]
    return v, np.asarray(faces, dtype=np.int64)


def person_mesh(height, root, n_lat=24, n_lon=32, thickness=0.12):
    """A person-like ellipsoid of total height ``height`` centred at ``root`` (camera space)."""
    return ellipsoid_mesh(root, (0.13 * height, 0.5 * height, thickness * height / 1.7), n_lat, n_lon)


def synthetic_scene(seed=0, K=5, s_true=2.5, t_true=1.0, k_range=(0.7, 0.95), depths=None,
                    heights=None, H=480, W=640, n_lat=24, n_lon=32, bg_depth=25.0):
    """Scene with known metric depth and wrongly scaled initial persons.

    True persons (ellipsoids of true height H_i at depth Z_i) are rendered into a metric
    depth map D (background plane at ``bg_depth``); the relative depth given to DTO is
    the affine-corrupted D_rel = (D - t_true) / s_true, as disparity 1 / D_rel.  Each
    initial person is the true one scaled about the camera centre by k_i (same image,
    wrong metric scale): z_i = k_i Z_i, h_i = k_i H_i.
    """
    from metric_hmr.dto.raster import rasterize_persons
    rng = np.random.default_rng(seed)
    f = np.array([600.0, 600.0])
    c = np.array([W / 2, H / 2])
    Z = np.sort(rng.uniform(3.0, 12.0, K)) if depths is None else np.asarray(depths, float)
    Ht = rng.uniform(1.5, 1.9, K) if heights is None else np.asarray(heights, float)
    xs = (np.arange(K) - (K - 1) / 2) * 0.9 * Z / 4.0 + rng.uniform(-0.1, 0.1, K)
    roots = np.stack([xs, 0.9 - 0.5 * Ht + 0.0 * Z, Z], 1)   # feet near y = 0.9 m below camera
    meshes = [person_mesh(Ht[i], roots[i], n_lat, n_lon) for i in range(K)]
    faces = meshes[0][1]
    bg = np.array([[-80, -80, bg_depth], [80, -80, bg_depth], [80, 80, bg_depth], [-80, 80, bg_depth]])
    r = rasterize_persons([m[0] for m in meshes] + [bg], [faces] * K + [np.array([[0, 1, 2], [0, 2, 3]])],
                          f, c, (H, W), resolution=None)
    D = r.depth.astype(np.float64)
    rel = (D - t_true) / s_true
    k = rng.uniform(*k_range, K)
    return dict(verts=[meshes[i][0] * k[i] for i in range(K)], faces=faces, focal=f, princpt=c,
                image_size=(H, W), disparity=1.0 / rel, rel=rel, transl=roots * k[:, None],
                h_init=Ht * k, H_true=Ht, Z_true=Z, k=k, s_true=s_true, t_true=t_true,
                true_verts=[m[0] for m in meshes], metric_depth=D)


def smpl_scene(bm, seed=0, K=4, s_true=2.0, t_true=0.8, H=480, W=640):
    """Prediction dict of K SMPL persons with wrong metric scale + a disparity map.

    The prediction (betas, translation T_i) is the true scene scaled about the camera
    centre by k_i: same image, wrong metric size.  The true scene (meshes / k_i, heights
    h_i / k_i, translations T_i / k_i) is rendered into a metric depth map D and given to
    DTO as the disparity of D_rel = (D - t_true) / s_true."""
    import torch
    from metric_hmr.dto.raster import rasterize_persons
    rng = np.random.default_rng(seed)
    f = np.array([700.0, 700.0])
    c = np.array([W / 2, H / 2])
    k = rng.uniform(0.7, 0.95, K)
    Ht = rng.uniform(1.55, 1.85, K)
    Z = np.sort(rng.uniform(4.0, 12.0, K))
    T = np.stack([(np.arange(K) - (K - 1) / 2) * Z / 4.5, np.full(K, 0.3), Z], 1)
    pred_b = bm.fit_height(np.zeros((K, 10), np.float32), (k * Ht).astype(np.float32)).betas
    go = np.zeros((K, 3), np.float32)
    go[:, 0] = np.pi     # SMPL's y is up; rotate to OpenCV camera (y down, facing the camera)
    bp = np.zeros((K, 69), np.float32)
    pred_T = (T * k[:, None]).astype(np.float32)
    with torch.no_grad():
        pv = bm(betas=torch.as_tensor(pred_b), global_orient=torch.as_tensor(go),
                body_pose=torch.as_tensor(bp), transl=torch.as_tensor(pred_T)).vertices.numpy()
    h_pred = np.asarray(bm.tpose_height(pred_b), np.float64)
    true_v = [pv[i].astype(np.float64) / k[i] for i in range(K)]
    bg = np.array([[-80, -80, 30.0], [80, -80, 30.0], [80, 80, 30.0], [-80, 80, 30.0]])
    r = rasterize_persons(true_v + [bg], [bm.faces] * K + [np.array([[0, 1, 2], [0, 2, 3]])],
                          f, c, (H, W), resolution=None)
    rel = (r.depth.astype(np.float64) - t_true) / s_true
    sample = dict(img_path=f'scene_{seed}.jpg', ori_shape=(H, W),
                  pred=dict(global_orient=go, body_pose=bp, betas=np.asarray(pred_b, np.float32),
                            transl=pred_T, focal=f, princpt=c, scores=np.ones(K, np.float32)))
    return sample, 1.0 / rel, dict(H_true=h_pred / k, T_true=pred_T / k[:, None], k=k)
