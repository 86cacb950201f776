"""Per-image working state passed through the generation stages.

A reader creates one :class:`ImageState` per image; every stage reads what it needs and
fills its own fields.  Nothing is ever removed silently: stages that drop a detection or
skip an image write a counter into ``events`` or set ``status``/``reason``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

__all__ = ['SRC_RELEASE', 'SRC_HMR', 'Persons', 'Detections', 'ImageState', 'AGE_RANGE',
           'check_age_gender']

# person sources
SRC_RELEASE = 'release'   # a person of the input pGT (CameraHMR release, synthetic scene)
SRC_HMR = 'hmr'           # a fresh initial-HMR prediction for an unmatched detection


@dataclass
class Persons:
    """K persons of one image, in output order (input persons first, in input order).

    Arrays: global_orient (K,3), body_pose (K,69), betas (K,10|11), transl (K,3),
    kpts2d (K,J,3) or None (input keypoints, e.g. release ``gtkps``), boxes (K,4) or None.
    ``source`` / ``source_index``: where each person comes from (release row / detection).
    """
    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    source: List[str]
    source_index: np.ndarray
    kpts2d: Optional[np.ndarray] = None
    boxes: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.transl)

    @staticmethod
    def empty(num_betas: int = 10) -> 'Persons':
        return Persons(np.zeros((0, 3)), np.zeros((0, 69)), np.zeros((0, num_betas)),
                       np.zeros((0, 3)), [], np.zeros(0, np.int64))


@dataclass
class Detections:
    """Detector / keypoint output of one image: boxes (M,4) xyxy, scores (M,),
    masks (M,H,W) bool or None, kpts (M,17,3) COCO [x, y, score] or None."""
    boxes: np.ndarray
    scores: np.ndarray
    masks: Optional[np.ndarray] = None
    kpts: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, idx) -> 'Detections':
        idx = np.asarray(idx, np.int64)
        return Detections(self.boxes[idx], self.scores[idx],
                          None if self.masks is None else self.masks[idx],
                          None if self.kpts is None else self.kpts[idx])


@dataclass
class ImageState:
    """Everything known about one image while it moves through the stages.

    Attributes:
        img_id: key of the image in the outputs (path relative to the image root).
        img_path: absolute path of the image file or None (no pixels available).
        ori_shape: (H, W) or None until known.
        persons: :class:`Persons`.
        focal, princpt: (2,) intrinsics or None until a stage sets them.
        detections: :class:`Detections` or None (no detector run).
        person_det: (K,) detection index matched to each person (-1 none) or None.
        masks: (K,H,W) bool per-person instance masks or None.
        depth: (H,W) float32 relative depth map or None; ``depth_kind`` 'disparity'
            (affine-invariant inverse depth, e.g. Depth Anything) or 'depth'.
        age: (K,) years (NaN unknown); p_male: (K,) in [0,1] (NaN unknown).
        status: 'pending' -> 'kept' | 'rejected' | 'skipped'; reason: why (or '').
        notes: things noticed about the inputs that did not stop the image (each also
            counted in ``events`` under its head, e.g. 'mask_file_missing').
        events: counters of everything dropped or noted (e.g. 'unmatched_detections_dropped').
        timings: seconds per stage.
        dto: per-image DTO record (JSON-able dict) once DTO ran.
        extra: reader-specific annotations (e.g. age/gender annotations).
    """
    img_id: str
    img_path: Optional[str]
    ori_shape: Optional[Tuple[int, int]]
    persons: Persons
    focal: Optional[np.ndarray] = None
    princpt: Optional[np.ndarray] = None
    detections: Optional[Detections] = None
    person_det: Optional[np.ndarray] = None
    masks: Optional[np.ndarray] = None
    depth: Optional[np.ndarray] = None
    depth_kind: str = 'disparity'
    age: Optional[np.ndarray] = None
    p_male: Optional[np.ndarray] = None
    status: str = 'pending'
    reason: str = ''
    notes: List[str] = field(default_factory=list)
    events: Dict[str, int] = field(default_factory=dict)
    timings: Dict[str, float] = field(default_factory=dict)
    dto: Optional[dict] = None
    refined: Optional[Persons] = None
    extra: dict = field(default_factory=dict)
    _image: Optional[np.ndarray] = None

    @property
    def active(self) -> bool:
        return self.status == 'pending'

    def skip(self, reason: str) -> None:
        """Stop processing this image, keeping the reason in its record."""
        self.status, self.reason = 'skipped', reason

    def count(self, event: str, n: int = 1) -> None:
        self.events[event] = self.events.get(event, 0) + int(n)

    def note(self, text: str) -> None:
        """Record something odd about the inputs (``'<event>: details'``) and count it."""
        self.notes.append(text)
        self.count(text.split(':')[0].strip())

    def image(self) -> np.ndarray:
        """(H,W,3) uint8 RGB pixels, loaded on first use."""
        if self._image is None:
            if self.img_path is None:
                raise FileNotFoundError(f'image {self.img_id}: no image file available')
            from PIL import Image
            with Image.open(self.img_path) as im:
                self._image = np.asarray(im.convert('RGB'))
            self.ori_shape = tuple(self._image.shape[:2])
        return self._image

    def release_pixels(self) -> None:
        """Free the decoded image (called once all network stages are done)."""
        self._image = None


# plausible ranges of the age / gender inputs (years; probability)
AGE_RANGE = (0.0, 120.0)


def check_age_gender(s: ImageState, source: str) -> None:
    """Out-of-range age (outside ``AGE_RANGE``) or P(male) (outside [0, 1]) values become
    unknown (NaN, DTO's fallback prior) and are noted per person; NaN stays unknown."""
    for i in range(len(s.persons)):
        if s.age is not None and not np.isnan(s.age[i]) and not AGE_RANGE[0] <= s.age[i] <= AGE_RANGE[1]:
            s.note(f'age_out_of_range: {source}: person {i} has age {s.age[i]:.6g} '
                   f'(outside {AGE_RANGE}); used as unknown')
            s.age[i] = np.nan
        if s.p_male is not None and not np.isnan(s.p_male[i]) and not 0.0 <= s.p_male[i] <= 1.0:
            s.note(f'p_male_out_of_range: {source}: person {i} has p_male {s.p_male[i]:.6g} '
                   '(outside [0, 1]); used as unknown')
            s.p_male[i] = np.nan
