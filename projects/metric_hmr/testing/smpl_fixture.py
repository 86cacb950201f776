"""A small, procedural SMPL-format body model for tests and demos.

Real SMPL files are licensed and absent, so tests use a file written by
:func:`make_smpl_model_file`.  It has the exact on-disk layout of ``SMPL_<GENDER>.pkl``
(a pickled dict of plain numpy arrays, no chumpy) and loads with ``smplx.SMPL`` /
``smplx.create(path, model_type='smpl')``:

==================  ===============  ================================================
key                 shape            meaning
==================  ===============  ================================================
``v_template``      (V, 3)           rest (T-pose) vertices, metres, y up, facing +z
``shapedirs``       (V, 3, 10)       linear shape blend shapes (betas)
``posedirs``        (V, 3, 207)      pose-corrective blend shapes (small, random)
``J_regressor``     (24, V)          joint regressor (rows sum to 1)
``weights``         (V, 24)          skinning weights (rows sum to 1)
``kintree_table``   (2, 24)          row 0: parent of each joint (SMPL tree)
``f``               (F, 3)           triangles
==================  ===============  ================================================

Body: 23 ellipsoids around a 24-joint SMPL skeleton (person's left = +x, as in SMPL),
every ellipsoid skinned to the joint at the proximal end of its bone (blended with that
joint's parent near the proximal end).  T-pose height = vertical (y) extent of the
zero-pose mesh; the neutral adult is about 1.71 m tall.

Shape directions (per unit beta):
  0. height: whole body scaled about the soles, +6 % in y and +1.5 % in x/z,
  1. girth: every part 12 % thicker around its own axis,
  2. belly: torso parts 15 % deeper (z),
  3. leg length: soles 3 cm lower, hips fixed (changes height too),
  4. shoulder width: arms shifted 2 cm outwards,
  5-9. random smooth per-part thickness changes (seeded).

The optional kid template (``smpl_kid_template.npy``, (V, 3), same topology) is a
1.10 m child-proportioned body (short legs, relatively large head), the analogue of the
AGORA / SMPL-A kid template used as the 11th (age-blend) shape coefficient.
"""

from __future__ import annotations

import os
import pickle
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from metric_hmr.utils.io import atomic_write, load_smpl_model_file

__all__ = ['SMPL_PARENTS', 'SMPL_JOINT_NAMES', 'KID_TEMPLATE_NAME', 'build_smpl_arrays',
           'make_smpl_model_file', 'kid_template_path', 'H36M_JOINT_NAMES',
           'make_h36m_regressor', 'smplx_vertex_ids']

# SMPL kinematic tree: parent of each of the 24 joints
SMPL_PARENTS = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17,
                         18, 19, 20, 21], dtype=np.int64)
SMPL_JOINT_NAMES = ('pelvis', 'left_hip', 'right_hip', 'spine1', 'left_knee', 'right_knee',
                    'spine2', 'left_ankle', 'right_ankle', 'spine3', 'left_foot',
                    'right_foot', 'neck', 'left_collar', 'right_collar', 'head',
                    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
                    'left_wrist', 'right_wrist', 'left_hand', 'right_hand')
KID_TEMPLATE_NAME = 'smpl_kid_template.npy'
# sphere tessellation of one part: N_LAT rings of N_LON vertices plus two poles
N_LAT, N_LON = 6, 10
# SMPL's rest pose has the soles near y = -1.15 (origin near the pelvis); we mimic it
_Y_OFFSET = -1.15


class _Proportions(NamedTuple):
    """Scale factors of one body relative to the neutral adult."""
    leg: float = 1.0
    torso: float = 1.0
    head: float = 1.0
    arm: float = 1.0
    width: float = 1.0
    girth: float = 1.0


