import numpy as np
from PIL import Image

from metric_hmr.dto.raster import rasterize_persons
from metric_hmr.visualization import PALETTE, render_overlay, save_png
from metric_hmr.visualization.labels import PersonLabel, person_labels
from metric_hmr.visualization.overlay import draw_person_labels
from metric_hmr.visualization.shading import face_normals, face_normals_towards_camera, lambert


def _textured_background(h, w):
    rng = np.random.default_rng(3)
    return rng.integers(0, 80, size=(h, w, 3), dtype=np.uint8)  # dark noise, unlike the palette


def test_overlay_png_person_pixels_inside_mask_background_elsewhere(tmp_path, scene3):
    sample, verts, faces = scene3
    H, W = sample['ori_shape']
    bg = _textured_background(H, W)
    ov = render_overlay(bg, verts, faces, sample['pred']['focal'], sample['pred']['princpt'],
                        resolution=None, alpha=0.8)
    png = save_png(tmp_path / 'overlay.png', ov.image)
    img = np.asarray(Image.open(png).convert('RGB')).astype(int)
    mask = ov.person_id >= 0

    # the mask is the rasteriser's z-buffer coverage
    ras = rasterize_persons(verts, faces, sample['pred']['focal'], sample['pred']['princpt'], (H, W),
                            resolution=None)
    np.testing.assert_array_equal(ov.person_id, ras.person_id)
    assert 0.02 < mask.mean() < 0.5

    # background: untouched pixels
    np.testing.assert_array_equal(img[~mask], bg[~mask])
    # persons: every covered pixel changed, towards the person's own colour
    assert (np.abs(img[mask] - bg[mask]).sum(1) > 0).all()
    for k in range(3):
        pix = img[ov.person_id == k].astype(float)
        assert len(pix) > 100
        hue = pix / (pix.sum(1, keepdims=True) + 1e-9)
        pal = PALETTE[:3].astype(float)
        pal /= pal.sum(1, keepdims=True)
        dist = np.linalg.norm(hue[:, None, :] - pal[None], axis=2)
        assert (dist.argmin(1) == k).mean() > 0.95, f'person {k} not drawn in its colour'


def test_overlay_nearer_person_occludes(cylinder_mesh):
    near, faces = cylinder_mesh((0.0, 3.0), 1.7)
    far, _ = cylinder_mesh((0.0, 6.0), 1.7)
    ov = render_overlay(None, [far, near], faces, (500, 500), (320, 240), image_size=(480, 640),
                        resolution=None)
    cy, cx = 240, 320
    assert ov.person_id[cy, cx] == 1          # the near person (index 1) wins the centre
    assert ov.depth[cy, cx] < 3.0


def test_flat_shading_of_a_tilted_plane():
    # two triangles of one plane tilted 40 degrees about the y axis, 5 m in front
    a = np.radians(40)
    n_true = np.array([np.sin(a), 0, -np.cos(a)])            # faces the camera
    t1, t2 = np.array([np.cos(a), 0, np.sin(a)]), np.array([0, 1.0, 0])
    c = np.array([0, 0, 5.0])
    v = np.stack([c - t1 - t2, c + t1 - t2, c + t1 + t2, c - t1 + t2])
    f = np.array([[0, 1, 2], [0, 2, 3]])
    bg = np.zeros((480, 640, 3), np.uint8)
    ov = render_overlay(bg, [v], f, (500, 500), (320, 240), resolution=None, alpha=1.0)
    mask = ov.person_id == 0
    assert mask.sum() > 10000
    expect = np.clip(PALETTE[0].astype(float) * lambert(n_true) + 0.5, 0, 255).astype(np.uint8)
    np.testing.assert_allclose(ov.image[mask], np.broadcast_to(expect, (mask.sum(), 3)), atol=1)


def test_flat_shading_cylinder_lit_side_brighter(cylinder_mesh):
    v, f = cylinder_mesh((0.0, 4.0), 1.7)
    ov = render_overlay(np.zeros((480, 640, 3), np.uint8), [v], f, (500, 500), (320, 240),
                        resolution=None, alpha=1.0)
    # per-face normals: the (front) triangle under each pixel, towards the camera
    n = face_normals_towards_camera(v, f)
    r, c = np.nonzero(ov.person_id == 0)
    levels = np.unique(np.round(lambert(n), 6))
    got = ov.image[r, c, 0].astype(float) / PALETTE[0, 0]
    # every pixel's brightness is the Lambert level of one of the mesh's faces
    assert np.abs(got[:, None] - levels[None]).min(1).max() < 0.02
    # light from the upper left: the left side of the cylinder is brighter than the right
    row = ov.image[300, :, 0].astype(int)
    cols = np.nonzero(row)[0]
    assert row[cols[: len(cols) // 4]].mean() > row[cols[-len(cols) // 4:]].mean()


def test_face_normals_and_lambert():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    np.testing.assert_allclose(face_normals(v, np.array([[0, 1, 2]])), [[0, 0, 1]])
    assert lambert(np.array([0, 0, -1.0]), light_dir=(0, 0, -1), ambient=0.3) == 1.0
    assert lambert(np.array([0, 0, 1.0]), light_dir=(0, 0, -1), ambient=0.3) == 0.3


def test_labels_text_and_drawing(scene3):
    sample, verts, faces = scene3
    labels = person_labels(sample['pred'])
    assert labels[1].text() == '#1 1.15m\u00b10.05 z6.0m kid'
    assert PersonLabel(0).text() == '#0'
    ov = render_overlay(None, verts, faces, sample['pred']['focal'], sample['pred']['princpt'],
                        image_size=sample['ori_shape'], resolution=None)
    drawn = draw_person_labels(ov.image, ov.person_id, labels)
    changed = np.abs(drawn.astype(int) - ov.image.astype(int)).sum(2) > 0
    # label boxes are drawn above each person's silhouette top
    for k in range(3):
        rows, cols = np.nonzero(ov.person_id == k)
        top = rows.min()
        band = changed[max(0, top - 30):top, cols.min():cols.max() + 1]
        assert band.any(), f'no label above person {k}'
