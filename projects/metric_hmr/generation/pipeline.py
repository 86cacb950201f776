"""The generation pipeline: a reader and an ordered list of stages, run on image chunks."""
from __future__ import annotations

import time
from typing import Callable, List, Optional, Sequence, Tuple

from ..registry import DTO_STAGES
from .records import image_record, released_entry
from .state import ImageState


def build_component(cfg):
    """Build a DTO_STAGES component from a config dict (objects pass through)."""
    if isinstance(cfg, dict) or hasattr(cfg, 'to_dict'):
        return DTO_STAGES.build(dict(cfg))
    return cfg


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

    def run(self, img_ids: Sequence[str], progress: Optional[Callable[[int], None]] = None
            ) -> Tuple[List[dict], dict]:
        records, annots = [], {}
        for i in range(0, len(img_ids), self.batch_size):
            chunk = list(img_ids[i:i + self.batch_size])
            t0 = time.perf_counter()
            states = [self.reader.load(x) for x in chunk]
            _share(states, 'read', time.perf_counter() - t0)
            for stage in self.stages:
                t0 = time.perf_counter()
                stage(states)
                _share([s for s in states], stage.name, time.perf_counter() - t0)
            for s in states:
                if self.on_image is not None:
                    t0 = time.perf_counter()
                    self.on_image(s)
                    s.timings['vis'] = time.perf_counter() - t0
                records.append(image_record(s))
                if s.status == 'kept':
                    annots[s.img_id] = released_entry(s)
                s.release_pixels()
            if progress is not None:
                progress(len(chunk))
        return records, annots


def _share(states, name, seconds):
    if not states:
        return
    for s in states:
        s.timings[name] = s.timings.get(name, 0.0) + seconds / len(states)
