"""Stage: age and gender per person from a local transformers model (paper Sec. 3.3).

Two kinds of models, both loaded from a LOCAL folder (``local_files_only``; nothing is
downloaded, a hub id is refused):

* ``'mivolo'``: MiVOLO-v2-style models, ``model(faces_input=..., body_input=...)`` returning
  ``age_output`` (years), ``gender_probs`` and ``gender_class_idx`` (class 0 = male).  As
  the authors' generator uses it (docs/dto_generate.md, step 10-11): the body crop is the
  person box clipped to the image; the face crop is a square of 1.2 x the x-extent of the
  nose / eye / ear keypoints (none when the person faces away); every crop is also run
  horizontally flipped and the two answers averaged.  Their code is remote code, so
  ``trust_remote_code`` must be set explicitly.
* ``'classifier'``: plain image-classification models whose ``id2label`` holds age ranges
  (``'0-2'``, ``'3-9'``, ``'more than 70'``, ``'baby'`` ...) and/or genders (``'male'``,
  ``'female'``) on body crops; label strings are mapped to years (:func:`label_to_years`),
  the age is the probability-weighted mean of the age labels (``age_reduce='mean'``) or the
  most likely one (``'argmax'``); P(male) is the probability mass of the male labels
  renormalised over the gender labels.  A second classifier (``gender_model_dir``) may give
  the gender when the first has only age labels.

Every image the stage handles carries ``extra['age_gender_source']``, a one-line
description of where ages and genders came from (the other age/gender stages of
:mod:`.estimator_stages` set it too, e.g. ``UnknownAgeGender``: no model).
"""
from __future__ import annotations

import inspect
import json
import math
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..registry import DTO_STAGES
from .stage_base import BaseStage, resolve_device
from .estimator_stages import person_boxes
from .state import ImageState

__all__ = ['HFAgeGender', 'label_to_years', 'gender_of_label', 'face_box_from_keypoints',
           'clip_crop']

# OpenPose BODY_25 indices (first block of the release ``gtkps``): nose, R/L eye, R/L ear
FACE_JOINTS = (0, 15, 16, 17, 18)
_AGE_WORDS = {'baby': 1.5, 'infant': 1.0, 'toddler': 2.0, 'child': 5.5, 'kid': 5.5,
              'teen': 11.5, 'teenager': 11.5, 'adolescent': 12.0, 'adult': 40.0,
              'young adult': 25.0, 'middle aged': 45.0, 'middle-aged': 45.0, 'senior': 70.0,
              'elderly': 75.0, 'old': 70.0}
_MALE, _FEMALE = {'male', 'man', 'men', 'm', 'boy'}, {'female', 'woman', 'women', 'f', 'girl'}


def gender_of_label(label: str) -> Optional[str]:
    """'male' / 'female' for gender labels, else None."""
    key = label.strip().lower()
    return 'male' if key in _MALE else 'female' if key in _FEMALE else None


def label_to_years(label: str) -> Optional[float]:
    """Years represented by an age label, or None when the label is not an age.

    ``'a-b'`` (integer years, both inclusive) -> (a + b + 1) / 2; ``'a+'``, ``'more than a'``,
    ``'> a'`` -> a + 5; ``'a'`` -> a + 0.5; a known word (``'baby'``, ``'teen'`` ...) -> its
    table value.  Brackets and the word 'years' are ignored.
    """
    s = label.strip().lower().replace('years', '').replace('year', '').strip(' ()[]')
    m = re.fullmatch(r'(\d+(?:\.\d+)?)\s*(?:-|to|–)\s*(\d+(?:\.\d+)?)', s)
    if m:
        return (float(m.group(1)) + float(m.group(2)) + 1.0) / 2.0
    m = re.fullmatch(r'(?:(?:more than|over|above|>)\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*\+)', s)
    if m:
        return float(m.group(1) or m.group(2)) + 5.0
    if re.fullmatch(r'\d+(?:\.\d+)?', s):
        return float(s) + 0.5
    return _AGE_WORDS.get(s)


def face_box_from_keypoints(kpts: Optional[np.ndarray], scale: float = 1.2
                            ) -> Optional[np.ndarray]:
    """Square face box (4,) xyxy from OpenPose face joints, or None (released F 419-435).

    None when the eyes show the person from the back (right eye's x > left eye's x), or
    when fewer than two face joints are present (confidence > 0 where given; the released
    code has no such check and would span a box to the origin).
    """
    if kpts is None:
        return None
    k = np.asarray(kpts, np.float64)
    if k.ndim != 2 or k.shape[0] <= max(FACE_JOINTS):
        return None
    face = k[list(FACE_JOINTS)]
    ok = np.isfinite(face[:, :2]).all(1)
    if face.shape[1] > 2:
        ok &= face[:, 2] > 0
    if ok.sum() < 2:
        return None
    if ok[1] and ok[2] and face[1, 0] > face[2, 0]:
        return None
    pts = face[ok, :2]
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    side = (x1 - x0) * scale
    if side <= 0:
        return None
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)],
                    np.float64)


