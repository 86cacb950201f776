"""Registered MMEngine metrics of the benchmark protocols (method.md §4)."""
from __future__ import annotations

from .fov import FoVMetric
from .mesh import MeshMetric
from .mupots import MuPoTSMetric
from .panoptic import PanopticMetric
from .relative_human import RelativeHumanMetric

__all__ = ['RelativeHumanMetric', 'MeshMetric', 'MuPoTSMetric', 'PanopticMetric', 'FoVMetric']
