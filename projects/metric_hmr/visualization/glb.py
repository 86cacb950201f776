"""A minimal binary glTF 2.0 (GLB) writer: named triangle meshes, line sets, one camera.

Written by hand (not via trimesh's exporter) so the file layout is explicit: one node and
one mesh per person, named; a perspective camera node; optional line primitives (the
camera frustum).  Blender's glTF importer, trimesh and web viewers read it.

GLB layout: 12-byte header ('glTF', version 2, total length), a JSON chunk (padded with
spaces to 4 bytes) and a BIN chunk (padded with zeros).  All geometry is in glTF's
convention: metres, y up, a camera looks down its local -z axis.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

__all__ = ['GLBMesh', 'GLBLines', 'GLBCamera', 'glb_bytes', 'read_glb_json']

_FLOAT, _UINT = 5126, 5125          # accessor componentType codes
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_TRIANGLES, _LINES = 4, 1


@dataclass
class GLBMesh:
    """A triangle mesh node. vertices (V,3), faces (F,3), rgba in [0,1], normals (V,3) opt."""
    name: str
    vertices: np.ndarray
    faces: np.ndarray
    rgba: Sequence[float] = (0.8, 0.8, 0.8, 1.0)
    normals: Optional[np.ndarray] = None


@dataclass
class GLBLines:
    """A line-set node: points (P,3) and segments (S,2) indexing into points."""
    name: str
    points: np.ndarray
    segments: np.ndarray
    rgba: Sequence[float] = (0.1, 0.1, 0.1, 1.0)


@dataclass
class GLBCamera:
    """A perspective camera at the origin looking down -z (glTF camera convention).

    yfov: vertical field of view (radians); aspect_ratio: width / height.
    """
    name: str
    yfov: float
    aspect_ratio: float
    znear: float = 0.05
    zfar: Optional[float] = None


class _Builder:
    """Accumulates the BIN chunk and the accessor/bufferView lists."""

    def __init__(self):
        self.bin = bytearray()
        self.views: List[dict] = []
        self.accessors: List[dict] = []

    def add(self, array: np.ndarray, component: int, kind: str, target: int,
            with_bounds: bool = False) -> int:
        data = np.ascontiguousarray(array, dtype=np.float32 if component == _FLOAT else np.uint32)
        while len(self.bin) % 4:
            self.bin.append(0)
        self.views.append(dict(buffer=0, byteOffset=len(self.bin), byteLength=data.nbytes,
                               target=target))
        self.bin += data.tobytes()
        acc = dict(bufferView=len(self.views) - 1, componentType=component,
                   count=int(data.shape[0] if kind != 'SCALAR' else data.size), type=kind)
        if with_bounds:  # POSITION accessors must carry min/max
            acc['min'] = [float(v) for v in data.reshape(len(data), -1).min(0)]
            acc['max'] = [float(v) for v in data.reshape(len(data), -1).max(0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def glb_bytes(meshes: Sequence[GLBMesh], camera: Optional[GLBCamera] = None,
              lines: Sequence[GLBLines] = (), generator: str = 'metric_hmr') -> bytes:
    """Serialise meshes, line sets and a camera into one GLB file's bytes."""
    b = _Builder()
    nodes, gl_meshes, materials = [], [], []

    def material(name, rgba):
        materials.append(dict(name=name, doubleSided=True, pbrMetallicRoughness=dict(
            baseColorFactor=[float(c) for c in rgba], metallicFactor=0.0, roughnessFactor=0.8)))
        return len(materials) - 1

    for m in meshes:
        v = np.asarray(m.vertices, dtype=np.float32)
        f = np.asarray(m.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
            raise ValueError(f'mesh {m.name!r}: vertices must be (V>0,3), got {v.shape}')
        if f.ndim != 2 or f.shape[1] != 3 or (f.size and (f.min() < 0 or f.max() >= len(v))):
            raise ValueError(f'mesh {m.name!r}: faces must be (F,3) indices < {len(v)}')
        if not np.isfinite(v).all():
            raise ValueError(f'mesh {m.name!r}: vertices contain NaN/inf')
        attrs = dict(POSITION=b.add(v, _FLOAT, 'VEC3', _ARRAY_BUFFER, with_bounds=True))
        if m.normals is not None:
            attrs['NORMAL'] = b.add(np.asarray(m.normals, np.float32), _FLOAT, 'VEC3', _ARRAY_BUFFER)
        idx = b.add(f.reshape(-1), _UINT, 'SCALAR', _ELEMENT_ARRAY_BUFFER)
        gl_meshes.append(dict(name=m.name, primitives=[dict(
            attributes=attrs, indices=idx, mode=_TRIANGLES, material=material(m.name, m.rgba))]))
        nodes.append(dict(name=m.name, mesh=len(gl_meshes) - 1))

    for ln in lines:
        p = np.asarray(ln.points, dtype=np.float32)
        s = np.asarray(ln.segments, dtype=np.int64)
        pos = b.add(p, _FLOAT, 'VEC3', _ARRAY_BUFFER, with_bounds=True)
        idx = b.add(s.reshape(-1), _UINT, 'SCALAR', _ELEMENT_ARRAY_BUFFER)
        gl_meshes.append(dict(name=ln.name, primitives=[dict(
            attributes=dict(POSITION=pos), indices=idx, mode=_LINES,
            material=material(ln.name, ln.rgba))]))
        nodes.append(dict(name=ln.name, mesh=len(gl_meshes) - 1))

    gltf = dict(asset=dict(version='2.0', generator=generator), scene=0,
                meshes=gl_meshes, materials=materials)
    if camera is not None:
        persp = dict(yfov=float(camera.yfov), aspectRatio=float(camera.aspect_ratio),
                     znear=float(camera.znear))
        if camera.zfar is not None:
            persp['zfar'] = float(camera.zfar)
        gltf['cameras'] = [dict(name=camera.name, type='perspective', perspective=persp)]
        nodes.append(dict(name=camera.name, camera=0))   # identity transform: at origin, -z
    gltf['nodes'] = nodes
    gltf['scenes'] = [dict(name='scene', nodes=list(range(len(nodes))))]
    while len(b.bin) % 4:
        b.bin.append(0)
    gltf['buffers'] = [dict(byteLength=len(b.bin))]
    gltf['bufferViews'] = b.views
    gltf['accessors'] = b.accessors

    js = json.dumps(gltf, separators=(',', ':')).encode('utf-8')
    js += b' ' * ((4 - len(js) % 4) % 4)
    total = 12 + 8 + len(js) + 8 + len(b.bin)
    return b''.join([struct.pack('<4sII', b'glTF', 2, total),
                     struct.pack('<I4s', len(js), b'JSON'), js,
                     struct.pack('<I4s', len(b.bin), b'BIN\x00'), bytes(b.bin)])


def read_glb_json(data: bytes) -> dict:
    """The JSON chunk of GLB bytes (for checks and tests)."""
    magic, version, total = struct.unpack_from('<4sII', data, 0)
    if magic != b'glTF' or version != 2 or total != len(data):
        raise ValueError('not a glTF 2.0 binary file (bad header)')
    length, kind = struct.unpack_from('<I4s', data, 12)
    if kind != b'JSON':
        raise ValueError('first GLB chunk is not JSON')
    return json.loads(data[20:20 + length].decode('utf-8'))
