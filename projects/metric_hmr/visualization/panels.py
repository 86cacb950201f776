"""Compose overlays and views into one picture per image (before/after DTO side by side)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .overlay import draw_person_labels, render_overlay
from .scene import MeshScene
from .views import render_view

__all__ = ['titled', 'grid', 'overlay_with_labels', 'render_panels']


def titled(image: np.ndarray, title: str, bar: int = 24) -> np.ndarray:
    """Add a white title bar above an (h, w, 3) uint8 image."""
    h, w = image.shape[:2]
    out = np.full((h + bar, w, 3), 255, dtype=np.uint8)
    out[bar:] = image
    cv2.putText(out, title, (6, bar - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 1, cv2.LINE_AA)
    return out


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    if h == height:
        return image
    new_w = max(1, int(round(w * height / h)))
    return cv2.resize(image, (new_w, height), interpolation=cv2.INTER_AREA)


def grid(rows: Sequence[Sequence[np.ndarray]], tile_height: int, pad: int = 6) -> np.ndarray:
    """Lay out tiles row by row; each tile is resized to ``tile_height``; white padding."""
    row_imgs: List[np.ndarray] = []
    for row in rows:
        tiles = [_fit_height(t, tile_height) for t in row]
        sep = np.full((tile_height, pad, 3), 255, np.uint8)
        parts = []
        for i, t in enumerate(tiles):
            parts += ([sep] if i else []) + [t]
        row_imgs.append(np.concatenate(parts, axis=1))
    width = max(r.shape[1] for r in row_imgs)
    out = []
    for i, r in enumerate(row_imgs):
        if r.shape[1] < width:
            r = np.concatenate([r, np.full((r.shape[0], width - r.shape[1], 3), 255, np.uint8)], 1)
        if i:
            out.append(np.full((pad, width, 3), 255, np.uint8))
        out.append(r)
    return np.concatenate(out, axis=0)


def overlay_with_labels(scene: MeshScene, image: Optional[np.ndarray],
                        resolution: Optional[int] = 1024,
                        alpha: float = 0.8) -> Tuple[np.ndarray, np.ndarray]:
    """Shaded overlay plus per-person labels; returns (image, person_id)."""
    ov = render_overlay(image, scene.vertices, scene.faces, scene.focal, scene.princpt,
                        scene.image_size, resolution=resolution, alpha=alpha)
    return draw_person_labels(ov.image, ov.person_id, scene.labels), ov.person_id


def render_panels(scene: MeshScene, image: Optional[np.ndarray], before: Optional[MeshScene] = None,
                  resolution: Optional[int] = 1024, view_size: int = 480,
                  alpha: float = 0.8) -> Dict[str, np.ndarray]:
    """All pictures of one image.

    Args:
        scene: persons to show (after DTO when ``before`` is given).
        image: (H, W, 3) uint8 RGB photo or None (grey canvas).
        before: the same persons before DTO (same order), or None.
        resolution: longest side of the overlays.
        view_size: side of the square bird's-eye/side views in pixels.

    Returns:
        dict with 'overlay', 'bev', 'side', 'panel' (and 'overlay_before' with ``before``).
        'panel' is [overlay | bird's-eye | side] or, with ``before``,
        [before | after] over [bird's-eye before->after | side after].
    """
    out: Dict[str, np.ndarray] = {}
    out['overlay'], _ = overlay_with_labels(scene, image, resolution, alpha)
    before_t = None if before is None else before.transl
    if before is not None and len(before.transl) != len(scene.transl):
        raise ValueError(f'before has {len(before.transl)} persons, after has {len(scene.transl)}')
    common = dict(focal=scene.focal, princpt=scene.princpt, image_size=scene.image_size,
                  labels=scene.labels, size=(view_size, view_size))
    out['bev'] = render_view(scene.transl, view='bev', vertices=scene.vertices,
                             before_transl=before_t,
                             title="bird's-eye view" + ('' if before is None else ' (o before -> * after)'),
                             **common)
    out['side'] = render_view(scene.transl, view='side', vertices=scene.vertices, **common)
    tile_h = out['overlay'].shape[0]
    if before is None:
        out['panel'] = grid([[titled(out['overlay'], 'overlay'), titled(out['bev'], ''),
                              titled(out['side'], '')]], tile_h + 24)
    else:
        out['overlay_before'], _ = overlay_with_labels(before, image, resolution, alpha)
        top = [titled(out['overlay_before'], 'before DTO'), titled(out['overlay'], 'after DTO')]
        bottom = [out['bev'], out['side']]
        out['panel'] = grid([top, bottom], tile_h + 24)
    return out