def clip_crop(image: np.ndarray, box) -> Optional[np.ndarray]:
    """Pixels of ``box`` (xyxy) clipped to the image; None when empty or unknown."""
    if box is None or not np.isfinite(box).all():
        return None
    h, w = image.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = max(0, min(w, int(box[2]))), max(0, min(h, int(box[3])))
    return image[y0:y1, x0:x1].copy() if (x1 > x0 and y1 > y0) else None


def _local_dir(path: str, what: str) -> str:
    if not path or not os.path.isdir(path):
        raise FileNotFoundError(f'{what}: local model folder not found: {path!r} (models are '
                                'never downloaded; save one with save_pretrained)')
    return path


def _needs_remote_code(model_dir: str) -> bool:
    """Whether the folder's ``config.json`` points at model code shipped in the folder."""
    cfg = os.path.join(model_dir, 'config.json')
    try:
        with open(cfg, encoding='utf-8') as fh:
            return bool(json.load(fh).get('auto_map'))
    except (OSError, ValueError):
        return False        # transformers names a missing / broken config itself


def _load(model_dir: str, trust_remote_code: bool, device, dtype):
    from transformers import AutoImageProcessor, AutoModelForImageClassification
    # 1. refuse foreign code unless the config opted in (before transformers reads the folder)
    if not trust_remote_code and _needs_remote_code(model_dir):
        raise ValueError(f'HFAgeGender: {model_dir!r} ships its own model code (config.json '
                         'auto_map, e.g. MiVOLO v2); it runs only with trust_remote_code=True '
                         'in the stage config, for a folder you trust')
    model = AutoModelForImageClassification.from_pretrained(
        model_dir, local_files_only=True, trust_remote_code=trust_remote_code, torch_dtype=dtype)
    proc = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True,
                                              trust_remote_code=trust_remote_code)
    return model.to(device).eval(), proc


def _label_tables(model, model_dir: str, age_labels: Optional[Dict[str, float]]):
    """(age index, years), (gender index, is_male) lists from ``config.id2label``."""
    id2label = {int(k): str(v) for k, v in getattr(model.config, 'id2label', {}).items()}
    ages, genders, unknown = [], [], []
    for i in sorted(id2label):
        lab = id2label[i]
        g = gender_of_label(lab)
        y = (age_labels or {}).get(lab, label_to_years(lab)) if g is None else None
        if g is not None:
            genders.append((i, g == 'male'))
        elif y is not None:
            ages.append((i, float(y)))
        else:
            unknown.append(lab)
    if unknown:
        raise ValueError(f'{model_dir}: labels {unknown} are neither an age nor a gender; '
                         'map them with age_labels={label: years}')
    if not ages and not genders:
        raise ValueError(f'{model_dir}: id2label has no age or gender labels')
    return ages, genders


