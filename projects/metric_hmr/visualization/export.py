"""Per-image exports: parameters as npz + json, and the scene as GLB.

Standard keys (docs/ARCHITECTURE.md): ``global_orient (N,3), body_pose (N,69),
betas (N,10|11), transl (N,3), focal (2,), princpt (2,), height (N,), age_group (N,),
std (N,)``.  ``height`` is the (corrected) T-pose height in metres, ``age_group`` the
integer code (0 adult, 1 teen, 2 kid, 3 baby, -1 unknown), ``std`` the posterior std of
the height in metres; unknown values are NaN in the npz and ``null`` in the json.

OpenCV camera space -> glTF: glTF is y up and a camera looks down its -z axis, OpenCV is
y down and looks down +z.  A point (x, y, z) in OpenCV camera space is (x, -y, -z) in
glTF (a 180 degree rotation about the x axis, determinant +1, so triangle winding and
normals' orientation are kept).  With the camera node at the origin and identity
transform, a glTF viewer looking through that camera sees what the photo shows.  glTF's
perspective camera has a vertical FoV ``yfov = 2 atan(H / (2 fy))`` and an aspect ratio
``W / H`` but no principal point and a single focal length: an off-centre principal
point or fx != fy are not representable (the frustum line mesh still shows the exact
frustum).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from ..geometry.camera import focal_to_vfov

from metric_hmr.utils.io import atomic_save_json, atomic_save_npz, atomic_write
from .glb import GLBCamera, GLBLines, GLBMesh, glb_bytes
from .labels import AGE_GROUP_NAMES, age_group_code, age_group_from_years, person_colors
from .scene import MeshScene, _to_numpy
from .shading import vertex_normals

EXPORT_KEYS = ('global_orient', 'body_pose', 'betas', 'transl', 'focal', 'princpt', 'height',
               'age_group', 'std')
SMPL_KEYS = ('global_orient', 'body_pose', 'betas')

# (x, y, z)_gltf = OPENCV_TO_GLTF @ (x, y, z)_opencv
OPENCV_TO_GLTF = np.diag([1.0, -1.0, -1.0])


def opencv_to_gltf(points: np.ndarray) -> np.ndarray:
    """(..., 3) OpenCV camera-space points -> glTF (y up, camera looking down -z)."""
    return np.asarray(points, dtype=np.float64) * np.array([1.0, -1.0, -1.0])


def vertical_fov(focal, image_size: Tuple[int, int]) -> float:
    """Vertical field of view (radians) of intrinsics ``focal`` (2,) and an image (H, W):
    :func:`metric_hmr.geometry.focal_to_vfov` of fy and H."""
    fy = float(np.broadcast_to(np.asarray(focal, float), (2,))[1])
    return focal_to_vfov(fy, float(image_size[0]))


def frustum_points(focal, princpt, image_size: Tuple[int, int],
                   depth: float) -> Tuple[np.ndarray, np.ndarray]:
    """Camera frustum as a line set in OpenCV camera space.

    Returns:
        points (5, 3): camera centre, then the image corners (top-left, top-right,
        bottom-right, bottom-left) back-projected to ``depth``; segments (8, 2).
    """
    fx, fy = np.broadcast_to(np.asarray(focal, float), (2,))
    cx, cy = np.asarray(princpt, float)[:2]
    H, W = image_size
    corners = np.array([[0, 0], [W, 0], [W, H], [0, H]], dtype=np.float64)
    pts = np.zeros((5, 3))
    pts[1:, 0] = (corners[:, 0] - cx) / fx * depth
    pts[1:, 1] = (corners[:, 1] - cy) / fy * depth
    pts[1:, 2] = depth
    segments = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1]])
    return pts, segments


def scene_glb_bytes(scene: MeshScene, frustum: bool = True, frustum_depth: Optional[float] = None,
                    names: Optional[list] = None) -> bytes:
    """GLB bytes of a scene: one named mesh node per person, the camera and its frustum.

    Args:
        scene: persons in OpenCV camera space.
        frustum: add a 'camera_frustum' line mesh.
        frustum_depth: how far the frustum lines reach (m); default the farthest person + 1 m.
        names: node names; default ``person_00``, ``person_01``, ...
    """
    K = scene.num_persons
    names = names or [f'person_{k:02d}' for k in range(K)]
    colors = person_colors(K).astype(float) / 255.0
    meshes = []
    for k in range(K):
        v = opencv_to_gltf(scene.vertices[k])
        normals = vertex_normals(v, scene.faces)
        # unused vertices have no normal; glTF requires unit length
        normals[np.linalg.norm(normals, axis=1) == 0] = (0.0, 1.0, 0.0)
        meshes.append(GLBMesh(name=names[k], vertices=v, faces=scene.faces,
                              rgba=(*colors[k], 1.0), normals=normals))
    far = float(np.nanmax(scene.vertices[..., 2])) if K else 5.0
    depth = frustum_depth if frustum_depth is not None else max(far, 1.0) + 1.0
    lines = []
    if frustum:
        pts, seg = frustum_points(scene.focal, scene.princpt, scene.image_size, depth)
        lines.append(GLBLines(name='camera_frustum', points=opencv_to_gltf(pts), segments=seg))
    H, W = scene.image_size
    camera = GLBCamera(name='camera', yfov=vertical_fov(scene.focal, scene.image_size),
                       aspect_ratio=W / H, znear=0.05, zfar=max(100.0, 2 * depth))
    return glb_bytes(meshes, camera, lines)


def export_glb(path, scene: MeshScene, frustum: bool = True, **kwargs: Any) -> Path:
    """Write :func:`scene_glb_bytes` atomically to ``path`` (.glb)."""
    return atomic_write(path, scene_glb_bytes(scene, frustum=frustum, **kwargs))


def export_arrays(sample: Mapping[str, Any], dto: Optional[Mapping[str, Any]] = None,
                  key: str = 'pred', require_smpl: bool = True) -> Dict[str, np.ndarray]:
    """Collect the standard export arrays of one per-image dict.

    Args:
        sample: per-image dict (docs/ARCHITECTURE.md) with ``sample[key]``.
        dto: optional DTO record giving ``h_star`` / ``std_h`` when the prediction has no
            ``height`` / ``std``.
        require_smpl: raise when global_orient/body_pose/betas are missing; with False
            they are left out (e.g. Anny persons), and the caller lists them as missing.

    Returns:
        dict of numpy arrays with :data:`EXPORT_KEYS` (SMPL keys possibly absent).
    """
    where = sample.get('img_path', '<sample>')
    if key not in sample:
        raise ValueError(f'{where}: per-image dict has no {key!r} entry')
    pred = {k: _to_numpy(v) for k, v in sample[key].items()}
    dto = {k: _to_numpy(v) for k, v in (dto or {}).items()}
    for name in ('transl', 'focal', 'princpt'):
        if name not in pred:
            raise ValueError(f'{where}: {key}.{name} is missing')
    transl = np.asarray(pred['transl'], np.float64).reshape(-1, 3)
    n = len(transl)
    out: Dict[str, np.ndarray] = {}
    widths = dict(global_orient=3, body_pose=None, betas=None)
    for name in SMPL_KEYS:
        if name not in pred:
            if require_smpl:
                raise ValueError(f'{where}: {key}.{name} is missing (needed for the export)')
            continue
        arr = np.asarray(pred[name], np.float64)
        if arr.ndim < 2 and n > 0:
            arr = arr.reshape(n, -1)
        if arr.ndim != 2 or len(arr) != n:
            raise ValueError(f'{where}: {key}.{name} must have one row per person ({n}), got {arr.shape}')
        if widths[name] is not None and arr.shape[1] != widths[name]:
            raise ValueError(f'{where}: {key}.{name} must be (N,{widths[name]}), got {arr.shape}')
        out[name] = arr
    out['transl'] = transl
    out['focal'] = np.broadcast_to(np.asarray(pred['focal'], np.float64).ravel(), (2,)).copy()
    out['princpt'] = np.asarray(pred['princpt'], np.float64).ravel()[:2].copy()

    def per_person(value, name):
        if value is None:
            return np.full(n, np.nan)
        arr = np.asarray(value, np.float64).reshape(-1)
        if len(arr) != n:
            raise ValueError(f'{where}: {name} has {len(arr)} values for {n} persons')
        return arr

    out['height'] = per_person(pred.get('height', dto.get('h_star')), 'height')
    out['std'] = per_person(pred.get('std', dto.get('std_h')), 'std')
    if pred.get('age_group') is not None:
        groups = [age_group_code(g) for g in np.asarray(pred['age_group']).reshape(-1)]
    elif pred.get('age') is not None:
        groups = [age_group_from_years(a) for a in np.asarray(pred['age']).reshape(-1)]
    else:
        groups = [-1] * n
    if len(groups) != n:
        raise ValueError(f'{where}: age_group has {len(groups)} values for {n} persons')
    out['age_group'] = np.asarray(groups, dtype=np.int64)
    return out


def _json_value(arr: np.ndarray) -> Any:
    """numpy -> JSON-safe nested lists with NaN/inf as null."""
    a = np.asarray(arr)
    if a.dtype.kind in 'iub':
        return a.tolist()
    flat = [None if not math.isfinite(x) else float(x) for x in a.astype(np.float64).ravel()]
    if a.ndim == 0:
        return flat[0]
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


def export_params(stem, sample: Mapping[str, Any], dto: Optional[Mapping[str, Any]] = None,
                  key: str = 'pred', require_smpl: bool = True) -> Tuple[Path, Path]:
    """Write ``<stem>.npz`` and ``<stem>.json`` (atomic) with the standard export keys.

    The json adds ``img_path``, ``image_size`` (H, W), ``num_persons``,
    ``age_group_name``, ``camera`` ('opencv': x right, y down, z forward, metres) and
    ``missing`` (standard keys that the prediction did not have).

    Returns:
        (npz_path, json_path).
    """
    stem = Path(stem)
    arrays = export_arrays(sample, dto, key, require_smpl)
    missing = [k for k in EXPORT_KEYS if k not in arrays]
    npz_path = atomic_save_npz(stem.with_name(stem.name + '.npz'), **arrays)
    doc: Dict[str, Any] = dict(img_path=str(sample.get('img_path', '')),
                               image_size=[int(v) for v in tuple(sample.get('ori_shape', (0, 0)))[:2]],
                               num_persons=int(len(arrays['transl'])), camera='opencv',
                               missing=missing)
    for k in EXPORT_KEYS:
        if k in arrays:
            doc[k] = _json_value(arrays[k])
    doc['age_group_name'] = [AGE_GROUP_NAMES.get(int(g), 'unknown') for g in arrays['age_group']]
    json_path = atomic_save_json(stem.with_name(stem.name + '.json'), doc, indent=1)
    return npz_path, json_path
