"""Z-buffer rasteriser: coverage, occlusion ordering, masks, resolution scaling."""
import numpy as np
import pytest

from metric_hmr.dto import raster as R
from metric_hmr.dto.raster import raster_size, rasterize_persons

F_SQ = np.array([[0, 1, 2], [0, 2, 3]])
BACKENDS = ['numpy'] + (['numba'] if R._HAVE_NUMBA else [])


def square(cx, cy, z, half):
    return np.array([[cx - half, cy - half, z], [cx + half, cy - half, z],
                     [cx + half, cy + half, z], [cx - half, cy + half, z]], float)


def grid_plane(x0, x1, y0, y1, z, n=21):
    """Dense planar grid mesh (so interior vertices exist for visibility tests)."""
    xs, ys = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    v = np.stack([xs.ravel(), ys.ravel(), np.full(n * n, z)], 1)
    f = []
    for i in range(n - 1):
        for j in range(n - 1):
            a = i * n + j
            f += [(a, a + 1, a + n + 1), (a, a + n + 1, a + n)]
    return v, np.array(f)


@pytest.mark.parametrize('backend', BACKENDS)
def test_single_square_coverage_and_depth(backend):
    # square from u = 25 to 75 (f=100, z=2, half=0.5): pixel centres 25..75 inclusive covered
    out = rasterize_persons([square(0, 0, 2.0, 0.5)], F_SQ, (100, 100), (50, 50), (100, 100),
                            resolution=None, backend=backend)
    cov = out.person_id == 0
    rows, cols = np.nonzero(cov)
    # edges are inclusive (no fill rule needed for a z-buffer): centres 25..75 -> 51 x 51
    assert cov.sum() == 51 * 51 and cols.min() == 25 and cols.max() == 75 and rows.min() == 25
    assert np.all(out.depth[cov] == pytest.approx(2.0)) and np.all(np.isinf(out.depth[~cov]))
    assert out.scale == 1.0 and out.person_id.dtype == np.int32 and out.depth.dtype == np.float32


@pytest.mark.parametrize('backend', BACKENDS)
def test_occlusion_order_independent_of_person_order(backend):
    near, far = square(0, 0, 2.0, 0.5), square(0.5, 0, 3.0, 0.75)
    a = rasterize_persons([near, far], F_SQ, (100, 100), (50, 50), (100, 100), None, backend=backend)
    b = rasterize_persons([far, near], F_SQ, (100, 100), (50, 50), (100, 100), None, backend=backend)
    assert np.array_equal(a.person_id == 0, b.person_id == 1)
    assert np.array_equal(a.depth, b.depth)
    # where both overlap, the near one wins
    assert a.person_id[50, 60] == 0 and a.depth[50, 60] == pytest.approx(2.0)
    assert a.person_id[50, 80] == 1 and a.depth[50, 80] == pytest.approx(3.0)


@pytest.mark.parametrize('backend', BACKENDS)
def test_perspective_correct_depth_on_tilted_plane(backend):
    # plane z = 2 + x (tilted); depth at pixel centre must equal the plane's depth on that ray
    v = np.array([[-0.5, -0.5, 1.5], [0.5, -0.5, 2.5], [0.5, 0.5, 2.5], [-0.5, 0.5, 1.5]])
    out = rasterize_persons([v], F_SQ, (100, 100), (50, 50), (100, 100), None, backend=backend)
    r, c = 50, 55
    u = c  # image pixel centre of raster pixel c (scale 1): u = c
    ray_x = (u - 50) / 100.0
    z_true = 2.0 / (1 - ray_x)   # z = 2 + x, x = ray_x * z
    assert out.depth[r, c] == pytest.approx(z_true, rel=1e-6)


@pytest.mark.parametrize('backend', BACKENDS)
def test_vertex_visibility_with_occluder_and_self(backend):
    back_v, back_f = grid_plane(-1, 1, -1, 1, 4.0)
    front_v, front_f = grid_plane(-0.3, 0.3, -0.3, 0.3, 2.0, n=5)
    out = rasterize_persons([back_v, front_v], [back_f, front_f], (200, 200), (100, 100), (200, 200),
                            None, backend=backend)
    vis_back = out.vertex_visible[0]
    # back grid vertices hidden by the front square (its image footprint is |x/z| < 0.15 at z=2)
    proj_x = back_v[:, 0] / 4.0
    proj_y = back_v[:, 1] / 4.0
    hidden = (np.abs(proj_x) < 0.14) & (np.abs(proj_y) < 0.14)
    assert not vis_back[hidden].any()
    interior = (np.abs(back_v[:, 0]) < 0.95) & (np.abs(back_v[:, 1]) < 0.95) & ~((np.abs(proj_x) < 0.16) & (np.abs(proj_y) < 0.16))
    assert vis_back[interior].all()
    assert out.vertex_visible[1][[6, 7, 8, 11, 12, 13, 16, 17, 18]].all()   # interior of front grid


