"""Shared glue of the benchmark metrics: reading data samples, building geometry."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from metric_hmr.geometry.camera import vfov_to_focal
from mmengine.evaluator import BaseMetric

from ..body_geometry import Meshes, SMPLGeometry

__all__ = ['SMPL_KEYS', 'to_numpy', 'sample_to_dict', 'batch_item', 'select_by_score',
           'num_persons', 'BenchmarkMetric', 'focal_y_of', 'nanmean']

SMPL_KEYS = ('global_orient', 'body_pose', 'betas', 'transl')


def to_numpy(x: Any) -> Any:
    """Recursively turn tensors into numpy arrays (dicts, lists, tuples kept)."""
    if hasattr(x, 'detach') and hasattr(x, 'cpu'):
        return x.detach().cpu().numpy()
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and x and not isinstance(x[0], (str, bytes)):
        return type(x)(to_numpy(v) for v in x)
    return x


def sample_to_dict(sample: Any) -> dict:
    """Data samples are plain dicts by contract; accept objects with ``to_dict``."""
    if isinstance(sample, dict):
        return sample
    if hasattr(sample, 'to_dict'):
        return sample.to_dict()
    raise TypeError(f'cannot read a data sample of type {type(sample).__name__}')


def batch_item(data_batch: Any, i: int) -> dict:
    """The i-th element of a collated batch (dict of lists or list of dicts)."""
    if data_batch is None:
        return {}
    if isinstance(data_batch, (list, tuple)):
        return sample_to_dict(data_batch[i]) if i < len(data_batch) else {}
    if isinstance(data_batch, dict):
        if 'data_samples' in data_batch and data_batch['data_samples'] is not None:
            return batch_item(data_batch['data_samples'], i)
        return {k: v[i] for k, v in data_batch.items()
                if isinstance(v, (list, tuple)) and i < len(v)}
    return {}


def select_by_score(pred: dict, score_thr: Optional[float]) -> dict:
    """Keep persons whose ``scores`` reach ``score_thr`` (all when None/no scores)."""
    if score_thr is None or pred.get('scores') is None:
        return pred
    keep = np.asarray(pred['scores']).reshape(-1) >= score_thr
    n = len(keep)
    out = {}
    for k, v in pred.items():
        arr = v if isinstance(v, np.ndarray) else None
        if arr is not None and arr.ndim >= 1 and len(arr) == n and k not in ('focal', 'princpt'):
            out[k] = arr[keep]
        elif isinstance(v, list) and len(v) == n:
            out[k] = [x for x, m in zip(v, keep) if m]
        else:
            out[k] = v
    return out


def num_persons(d: dict) -> int:
    for k in ('betas', 'transl', 'kpts2d', 'joints3d', 'vertices', 'scores'):
        if d.get(k) is not None:
            a = np.asarray(d[k])
            return 0 if a.size == 0 else a.shape[0]
    return 0


class BenchmarkMetric(BaseMetric):
    """Base of the benchmark metrics: unpacks ``(pred, gt)`` per data sample.

    Args:
        score_thr: confidence threshold on ``pred['scores']`` (None keeps all).
        geometry: kwargs of :class:`SMPLGeometry` (body model configs, regressor path);
            None for metrics that need no body model.
    """

    def __init__(self, score_thr: Optional[float] = None, geometry: Optional[dict] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.score_thr = score_thr
        self._geometry_cfg = geometry
        self._geometry = None

    @property
    def geometry(self) -> SMPLGeometry:
        if self._geometry is None:
            if self._geometry_cfg is None:
                raise ValueError(f'{type(self).__name__} needs `geometry=dict(body_model=...)` '
                                 'in its config to turn SMPL parameters into joints')
            self._geometry = SMPLGeometry(**self._geometry_cfg)
        return self._geometry

    def iter_samples(self, data_batch: Any, data_samples: Sequence) -> List[Tuple[dict, dict, dict]]:
        """(sample, pred, gt) per image; gt falls back to the batch when the sample lacks it."""
        out = []
        for i, s in enumerate(data_samples):
            s = sample_to_dict(s)
            gt = s.get('gt')
            if gt is None:
                gt = batch_item(data_batch, i).get('gt')
            if gt is None:
                raise ValueError(f'data sample {s.get("img_path", i)} carries no `gt` dict')
            pred = to_numpy(dict(s.get('pred') or {}))
            out.append((s, select_by_score(pred, self.score_thr), to_numpy(dict(gt))))
        return out

    def pred_meshes(self, pred: dict) -> Meshes:
        """Camera-space meshes of the predicted persons (SMPL forward of the parameters)."""
        missing = [k for k in SMPL_KEYS if pred.get(k) is None]
        if missing:
            if pred.get('vertices') is not None and pred.get('joints3d') is not None \
                    and np.asarray(pred['joints3d']).shape[1] >= 24:
                return Meshes(np.asarray(pred['vertices'], np.float64),
                              np.asarray(pred['joints3d'], np.float64)[:, :24])
            raise ValueError(f'prediction lacks {missing} (and no vertices + SMPL joints3d)')
        return self.geometry.meshes({k: pred[k] for k in SMPL_KEYS})

    def gt_meshes(self, gt: dict, use_gender: bool) -> Meshes:
        """Camera-space meshes of ground-truth SMPL bodies (world-frame params + extrinsics)."""
        genders = gt.get('gender') if use_gender else None
        return self.geometry.meshes({k: gt[k] for k in SMPL_KEYS}, genders=genders,
                                    cam_rot=gt.get('cam_rot'), cam_trans=gt.get('cam_trans'))


def focal_y_of(pred: dict, shape) -> Optional[float]:
    """Predicted fy: ``focal[1]``, else from the vertical ``fov`` and the image height."""
    if pred.get('focal') is not None:
        return float(np.ravel(pred['focal'])[1])
    if pred.get('fov') is not None and shape is not None:
        return float(vfov_to_focal(float(np.ravel(pred['fov'])[0]), float(shape[0])))
    return None


def nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(list(values), dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float('nan')