class _Part(NamedTuple):
    center: np.ndarray      # (3,)
    axes: np.ndarray        # (3, 3) columns: long axis, lateral axis 1, lateral axis 2
    radii: np.ndarray       # (3,)
    joint: int              # skinning joint
    start: np.ndarray       # (3,) proximal end of the bone (for skin blending)
    end: np.ndarray         # (3,) distal end
    group: str              # 'torso', 'leg', 'arm', 'head'


def _skeleton(p: _Proportions) -> np.ndarray:
    """(24, 3) rest joints in ground coordinates (soles at y = 0), metres."""
    J = np.zeros((24, 3))
    ankle = 0.08 * p.leg
    knee = ankle + 0.40 * p.leg
    hip = knee + 0.38 * p.leg
    pelvis = hip + 0.07 * p.torso
    spine1 = pelvis + 0.11 * p.torso
    spine2 = spine1 + 0.13 * p.torso
    spine3 = spine2 + 0.06 * p.torso
    neck = spine3 + 0.22 * p.torso
    head = neck + 0.08 * p.head
    hx = 0.085 * p.width
    J[0] = (0, pelvis, 0.0)
    J[3] = (0, spine1, -0.01)
    J[6] = (0, spine2, 0.0)
    J[9] = (0, spine3, 0.01)
    J[12] = (0, neck, -0.02)
    J[15] = (0, head, 0.02)
    for side, sgn in ((0, 1.0), (1, -1.0)):      # 0: left (+x), 1: right (-x)
        J[1 + side] = (sgn * hx, hip, 0.0)
        J[4 + side] = (sgn * (hx + 0.015 * p.width), knee, 0.01)
        J[7 + side] = (sgn * hx, ankle, -0.03)
        J[10 + side] = (sgn * (hx + 0.02 * p.width), 0.025 * p.leg, 0.13 * p.leg)
        sh_y = neck - 0.05 * p.torso
        J[13 + side] = (sgn * 0.07 * p.width, sh_y - 0.02 * p.torso, -0.01)
        J[16 + side] = (sgn * 0.18 * p.width, sh_y, -0.02)
        J[18 + side] = (sgn * (0.18 * p.width + 0.26 * p.arm), sh_y, -0.03)
        J[20 + side] = (sgn * (0.18 * p.width + 0.50 * p.arm), sh_y, -0.03)
        J[22 + side] = (sgn * (0.18 * p.width + 0.58 * p.arm), sh_y, -0.03)
    return J


def _frame(direction: np.ndarray) -> np.ndarray:
    """Orthonormal (3, 3) frame whose first column is ``direction``."""
    u = direction / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    v = np.cross(u, helper)
    v /= np.linalg.norm(v)
    w = np.cross(u, v)
    return np.stack([u, v, w], axis=1)


