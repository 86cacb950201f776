"""Pluggable per-person / per-image estimators: intrinsics, age/gender, initial HMR.

Learned estimators are TorchScript files from a local path (``torch.jit.load``), so any
network can be plugged in without this package knowing its code.  Their I/O contracts:

* FoV estimator: (B,3,S,S) float RGB in [0,1] -> (B,) vertical FoV in radians.
* age/gender:   (B,3,S,S) person crops -> (B,2) [age in years, P(male)].
* initial HMR:  (B,3,S,S) masked person crops -> (B,85) [axis-angle pose (72), betas (10),
  weak-perspective camera (s, tx, ty) of the crop] (HMR / 4D-Humans convention).
"""
from __future__ import annotations

import json
import math
import os
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..geometry import focal_to_vfov, retarget_translation_to_intrinsics, vfov_to_focal
from ..registry import DTO_STAGES
from .stage_base import BaseStage, resolve_device
from .state import SRC_HMR, ImageState, Persons, check_age_gender

__all__ = ['square_crops', 'person_boxes', 'set_intrinsics', 'ReleaseIntrinsics', 'FixedFoVIntrinsics',
           'FoVEstimatorIntrinsics', 'IntrinsicsFile', 'ExifIntrinsics', 'load_intrinsics_file',
           'exif_focal_35mm', 'NO_AGE_MODEL', 'UnknownAgeGender',
           'AnnotationAgeGender', 'TorchScriptAgeGender', 'cam_crop_to_full', 'NoInitialHMR',
           'TorchScriptInitialHMR']


