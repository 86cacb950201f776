"""Common loader of the benchmark test annotations (method.md §6).

Every annotation file is ``np.load(path, allow_pickle=True)['annots'][()]``: a dict
keyed by image path (relative to the dataset's image folder). Pickle is only enabled
after the file was checked to be an ``.npz`` holding exactly that ``annots`` entry.
Each loader turns one image's annotation into the ground-truth dict of
docs/ARCHITECTURE.md; ``get_data_info`` yields::

    dict(img_path=<data_root>/<img folder>/<key>, img_key=<key>, ori_shape=(H, W) | None,
         gt=dict(...))
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

import numpy as np
from mmengine.dataset import BaseDataset

from metric_hmr.registry import FUNCTIONS
from metric_hmr.utils.io import load_annots_npz

__all__ = ['benchmark_collate', 'as_array', 'load_annots', 'BenchmarkDataset',
           'intrinsics_from_matrix']


@FUNCTIONS.register_module()
def benchmark_collate(data_batch: List[dict]) -> List[dict]:
    """Keep a batch as the list of per-image dicts (no tensor stacking, no transposing
    of nested gt dicts or ``ori_shape`` tuples, as ``pseudo_collate`` would do)."""
    return list(data_batch)


def as_array(x: Any, dtype=np.float64, what: str = '') -> np.ndarray:
    """numpy array from numpy / torch / list values stored in the annotation pickles."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(f'{what}: cannot read as a {np.dtype(dtype).name} array ({e})') from e


def load_annots(path: str) -> Dict[str, Any]:
    """Read the ``annots`` dict of a benchmark annotation file (known format only)."""
    # The known MA-HMR/ROMP annotation format stores a pickled dict: allowed there only.
    annots = load_annots_npz(path)
    if not isinstance(annots, dict):
        raise ValueError(f'{path}: `annots` must be a dict keyed by image path, '
                         f'got {type(annots).__name__}')
    return annots


class BenchmarkDataset(BaseDataset):
    """Base of the benchmark test sets.

    Args:
        ann_file: annotation ``.npz`` (relative to ``data_root`` unless absolute).
        data_root: dataset folder.
        data_prefix: ``dict(img_path=<image folder relative to data_root>)``.
        read_image_size: read ``ori_shape`` from the image headers when the annotation
            does not carry it (needs the images on disk).
        max_images: evaluate only the first N images (sorted keys) - for quick checks.
    """
    METAINFO = dict(dataset_name='benchmark')

    def __init__(self, ann_file: str, data_root: str = '', data_prefix: Optional[dict] = None,
                 pipeline: Optional[list] = None, read_image_size: bool = False,
                 max_images: Optional[int] = None, test_mode: bool = True, **kwargs):
        self.read_image_size = read_image_size
        self.max_images = max_images
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix or dict(img_path=''),
                         pipeline=pipeline or [], test_mode=test_mode, **kwargs)

    # subclasses: per-image annotation -> (gt dict, ori_shape or None)
    def parse_image(self, key: str, annot: Any) -> dict:
        raise NotImplementedError  # abstract: every registered subclass implements it

    def load_data_list(self) -> List[dict]:
        annots = load_annots(self.ann_file)
        keys = sorted(annots)
        if self.max_images is not None:
            keys = keys[:self.max_images]
        img_root = self.data_prefix.get('img_path', '')
        data_list = []
        for key in keys:
            try:
                info = self.parse_image(key, annots[key])
            except (KeyError, ValueError, TypeError, IndexError) as e:
                raise ValueError(f'{self.ann_file}: image {key!r}: {e}') from e
            info['img_path'] = os.path.join(img_root, key)
            info['img_key'] = key
            if info.get('ori_shape') is None and self.read_image_size:
                info['ori_shape'] = _image_size(info['img_path'])
            info.setdefault('ori_shape', None)
            data_list.append(info)
        return data_list


def _image_size(path: str):
    from PIL import Image
    if not os.path.isfile(path):
        raise FileNotFoundError(f'image not found (read_image_size=True): {path}')
    with Image.open(path) as im:
        w, h = im.size
    return (h, w)


def intrinsics_from_matrix(K: np.ndarray, what: str):
    K = as_array(K, what=what).reshape(-1, 3, 3)[0]
    return K[[0, 1], [0, 1]].copy(), K[[0, 1], [2, 2]].copy()