def _segment(a, b, r1, r2, joint, group, extend=0.5) -> _Part:
    """Ellipsoid around bone a->b with lateral radii (r1, r2)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    length = np.linalg.norm(b - a)
    semi = 0.5 * length + extend * max(r1, r2)
    return _Part(0.5 * (a + b), _frame(b - a), np.array([semi, r1, r2]), joint, a, b, group)


def _blob(center, radii, joint, group, start=None) -> _Part:
    """Axis-aligned ellipsoid (x, y, z radii) used for torso and head."""
    c = np.asarray(center, float)
    axes = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).T  # long axis = y
    rx, ry, rz = radii
    s = c if start is None else np.asarray(start, float)
    return _Part(c, axes, np.array([ry, rx, rz]), joint, s, c, group)


def _parts(J: np.ndarray, p: _Proportions) -> List[_Part]:
    """The 23 ellipsoids of the body, in a fixed order (same topology for every body)."""
    g = p.girth
    parts = [
        _blob((0, J[0, 1] - 0.03 * p.torso, 0), (0.16 * p.width * g, 0.11 * p.torso,
                                                  0.11 * g), 0, 'torso'),
        _blob((0, 0.5 * (J[3, 1] + J[6, 1]), 0), (0.14 * p.width * g, 0.12 * p.torso,
                                                   0.10 * g), 3, 'torso', start=J[3]),
        _blob((0, J[9, 1] + 0.07 * p.torso, 0), (0.17 * p.width * g, 0.15 * p.torso,
                                                  0.11 * g), 9, 'torso', start=J[9]),
        _segment(J[12], J[15], 0.055 * g, 0.055 * g, 12, 'head', extend=0.3),
        _blob(J[15] + np.array([0, 0.07 * p.head, 0]), (0.085 * p.head, 0.11 * p.head,
                                                         0.10 * p.head), 15, 'head',
              start=J[15]),
    ]
    for side in (0, 1):
        hip, knee, ankle, toe = J[1 + side], J[4 + side], J[7 + side], J[10 + side]
        sh, elb, wri, hand = J[16 + side], J[18 + side], J[20 + side], J[22 + side]
        collar = J[13 + side]
        sole = np.array([ankle[0], 0.04 * p.leg, 0.5 * (ankle[2] + toe[2])])
        parts += [
            _segment(hip, knee, 0.075 * g, 0.075 * g, 1 + side, 'leg'),
            _segment(knee, ankle, 0.055 * g, 0.055 * g, 4 + side, 'leg'),
            # foot: sole touches y = 0
            # (frame of +z: columns z, y, -x; radii: length, height, width)
            _Part(sole, _frame(np.array([0.0, 0.0, 1.0])),
                  np.array([0.13 * p.leg, 0.04 * p.leg, 0.045 * g]), 7 + side, ankle, toe,
                  'leg'),
            _segment(toe, toe + np.array([0, 0, 0.05 * p.leg]), 0.025 * p.leg, 0.04 * g,
                     10 + side, 'leg', extend=0.2),
            _segment(collar, sh, 0.05 * g, 0.05 * g, 13 + side, 'arm'),
            _segment(sh, elb, 0.045 * g, 0.045 * g, 16 + side, 'arm'),
            _segment(elb, wri, 0.038 * g, 0.038 * g, 18 + side, 'arm'),
            _segment(wri, hand, 0.015 * g, 0.045 * g, 20 + side, 'arm'),   # flat palm
            _segment(hand, hand + (hand - wri), 0.012 * g, 0.04 * g, 22 + side, 'arm',
                     extend=0.2),
        ]
    return parts


def _unit_sphere() -> Tuple[np.ndarray, np.ndarray]:
    """UV sphere: (N_LAT*N_LON + 2, 3) points (long axis first) and (F, 3) faces."""
    pts = [np.array([1.0, 0.0, 0.0])]
    for i in range(1, N_LAT + 1):
        theta = np.pi * i / (N_LAT + 1)
        for j in range(N_LON):
            phi = 2 * np.pi * j / N_LON
            pts.append([np.cos(theta), np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi)])
    pts.append([-1.0, 0.0, 0.0])
    pts = np.asarray(pts)
    south = len(pts) - 1

    def ring(i, j):
        return 1 + i * N_LON + (j % N_LON)

    faces = []
    for j in range(N_LON):
        faces.append((0, ring(0, j), ring(0, j + 1)))
        faces.append((south, ring(N_LAT - 1, j + 1), ring(N_LAT - 1, j)))
    for i in range(N_LAT - 1):
        for j in range(N_LON):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j), ring(i + 1, j + 1)
            faces += [(a, c, b), (b, c, d)]
    faces = np.asarray(faces, dtype=np.int64)
    # orient every triangle outwards (normal along the centroid direction)
    tri = pts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    flip = (normal * tri.mean(axis=1)).sum(axis=1) < 0
    faces[flip] = faces[flip][:, ::-1]
    return pts, faces


def _build_body(p: _Proportions):
    """Mesh of one body: vertices (V,3) model frame, faces, per-vertex part index, parts."""
    J = _skeleton(p)
    parts = _parts(J, p)
    sphere, sphere_faces = _unit_sphere()
    verts, faces, part_id = [], [], []
    for k, part in enumerate(parts):
        local = sphere * part.radii[None]
        verts.append(part.center[None] + local @ part.axes.T)
        faces.append(sphere_faces + k * len(sphere))
        part_id.append(np.full(len(sphere), k))
    verts = np.concatenate(verts)
    offset = np.array([0.0, _Y_OFFSET, 0.0])
    verts = verts + offset
    J = J + offset
    parts = [pt._replace(center=pt.center + offset, start=pt.start + offset,
                         end=pt.end + offset) for pt in parts]
    return verts, np.concatenate(faces), np.concatenate(part_id), parts, J


def _proportions(kind: str, gender: str, rng: np.random.Generator) -> _Proportions:
    base = {'adult': _Proportions(),
            'kid': _Proportions(leg=0.55, torso=0.68, head=0.86, arm=0.60, width=0.72,
                                girth=0.72)}[kind]
    sex = {'neutral': (1.0, 1.0), 'male': (1.04, 1.08), 'female': (0.97, 0.95)}[gender]
    jitter = 1.0 + 0.02 * rng.standard_normal(6)
    vals = np.array(base) * jitter
    vals[:4] *= sex[0]
    vals[4] *= sex[1]
    return _Proportions(*vals.tolist())


def _shape_directions(verts, part_id, parts, J, rng) -> np.ndarray:
    """(V, 3, 10) shape blend shapes (see module docstring)."""
    V = len(verts)
    dirs = np.zeros((V, 3, 10))
    y_min = verts[:, 1].min()
    # radial offset of each vertex from its part's long axis
    radial = np.zeros_like(verts)
    for k, part in enumerate(parts):
        m = part_id == k
        rel = verts[m] - part.center
        along = rel @ part.axes[:, 0]
        radial[m] = rel - along[:, None] * part.axes[:, 0][None]
    groups = np.array([parts[k].group for k in part_id])
    # 0: height (scale about the soles)
    dirs[:, 1, 0] = 0.06 * (verts[:, 1] - y_min)
    dirs[:, 0, 0] = 0.015 * verts[:, 0]
    dirs[:, 2, 0] = 0.015 * verts[:, 2]
    # 1: girth
    dirs[:, :, 1] = 0.12 * radial
    # 2: belly depth
    torso = groups == 'torso'
    dirs[torso, 2, 2] = 0.15 * radial[torso, 2]
    # 3: leg length (hips fixed, soles move down)
    leg = groups == 'leg'
    hip_y = J[1, 1]
    dirs[leg, 1, 3] = -0.03 * (hip_y - verts[leg, 1]) / (hip_y - y_min)
    # 4: shoulder width
    arm = groups == 'arm'
    dirs[arm, 0, 4] = 0.02 * np.sign(verts[arm, 0])
    # 5-9: random per-part thickness changes
    for d in range(5, 10):
        scale = 0.04 * rng.standard_normal(len(parts))
        dirs[:, :, d] = scale[part_id][:, None] * radial
    return dirs


def _joint_regressor(verts: np.ndarray, J: np.ndarray, k: int = 12) -> np.ndarray:
    """(24, V): each joint = inverse-distance weighted mean of its k nearest vertices."""
    reg = np.zeros((len(J), len(verts)))
    for j, joint in enumerate(J):
        d = np.linalg.norm(verts - joint[None], axis=1)
        idx = np.argsort(d)[:k]
        w = 1.0 / (d[idx] + 1e-3)
        reg[j, idx] = w / w.sum()
    return reg


def _skin_weights(verts, part_id, parts) -> np.ndarray:
    """(V, 24): rigid to the part's joint, blended with its parent near the bone start."""
    W = np.zeros((len(verts), 24))
    for k, part in enumerate(parts):
        m = np.where(part_id == k)[0]
        j, parent = part.joint, SMPL_PARENTS[part.joint]
        bone = part.end - part.start
        length = np.linalg.norm(bone)
        if parent < 0 or length < 1e-6:
            W[m, j] = 1.0
            continue
        s = ((verts[m] - part.start) @ bone) / length ** 2     # 0 at start, 1 at end
        w_parent = 0.5 * np.clip(1.0 - s / 0.25, 0.0, 1.0)
        W[m, j] = 1.0 - w_parent
        W[m, parent] += w_parent
    return W


