"""Camera conventions: FoV <-> focal round trips, a known projection, the raster offset."""
import math

import numpy as np
import pytest
import torch

from metric_hmr.geometry import (focal_to_vfov, project_points, project_points_raster,
                                 project_points_torch, vfov_to_focal)


def test_fov_focal_known_value_and_round_trip():
    # 90 degree vertical FoV on a 1000 px tall image: f = 1000 / (2 tan 45) = 500
    assert vfov_to_focal(math.pi / 2, 1000) == pytest.approx(500.0)
    assert focal_to_vfov(500.0, 1000) == pytest.approx(math.pi / 2)
    v = np.linspace(0.1, 3.0, 7)
    np.testing.assert_allclose(focal_to_vfov(vfov_to_focal(v, 720), 720), v, rtol=1e-12)
    t = torch.linspace(0.1, 3.0, 7, dtype=torch.float64)
    torch.testing.assert_close(focal_to_vfov(vfov_to_focal(t, 720.0), 720.0), t)
    assert isinstance(vfov_to_focal(0.5, 100), float)


def test_fov_focal_mixed_float_and_tensor_arguments():
    """A fixed FoV (float) with per-image heights (tensor) and the reverse give tensors of the
    tensor argument's dtype; a float FoV beside a tensor is still range-checked."""
    h = torch.tensor([100.0, 200.0])
    f = vfov_to_focal(math.pi / 2, h)
    assert isinstance(f, torch.Tensor) and f.dtype == torch.float32
    torch.testing.assert_close(f, torch.tensor([50.0, 100.0]))
    v = focal_to_vfov(50.0, h.double())
    assert v.dtype == torch.float64
    torch.testing.assert_close(v[0], torch.tensor(math.pi / 2, dtype=torch.float64))
    torch.testing.assert_close(focal_to_vfov(torch.tensor([50.0]), 100), torch.tensor([math.pi / 2]))
    with pytest.raises(ValueError, match='FoV'):
        vfov_to_focal(0.0, h)


@pytest.mark.parametrize('bad', [0.0, -10.0, float('nan')])
def test_focal_without_camera_is_an_error(bad):
    with pytest.raises(ValueError, match='focal_y'):
        focal_to_vfov(bad, 480)
    with pytest.raises(ValueError, match='FoV'):
        vfov_to_focal(bad if bad != 0 else math.pi, 480)


def test_known_projection_pixel_centres():
    # a point on the optical axis lands on the principal point; 1 m right at 2 m depth, f=100
    p = np.array([[0.0, 0.0, 2.0], [1.0, -0.5, 2.0]])
    uv = project_points(p, (100.0, 200.0), (320.0, 240.0))
    np.testing.assert_allclose(uv, [[320.0, 240.0], [370.0, 190.0]])
    # raster: pixel j covers [j, j+1): +0.5, then the raster scale
    np.testing.assert_allclose(project_points_raster(p, (100.0, 200.0), (320.0, 240.0), 0.5),
                               (uv + 0.5) * 0.5)
    uv_t = project_points_torch(torch.as_tensor(p)[None], torch.tensor([[100.0, 200.0]], dtype=torch.float64),
                                torch.tensor([[320.0, 240.0]], dtype=torch.float64))
    np.testing.assert_allclose(uv_t[0].numpy(), uv)


def test_fov_and_pinhole_are_written_only_here(repo_root):
    """One home (ARCHITECTURE.md): no tan/atan of a FoV and no hand-written ``x / z * f + c``
    pinhole outside metric_hmr.geometry (a line marked ``not a FoV`` is another angle)."""
    import re
    pat = re.compile(r'\b(math|np|numpy|torch)\.(tan|atan|arctan)\(|\[\.\.\., *:2\] */ *\w+\[\.\.\., *2:3\] *\* *')
    hits = []
    for folder in ('projects/metric_hmr', 'dto_hooks', 'tools'):
        for path in sorted((repo_root / folder).rglob('*.py')):
            if 'metric_hmr/geometry/' in path.as_posix():
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pat.search(line) and 'not a FoV' not in line:
                    hits.append(f'{path.relative_to(repo_root)}:{n}: {line.strip()}')
    assert hits == []