@pytest.mark.parametrize('backend', BACKENDS)
def test_self_occlusion_hides_back_surface(backend):
    front_v, front_f = grid_plane(-0.5, 0.5, -0.5, 0.5, 2.0, n=6)
    back_v = front_v.copy()
    back_v[:, 2] = 2.3            # same person, a second sheet behind the first
    v = np.concatenate([front_v, back_v])
    f = np.concatenate([front_f, front_f + len(front_v)])
    out = rasterize_persons([v], f, (100, 100), (50, 50), (100, 100), None, backend=backend)
    assert not out.vertex_visible[0][len(front_v):].any()


def test_masks_restrict_visibility_only():
    v, f = grid_plane(-1, 1, -1, 1, 4.0)
    mask = np.zeros((1, 200, 200), bool)
    mask[0, :, :100] = True        # left half of the image
    out = rasterize_persons([v], f, (200, 200), (100, 100), (200, 200), None, masks=mask)
    nomask = rasterize_persons([v], f, (200, 200), (100, 100), (200, 200), None)
    assert np.array_equal(out.person_id, nomask.person_id)      # geometry unchanged
    u = v[:, 0] / 4 * 200 + 100
    assert not out.vertex_visible[0][u > 100.5].any()
    assert out.vertex_visible[0][(u < 99) & nomask.vertex_visible[0]].all()
    with pytest.raises(ValueError, match='masks'):
        rasterize_persons([v], f, (200, 200), (100, 100), (200, 200), None, masks=mask[0])


def test_resolution_scaling():
    (h, w), s = raster_size((480, 640), 512)
    assert (h, w) == (384, 512) and s == pytest.approx(0.8)
    assert raster_size((480, 640), None) == ((480, 640), 1.0)
    sq = square(0, 0, 2.0, 0.5)
    full = rasterize_persons([sq], F_SQ, (200, 200), (320, 240), (480, 640), None)
    half = rasterize_persons([sq], F_SQ, (200, 200), (320, 240), (480, 640), 320)
    assert half.person_id.shape == (240, 320) and half.scale == pytest.approx(0.5)
    # covered area scales with scale^2 (up to one pixel ring)
    ratio = (half.person_id == 0).sum() / (full.person_id == 0).sum()
    assert ratio == pytest.approx(0.25, rel=0.05)
    # footprint stays centred on the same image location
    rr, cc = np.nonzero(half.person_id == 0)
    assert (cc.mean() + 0.5) / 0.5 - 0.5 == pytest.approx(320, abs=1)
    assert (rr.mean() + 0.5) / 0.5 - 0.5 == pytest.approx(240, abs=1)


def test_behind_camera_and_outside_image():
    behind = square(0, 0, -2.0, 0.5)
    outside = square(50, 0, 2.0, 0.5)
    out = rasterize_persons([behind, outside], F_SQ, (100, 100), (50, 50), (100, 100), None)
    assert (out.person_id == -1).all()
    assert not out.vertex_visible[0].any() and not out.vertex_visible[1].any()


def test_zero_persons_and_bad_input():
    out = rasterize_persons([], F_SQ, (100, 100), (50, 50), (60, 80), resolution=40)
    assert out.person_id.shape == (30, 40) and (out.person_id == -1).all() and out.vertex_visible == []
    with pytest.raises(ValueError, match='person 0'):
        rasterize_persons([np.zeros((4, 2))], F_SQ, (100, 100), (50, 50), (100, 100))
    with pytest.raises(ValueError, match='faces of person 0'):
        rasterize_persons([square(0, 0, 2, 0.5)], np.array([[0, 1, 9]]), (100, 100), (50, 50), (100, 100))


@pytest.mark.skipif(not R._HAVE_NUMBA, reason='numba not installed')
def test_numba_and_numpy_agree_on_meshes(make_person):
    rng = np.random.default_rng(0)
    verts, faces = [], None
    for k in range(4):
        v, faces = make_person(rng.uniform(1.2, 1.9), (rng.uniform(-1, 1), 0.2, rng.uniform(3, 6)))
        verts.append(v)
    a = rasterize_persons(verts, faces, (500, 500), (320, 240), (480, 640), 256, backend='numba')
    b = rasterize_persons(verts, faces, (500, 500), (320, 240), (480, 640), 256, backend='numpy')
    assert np.array_equal(a.person_id, b.person_id)
    np.testing.assert_allclose(a.depth, b.depth, rtol=1e-6)
    assert all(np.array_equal(x, y) for x, y in zip(a.vertex_visible, b.vertex_visible))


def test_raster_projection_has_its_own_name_and_the_old_one_is_deprecated():
    """``metric_hmr.dto`` exports the raster variant as ``project_points_raster`` (the generic
    name is geometry's OpenCV projection); the old ``project_points`` still works, with a
    DeprecationWarning, and is not exported by ``import *``."""
    import warnings

    import metric_hmr.dto as dto
    from metric_hmr.dto import raster
    from metric_hmr.geometry import project_points_raster
    assert 'project_points' not in dto.__all__ and 'project_points' not in raster.__all__
    assert dto.project_points_raster is project_points_raster
    for mod in (dto, raster):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            assert mod.project_points is project_points_raster
        assert any(issubclass(x.category, DeprecationWarning) and 'project_points_raster' in str(x.message)
                   for x in w)