def _atomic_save(path: str, write) -> None:
    """Write ``path`` atomically; ``write(fh)`` writes into an open binary file."""
    def _write(tmp):
        with open(tmp, 'wb') as fh:
            write(fh)
    atomic_write(path, _write)


def build_smpl_arrays(seed: int = 0, gender: str = 'neutral') -> Dict[str, np.ndarray]:
    """The arrays of the procedural SMPL-format model (see module docstring).

    Also returns ``'kid_template'`` (V, 3), not part of the SMPL pickle.
    """
    if gender not in ('neutral', 'male', 'female'):
        raise ValueError(f"gender must be 'neutral', 'male' or 'female', got {gender!r}")
    rng = np.random.default_rng(seed)
    verts, faces, part_id, parts, J = _build_body(_proportions('adult', gender, rng))
    kid_verts, kid_faces, _, _, _ = _build_body(_proportions('kid', gender, rng))
    assert kid_verts.shape == verts.shape and np.array_equal(kid_faces, faces)
    shapedirs = _shape_directions(verts, part_id, parts, J, rng)
    # small pose correctives: each vertex reacts only to its own joint's rotation features
    posedirs = np.zeros((len(verts), 3, 23 * 9))
    W = _skin_weights(verts, part_id, parts)
    own = W.argmax(axis=1)
    for v in range(len(verts)):
        if own[v] > 0:
            cols = slice(9 * (own[v] - 1), 9 * own[v])
            posedirs[v, :, cols] = 0.002 * rng.standard_normal((3, 9))
    kintree = np.stack([SMPL_PARENTS, np.arange(24)]).astype(np.int64)
    kintree[0, 0] = 4294967295  # what SMPL files store for "no parent"
    return dict(v_template=verts, shapedirs=shapedirs, posedirs=posedirs,
                J_regressor=_joint_regressor(verts, J), weights=W, kintree_table=kintree,
                f=faces.astype(np.uint32), kid_template=kid_verts)


