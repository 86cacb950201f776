"""One image's persons as meshes in camera space: the common input of every view/exporter."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Tuple

import numpy as np

from .labels import PersonLabel, person_labels

__all__ = ['MeshScene']


@dataclass
class MeshScene:
    """Persons of one image (OpenCV camera space, metres) and the camera.

    Attributes:
        vertices: (K, V, 3) float64 mesh vertices.
        faces: (F, 3) int64 triangles shared by all persons.
        focal: (2,) fx, fy in pixels; princpt: (2,) cx, cy in pixels.
        image_size: (H, W) of the original image.
        transl: (K, 3) translations (marker positions in the views).
        labels: one :class:`PersonLabel` per person.
    """
    vertices: np.ndarray
    faces: np.ndarray
    focal: np.ndarray
    princpt: np.ndarray
    image_size: Tuple[int, int]
    transl: np.ndarray
    labels: List[PersonLabel] = field(default_factory=list)

    @property
    def num_persons(self) -> int:
        return len(self.vertices)

    @classmethod
    def from_sample(cls, sample: Mapping[str, Any], vertices: Optional[np.ndarray] = None,
                    faces: Optional[np.ndarray] = None, dto: Optional[Mapping[str, Any]] = None,
                    key: str = 'pred') -> 'MeshScene':
        """Build from the per-image dict of docs/ARCHITECTURE.md.

        Args:
            sample: ``dict(img_path, ori_shape, pred=dict(transl, focal, princpt, ...))``.
            vertices: (K, V, 3); default ``sample[key]['vertices']``.
            faces: (F, 3) of the body model (required).
            dto: optional DTO record (``h_star``, ``std_h``) for the labels.
            key: 'pred' or 'gt'.
        """
        where = sample.get('img_path', '<sample>')
        if key not in sample:
            raise ValueError(f'{where}: per-image dict has no {key!r} entry')
        pred = sample[key]
        for name in ('transl', 'focal', 'princpt'):
            if name not in pred:
                raise ValueError(f'{where}: {key}.{name} is missing')
        if vertices is None:
            vertices = pred.get('vertices')
        if vertices is None:
            raise ValueError(f'{where}: no vertices given and {key}.vertices is missing')
        if faces is None:
            raise ValueError(f'{where}: faces (F,3) of the body model are required')
        vertices = np.asarray(_to_numpy(vertices), dtype=np.float64)
        if vertices.ndim == 2:
            vertices = vertices[None]
        transl = np.asarray(_to_numpy(pred['transl']), dtype=np.float64).reshape(-1, 3)
        if vertices.ndim != 3 or vertices.shape[-1] != 3 or len(vertices) != len(transl):
            raise ValueError(f'{where}: vertices must be (K={len(transl)}, V, 3), '
                             f'got {vertices.shape}')
        if 'ori_shape' not in sample:
            raise ValueError(f'{where}: ori_shape (H, W) is missing')
        H, W = (int(v) for v in tuple(sample['ori_shape'])[:2])
        pred_np = {k: _to_numpy(v) for k, v in pred.items()}
        return cls(vertices=vertices, faces=np.asarray(_to_numpy(faces), dtype=np.int64),
                   focal=np.broadcast_to(np.asarray(pred_np['focal'], float).ravel(), (2,)).copy(),
                   princpt=np.asarray(pred_np['princpt'], float).ravel()[:2].copy(),
                   image_size=(H, W), transl=transl, labels=person_labels(pred_np, dto))


def _to_numpy(x: Any) -> Any:
    """torch tensors -> numpy (CPU), everything else unchanged."""
    if hasattr(x, 'detach') and hasattr(x, 'cpu'):
        return x.detach().cpu().numpy()
    return x
