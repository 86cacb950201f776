"""Seeing the result: overlays, bird's-eye/side views, exports and the HTML report.

* :mod:`.overlay`  meshes over the image (CPU z-buffer of :mod:`metric_hmr.dto.raster`, flat
  Lambert shading), per-person labels;
* :mod:`.views`    bird's-eye and side views with the camera frustum and a metric grid;
* :mod:`.panels`   before/after DTO pictures;
* :mod:`.export`   npz/json with the standard keys, GLB scenes (:mod:`.glb`);
* :mod:`.report`   offline HTML report with statistics, gallery and a WebGL 3D view;
* :mod:`.writer`   :class:`VisualizationWriter` for every n-th image of a run;
* :mod:`.visualizer` the registered MMEngine :class:`MetricHMRVisualizer`.

See docs/visualization.md.
"""
from __future__ import annotations

from .export import (EXPORT_KEYS, export_glb, export_params, opencv_to_gltf, scene_glb_bytes,
                     vertical_fov)
from .labels import PALETTE, PersonLabel, age_group_name, person_color, person_labels
from .overlay import OverlayResult, draw_person_labels, load_image, render_overlay
from .panels import render_panels
from .report import write_report
from .run_records import find_records, load_records, load_run
from .scene import MeshScene
from .views import render_view
from .visualizer import MetricHMRVisualizer
from .writer import VisualizationWriter, make_record, maybe_visualize, save_png

__all__ = [
    'EXPORT_KEYS', 'export_glb', 'export_params', 'opencv_to_gltf', 'scene_glb_bytes',
    'vertical_fov', 'PALETTE', 'PersonLabel', 'age_group_name', 'person_color', 'person_labels',
    'OverlayResult', 'draw_person_labels', 'load_image', 'render_overlay', 'render_panels',
    'find_records', 'load_records', 'load_run', 'write_report', 'MeshScene', 'render_view',
    'MetricHMRVisualizer', 'VisualizationWriter', 'make_record', 'maybe_visualize', 'save_png',
]
