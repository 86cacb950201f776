"""Scoring precomputed predictions (e.g. CameraHMR outputs), with optional DTO.

Prediction file (``.npz``, flat arrays, loads without pickle)::

    img_keys       (I,)    str   image key = path relative to the benchmark image root
                                 (the key of the annotation file)
    focal          (I, 2)  px    (fx, fy) per image
    princpt        (I, 2)  px    (cx, cy) per image
    person_img     (P,)    int   index into img_keys of every person
    global_orient  (P, 3), body_pose (P, 69), betas (P, 10|11), transl (P, 3)  camera frame
    scores (P,), boxes (P, 4) xyxy, age (P,) years, p_male (P,)                 optional

The CameraHMR / DTO-Humans release layout (``{'annots': {img: [{'smpl_param': {shape,
pose, trans}, 'cam_param': {focal, princpt}}]}}``, method.md §2/§6) is read as well; it
needs pickle and is only opened after its key was checked.

:class:`PrecomputedPredictor` is a parameter-free MMEngine model whose ``test_step``
returns the stored predictions of each image of the batch (optionally refined by DTO with
per-image depth maps, through :class:`metric_hmr.dto.BatchDTORefiner`, the refiner that
generation and ``dto_hooks.DTORefiner`` use too), so any benchmark config can score them
through ``tools/test.py``.
"""
from __future__ import annotations

import logging
import os
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel

from metric_hmr.registry import BODY_MODELS, MODELS
from metric_hmr.utils.io import atomic_write, load_annots_npz

__all__ = ['PrecomputedPredictor', 'save_predictions', 'load_predictions', 'load_depth_map',
           'build_refiner', 'PERSON_KEYS', 'REQUIRED']

PERSON_KEYS = ('global_orient', 'body_pose', 'betas', 'transl', 'scores', 'boxes', 'age',
               'p_male')
REQUIRED = ('img_keys', 'focal', 'princpt', 'person_img', 'global_orient', 'body_pose',
            'betas', 'transl')


def _empty_pred(nb: int = 10) -> dict:
    return dict(global_orient=np.zeros((0, 3)), body_pose=np.zeros((0, 69)),
                betas=np.zeros((0, nb)), transl=np.zeros((0, 3)), scores=np.zeros(0))


def save_predictions(path: str, preds: Dict[str, dict]) -> None:
    """Write per-image prediction dicts to the flat npz format (atomic).

    Args:
        preds: ``{img_key: dict(focal (2,), princpt (2,), global_orient (N,3),
            body_pose (N,69), betas (N,nb), transl (N,3), [scores, boxes, age, p_male])}``.
    """
    keys = list(preds)
    intr = {name: np.array([np.ravel(preds[k][name])[:2] for k in keys], np.float64).reshape(-1, 2)
            for name in ('focal', 'princpt')}
    arrays = dict(img_keys=np.array(keys, dtype=str), **intr)
    counts = [len(np.asarray(preds[k]['transl']).reshape(-1, 3)) for k in keys]
    arrays['person_img'] = np.repeat(np.arange(len(keys)), counts).astype(np.int64)
    for name in PERSON_KEYS:
        present = [name in preds[k] and preds[k][name] is not None for k in keys]
        if name in REQUIRED or any(present):
            if not all(p or c == 0 for p, c in zip(present, counts)):
                missing = [k for k, p, c in zip(keys, present, counts) if not p and c]
                raise ValueError(f'{name!r} missing for images {missing[:3]}')
            parts = [np.asarray(preds[k][name], np.float64).reshape(c, -1)
                     for k, c in zip(keys, counts) if c]
            arrays[name] = np.concatenate(parts) if parts else np.zeros((0, 1))
            if name in ('scores', 'age', 'p_male'):
                arrays[name] = arrays[name].reshape(-1)
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays))


def _arr(x, dtype=np.float64):
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _from_release_layout(path: str) -> Dict[str, dict]:
    annots = load_annots_npz(path)
    if not isinstance(annots, dict):
        raise ValueError(f'{path}: `annots` must be a dict keyed by image path')
    out = {}
    for key, persons in annots.items():
        if not persons:
            out[key] = _empty_pred()
            continue
        try:
            pose = np.stack([_arr(p['smpl_param']['pose']).reshape(72) for p in persons])
            shape = np.stack([_arr(p['smpl_param']['shape']).reshape(-1) for p in persons])
            trans = np.stack([_arr(p['smpl_param']['trans']).reshape(3) for p in persons])
            focal = _arr(persons[0]['cam_param']['focal']).reshape(2)
            princpt = _arr(persons[0]['cam_param']['princpt']).reshape(2)
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f'{path}: image {key!r}: bad person entry ({e})') from e
        out[key] = dict(global_orient=pose[:, :3], body_pose=pose[:, 3:], betas=shape,
                        transl=trans, focal=focal, princpt=princpt,
                        scores=np.ones(len(persons)))
    return out


