"""The generation pipeline: a reader and an ordered list of stages, run on image chunks.

Per-image isolation: an error that belongs to one image never stops the run.  Readers and
stages record known problems (missing / corrupt / wrong-shape files) as skips themselves;
any other exception of a reader becomes a ``read_error`` skip, and a stage that raises on
a chunk is rerun image by image from the state before the call, so only the image that
raises is skipped (``<stage>_error: <type>: <message>``).  Environment errors (disk full,
out of memory, no permission on an output) and configuration errors still stop the run.
"""
from __future__ import annotations

import copy
import errno
import time
from typing import Callable, List, Optional, Sequence, Tuple

from ..registry import DTO_STAGES
from .records import image_record, released_entry, unpublished_reason
from .state import Detections, ImageState, Persons

__all__ = ['build_component', 'GenerationPipeline', 'is_environment_error']

# errnos of a broken environment (not of one input file): the run stops with one line
_ENV_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENOMEM, errno.EMFILE, errno.ENFILE}


def is_environment_error(e: BaseException) -> bool:
    """True for errors no other image would escape (disk full, out of memory, ...)."""
    from .config_check import ConfigError
    if isinstance(e, (MemoryError, ConfigError)):
        return True
    if isinstance(e, OSError) and e.errno in _ENV_ERRNOS:
        return True
    return type(e).__name__ in ('OutOfMemoryError',)   # torch.cuda.OutOfMemoryError


def build_component(cfg):
    """Build a DTO_STAGES component from a config dict (objects pass through)."""
    if isinstance(cfg, dict) or hasattr(cfg, 'to_dict'):
        return DTO_STAGES.build(dict(cfg))
    return cfg


def _error_text(e: BaseException) -> str:
    first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), '')
    return f'{type(e).__name__}: {first}' if first else type(e).__name__


def _snapshot(s: ImageState) -> dict:
    """Shallow copy of a state's fields (containers copied), to undo a failed stage call."""
    snap = {}
    for k, v in vars(s).items():
        if isinstance(v, (dict, list, Persons, Detections)):
            v = copy.copy(v)
        snap[k] = v
    return snap


def _restore(s: ImageState, snap: dict) -> None:
    for k, v in snap.items():
        setattr(s, k, copy.copy(v) if isinstance(v, (dict, list, Persons, Detections)) else v)


class GenerationPipeline:
    """Reader + stages.  :meth:`run` turns image ids into (records, released annots).

    Stages run on chunks of ``batch_size`` images so every network sees a batch across
    images; per-image timings split a chunk's stage time evenly over its images.
    """

    def __init__(self, reader, stages: Sequence, batch_size: int = 8,
                 on_image: Optional[Callable[[ImageState], None]] = None):
        self.reader = build_component(reader)
        self.stages = [build_component(s) for s in stages]
        self.batch_size = max(int(batch_size), 1)
        self.on_image = on_image

    def input_signature(self, img_id: str) -> str:
        """Signature of everything the image reads (reader files + stage files)."""
        parts = [self.reader.input_signature(img_id)]
        parts += [st.input_signature(img_id) for st in self.stages if hasattr(st, 'input_signature')]
        return '|'.join(parts)

    def _read(self, img_id: str) -> ImageState:
        try:
            return self.reader.load(img_id)
        except Exception as e:  # noqa: BLE001  (one image's input: recorded, not fatal)
            if is_environment_error(e):
                raise
            s = ImageState(img_id=img_id, img_path=None, ori_shape=None, persons=Persons.empty())
            s.skip(f'read_error: {img_id}: {_error_text(e)}')
            return s

    def _stage(self, stage, states: List[ImageState]) -> None:
        """Run ``stage`` on the chunk; on an error rerun it image by image (from the state
        before the call) and skip only the images that raise."""
        snaps = [_snapshot(s) for s in states]
        try:
            stage(states)
            return
        except Exception as e:  # noqa: BLE001
            if is_environment_error(e):
                raise
        for s, snap in zip(states, snaps):
            _restore(s, snap)
            if not s.active:
                continue
            try:
                stage([s])
            except Exception as e:  # noqa: BLE001
                if is_environment_error(e):
                    raise
                _restore(s, snap)
                s.skip(f'{stage.name}_error: {s.img_id}: {_error_text(e)}')
            else:
                s.count(f'{stage.name}_rerun_alone')

    def _finish(self, s: ImageState, records: list, annots: dict) -> None:
        if self.on_image is not None:
            t0 = time.perf_counter()
            try:
                self.on_image(s)
            except Exception as e:  # noqa: BLE001  (a visual is optional; the data is kept)
                if is_environment_error(e):
                    raise
                s.note(f'vis_error: {_error_text(e)}')
            s.timings['vis'] = time.perf_counter() - t0
        entry = released_entry(s) if s.status == 'kept' else None
        if entry is not None and not entry:   # DTO corrected none of its persons
            why = sorted({r.split(':')[0] for r in _unpublished(s)})
            s.skip('no_publishable_person: ' + ', '.join(why))
            entry = None
        records.append(image_record(s))
        if entry is not None:
            annots[s.img_id] = entry
        s.release_pixels()

    def run(self, img_ids: Sequence[str], progress: Optional[Callable[[int], None]] = None
            ) -> Tuple[List[dict], dict]:
        records, annots = [], {}
        for i in range(0, len(img_ids), self.batch_size):
            chunk = list(img_ids[i:i + self.batch_size])
            t0 = time.perf_counter()
            states = [self._read(x) for x in chunk]
            _share(states, 'read', time.perf_counter() - t0)
            for stage in self.stages:
                t0 = time.perf_counter()
                self._stage(stage, states)
                _share(states, stage.name, time.perf_counter() - t0)
            for s in states:
                self._finish(s, records, annots)
            if progress is not None:
                progress(len(chunk))
        return records, annots


def _unpublished(s: ImageState) -> List[str]:
    return [unpublished_reason(s, i) for i in range(len(s.persons))]


def _share(states, name, seconds):
    if not states:
        return
    for s in states:
        s.timings[name] = s.timings.get(name, 0.0) + seconds / len(states)