def make_smpl_model_file(out_dir: str, seed: int = 0, with_kid_template: bool = False,
                         gender: str = 'neutral') -> str:
    """Write ``<out_dir>/SMPL_<GENDER>.pkl`` (and optionally the kid template).

    Args:
        out_dir: folder to write into (created if missing).
        seed: the model is deterministic for a given seed.
        with_kid_template: also write ``<out_dir>/smpl_kid_template.npy`` (V, 3), the
            child template used by SMPL-A's 11th shape coefficient (see
            :func:`kid_template_path`).
        gender: 'neutral', 'male' or 'female' (slightly different proportions).

    Returns:
        path of the ``.pkl`` (loadable by ``smplx.SMPL(model_path=path)`` and
        ``smplx.create(path, model_type='smpl')``).
    """
    os.makedirs(out_dir, exist_ok=True)
    arrays = build_smpl_arrays(seed=seed, gender=gender)
    kid = arrays.pop('kid_template')
    path = os.path.join(out_dir, f'SMPL_{gender.upper()}.pkl')
    _atomic_save(path, lambda fh: pickle.dump(arrays, fh, protocol=2))
    if with_kid_template:
        _atomic_save(kid_template_path(out_dir), lambda fh: np.save(fh, kid))
    return path


def kid_template_path(out_dir: str) -> str:
    """Path of the kid template written by ``make_smpl_model_file(with_kid_template=True)``."""
    return os.path.join(out_dir, KID_TEMPLATE_NAME)


