"""Input readers of DTO-Humans generation (registered in ``DTO_STAGES``).

A reader lists the image ids of its input (sorted, so sharding is deterministic) and turns
one id into an :class:`~metric_hmr.generation.state.ImageState`.  A missing or unreadable
image does not stop the run: the state is returned already ``skipped`` with the reason.
"""
from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..registry import DTO_STAGES
from .depth_stage import aspect_mismatch, load_depth_file
from .release import ReleaseImage, load_camerahmr_release
from .state import SRC_RELEASE, ImageState, Persons, check_age_gender

__all__ = ['IMAGE_EXTS', 'file_signature', 'BaseReader', 'CameraHMRReleaseReader',
           'ImageFolderReader', 'SyntheticScenesReader']

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def _image_size(path: str):
    """((H, W), '') from the image file, or (None, why) when it is unreadable.

    Only the header is decoded; PNG files are also verified chunk by chunk (CRCs, complete
    data), so a truncated PNG is caught even when no stage needs its pixels.
    """
    from PIL import Image
    try:
        with Image.open(path) as im:
            w, h = im.size
            if im.format == 'PNG':
                im.verify()
        return (int(h), int(w)), ''
    except Exception as e:  # noqa: BLE001  (any decoder error means: unreadable image)
        return None, f'{type(e).__name__}: {e}'


def file_signature(path: Optional[str]) -> str:
    """'path:size:mtime_ns' of a file, or 'path:missing' (part of an image's input signature)."""
    if path is None:
        return 'none'
    try:
        st = os.stat(path)
    except OSError:
        return f'{path}:missing'
    return f'{path}:{st.st_size}:{st.st_mtime_ns}'


