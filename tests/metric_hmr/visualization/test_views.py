import numpy as np
import pytest

from metric_hmr.visualization import PALETTE, person_labels, render_view
from metric_hmr.visualization.views import frustum_edges

# (x, z) of four persons: depth order differs from left-right order
CENTERS = [(1.0, 3.0), (-1.5, 5.0), (0.5, 8.0), (-0.5, 11.0)]
HEIGHTS = [1.8, 1.1, 1.6, 0.9]


def _marker_centroids(img, k_count):
    """Centroid (row, col) of the pixels drawn in exactly each person's palette colour."""
    out = []
    for k in range(k_count):
        d = np.abs(img.astype(int) - PALETTE[k].astype(int)).sum(2)
        rows, cols = np.nonzero(d < 12)
        assert len(rows) > 30, f'marker of person {k} not found'
        out.append((rows.mean(), cols.mean()))
    return np.array(out)


@pytest.mark.parametrize('with_clouds', [False, True])
def test_birds_eye_orders_persons_by_depth(make_scene, with_clouds):
    sample, verts, _ = make_scene(CENTERS, HEIGHTS)
    pred = sample['pred']
    img = render_view(pred['transl'], pred['focal'], pred['princpt'], sample['ori_shape'], 'bev',
                      vertices=verts if with_clouds else None, labels=person_labels(pred),
                      size=(500, 500))
    assert img.shape == (500, 500, 3) and img.dtype == np.uint8
    c = _marker_centroids(img, 4)
    depth = pred['transl'][:, 2]
    x = pred['transl'][:, 0]
    # farther persons are higher in the picture (smaller row), left-right follows x
    np.testing.assert_array_equal(np.argsort(-c[:, 0]), np.argsort(depth))
    np.testing.assert_array_equal(np.argsort(c[:, 1]), np.argsort(x))
    # metric: one metre is as long vertically as horizontally (equal aspect)
    px_per_m_z = (c[0, 0] - c[3, 0]) / (depth[3] - depth[0])
    px_per_m_x = (c[0, 1] - c[1, 1]) / (x[0] - x[1])
    assert px_per_m_z == pytest.approx(px_per_m_x, rel=0.05)


def test_side_view_orders_persons_by_depth_and_height(make_scene):
    sample, verts, _ = make_scene(CENTERS, HEIGHTS)
    pred = sample['pred']
    img = render_view(pred['transl'], pred['focal'], pred['princpt'], sample['ori_shape'], 'side',
                      vertices=verts, size=(500, 500))
    c = _marker_centroids(img, 4)
    np.testing.assert_array_equal(np.argsort(c[:, 1]), np.argsort(pred['transl'][:, 2]))
    # a taller person's centre (feet on the same floor) is drawn higher
    np.testing.assert_array_equal(np.argsort(c[:, 0]), np.argsort(-np.asarray(HEIGHTS)))


def test_frustum_edges():
    left, right = frustum_edges((500, 500), (320, 240), (480, 640), 'bev')
    assert left == pytest.approx(-320 / 500) and right == pytest.approx(320 / 500)
    low, high = frustum_edges((500, 500), (320, 100), (480, 640), 'side')
    assert low == pytest.approx(-380 / 500) and high == pytest.approx(100 / 500)


def test_view_rejects_unknown_name():
    with pytest.raises(ValueError, match='unknown view'):
        render_view(np.zeros((1, 3)) + [0, 0, 3], (500, 500), (320, 240), (480, 640), 'front')
