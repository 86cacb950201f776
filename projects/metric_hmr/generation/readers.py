"""Input readers of DTO-Humans generation (registered in ``DTO_STAGES``).

A reader lists the image ids of its input (sorted, so sharding is deterministic) and turns
one id into an :class:`~metric_hmr.generation.state.ImageState`.  A missing or unreadable
image does not stop the run: the state is returned already ``skipped`` with the reason.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..registry import DTO_STAGES
from .release import ReleaseImage, load_camerahmr_release
from .state import SRC_RELEASE, ImageState, Persons

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def _image_size(path: str):
    """(H, W) from the image header (no decoding) or None when unreadable."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            w, h = im.size
        return int(h), int(w)
    except Exception:  # noqa: BLE001  (any decoder error means: unreadable image)
        return None


class BaseReader(ABC):
    """Interface: ``name`` (dataset name for output files), ``image_ids()``, ``load(id)``."""
    name: str = 'images'

    @abstractmethod
    def image_ids(self) -> List[str]:
        """All image ids of the input, sorted."""

    @abstractmethod
    def load(self, img_id: str) -> ImageState:
        """The state of one image (already ``skipped`` when its file is unusable)."""

    def _open(self, img_id: str, img_root: Optional[str], persons: Persons,
              require_image: bool) -> ImageState:
        path = None if img_root is None else os.path.join(img_root, img_id)
        state = ImageState(img_id=img_id, img_path=path, ori_shape=None, persons=persons)
        if path is None:
            if require_image:
                state.skip('missing_image')
            return state
        if not os.path.isfile(path):
            state.img_path = None
            if require_image:
                state.skip('missing_image')
            return state
        size = _image_size(path)
        if size is None:
            state.img_path = None
            if require_image:
                state.skip('unreadable_image')
            return state
        state.ori_shape = size
        return state


@DTO_STAGES.register_module()
class CameraHMRReleaseReader(BaseReader):
    """CameraHMR release npz (``{aic,coco,mpii,insta1,insta2}-release.npz``) + image root.

    Args:
        release_file: the npz (``pose``/``pose_cam``, ``cam_t``/``trans_cam``, 10/11-D shapes).
        img_root: folder the ``imgname`` entries are relative to.
        name: dataset name for the output files (default: file stem without ``-release``).
        require_image: skip (and record) images whose file is missing; when False the image
            size falls back to twice the principal point (stages needing pixels then skip).
    """

    def __init__(self, release_file: str, img_root: Optional[str] = None,
                 name: Optional[str] = None, require_image: bool = True):
        self.release_file = str(release_file)
        self.img_root = img_root
        self.require_image = require_image
        stem = Path(release_file).name
        stem = stem[:-4] if stem.endswith('.npz') else stem
        self.name = name or stem.replace('-release', '').replace('_release', '')
        self._images: Dict[str, ReleaseImage] = {r.imgname: r for r in load_camerahmr_release(release_file)}

    def image_ids(self) -> List[str]:
        return sorted(self._images)

    def load(self, img_id: str) -> ImageState:
        r = self._images[img_id]
        persons = Persons(global_orient=r.global_orient.copy(), body_pose=r.body_pose.copy(),
                          betas=r.betas.copy(), transl=r.transl.copy(),
                          source=[SRC_RELEASE] * len(r.rows), source_index=r.rows.copy(),
                          kpts2d=None if r.kpts2d is None else r.kpts2d.copy(),
                          boxes=None if r.boxes is None else r.boxes.copy())
        state = self._open(img_id, self.img_root, persons, self.require_image)
        state.focal, state.princpt = r.focal.copy(), r.princpt.copy()
        if state.ori_shape is None and state.active:
            state.ori_shape = (int(round(2 * r.princpt[1])), int(round(2 * r.princpt[0])))
        return state