def load_predictions(path: str) -> Dict[str, dict]:
    """Read a prediction file (flat npz or release layout) -> ``{img_key: pred dict}``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'prediction file not found: {path}')
    with np.load(path, allow_pickle=False) as f:
        files = set(f.files)
        if 'annots' in files and 'img_keys' not in files:
            flat = None
        else:
            missing = [k for k in REQUIRED if k not in files]
            if missing:
                raise ValueError(f'{path}: prediction file lacks {missing} '
                                 '(see metric_hmr.evaluation.precomputed docstring)')
            flat = {k: f[k] for k in files}
    if flat is None:
        return _from_release_layout(path)
    keys = [str(k) for k in flat['img_keys']]
    n_img, owner = len(keys), flat['person_img'].astype(np.int64)
    if len(owner) and (owner.min() < 0 or owner.max() >= n_img):
        raise ValueError(f'{path}: person_img indexes outside img_keys (0..{n_img - 1})')
    for k in PERSON_KEYS:
        if k in flat and len(flat[k]) != len(owner):
            raise ValueError(f'{path}: {k} has {len(flat[k])} rows, person_img {len(owner)}')
    out = {}
    for i, key in enumerate(keys):
        sel = owner == i
        pred = {k: flat[k][sel] for k in PERSON_KEYS if k in flat}
        pred['focal'], pred['princpt'] = flat['focal'][i], flat['princpt'][i]
        if 'scores' not in pred:
            pred['scores'] = np.ones(int(sel.sum()))
        out[key] = pred
    return out


def load_depth_map(depth_dir: str, img_key: str) -> np.ndarray:
    """Depth map of an image: ``depth_dir/<img_key without extension>.npy`` (H, W), read by
    :func:`metric_hmr.dto.depth_map.load_depth_map` (DTO checks its aspect ratio)."""
    from ..dto.depth_map import load_depth_map as read_depth
    path = os.path.join(depth_dir, os.path.splitext(img_key)[0] + '.npy')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'depth map for {img_key!r} not found: {path}')
    return read_depth(path)


@MODELS.register_module()
class PrecomputedPredictor(BaseModel):
    """Returns stored predictions per image (no network, no checkpoint).

    Args:
        pred_file: prediction file (see module docstring).
        dto: optional DTO refiner options (the keys of ``dto_hooks.DTORefiner``: ``dto``,
            ``body_model``, ``refit_shape``, ``faces``, ``use_gt_demographics``; a
            ``type='DTORefiner'`` key is accepted); when given, the predictions of each
            batch are refined with the images' depth maps from ``depth_dir``.  An image
            DTO cannot refine keeps its predictions, with the error in ``dto_records``.
        depth_dir: folder of per-image depth maps (``<img_key stem>.npy``).
        missing: what to do for an image absent from the file: ``'empty'`` (no
            persons: every gt person is a miss; counted and logged) or ``'error'``.
    """

    def __init__(self, pred_file: str, dto: Optional[dict] = None,
                 depth_dir: Optional[str] = None, missing: str = 'empty',
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if missing not in ('empty', 'error'):
            raise ValueError(f"missing must be 'empty' or 'error', got {missing!r}")
        self.pred_file = pred_file
        self.predictions = load_predictions(pred_file)
        self.missing = missing
        self.num_missing = 0
        self.num_seen = 0
        self.refiner, self.use_gt_demographics = None, False
        if dto is not None:
            if depth_dir is None:
                raise ValueError('dto refinement needs `depth_dir` (per-image depth maps)')
            self.refiner, self.use_gt_demographics = build_refiner(dto)
        self.depth_dir = depth_dir
        self.dto_records: List[dict] = []
        # one placeholder parameter: device bookkeeping of the runner, and DDP (multi-GPU
        # test runs) refuses modules without a parameter that requires grad
        self._placeholder = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs=None, data_samples=None, mode: str = 'predict'):
        if mode != 'predict':
            raise ValueError('PrecomputedPredictor only predicts (no training / loss)')
        return self._predict(data_samples)

    def _items(self, data) -> List[dict]:
        if isinstance(data, (list, tuple)):
            return [dict(d) for d in data]
        if isinstance(data, dict):
            if data.get('data_samples') is not None:
                return self._items(data['data_samples'])
            n = max(len(v) for v in data.values() if isinstance(v, (list, tuple)))
            return [{k: v[i] for k, v in data.items() if isinstance(v, (list, tuple))}
                    for i in range(n)]
        raise TypeError(f'unexpected batch type {type(data).__name__}')

    def _predict(self, data) -> List[dict]:
        outputs = []
        for item in self._items(data):
            key = item.get('img_key') or item.get('img_path')
            self.num_seen += 1
            pred = self.predictions.get(key)
            if pred is None:
                pred = self._missing(key)
            else:
                pred = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                        for k, v in pred.items()}
            outputs.append(dict(img_path=item.get('img_path'), img_key=key,
                                ori_shape=item.get('ori_shape'), pred=pred,
                                gt=item.get('gt'), _has_pred=key in self.predictions))
        if self.refiner is not None:
            self._refine(outputs)
        for out in outputs:
            out.pop('_has_pred')
        return outputs

    def _missing(self, key: str) -> dict:
        """Prediction of an image absent from the file (or an error, see ``missing``)."""
        if self.missing == 'error':
            raise KeyError(f'{self.pred_file}: no predictions for image {key!r}')
        self.num_missing += 1
        if self.num_missing == self.num_seen and self.num_seen >= 20:
            raise KeyError(f'{self.pred_file}: none of the first {self.num_seen} '
                           f'images (e.g. {key!r}) has predictions: image keys '
                           'of the file and the annotation do not match')
        if self.num_missing <= 5:
            print_log(f'{self.pred_file}: no predictions for image {key!r}; scored '
                      'as an image without detections', logger='current',
                      level=logging.WARNING)
        pred = _empty_pred()
        pred['focal'] = pred['princpt'] = None
        return pred

    def _refine(self, outputs: List[dict]) -> None:
        """DTO of the batch's images with persons, in one batched refiner call."""
        todo = [o for o in outputs if o['_has_pred'] and len(o['pred']['transl'])]
        for o in todo:
            if o.get('ori_shape') is None:
                raise ValueError(f"{o['img_key']}: DTO needs the image size; set "
                                 'read_image_size=True on the dataset (or use annotations '
                                 'that carry it)')
        samples = [dict(img_path=o['img_path'], ori_shape=tuple(o['ori_shape']), pred=o['pred'],
                        gt=o['gt']) for o in todo]
        depths = [load_depth_map(self.depth_dir, o['img_key']) for o in todo]
        results = self.refiner.refine_samples(samples, depths, self.use_gt_demographics)
        for o, res in zip(todo, results):
            if res.result is None:
                print_log(f"{o['img_key']}: DTO failed, predictions kept: {res.error}",
                          logger='current', level=logging.WARNING)
                self.dto_records.append(dict(img_key=o['img_key'], error=res.error))
                continue
            record = dict(res.sample.get('dto') or {})
            record['img_key'] = o['img_key']
            self.dto_records.append(record)
            o['pred'] = res.sample['pred']

    def test_step(self, data) -> List[dict]:
        return self._predict(data)

    def val_step(self, data) -> List[dict]:
        return self._predict(data)

    def train_step(self, data, optim_wrapper):
        raise RuntimeError('PrecomputedPredictor cannot be trained')

    def report(self) -> str:
        return (f'{self.num_seen} images, {self.num_missing} without stored predictions '
                f'({self.pred_file})')


def build_refiner(dto: dict):
    """(:class:`metric_hmr.dto.BatchDTORefiner`, use_gt_demographics) from refiner options."""
    from metric_hmr.dto import BatchDTORefiner
    opts = dict(dto)
    kind = opts.pop('type', 'DTORefiner')
    if kind != 'DTORefiner':
        raise ValueError(f"dto: only the DTO refiner's options are accepted, got type={kind!r}")
    unknown = sorted(set(opts) - {'dto', 'body_model', 'refit_shape', 'faces', 'use_gt_demographics'})
    if unknown:
        raise ValueError(f'dto: unknown refiner option(s) {unknown}')
    body_model = opts.pop('body_model', None)
    if isinstance(body_model, dict):
        body_model = BODY_MODELS.build(body_model)
    use_gt = bool(opts.pop('use_gt_demographics', False))
    return BatchDTORefiner(opts.pop('dto', None), body_model=body_model, **opts), use_gt