def _load_script(path: str, device) -> torch.jit.ScriptModule:
    """A TorchScript model; a missing or corrupt file is one clear error naming it."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'TorchScript model not found: {path}')
    try:
        return torch.jit.load(path, map_location=device).eval()
    except Exception as e:  # noqa: BLE001  (torch reports a bad archive as a long RuntimeError)
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
        raise ValueError(f'corrupt or unreadable TorchScript file {path}: {first}') from e


def square_crops(image: np.ndarray, boxes: np.ndarray, size: int,
                 masks: Optional[np.ndarray] = None) -> torch.Tensor:
    """Square crops around boxes (enlarged to a square), resized to ``size``.

    image (H,W,3) uint8, boxes (B,4) xyxy, masks (B,H,W) bool or None -> (B,3,S,S) in [0,1].
    Pixels outside the image (and outside the mask) are 0.
    """
    img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0
    out = []
    for k, b in enumerate(np.asarray(boxes, np.float64)):
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        half = max(b[2] - b[0], b[3] - b[1], 2.0) / 2
        x0, y0 = int(math.floor(cx - half)), int(math.floor(cy - half))
        side = int(math.ceil(2 * half))
        src = img if masks is None else img * torch.from_numpy(masks[k]).float()[None]
        canvas = torch.zeros(3, side, side)
        h, w = img.shape[1:]
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
        if sx1 > sx0 and sy1 > sy0:
            canvas[:, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = src[:, sy0:sy1, sx0:sx1]
        out.append(F.interpolate(canvas[None], size=(size, size), mode='bilinear',
                                 align_corners=False)[0])
    return torch.stack(out) if out else torch.zeros(0, 3, size, size)


def person_boxes(state: ImageState) -> np.ndarray:
    """(K,4) xyxy box per person: matched detection box, else input box, else the extent
    of the input keypoints (NaN when nothing is known)."""
    k = len(state.persons)
    boxes = np.full((k, 4), np.nan)
    if state.persons.boxes is not None:
        boxes[:] = state.persons.boxes
    for i in range(k):
        if state.person_det is not None and state.person_det[i] >= 0 and state.detections is not None:
            boxes[i] = state.detections.boxes[state.person_det[i]]
        elif np.isnan(boxes[i]).any() and state.persons.kpts2d is not None:
            kp = state.persons.kpts2d[i]
            vis = kp[:, 2] > 0
            if vis.sum() >= 2:
                boxes[i] = [*kp[vis, :2].min(0), *kp[vis, :2].max(0)]
    return boxes


# ----------------------------------------------------------------------------- intrinsics
def set_intrinsics(s: ImageState, focal, princpt, source: str) -> None:
    """Give the image intrinsics; persons already placed under other ones are moved.

    Why: an input's persons (a CameraHMR release row, an earlier HMR) were estimated under
    the intrinsics they came with; swapping only the focal would change their projection.
    Each root keeps its pixel and its depth scales with the focal
    (:func:`metric_hmr.geometry.retarget_translation_to_intrinsics`); the original
    intrinsics and translations are kept in ``extra['intrinsics_in']`` and noted.
    """
    focal = np.broadcast_to(np.asarray(focal, np.float64), (2,)).copy()
    princpt = np.broadcast_to(np.asarray(princpt, np.float64), (2,)).copy()
    # the same intrinsics up to float32 rounding (a release's cam_int) move nobody
    same = (s.focal is not None and s.princpt is not None
            and np.allclose(focal, s.focal, rtol=1e-6, atol=0)
            and np.allclose(princpt, s.princpt, rtol=0, atol=1e-3))
    if s.focal is not None and s.princpt is not None and len(s.persons) and not same:
        old_t = np.asarray(s.persons.transl, np.float64)
        s.persons.transl = retarget_translation_to_intrinsics(old_t, s.focal, s.princpt, focal, princpt)
        ratio = math.sqrt(focal[0] * focal[1] / (float(s.focal[0]) * float(s.focal[1])))
        s.extra.setdefault('intrinsics_in', dict(focal=np.asarray(s.focal, np.float64).tolist(),
                                                 princpt=np.asarray(s.princpt, np.float64).tolist(),
                                                 transl=old_t.tolist()))
        s.note(f'intrinsics_replaced: {source}: focal {np.round(s.focal, 2).tolist()} -> '
               f'{np.round(focal, 2).tolist()}; {len(s.persons)} persons moved (depth x {ratio:.4f})')
    if s.ori_shape is not None:
        # focal lengths in mm instead of pixels, or a wrong image size, show as an absurd FoV
        fov = math.degrees(focal_to_vfov(float(focal[1]), float(s.ori_shape[0])))
        if not 5.0 <= fov <= 150.0:
            s.note(f'intrinsics_implausible: {source}: vertical FoV {fov:.1f} deg '
                   f'(focal {focal.tolist()} px)')
    s.focal, s.princpt = focal, princpt
    s.extra['intrinsics_source'] = source


@DTO_STAGES.register_module()
class ReleaseIntrinsics(BaseStage):
    """Use the intrinsics the input provides; images without any are skipped (recorded)."""
    name = 'intrinsics'

    def needs(self, state: ImageState) -> bool:
        return state.focal is None or state.princpt is None

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            s.skip('missing_intrinsics')


@DTO_STAGES.register_module()
class FixedFoVIntrinsics(BaseStage):
    """fx = fy from a fixed vertical FoV (degrees), principal point at the image centre.
    ``override=False`` keeps intrinsics the input already has."""
    name = 'intrinsics'

    def __init__(self, fov_deg: float = 60.0, override: bool = False):
        if not (0 < fov_deg < 180):  # checked here: a config error, not one per image
            raise ValueError(f'FixedFoVIntrinsics: fov_deg must be in (0, 180) degrees, got {fov_deg}')
        self.fov, self.override = math.radians(fov_deg), override

    def needs(self, state: ImageState) -> bool:
        return self.override or state.focal is None or state.princpt is None

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            h, w = s.ori_shape
            f = vfov_to_focal(self.fov, h)
            set_intrinsics(s, [f, f], [w / 2.0, h / 2.0], f'fixed_fov {math.degrees(self.fov):g} deg')


@DTO_STAGES.register_module()
class FoVEstimatorIntrinsics(BaseStage):
    """Vertical FoV from a TorchScript estimator on the (square-resized) image."""
    name = 'intrinsics'
    needs_pixels = True

    def __init__(self, model_path: str, input_size: int = 256, override: bool = False,
                 batch_size: int = 16, device: Optional[str] = None):
        self.device = resolve_device(device)
        self.model = _load_script(model_path, self.device)
        self.size, self.override, self.batch_size = input_size, override, batch_size

    def needs(self, state: ImageState) -> bool:
        return self.override or state.focal is None or state.princpt is None

    @torch.no_grad()
    def process(self, states: List[ImageState]) -> None:
        for i in range(0, len(states), self.batch_size):
            chunk = states[i:i + self.batch_size]
            x = torch.cat([F.interpolate(torch.from_numpy(s.image()).permute(2, 0, 1)[None].float()
                                         / 255.0, size=(self.size, self.size), mode='bilinear',
                                         align_corners=False) for s in chunk]).to(self.device)
            fov = self.model(x).reshape(-1).float().cpu().numpy()
            for s, v in zip(chunk, fov):
                if not (np.isfinite(v) and 0 < v < math.pi):
                    s.skip(f'invalid_fov_estimate: {float(v):.4g}')
                    continue
                h, w = s.ori_shape
                f = vfov_to_focal(float(v), h)
                set_intrinsics(s, [f, f], [w / 2.0, h / 2.0], 'fov_estimator')


def _intrinsics_entry(entry, where: str) -> dict:
    """One validated entry of an intrinsics file: dict(focal=(2,) | None, vfov=radians | None,
    princpt=(2,) | None); a bad entry is a ValueError naming ``where``."""
    if not isinstance(entry, dict):
        raise ValueError(f'{where}: expected an object with "focal" or "vfov_deg", '
                         f'got {type(entry).__name__}')
    unknown = set(entry) - {'focal', 'princpt', 'vfov_deg'}
    if unknown:
        raise ValueError(f'{where}: unknown keys {sorted(unknown)} (allowed: focal, princpt, vfov_deg)')
    if ('focal' in entry) == ('vfov_deg' in entry):
        raise ValueError(f'{where}: give exactly one of "focal" (pixels) and "vfov_deg"')

    def numbers(key, n_allowed):
        v = entry[key]
        vals = v if isinstance(v, list) else [v]
        if len(vals) not in n_allowed or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in vals):
            raise ValueError(f'{where}: "{key}" must be {" or ".join(map(str, n_allowed))} number(s), '
                             f'got {v!r}')
        arr = np.asarray(vals, np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f'{where}: "{key}" must be finite, got {v!r}')
        return arr
    out = dict(focal=None, vfov=None, princpt=None)
    if 'focal' in entry:
        f = numbers('focal', (1, 2))
        if not np.all(f > 0):
            raise ValueError(f'{where}: "focal" must be > 0 pixels, got {entry["focal"]!r}')
        out['focal'] = np.broadcast_to(f, (2,)).copy()
    else:
        v = float(numbers('vfov_deg', (1,))[0])
        if not 0 < v < 180:
            raise ValueError(f'{where}: "vfov_deg" must be in (0, 180), got {v}')
        out['vfov'] = math.radians(v)
    if 'princpt' in entry:
        out['princpt'] = numbers('princpt', (2,))
    return out


def load_intrinsics_file(path: str) -> dict:
    """``{img_id: entry}`` of a JSON intrinsics file, every entry validated up front (a bad
    file stops the run before any image, naming the file and the image)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'intrinsics file not found: {path}')
    def unique(pairs):
        keys = [k for k, _ in pairs]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f'intrinsics file {path}: duplicate keys {dup}')
        return dict(pairs)
    try:
        with open(path, encoding='utf-8') as fh:
            data = json.load(fh, object_pairs_hook=unique)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'intrinsics file {path} is not valid JSON: {e}') from e
    if not isinstance(data, dict):
        raise ValueError(f'intrinsics file {path}: expected an object {{image id: intrinsics}}, '
                         f'got {type(data).__name__}')
    return {str(k): _intrinsics_entry(v, f'intrinsics file {path}, image {k!r}') for k, v in data.items()}


