"""Synthetic crowd scenes with exact metric ground truth (registered in TASK_UTILS).

One scene = one image: 1-20 persons of all ages on a ground plane, seen by a random camera;
exact metric depth and person-id renderings, a simulated monocular relative depth map,
and HMR-like initial estimates.  Scene ``i`` of a set with seed ``s`` is generated from
``SeedSequence([s, i])`` alone, so any shard can be regenerated independently; separate
child streams feed (persons & camera, relative depth, estimates, RGB), so changing e.g. the
severity leaves the persons and camera of a scene unchanged.

A scene is a flat dict of numpy arrays (keys and shapes in ``SCENE_KEYS``, ``PERSON_KEYS``,
``MAP_KEYS``; documented in docs/synthetic.md).  Vertices are not stored: they are
recomputed exactly from the stored shape / pose / placement by :meth:`scene_vertices`.
"""
from __future__ import annotations

import copy
import hashlib
import json
from typing import Dict, List, Optional

import numpy as np

from metric_hmr.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from metric_hmr.registry import TASK_UTILS

from .bodies import build_bodies
from .scene_camera import SceneCamera
from .estimates import EstimateParams, apply_estimate, sample_initial_estimates
from .layout import place_footprints, place_groups
from .poses import POSE_KINDS, sample_pose, sample_pose_kinds
from .relative_depth import RelDepthParams, simulate_relative_depth
from .render import render_scene, shade_rgb

__all__ = ['SyntheticCrowdGenerator', 'SCENE_KEYS', 'PERSON_KEYS', 'MAP_KEYS', 'config_hash',
           'scene_camera', 'DEFAULT_CONFIG']

# per-scene scalars / small arrays
SCENE_KEYS = ('scene_index', 'image_size', 'focal', 'princpt', 'vfov', 'cam_height',
              'cam_pitch', 'cam_R', 'cam_C', 'wall_z', 'n_requested', 'severity',
              'rel_scale', 'rel_shift', 'est_rho')
# per-person arrays (first axis = persons of the scene)
PERSON_KEYS = ('age', 'is_male', 'height', 'shape', 'pose24', 'pose_kind', 'yaw', 'ground_xz',
               'body_rot', 'root', 'joints3d', 'kpts2d', 'boxes', 'n_pixels', 'n_visible_vertices',
               'smpl_global_orient', 'smpl_body_pose', 'smpl_transl',
               'est_size_factor', 'est_rot', 'est_girth', 'est_height', 'est_age',
               'est_age_group', 'est_p_male', 'est_root')
# per-pixel maps
MAP_KEYS = ('depth', 'person_id', 'rel_disparity', 'rgb')

DEFAULT_CONFIG = dict(
    image_size=(480, 640),
    num_persons=dict(low=1, high=20),      # uniform integers in [low, high], or dict(probs=[...])
    age_range=(0.0, 80.0),
    p_male=0.5,
    pose_weights=None,                      # dict kind -> weight, default uniform
    camera=dict(height_range=(1.0, 4.0), pitch_deg_range=(0.0, 25.0),
                vfov_deg_range=(30.0, 90.0)),
    dist_min=1.5, dist_max=20.0,
    min_person_frac=0.08,                   # farthest distance: a 1.7 m adult spans >= this
                                            # fraction of the image height
    fov_margin=1.15,                        # persons up to 15 % outside the horizontal FoV
    layout='groups',                        # 'groups' (group photos / crowds) | 'uniform'
    max_groups=4, group_depth_jitter=0.3,   # groups layout: 1..max_groups groups
    wall_gap=(2.0, 20.0),                   # wall this far behind the farthest spot
    severity=1.0,
    rel_depth=dict(),                       # RelDepthParams overrides
    estimates=dict(),                       # EstimateParams overrides
    body_model=None,                        # None = Anny; or a BODY_MODELS config
    render_rgb=False,
)


# options that change the scene model only when given: absent, the default scenes and their
# config hash stay as they were.  ``platforms``: each person stands, with probability p, on
# a platform of a height drawn from height_range (m) instead of the ground (a world that
# breaks DTO+'s one-ground-plane cue; the rendered background stays the flat ground).
OPTIONAL_CONFIG = dict(platforms=dict(p=0.0, height_range=(0.3, 1.2)))


