"""Distributed-training glue for CPU (gloo) runs."""

from __future__ import annotations

from mmengine.model import MMDistributedDataParallel

from ..registry import MODEL_WRAPPERS

__all__ = ['CPUDistributedDataParallel']


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """MMEngine's DDP wrapper for CPU modules: DDP requires ``device_ids=None`` there,
    while the Runner always passes ``device_ids=[LOCAL_RANK]``."""

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(module=module, device_ids=None, **kwargs)