@DTO_STAGES.register_module()
class IntrinsicsFile(BaseStage):
    """Known intrinsics per image from a JSON file (calibration, a dataset's ground truth):

        {"<img_id>": {"focal": [fx, fy] or f, "princpt": [cx, cy]}, "<img_id>": {"vfov_deg": 55.0}}

    ``img_id`` as in the records (path relative to the image root); ``princpt`` defaults to
    the image centre.  The focal is DTO's largest lever on metric depth (docs/dto.md, DTO+),
    so known intrinsics replace the input's (``override=True``), moving the input's persons
    (:func:`set_intrinsics`).  Images not in the file keep their intrinsics (counted
    ``intrinsics_not_in_file``), or are skipped with ``missing='skip'``.
    """
    name = 'intrinsics'

    def __init__(self, path: str, override: bool = True, missing: str = 'keep'):
        if missing not in ('keep', 'skip'):
            raise ValueError(f"IntrinsicsFile: missing must be 'keep' or 'skip', got {missing!r}")
        self.path, self.override, self.missing = path, override, missing
        self.entries = load_intrinsics_file(path)

    def needs(self, state: ImageState) -> bool:
        return self.override or state.focal is None or state.princpt is None

    def input_signature(self, img_id: str) -> str:
        # an edited file changes this image's inputs: finished shards holding it are redone
        e = self.entries.get(img_id)
        return json.dumps(None if e is None else {k: (None if v is None else np.asarray(v).tolist())
                                                  for k, v in e.items()}, sort_keys=True)

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            e = self.entries.get(s.img_id)
            if e is None:
                if self.missing == 'skip':
                    s.skip(f'intrinsics_not_in_file: {self.path}')
                else:
                    s.count('intrinsics_not_in_file')
                continue
            if s.ori_shape is None and (e['vfov'] is not None or e['princpt'] is None):
                s.skip(f'intrinsics_file: image size unknown for {s.img_id}')
                continue
            focal = e['focal'] if e['focal'] is not None else [vfov_to_focal(e['vfov'], s.ori_shape[0])] * 2
            princpt = e['princpt'] if e['princpt'] is not None else [s.ori_shape[1] / 2.0,
                                                                      s.ori_shape[0] / 2.0]
            set_intrinsics(s, focal, princpt, f'file {self.path}')