class BaseReader(ABC):
    """Interface: ``name`` (dataset name for output files), ``image_ids()``, ``load(id)``,
    ``input_signature(id)`` (changes when any input of the image changes)."""
    name: str = 'images'
    img_root: Optional[str] = None

    @abstractmethod
    def image_ids(self) -> List[str]:
        """All image ids of the input, sorted."""

    @abstractmethod
    def load(self, img_id: str) -> ImageState:
        """The state of one image (already ``skipped`` when its file is unusable)."""

    def input_signature(self, img_id: str) -> str:
        """Signature of the image's input files (size + mtime): a restored or replaced file
        changes it, so its shard is recomputed on the next run."""
        return file_signature(None if self.img_root is None else os.path.join(self.img_root, img_id))

    def first_age_blend(self):
        """(img_id, person) of the first input person with a non-zero SMPL-A age blend
        (11th shape value), or None: such persons need a kid template."""
        return None

    def _open(self, img_id: str, img_root: Optional[str], persons: Persons,
              require_image: bool) -> ImageState:
        path = None if img_root is None else os.path.join(img_root, img_id)
        state = ImageState(img_id=img_id, img_path=path, ori_shape=None, persons=persons)
        if path is None:
            if require_image:
                state.skip('missing_image: no image root configured')
            return state
        if not os.path.isfile(path):
            state.img_path = None
            if require_image:
                state.skip(f'missing_image: {path}')
            return state
        size, why = _image_size(path)
        if size is None:
            state.img_path = None
            if require_image:
                state.skip(f'unreadable_image: {path}: {why}')
            else:
                state.note(f'unreadable_image: {path}: {why}')
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

    def input_signature(self, img_id: str) -> str:
        r = self._images[img_id]
        h = hashlib.sha1()
        for a in (r.rows, r.global_orient, r.body_pose, r.betas, r.transl, r.focal, r.princpt,
                  r.kpts2d, r.boxes):
            h.update(b'-' if a is None else np.ascontiguousarray(a).tobytes())
        return f'{h.hexdigest()}|{super().input_signature(img_id)}'

    def first_age_blend(self):
        for img_id in self.image_ids():
            b = self._images[img_id].betas
            if b.shape[1] == 11 and np.any(b[:, 10] != 0):
                return img_id, int(np.flatnonzero(b[:, 10] != 0)[0])
        return None

    def load(self, img_id: str) -> ImageState:
        r = self._images[img_id]
        persons = Persons(global_orient=r.global_orient.copy(), body_pose=r.body_pose.copy(),
                          betas=r.betas.copy(), transl=r.transl.copy(),
                          source=[SRC_RELEASE] * len(r.rows), source_index=r.rows.copy(),
                          kpts2d=None if r.kpts2d is None else r.kpts2d.copy(),
                          boxes=None if r.boxes is None else r.boxes.copy())
        state = self._open(img_id, self.img_root, persons, self.require_image)
        state.focal, state.princpt = r.focal.copy(), r.princpt.copy()
        if r.problem and state.active:
            state.skip(r.problem)
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
    A corrupt, missing or wrong-shape depth / mask file skips its image with a reason naming
    the file and shape (maps are resampled only within ``aspect_tolerance`` of the image's
    aspect ratio); a missing mask file and out-of-range age / P(male) values are noted.
    """

    def __init__(self, scene_root: str, release_file: str = 'release.npz',
                 name: Optional[str] = None, depth_dir: str = 'depth', mask_dir: str = 'masks',
                 depth_kind: str = 'disparity', use_estimated_age_gender: bool = True,
                 aspect_tolerance: float = 0.03):
        self.root = Path(scene_root)
        self._release = CameraHMRReleaseReader(str(self.root / release_file), str(self.root),
                                               name=name or self.root.name)
        self.name, self.img_root = self._release.name, str(self.root)
        self.depth_dir, self.mask_dir = self.root / depth_dir, self.root / mask_dir
        self.depth_kind, self.aspect_tolerance = depth_kind, float(aspect_tolerance)
        self.truth = self.root / 'truth.npz'
        self.est = None
        if use_estimated_age_gender and self.truth.is_file():
            try:
                with np.load(self.truth, allow_pickle=False) as z:
                    if 'est_age' in z.files and 'est_p_male' in z.files:
                        self.est = (np.asarray(z['est_age'], np.float64).ravel(),
                                    np.asarray(z['est_p_male'], np.float64).ravel())
            except Exception as e:  # noqa: BLE001
                raise ValueError(f'corrupt or unreadable {self.truth}: {type(e).__name__}: {e}') from e

    def image_ids(self) -> List[str]:
        return self._release.image_ids()

    def first_age_blend(self):
        return self._release.first_age_blend()

    def _files(self, img_id: str) -> List[Path]:
        stem = Path(img_id).stem
        return [self.depth_dir / (stem + '.npy'), self.mask_dir / (stem + '.npy'),
                self.mask_dir / (stem + '.npz')]

    def input_signature(self, img_id: str) -> str:
        parts = [self._release.input_signature(img_id)]
        parts += [file_signature(str(p)) for p in self._files(img_id)]
        if self.est is not None:
            rows = self._release._images[img_id].rows
            ok = rows[rows < min(map(len, self.est))]
            parts.append(hashlib.sha1(self.est[0][ok].tobytes() + self.est[1][ok].tobytes()).hexdigest())
        return '|'.join(parts)

    def load(self, img_id: str) -> ImageState:
        state = self._release.load(img_id)
        if not state.active:
            return state
        depth_file = self._files(img_id)[0]
        if depth_file.is_file():
            d, reason = load_depth_file(str(depth_file), None, state.ori_shape, self.aspect_tolerance)
            if d is None:
                state.skip(reason)
                return state
            state.depth, state.depth_kind = d, self.depth_kind
        elif self.depth_dir.is_dir():   # a later depth stage may still provide it
            state.note(f'depth_file_missing: {depth_file}')
        if not self._attach_masks(state) or self.est is None:
            return state
        rows = state.persons.source_index
        n = min(len(self.est[0]), len(self.est[1]))
        if np.any(rows >= n):
            i = int(np.flatnonzero(rows >= n)[0])
            state.skip(f'missing_truth: {self.truth}: fields est_age / est_p_male have {n} rows, '
                       f'person {i} is release row {int(rows[i])}')
            return state
        state.age, state.p_male = self.est[0][rows].copy(), self.est[1][rows].copy()
        state.extra['age_gender_source'] = ('age/gender: simulated estimates of the synthetic '
                                            'export (no model)')
        check_age_gender(state, str(self.truth))
        return state

    def _attach_masks(self, state: ImageState) -> bool:
        """Attach the image's masks; False (image skipped) for a bad mask file."""
        stem = Path(state.img_id).stem
        try:
            masks, m = self._load_masks(stem)
        except Exception as e:  # noqa: BLE001  (any decoder error: this image's file is bad)
            state.skip(f'corrupt_mask: {self.mask_dir / stem}.np[yz]: {type(e).__name__}: {e}')
            return False
        if masks is None:
            if self.mask_dir.is_dir():
                state.note(f'mask_file_missing: {self.mask_dir / stem}.npy / .npz')
            return True
        k = len(state.persons)
        if masks.ndim != 3 or masks.shape[0] != k:
            state.skip(f'bad_mask_shape: {m}: shape {masks.shape}, expected ({k}, H, W) for '
                       f'{k} persons')
            return False
        if aspect_mismatch(masks.shape[1:], state.ori_shape, self.aspect_tolerance):
            state.skip(f'bad_mask_shape: {m}: shape {masks.shape} has another aspect ratio than '
                       f'the image {tuple(state.ori_shape)} (tolerance {self.aspect_tolerance:.0%})')
            return False
        state.masks = masks
        return True

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
