"""Common base of generation stages: batched call over images, device choice, skipping."""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Iterator, List, Optional

import torch

from .state import ImageState

__all__ = ['resolve_device', 'weights_only_loads', 'BaseStage']


@contextmanager
def weights_only_loads(enabled: bool = True) -> Iterator[None]:
    """Inside, ``torch.load`` calls that do not choose ``weights_only`` themselves (MMEngine's
    checkpoint loader, used by mmdet / mmpose model builders) load with ``weights_only=True``:
    tensors and allow-listed types only, whatever the installed torch's default or the
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` variable says.  ``enabled=False`` (a config's explicit
    choice for a trusted checkpoint) leaves torch's default."""
    if not enabled:
        yield
        return
    real = torch.load

    def load(*args, **kwargs):
        kwargs.setdefault('weights_only', True)
        return real(*args, **kwargs)
    torch.load = load
    try:
        yield
    finally:
        torch.load = real


def resolve_device(device: Optional[str] = None) -> torch.device:
    """The configured device, else ``cuda:LOCAL_RANK`` when a GPU is present, else CPU."""
    if device:
        return torch.device(device)
    if torch.cuda.is_available():
        import os
        return torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count())
    return torch.device('cpu')


class BaseStage(ABC):
    """A pipeline stage.  ``__call__`` receives a batch of images and updates them in place.

    Subclasses implement :meth:`needs` (does this image still need the stage's result?) and
    :meth:`process` (work on the images that need it, batched).  Images already provided
    with the result by their reader (or skipped) are left alone, which makes every stage
    skippable when the input already has what it computes.
    """
    name = 'stage'
    needs_pixels = False

    def needs(self, state: ImageState) -> bool:
        return True

    @abstractmethod
    def process(self, states: List[ImageState]) -> None:
        """Compute this stage's result for ``states`` (all active and needing it)."""

    def __call__(self, states: List[ImageState]) -> None:
        todo = [s for s in states if s.active and self.needs(s)]
        if self.needs_pixels:
            ready = []
            for s in todo:
                if s.img_path is None:
                    s.skip(f'{self.name}: needs image pixels, none available')
                    continue
                try:
                    s.image()
                except Exception as e:  # noqa: BLE001  (a broken file is recorded, not fatal)
                    s.skip(f'unreadable_image: {s.img_path}: {type(e).__name__}: {e}')
                    continue
                ready.append(s)
            todo = ready
        if todo:
            self.process(todo)