# EXIF tags: the Exif sub-IFD and its 35 mm-equivalent focal length (mm)
_EXIF_IFD, _FOCAL_35MM = 0x8769, 0xA405
_FULL_FRAME_DIAG_MM = math.hypot(36.0, 24.0)


def exif_focal_35mm(path: str) -> Optional[float]:
    """The image file's 35 mm-equivalent focal length (mm) from EXIF, or None (absent,
    zero, or a file without EXIF).  Reads the header only, executes nothing."""
    from PIL import Image
    with Image.open(path) as im:
        value = im.getexif().get_ifd(_EXIF_IFD).get(_FOCAL_35MM)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) and f > 0 else None


@DTO_STAGES.register_module()
class ExifIntrinsics(BaseStage):
    """Focal from the photo's EXIF 35 mm-equivalent focal length (phones and most cameras
    write it): ``f = f_35 * image diagonal / 43.27 mm`` (the full-frame diagonal; the
    equivalence is defined on the diagonal), principal point at the image centre.

    With ``override=True`` (default) it replaces the input's intrinsics where EXIF has the
    tag (moving the input's persons, :func:`set_intrinsics`); images without it keep theirs
    (counted ``exif_focal_missing``), or are skipped with ``missing='skip'``.  A resized or
    cropped copy of a photo keeps its EXIF but not its field of view: use on originals.
    """
    name = 'intrinsics'

    def __init__(self, override: bool = True, missing: str = 'keep'):
        if missing not in ('keep', 'skip'):
            raise ValueError(f"ExifIntrinsics: missing must be 'keep' or 'skip', got {missing!r}")
        self.override, self.missing = override, missing

    def needs(self, state: ImageState) -> bool:
        return self.override or state.focal is None or state.princpt is None

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            f35 = None
            if s.img_path is not None:
                try:
                    f35 = exif_focal_35mm(s.img_path)
                except Exception as e:  # noqa: BLE001  (a broken file is recorded, not fatal)
                    from .pipeline import is_environment_error
                    if is_environment_error(e):      # out of memory, disk gone: stop the run
                        raise
                    s.note(f'exif_unreadable: {s.img_path}: {type(e).__name__}: {e}')
            if f35 is None or s.ori_shape is None:
                if self.missing == 'skip':
                    s.skip(f'exif_focal_missing: {s.img_path}')
                else:
                    s.count('exif_focal_missing')
                continue
            h, w = s.ori_shape
            f = f35 * math.hypot(w, h) / _FULL_FRAME_DIAG_MM
            set_intrinsics(s, [f, f], [w / 2.0, h / 2.0], f'exif f35 {f35:g} mm')


# ----------------------------------------------------------------------------- age / gender
# the one line every record / summary carries when no age/gender model ran
NO_AGE_MODEL = ('age/gender: no model (every person unknown -> neutral adult prior '
                'N((h+1.715)/2, 0.1^2))')