@DTO_STAGES.register_module()
class HFAgeGender(BaseStage):
    """Age (years) and P(male) per person from a local transformers model (see module doc).

    Args:
        model_dir: local ``save_pretrained`` folder (MiVOLO-v2-style or a classifier).
        kind: 'auto' (MiVOLO when ``forward`` takes ``faces_input``), 'mivolo', 'classifier'.
        gender_model_dir: optional second classifier for the gender.
        trust_remote_code: allow the folder's own model code (MiVOLO v2 needs it).
        flip_average: also run horizontally flipped crops and average (released: True).
        missing_face: 'none' passes None for persons without a face crop (MiVOLO v2's
            processor accepts it), 'zeros' a black 8x8 crop (processors that need pixels).
        age_reduce: classifier age: 'mean' (expected value) or 'argmax'.
        age_labels: {label: years} for labels :func:`label_to_years` does not know.
        dtype: 'auto' (float16 on GPU, float32 on CPU), 'float32', 'float16', 'bfloat16'.
        batch_size: persons per forward pass (across images of the chunk).
    """
    name = 'age_gender'
    needs_pixels = True

    def __init__(self, model_dir: str, kind: str = 'auto', gender_model_dir: Optional[str] = None,
                 trust_remote_code: bool = False, flip_average: bool = True,
                 missing_face: str = 'none', age_reduce: str = 'mean',
                 age_labels: Optional[Dict[str, float]] = None, dtype: str = 'auto',
                 batch_size: int = 64, device: Optional[str] = None):
        if kind not in ('auto', 'mivolo', 'classifier'):
            raise ValueError(f"kind must be 'auto', 'mivolo' or 'classifier', got {kind!r}")
        if missing_face not in ('none', 'zeros') or age_reduce not in ('mean', 'argmax'):
            raise ValueError(f'bad missing_face {missing_face!r} or age_reduce {age_reduce!r}')
        self.device = resolve_device(device)
        dt = {'auto': torch.float16 if self.device.type == 'cuda' else torch.float32,
              'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}[dtype]
        self.model, self.proc = _load(_local_dir(model_dir, 'HFAgeGender'), trust_remote_code,
                                      self.device, dt)
        params = inspect.signature(self.model.forward).parameters
        self.kind = kind if kind != 'auto' else ('mivolo' if 'faces_input' in params else 'classifier')
        self.tables = None if self.kind == 'mivolo' else _label_tables(self.model, model_dir, age_labels)
        self.gender = None
        if gender_model_dir:
            gm, gp = _load(_local_dir(gender_model_dir, 'HFAgeGender gender model'),
                           trust_remote_code, self.device, dt)
            self.gender = (gm, gp, _label_tables(gm, gender_model_dir, None)[1])
        self.flip, self.missing_face, self.age_reduce = flip_average, missing_face, age_reduce
        self.batch_size = int(batch_size)
        self.source = f'age/gender: {self.kind} model {os.path.basename(os.path.normpath(model_dir))}' + (
            f' + gender model {os.path.basename(os.path.normpath(gender_model_dir))}' if gender_model_dir else '')

    def needs(self, state: ImageState) -> bool:
        return state.age is None

    # ------------------------------------------------------------------ crops
    def _crops(self, states: List[ImageState]):
        """Body and face crops of every person with a box, and their owners."""
        bodies, faces, owners = [], [], []
        for s in states:
            k = len(s.persons)
            s.age, s.p_male = np.full(k, np.nan), np.full(k, np.nan)
            s.extra['age_gender_source'] = self.source
            img = s.image()
            boxes = person_boxes(s)
            kp = s.persons.kpts2d
            for i in range(k):
                body = clip_crop(img, boxes[i])
                if body is None:
                    s.count('age_gender_no_box')
                    continue
                face = clip_crop(img, face_box_from_keypoints(None if kp is None else kp[i]))
                bodies.append(body)
                faces.append(face)
                owners.append((s, i))
        return bodies, faces, owners

    def _prep(self, proc, crops: Sequence[Optional[np.ndarray]]) -> torch.Tensor:
        if self.missing_face == 'zeros':
            crops = [c if c is not None else np.zeros((8, 8, 3), np.uint8) for c in crops]
        x = proc(images=list(crops), return_tensors='pt')['pixel_values']
        return x.to(self.device, dtype=next(self.model.parameters()).dtype)

    # ------------------------------------------------------------------ models
    def _run_mivolo(self, bodies, faces) -> Tuple[np.ndarray, np.ndarray]:
        out = self.model(faces_input=self._prep(self.proc, faces),
                         body_input=self._prep(self.proc, bodies))
        age = out.age_output.float().reshape(-1).cpu().numpy()
        prob = out.gender_probs.float().reshape(-1).cpu().numpy()
        cls = out.gender_class_idx.float().reshape(-1).cpu().numpy()
        return age, np.where(cls < 0.5, prob, 1.0 - prob)   # class 0 = male

    def _run_classifier(self, model, proc, tables, bodies) -> Tuple[np.ndarray, np.ndarray]:
        logits = model(pixel_values=self._prep(proc, bodies)).logits.float().cpu()
        ages, genders = tables
        age = np.full(len(bodies), np.nan)
        p_male = np.full(len(bodies), np.nan)
        if ages:
            idx = [i for i, _ in ages]
            years = np.array([y for _, y in ages])
            p = torch.softmax(logits[:, idx], -1).numpy()
            age = p @ years if self.age_reduce == 'mean' else years[p.argmax(1)]
        if genders:
            p = torch.softmax(logits[:, [i for i, _ in genders]], -1).numpy()
            p_male = p[:, [m for _, m in genders]].sum(1)
        return age, p_male

    def _predict(self, bodies, faces) -> Tuple[np.ndarray, np.ndarray]:
        if self.kind == 'mivolo':
            age, pm = self._run_mivolo(bodies, faces)
        else:
            age, pm = self._run_classifier(self.model, self.proc, self.tables, bodies)
        if self.gender is not None:
            gm, gp, gt = self.gender
            _, pm = self._run_classifier(gm, gp, ([], gt), bodies)
        return age, pm

    @torch.no_grad()
    def process(self, states: List[ImageState]) -> None:
        bodies, faces, owners = self._crops(states)
        flip = lambda cs: [None if c is None else np.ascontiguousarray(c[:, ::-1]) for c in cs]  # noqa: E731
        for a in range(0, len(owners), self.batch_size):
            b, f = bodies[a:a + self.batch_size], faces[a:a + self.batch_size]
            age, pm = self._predict(b, f)
            if self.flip:
                age2, pm2 = self._predict(flip(b), flip(f))
                age, pm = (age + age2) / 2.0, (pm + pm2) / 2.0
            for (s, i), y, p in zip(owners[a:a + self.batch_size], age, pm):
                s.age[i] = max(float(y), 0.0) if math.isfinite(y) else np.nan
                s.p_male[i] = float(np.clip(p, 0.0, 1.0)) if math.isfinite(p) else np.nan