@DTO_STAGES.register_module()
class ImageFolderReader(BaseReader):
    """A plain folder of images (recursively); no persons are given, so every person comes
    from detection + initial HMR."""

    def __init__(self, img_root: str, name: Optional[str] = None,
                 extensions: Sequence[str] = IMAGE_EXTS):
        if not os.path.isdir(img_root):
            raise FileNotFoundError(f'image folder not found: {img_root}')
        self.img_root = img_root
        self.name = name or Path(img_root).name
        exts = tuple(e.lower() for e in extensions)
        self._ids = sorted(
            os.path.relpath(os.path.join(d, f), img_root)
            for d, _, files in os.walk(img_root) for f in files if f.lower().endswith(exts))

    def image_ids(self) -> List[str]:
        return list(self._ids)

    def load(self, img_id: str) -> ImageState:
        return self._open(img_id, self.img_root, Persons.empty(), True)


@DTO_STAGES.register_module()
class SyntheticScenesReader(BaseReader):
    """Scenes of the project's synthetic-crowd generator exported in the CameraHMR release
    format (``metric_hmr.synthetic.export_camerahmr_release``; layout in that module)::

        <scene_root>/release.npz   images/<stem>.png   depth/<stem>.npy
        <scene_root>/masks/<stem>.npy   (or masks/<stem>.npz, compressed, key 'masks')
        <scene_root>/truth.npz     (per release row: estimated age / P(male), truth)

    The precomputed depth (relative disparity) and visible masks are attached, so the depth
    stage is skipped; with ``use_estimated_age_gender`` the export's simulated age/gender
    estimates (``est_age``, ``est_p_male`` of ``truth.npz``) are attached as well.
    """

    def __init__(self, scene_root: str, release_file: str = 'release.npz',
                 name: Optional[str] = None, depth_dir: str = 'depth', mask_dir: str = 'masks',
                 depth_kind: str = 'disparity', use_estimated_age_gender: bool = True):
        self.root = Path(scene_root)
        self._release = CameraHMRReleaseReader(str(self.root / release_file), str(self.root),
                                               name=name or self.root.name)
        self.name = self._release.name
        self.depth_dir, self.mask_dir = self.root / depth_dir, self.root / mask_dir
        self.depth_kind = depth_kind
        self.est = None
        truth = self.root / 'truth.npz'
        if use_estimated_age_gender and truth.is_file():
            with np.load(truth, allow_pickle=False) as z:
                if 'est_age' in z.files and 'est_p_male' in z.files:
                    self.est = (z['est_age'].astype(np.float64), z['est_p_male'].astype(np.float64))

    def image_ids(self) -> List[str]:
        return self._release.image_ids()

    def load(self, img_id: str) -> ImageState:
        state = self._release.load(img_id)
        if not state.active:
            return state
        stem = Path(img_id).stem
        d = self.depth_dir / (stem + '.npy')
        if d.is_file():
            state.depth = np.load(d, allow_pickle=False).astype(np.float32)
            state.depth_kind = self.depth_kind
        masks, m = self._load_masks(stem)
        if masks is not None:
            if masks.shape[0] != len(state.persons):
                raise ValueError(f'{m}: {masks.shape[0]} masks for {len(state.persons)} persons')
            state.masks = masks
        if self.est is not None:
            rows = state.persons.source_index
            state.age, state.p_male = self.est[0][rows].copy(), self.est[1][rows].copy()
        return state

    def _load_masks(self, stem: str):
        """(N, H, W) bool masks from ``<stem>.npy`` or the compressed ``<stem>.npz`` (key
        ``masks``), and the file; (None, None) when neither exists."""
        m = self.mask_dir / (stem + '.npy')
        if m.is_file():
            return np.load(m, allow_pickle=False).astype(bool), m
        m = self.mask_dir / (stem + '.npz')
        if m.is_file():
            with np.load(m, allow_pickle=False) as z:
                if 'masks' not in z.files:
                    raise ValueError(f'{m}: no key \'masks\' (keys: {sorted(z.files)})')
                return z['masks'].astype(bool), m
        return None, None