@DTO_STAGES.register_module()
class UnknownAgeGender(BaseStage):
    """Age and gender unknown (NaN): DTO then uses its gender-neutral/adult fallback prior."""
    name = 'age_gender'

    def needs(self, state: ImageState) -> bool:
        return state.age is None

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            k = len(s.persons)
            s.age, s.p_male = np.full(k, np.nan), np.full(k, np.nan)
            s.extra['age_gender_source'] = NO_AGE_MODEL


@DTO_STAGES.register_module()
class AnnotationAgeGender(BaseStage):
    """Age/gender from a JSON file ``{img_id: [{"age": years|null, "p_male": p|null}, ...]}``
    listing the input persons in input order.  Images absent from the file, and persons added
    by initial HMR, get NaN (unknown)."""
    name = 'age_gender'

    def __init__(self, ann_file: str):
        if not os.path.isfile(ann_file):
            raise FileNotFoundError(f'age/gender annotation file not found: {ann_file}')
        try:
            with open(ann_file) as f:
                self.ann = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f'corrupt age/gender annotation file {ann_file}: {e}') from e
        if not isinstance(self.ann, dict):
            raise ValueError(f'age/gender annotation file {ann_file}: expected a JSON object '
                             f'{{img_id: [...]}}, got {type(self.ann).__name__}')
        self.ann_file = ann_file

    def needs(self, state: ImageState) -> bool:
        return state.age is None

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            k = len(s.persons)
            s.age, s.p_male = np.full(k, np.nan), np.full(k, np.nan)
            s.extra['age_gender_source'] = f'age/gender: annotations {os.path.basename(self.ann_file)}'
            entries = self.ann.get(s.img_id)
            if entries is None:
                s.count('age_gender_unannotated', k)
                continue
            n_in = sum(src != SRC_HMR for src in s.persons.source)
            if not isinstance(entries, list) or len(entries) != n_in:
                n = len(entries) if isinstance(entries, list) else type(entries).__name__
                s.skip(f'bad_age_gender_annotation: {self.ann_file}: image {s.img_id} has {n} '
                       f'entries for {n_in} input persons')
                continue
            try:
                for i, e in enumerate(entries):
                    s.age[i] = np.nan if e.get('age') is None else float(e['age'])
                    s.p_male[i] = np.nan if e.get('p_male') is None else float(e['p_male'])
            except (AttributeError, TypeError, ValueError) as err:
                s.skip(f'bad_age_gender_annotation: {self.ann_file}: image {s.img_id}, person '
                       f'{i}: {err}')
                continue
            check_age_gender(s, self.ann_file)

    def input_signature(self, img_id: str) -> str:
        return json.dumps(self.ann.get(img_id), sort_keys=True)


@DTO_STAGES.register_module()
class TorchScriptAgeGender(BaseStage):
    """Age (years) and P(male) per person from a TorchScript model on person crops,
    batched across all persons of the chunk's images."""
    name = 'age_gender'
    needs_pixels = True

    def __init__(self, model_path: str, crop_size: int = 224, batch_size: int = 64,
                 masked: bool = False, device: Optional[str] = None):
        self.device = resolve_device(device)
        self.model = _load_script(model_path, self.device)
        self.size, self.batch_size, self.masked = crop_size, batch_size, masked

    def needs(self, state: ImageState) -> bool:
        return state.age is None

    @torch.no_grad()
    def process(self, states: List[ImageState]) -> None:
        crops, owners = [], []
        for s in states:
            k = len(s.persons)
            s.age, s.p_male = np.full(k, np.nan), np.full(k, np.nan)
            s.extra['age_gender_source'] = 'age/gender: TorchScript model'
            boxes = person_boxes(s)
            ok = np.flatnonzero(np.isfinite(boxes).all(1))
            s.count('age_gender_no_box', k - len(ok))
            if len(ok):
                masks = s.masks[ok] if (self.masked and s.masks is not None) else None
                crops.append(square_crops(s.image(), boxes[ok], self.size, masks))
                owners += [(s, int(i)) for i in ok]
        if not owners:
            return
        x = torch.cat(crops)
        out = torch.cat([self.model(x[i:i + self.batch_size].to(self.device)).float().cpu()
                         for i in range(0, len(x), self.batch_size)]).numpy().reshape(len(x), 2)
        for (s, i), (age, pm) in zip(owners, out):
            s.age[i], s.p_male[i] = max(float(age), 0.0), float(np.clip(pm, 0.0, 1.0))