# H36M-17 joint order, and how each joint is formed from SMPL joints of the same model
H36M_JOINT_NAMES = ('pelvis', 'right_hip', 'right_knee', 'right_ankle', 'left_hip',
                    'left_knee', 'left_ankle', 'spine', 'thorax', 'neck_nose', 'head_top',
                    'left_shoulder', 'left_elbow', 'left_wrist', 'right_shoulder',
                    'right_elbow', 'right_wrist')
_H36M_FROM_SMPL = {0: (0,), 1: (2,), 2: (5,), 3: (8,), 4: (1,), 5: (4,), 6: (7,), 7: (3, 6),
                   8: (12,), 9: (15,), 11: (16,), 12: (18,), 13: (20,), 14: (17,),
                   15: (19,), 16: (21,)}


def make_h36m_regressor(smpl_path: str, out_path: Optional[str] = None) -> np.ndarray:
    """A (17, V) H36M joint regressor for an SMPL-format file (for evaluation tests).

    Rows are averages of the model's SMPL joint-regressor rows, except head top, which
    averages the 5 highest template vertices.  Saved to ``out_path`` (.npy) when given.
    """
    data = load_smpl_model_file(smpl_path)
    jreg = np.asarray(data['J_regressor'].todense() if hasattr(data['J_regressor'], 'todense')
                      else data['J_regressor'], dtype=np.float64)
    verts = np.asarray(data['v_template'])
    reg = np.zeros((17, verts.shape[0]))
    for h, smpl_ids in _H36M_FROM_SMPL.items():
        reg[h] = jreg[list(smpl_ids)].mean(axis=0)
    top = np.argsort(verts[:, 1])[-5:]
    reg[10, top] = 0.2
    if out_path is not None:
        _atomic_save(out_path, lambda fh: np.save(fh, reg))
    return reg


def smplx_vertex_ids(smpl_path: str) -> Dict[str, int]:
    """Extra-joint vertex ids for ``smplx`` built on a fixture file.

    ``smplx.SMPL.forward`` appends 21 joints picked at fixed *real-SMPL* vertex ids (nose,
    eyes, ears, toes, heels, finger tips), which do not exist on the small fixture mesh.
    Pass ``vertex_ids=smplx_vertex_ids(path)`` to ``smplx.create`` / ``smplx.SMPL`` to get
    the same 45 joints on the fixture.  (``SMPLBodyModel`` returns the 24 SMPL joints and
    does not need this.)
    """
    data = load_smpl_model_file(smpl_path)
    v = np.asarray(data['v_template'], dtype=np.float64)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    jreg = np.asarray(data['J_regressor'])
    J = jreg @ v
    head = y > J[12, 1] + 0.03
    ids = {}

    def pick(mask, score):
        idx = np.where(mask)[0]
        return int(idx[np.argmax(score[idx])])

    ids['nose'] = pick(head, z)
    ids['leye'] = pick(head, z + 0.5 * x + 0.3 * y)
    ids['reye'] = pick(head, z - 0.5 * x + 0.3 * y)
    ids['lear'] = pick(head, x)
    ids['rear'] = pick(head, -x)
    for side, sgn, prefix in (('L', 1.0, 'l'), ('R', -1.0, 'r')):
        foot = (sgn * x > 0) & (y < J[7, 1])
        ids[f'{side}BigToe'] = pick(foot, z - 0.5 * sgn * x)
        ids[f'{side}SmallToe'] = pick(foot, z + 0.5 * sgn * x)
        ids[f'{side}Heel'] = pick(foot, -z)
        for k, tip in enumerate(('thumb', 'index', 'middle', 'ring', 'pinky')):
            ids[f'{prefix}{tip}'] = pick(sgn * x > 0, sgn * x + 0.2 * (2 - k) * z)
    return ids
