"""Batched torch rasteriser equals the per-image numpy/numba rasteriser."""
import numpy as np
import pytest
import torch

from metric_hmr.dto.raster import rasterize_persons
from metric_hmr.dto.raster_torch import rasterize_persons_torch


def _batch(make_person, B=3, K=4, seed=0):
    rng = np.random.default_rng(seed)
    verts = np.zeros((B, K, 24 * 32, 3))
    faces = None
    valid = np.ones((B, K), bool)
    valid[1, 3] = False
    for b in range(B):
        for k in range(K):
            v, faces = make_person(rng.uniform(1.2, 1.9), (rng.uniform(-1.2, 1.2), 0.2, rng.uniform(2.5, 7)))
            verts[b, k] = v
    return verts, faces, valid


@pytest.mark.parametrize('resolution', [None, 256])
def test_torch_batch_equals_per_image(make_person, resolution):
    verts, faces, valid = _batch(make_person)
    f = np.array([[500.0, 500.0], [450.0, 460.0], [600.0, 600.0]])
    c = np.array([[320.0, 240.0], [300.0, 250.0], [320.0, 240.0]])
    masks = np.zeros((3, 4, 480, 640), bool)
    masks[..., :, :400] = True
    out = rasterize_persons_torch(torch.as_tensor(verts), torch.as_tensor(faces), torch.as_tensor(f),
                                  torch.as_tensor(c), (480, 640), resolution, valid=torch.as_tensor(valid),
                                  masks=torch.as_tensor(masks))
    for b in range(3):
        ks = np.nonzero(valid[b])[0]
        ref = rasterize_persons([verts[b, k] for k in ks], faces, f[b], c[b], (480, 640), resolution,
                                masks=masks[b, ks], backend='numpy')
        pid = out.person_id[b].numpy()
        # map the reference's compact person order back to the batch slots
        ref_pid = np.where(ref.person_id >= 0, ks[np.maximum(ref.person_id, 0)], -1)
        assert np.array_equal(pid, ref_pid)
        np.testing.assert_allclose(out.depth[b].numpy(), ref.depth, rtol=1e-6)
        for j, k in enumerate(ks):
            assert np.array_equal(out.vertex_visible[b, k].numpy(), ref.vertex_visible[j])
        assert not out.vertex_visible[b, ~valid[b]].any()


def test_torch_rejects_bad_shape():
    with pytest.raises(ValueError, match='B, K, V, 3'):
        rasterize_persons_torch(torch.zeros(4, 3), torch.zeros(1, 3, dtype=torch.long), (1, 1), (0, 0), (4, 4))