# ----------------------------------------------------------------------------- initial HMR
def cam_crop_to_full(cam: np.ndarray, box_center: np.ndarray, box_size: np.ndarray,
                     focal: np.ndarray, princpt: np.ndarray) -> np.ndarray:
    """Weak-perspective crop camera (B,3) [s, tx, ty] -> camera-space translation (B,3).

    tz = 2 f / (s b);  tx' = tx + 2 (c_x - p_x) / (s b);  ty' = ty + 2 (c_y - p_y) / (s b)
    with box centre c, box size b, focal f, principal point p (HMR / 4D-Humans convention).
    """
    cam = np.asarray(cam, np.float64)
    sb = np.maximum(cam[:, 0] * box_size, 1e-9)
    tz = 2.0 * focal[0] / sb
    tx = cam[:, 1] + 2.0 * (box_center[:, 0] - princpt[0]) / sb
    ty = cam[:, 2] + 2.0 * (box_center[:, 1] - princpt[1]) / sb
    return np.stack([tx, ty, tz], axis=1)


@DTO_STAGES.register_module()
class NoInitialHMR(BaseStage):
    """No initial HMR configured: detections without a matching input person are dropped,
    and counted (``unmatched_detections_dropped``) in the image record."""
    name = 'initial_hmr'

    def needs(self, state: ImageState) -> bool:
        return len(state.extra.get('unmatched_dets', ())) > 0

    def process(self, states: List[ImageState]) -> None:
        for s in states:
            s.count('unmatched_detections_dropped', len(s.extra.pop('unmatched_dets')))


@DTO_STAGES.register_module()
class TorchScriptInitialHMR(BaseStage):
    """Fresh SMPL estimates for unmatched detections from a TorchScript HMR on masked crops;
    they are appended after the input persons (input order is never changed)."""
    name = 'initial_hmr'
    needs_pixels = True

    def __init__(self, model_path: str, crop_size: int = 256, batch_size: int = 32,
                 device: Optional[str] = None):
        self.device = resolve_device(device)
        self.model = _load_script(model_path, self.device)
        self.size, self.batch_size = crop_size, batch_size

    def needs(self, state: ImageState) -> bool:
        return len(state.extra.get('unmatched_dets', ())) > 0 and state.focal is not None

    @torch.no_grad()
    def process(self, states: List[ImageState]) -> None:
        for s in states:
            dets = np.asarray(s.extra.pop('unmatched_dets'), np.int64)
            d = s.detections
            x = square_crops(s.image(), d.boxes[dets], self.size, None if d.masks is None else d.masks[dets])
            out = torch.cat([self.model(x[i:i + self.batch_size].to(self.device)).float().cpu()
                             for i in range(0, len(x), self.batch_size)]).numpy().reshape(len(dets), 85)
            b = d.boxes[dets]
            center = (b[:, :2] + b[:, 2:]) / 2
            size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
            transl = cam_crop_to_full(out[:, 82:85], center, size, s.focal, s.princpt)
            _append_persons(s, out[:, :3], out[:, 3:72], out[:, 72:82], transl, dets)
            s.count('hmr_persons_added', len(dets))


def _append_persons(s: ImageState, go, bp, betas, transl, dets) -> None:
    p = s.persons
    nb = max(p.betas.shape[1], betas.shape[1])
    pad = lambda b: np.concatenate([b, np.zeros((len(b), nb - b.shape[1]))], 1)  # noqa: E731
    kp = None
    if p.kpts2d is not None:
        kp = np.concatenate([p.kpts2d, np.zeros((len(dets),) + p.kpts2d.shape[1:])])
    boxes = None if p.boxes is None else np.concatenate([p.boxes, s.detections.boxes[dets]])
    s.persons = Persons(np.concatenate([p.global_orient, go]), np.concatenate([p.body_pose, bp]),
                        np.concatenate([pad(p.betas), pad(betas)]), np.concatenate([p.transl, transl]),
                        list(p.source) + [SRC_HMR] * len(dets),
                        np.concatenate([p.source_index, dets]), kp, boxes)
    s.person_det = np.concatenate([s.person_det if s.person_det is not None
                                   else -np.ones(len(p), np.int64), dets])
    if s.age is not None:
        s.age = np.concatenate([s.age, np.full(len(dets), np.nan)])
        s.p_male = np.concatenate([s.p_male, np.full(len(dets), np.nan)])