def config_hash(cfg: dict) -> str:
    """Short stable hash of a generator config (keys sorted, tuples as lists)."""
    blob = json.dumps(cfg, sort_keys=True, default=lambda o: list(o) if isinstance(o, tuple) else str(o))
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def scene_camera(scene: dict) -> SceneCamera:
    """Rebuild the :class:`SceneCamera` of a stored scene."""
    H, W = (int(x) for x in scene['image_size'])
    return SceneCamera(image_size=(H, W), focal=np.asarray(scene['focal'], np.float64),
                       princpt=np.asarray(scene['princpt'], np.float64),
                       vfov=float(scene['vfov']), height=float(scene['cam_height']),
                       pitch=float(scene['cam_pitch']), R=np.asarray(scene['cam_R'], np.float64),
                       C=np.asarray(scene['cam_C'], np.float64))


def _yaw_matrix(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _merge(base: dict, override: Optional[dict]) -> dict:
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if k in OPTIONAL_CONFIG and k not in base:
            base = dict(base, **{k: OPTIONAL_CONFIG[k]})
        if k not in base:
            raise ValueError(f'unknown synthetic-crowd config key {k!r}; known: '
                             f'{sorted(set(base) | set(OPTIONAL_CONFIG))}')
        out[k] = dict(base[k], **v) if isinstance(base[k], dict) and isinstance(v, dict) else v
    return out


@TASK_UTILS.register_module()
class SyntheticCrowdGenerator:
    """Deterministic generator of synthetic crowd scenes.

    Args:
        seed: set seed; scene ``i`` uses ``SeedSequence([seed, i])``.
        **cfg: overrides of :data:`DEFAULT_CONFIG` (unknown keys raise).
    """

    def __init__(self, seed: int = 0, **cfg):
        self.seed = int(seed)
        self.cfg = _merge(DEFAULT_CONFIG, cfg)
        self.rel_params = RelDepthParams(**self.cfg['rel_depth'])
        self.est_params = EstimateParams(**self.cfg['estimates'])
        self.bodies = build_bodies(self.cfg['body_model'])
        self.faces = self.bodies.faces

    @property
    def config_hash(self) -> str:
        # an adapter may carry a salt so that changes of its output invalidate cached sets
        salt = getattr(self.bodies, 'hash_salt', None)
        return config_hash(self.cfg if salt is None else dict(self.cfg, _bodies=salt))

    # ------------------------------------------------------------------------------------
    def _num_persons(self, rng) -> int:
        spec = self.cfg['num_persons']
        if 'probs' in spec:
            p = np.asarray(spec['probs'], np.float64)
            return int(rng.choice(len(p), p=p / p.sum())) + int(spec.get('low', 1))
        return int(rng.integers(int(spec['low']), int(spec['high']) + 1))

    def _sample_camera(self, rng) -> SceneCamera:
        from .scene_camera import sample_camera
        c = self.cfg['camera']
        return sample_camera(rng, tuple(self.cfg['image_size']), c['height_range'],
                             c['pitch_deg_range'], c['vfov_deg_range'])

    def _platform_heights(self, seed_seq, K: int) -> np.ndarray:
        """(K,) height of the platform each person stands on (0: the ground); its own
        random stream, so the other draws of the scene are those of the flat world."""
        rng = np.random.default_rng(seed_seq)
        p = self.cfg['platforms']
        on = rng.uniform(size=K) < p['p']
        return np.where(on, rng.uniform(*p['height_range'], size=K), 0.0)

    def generate(self, index: int) -> Dict[str, np.ndarray]:
        """Generate scene ``index`` (a flat dict of numpy arrays, see module docstring)."""
        cfg = self.cfg
        ss = np.random.SeedSequence([self.seed, int(index)])
        rng_scene, rng_depth, rng_est, rng_rgb = (np.random.default_rng(s) for s in ss.spawn(4))
        cam = self._sample_camera(rng_scene)
        H, W = cam.image_size
        n_req = self._num_persons(rng_scene)
        age = rng_scene.uniform(*cfg['age_range'], size=n_req)
        is_male = rng_scene.uniform(size=n_req) < cfg['p_male']
        kinds = sample_pose_kinds(rng_scene, n_req, cfg['pose_weights'])
        pose24 = np.stack([sample_pose(rng_scene, k) for k in kinds]) if n_req else np.zeros((0, 24, 3))
        shape = self.bodies.sample_shape(age, is_male, rng_scene)
        posed = self.bodies.pose(shape, pose24)
        radii = np.linalg.norm(posed.vertices[..., [0, 2]], axis=-1).max(-1)
        d_max = _max_distance(cfg, cam)
        if cfg['layout'] == 'groups':
            fp = place_groups(rng_scene, radii, cam, (cfg['dist_min'], d_max), cfg['fov_margin'],
                              max_groups=cfg['max_groups'], depth_jitter=cfg['group_depth_jitter'])
        elif cfg['layout'] == 'uniform':
            fp = place_footprints(rng_scene, radii, cam, (cfg['dist_min'], d_max), cfg['fov_margin'])
        else:
            raise ValueError(f"layout must be 'groups' or 'uniform', got {cfg['layout']!r}")
        wall_z = d_max + rng_scene.uniform(*cfg['wall_gap'])
        keep = np.nonzero(fp.placed)[0]
        K = len(keep)
        # canonical -> camera: rotate about the vertical, stand on the ground, view
        ground = -posed.vertices[keep, :, 1].min(-1)               # pelvis height above ground
        body_rot = np.stack([cam.R @ _yaw_matrix(y) for y in fp.yaw]) if K else np.zeros((0, 3, 3))
        root_world = np.stack([fp.xz[:, 0], ground, fp.xz[:, 1]], -1) if K else np.zeros((0, 3))
        if cfg.get('platforms') and cfg['platforms']['p'] > 0 and K:
            root_world[:, 1] += self._platform_heights(ss.spawn(1)[0], K)
        root = cam.world_to_camera(root_world)
        verts = [posed.vertices[i] @ body_rot[j].T + root[j] for j, i in enumerate(keep)]
        joints3d = (np.einsum('kij,knj->kni', body_rot, posed.joints[keep]) + root[:, None]
                    if K else np.zeros((0, 24, 3)))
        ren = render_scene(verts, self.faces, cam, wall_z)
        rel = simulate_relative_depth(ren.depth, ren.person_id, ren.bg_depth, cfg['severity'],
                                      rng_depth, self.rel_params)
        est = sample_initial_estimates(rng_est, posed.height[keep], age[keep], is_male[keep],
                                       self.est_params)
        up_cam = cam.R @ np.array([0.0, 1.0, 0.0])
        est_root = np.stack([apply_estimate(root[j:j + 1], root[j], up_cam, est.size_factor[j],
                                            est.rho, est.rot[j], est.girth[j])[1]
                             for j in range(K)]) if K else np.zeros((0, 3))
        kpts2d, boxes, n_pixels = _annotations_2d(cam, joints3d, verts, ren.person_id)
        scene = dict(
            scene_index=np.int64(index), image_size=np.array([H, W], np.int64),
            focal=cam.focal, princpt=cam.princpt, vfov=np.float64(cam.vfov),
            cam_height=np.float64(cam.height), cam_pitch=np.float64(cam.pitch), cam_R=cam.R,
            cam_C=cam.C, wall_z=np.float64(wall_z), n_requested=np.int64(n_req),
            severity=np.float64(cfg['severity']), rel_scale=np.float64(rel.scale),
            rel_shift=np.float64(rel.shift), est_rho=np.float64(est.rho),
            age=age[keep], is_male=is_male[keep], height=posed.height[keep],
            shape=shape[keep], pose24=pose24[keep],
            pose_kind=np.array([POSE_KINDS.index(kinds[i]) for i in keep], np.int64),
            yaw=fp.yaw, ground_xz=fp.xz, body_rot=body_rot, root=root, joints3d=joints3d,
            kpts2d=kpts2d, boxes=boxes, n_pixels=n_pixels,
            n_visible_vertices=np.array([v.sum() for v in ren.vertex_visible], np.int64),
            est_size_factor=est.size_factor, est_rot=est.rot, est_girth=est.girth,
            est_height=est.height, est_age=est.age, est_age_group=est.age_group,
            est_p_male=est.p_male, est_root=est_root,
            depth=ren.depth, person_id=ren.person_id, rel_disparity=rel.rel_disparity,
        )
        scene.update(self._smpl_params(posed, keep, body_rot, root, pose24))
        if cfg['render_rgb']:
            scene['rgb'] = shade_rgb(ren, verts, self.faces, cam, rng_rgb)
        return scene

    def _smpl_params(self, posed, keep, body_rot, root, pose24) -> dict:
        """Camera-space SMPL parameters (zeros for Anny persons, see has_smpl)."""
        K = len(keep)
        go = np.zeros((K, 3))
        bp = np.zeros((K, 69))
        tr = np.zeros((K, 3))
        if self.bodies.has_smpl and K:
            aa = self.bodies.smpl_pose(pose24[keep])
            go = matrix_to_axis_angle(body_rot @ axis_angle_to_matrix(aa[:, :3]))
            bp = aa[:, 3:]
            # smplx rotates about the rest pelvis J0, so transl = root - J0
            tr = root - posed.origin[keep]
        return dict(smpl_global_orient=go, smpl_body_pose=bp, smpl_transl=tr)

    # ------------------------------------------------------------------------------------
    def scene_vertices(self, scene: dict) -> List[np.ndarray]:
        """Exact camera-space vertices of the persons of a stored scene (recomputed)."""
        posed = self.bodies.pose(scene['shape'], scene['pose24'])
        return [posed.vertices[j] @ scene['body_rot'][j].T + scene['root'][j]
                for j in range(len(scene['root']))]

    def initial_vertices(self, scene: dict, vertices: Optional[List[np.ndarray]] = None):
        """HMR-like initial vertices (camera space, predicted focal) of a stored scene."""
        if vertices is None:
            vertices = self.scene_vertices(scene)
        up_cam = np.asarray(scene['cam_R'])[:, 1]
        return [apply_estimate(v, scene['root'][j], up_cam, scene['est_size_factor'][j],
                               float(scene['est_rho']), scene['est_rot'][j],
                               scene['est_girth'][j])[0] for j, v in enumerate(vertices)]


def _max_distance(cfg: dict, cam: SceneCamera) -> float:
    """Farthest placement depth: persons stay at least ``min_person_frac`` of the image
    tall, and a high camera with a narrow FoV (sees the ground only far away) reaches it."""
    H = cam.image_size[0]
    d_max = min(cfg['dist_max'], cam.focal[1] * 1.7 / (cfg['min_person_frac'] * H))
    below = cam.pitch + cam.vfov / 2.0                    # bottom image row below horizon
    nearest_ground = cam.height / np.tan(below) if below > 1e-3 else np.inf   # not a FoV: ground distance
    return max(d_max, cfg['dist_min'] + 1.0, min(nearest_ground + 3.0, 60.0))


def _annotations_2d(cam: SceneCamera, joints3d: np.ndarray, verts: list, person_id: np.ndarray):
    """(K, 24, 3) keypoints [u, v, visible] (inside the image and the pixel shows this
    person), (K, 4) xyxy boxes of the projected meshes, (K,) rendered pixel counts."""
    H, W = cam.image_size
    K = len(verts)
    kpts2d = np.zeros((K, 24, 3))
    boxes = np.zeros((K, 4))
    n_pixels = np.zeros(K, np.int64)
    for j in range(K):
        uv = cam.project(joints3d[j])
        # pixel (r, c) has its centre at (u, v) = (c, r) (OpenCV, as the rasteriser)
        c = np.floor(uv[:, 0] + 0.5).astype(int)
        r = np.floor(uv[:, 1] + 0.5).astype(int)
        inside = (c >= 0) & (c < W) & (r >= 0) & (r < H) & (joints3d[j, :, 2] > 0)
        vis = np.zeros(24, bool)
        vis[inside] = person_id[r[inside], c[inside]] == j
        kpts2d[j, :, :2] = uv
        kpts2d[j, :, 2] = vis
        pv = cam.project(verts[j])
        boxes[j] = [np.clip(pv[:, 0].min(), 0, W), np.clip(pv[:, 1].min(), 0, H),
                    np.clip(pv[:, 0].max(), 0, W), np.clip(pv[:, 1].max(), 0, H)]
        n_pixels[j] = int((person_id == j).sum())
    return kpts2d, boxes, n_pixels
