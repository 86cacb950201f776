"""Export synthetic scenes (SMPL-format bodies) in CameraHMR's release format (method.md §2).

The release persons are the scenes' *HMR-like initial estimates* (what DTO-Humans
generation refines): SMPL parameters with the estimate's size error (betas refitted to the
estimated height ``k * h``), its rotation error, the long-biased focal length, and the root
moved to ``(kX, kY, k rho Z)``.  Written layout (``out_dir``, read by
``metric_hmr.generation.readers.SyntheticScenesReader``)::

    images/scene_<i>.png     RGB (stored, or shaded from the stored depth / id maps)
    depth/scene_<i>.npy      relative disparity (H, W) (the scene's simulated map), float32
                             (``depth_dtype='float16'`` halves the files)
    masks/scene_<i>.npy      (N, H, W) bool visible masks of the exported persons
                             (``mask_format='npz'``: ``masks/scene_<i>.npz``, key ``masks``,
                             deflate-compressed, for small shipped sets such as the demo)
    release.npz              imgname, center, scale, pose_cam (72), shape (10), cam_int,
                             gtkps (44, 3), trans_cam
    truth.npz                per release row: scene, person, true height / root / age /
                             sex, estimated age and P(male)

``gtkps``: OpenPose BODY_25 (0-24) and J19 (25-43) filled from the *true* projected SMPL
joints where an SMPL-24 joint corresponds (``OPENPOSE_FROM_SMPL24``, ``J19_FROM_SMPL24``),
confidence 1 when that joint is visible in the image, 0 otherwise and for joints without a
counterpart (eyes, ears, toes' tips, heels, head top, jaw).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from ..geometry import axis_angle_to_matrix, matrix_to_axis_angle

from metric_hmr.utils.io import atomic_save_npz, atomic_write

from .generator import scene_camera
from .render import SceneRendering, shade_rgb

__all__ = ['export_camerahmr_release', 'OPENPOSE_FROM_SMPL24', 'J19_FROM_SMPL24']

MASK_FORMATS = ('npy', 'npz')      # how the visible masks are stored

# BODY_25 index -> SMPL-24 index (approximate anatomical correspondences)
OPENPOSE_FROM_SMPL24 = {1: 12, 2: 17, 3: 19, 4: 21, 5: 16, 6: 18, 7: 20, 8: 0, 9: 2, 10: 5,
                        11: 8, 12: 1, 13: 4, 14: 7, 19: 10, 22: 11}
# J19 index (0 R ankle .. 18 H36M head) -> SMPL-24 index
J19_FROM_SMPL24 = {0: 8, 1: 5, 2: 2, 3: 1, 4: 4, 5: 7, 6: 21, 7: 19, 8: 17, 9: 16, 10: 18,
                   11: 20, 12: 12, 14: 0, 15: 9, 18: 15}


def _gtkps(kpts2d: np.ndarray) -> np.ndarray:
    """(N, 24, 3) SMPL-24 keypoints [x, y, vis] -> (N, 44, 3) OpenPose + J19."""
    out = np.zeros((len(kpts2d), 44, 3))
    for dst, src in OPENPOSE_FROM_SMPL24.items():
        out[:, dst] = kpts2d[:, src]
    for dst, src in J19_FROM_SMPL24.items():
        out[:, 25 + dst] = kpts2d[:, src]
    out[out[..., 2] <= 0, :2] = 0.0
    return out


def export_camerahmr_release(scenes: Iterable[dict], out_dir, generator,
                             min_pixels: int = 1, release_name: str = 'release.npz',
                             seed: int = 0, depth_dtype: str = 'float32',
                             mask_format: str = 'npy') -> Path:
    """Write scenes of an SMPL-format generator as a CameraHMR-format release.

    Args:
        scenes: scene dicts (from ``generator.generate`` or a ``SceneStore``).
        out_dir: output folder (layout in the module docstring).
        generator: the :class:`SyntheticCrowdGenerator` that made them (its body model
            must be SMPL-format: ``body_model=dict(type='SMPLBodyModel', ...)``).
        min_pixels: persons with fewer visible pixels are not exported (as a detector would
            miss them); ``truth.npz`` lists exported rows only, with their person index.
        seed: seed of the shading colours of scenes without stored RGB.
        depth_dtype: dtype of the stored relative disparity ('float32' or 'float16').
        mask_format: 'npy' ((N, H, W) bool array) or 'npz' (compressed, key ``masks``).
    Returns:
        path of the release npz.
    """
    from metric_hmr.generation.release import write_camerahmr_release
    bodies = generator.bodies
    if not bodies.has_smpl:
        raise ValueError('export_camerahmr_release needs scenes made with an SMPL-format body '
                         "model (generator body_model=dict(type='SMPLBodyModel', ...)); "
                         f'this generator uses {bodies.name!r}')
    bm = bodies.bm
    if np.dtype(depth_dtype) not in (np.float32, np.float16):
        raise ValueError(f"depth_dtype must be 'float32' or 'float16', got {depth_dtype!r}")
    if mask_format not in MASK_FORMATS:
        raise ValueError(f'mask_format must be one of {MASK_FORMATS}, got {mask_format!r}')
    out = Path(out_dir)
    images, truth = [], {k: [] for k in ('row_scene', 'row_person', 'height', 'root', 'age',
                                         'is_male', 'est_age', 'est_p_male', 'est_height')}
    for scene in scenes:
        idx = int(scene['scene_index'])
        stem = f'scene_{idx:06d}'
        det = np.nonzero(np.asarray(scene['n_pixels']) >= min_pixels)[0]
        _write_scene_maps(scene, out, stem, det, generator, seed, depth_dtype, mask_format)
        images.append(_release_image(scene, bm, stem, det))
        truth['row_scene'] += [idx] * len(det)
        truth['row_person'] += det.tolist()
        for k, src in (('height', 'height'), ('root', 'root'), ('age', 'age'), ('is_male', 'is_male'),
                       ('est_age', 'est_age'), ('est_p_male', 'est_p_male'), ('est_height', 'est_height')):
            truth[k] += list(np.asarray(scene[src])[det])
    path = write_camerahmr_release(out / release_name, [im for im in images if len(im.transl)])
    atomic_save_npz(out / 'truth.npz', **{k: np.asarray(v) for k, v in truth.items()})
    return path


def _write_scene_maps(scene: dict, out: Path, stem: str, det: np.ndarray, generator, seed: int,
                      depth_dtype: str, mask_format: str) -> None:
    """Image (stored RGB or shaded), relative disparity and masks of the exported persons."""
    if 'rgb' in scene:
        rgb = np.asarray(scene['rgb'])
    else:
        idx = int(scene['scene_index'])
        ren = SceneRendering(depth=np.asarray(scene['depth']), person_id=np.asarray(scene['person_id']),
                             bg_depth=np.asarray(scene['depth']), vertex_visible=[])
        rgb = shade_rgb(ren, [None] * len(scene['age']), generator.faces, scene_camera(scene),
                        np.random.default_rng(np.random.SeedSequence([seed, idx, 3])))
    from PIL import Image
    atomic_write(out / 'images' / f'{stem}.png', lambda p: Image.fromarray(rgb).save(p, format='PNG'))
    atomic_write(out / 'depth' / f'{stem}.npy',
                 lambda p: np.save(p, np.asarray(scene['rel_disparity'], depth_dtype)))
    pid = np.asarray(scene['person_id'])
    masks = np.stack([pid == i for i in det]) if len(det) else np.zeros((0,) + pid.shape, bool)
    if mask_format == 'npz':
        atomic_save_npz(out / 'masks' / f'{stem}.npz', masks=masks)
    else:
        atomic_write(out / 'masks' / f'{stem}.npy', lambda p: np.save(p, masks))


def _release_image(scene: dict, bm, stem: str, det: np.ndarray):
    """The HMR-like estimate of the exported persons in SMPL parameters (a release image)."""
    from metric_hmr.generation.release import ReleaseImage
    shape = np.asarray(scene['shape'], np.float64)[det]
    est_h = np.asarray(scene['est_height'], np.float64)[det]
    fit = bm.fit_height(torch.as_tensor(shape, dtype=torch.float32),
                        torch.as_tensor(est_h, dtype=torch.float32))
    betas = np.asarray(fit.betas.detach().cpu().numpy() if torch.is_tensor(fit.betas) else fit.betas,
                       np.float64)
    with torch.no_grad():
        j0 = bm(betas=torch.as_tensor(betas, dtype=torch.float32),
                global_orient=torch.zeros(len(det), 3), body_pose=torch.zeros(len(det), 69),
                transl=torch.zeros(len(det), 3)).joints[:, 0].double().numpy()
    R_go = axis_angle_to_matrix(np.asarray(scene['smpl_global_orient'])[det])
    go = matrix_to_axis_angle(np.asarray(scene['est_rot'])[det] @ R_go)
    transl = np.asarray(scene['est_root'], np.float64)[det] - j0
    focal = np.asarray(scene['focal'], np.float64) * float(scene['est_rho'])
    return ReleaseImage(imgname=f'images/{stem}.png', rows=np.arange(len(det)),
                        global_orient=go.reshape(-1, 3),
                        body_pose=np.asarray(scene['smpl_body_pose'], np.float64)[det].reshape(-1, 69),
                        betas=betas.reshape(-1, betas.shape[-1] if betas.size else 10),
                        transl=transl.reshape(-1, 3), focal=focal,
                        princpt=np.asarray(scene['princpt'], np.float64),
                        kpts2d=_gtkps(np.asarray(scene['kpts2d'], np.float64)[det]),
                        boxes=np.asarray(scene['boxes'], np.float64)[det])
