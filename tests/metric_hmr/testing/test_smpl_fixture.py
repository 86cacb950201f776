"""The procedural SMPL-format file: layout, determinism, smplx round trip."""
import pickle

import numpy as np
import pytest
import torch

from metric_hmr.testing import (build_smpl_arrays, kid_template_path, make_h36m_regressor,
                                make_smpl_model_file, smplx_vertex_ids)

smplx = pytest.importorskip('smplx')


def test_file_layout_and_determinism(tmp_path):
    p1 = make_smpl_model_file(tmp_path / 'a', seed=3, with_kid_template=True)
    p2 = make_smpl_model_file(tmp_path / 'b', seed=3)
    p3 = make_smpl_model_file(tmp_path / 'c', seed=4)
    with open(p1, 'rb') as fh:
        d = pickle.load(fh, encoding='latin1')
    V = d['v_template'].shape[0]
    assert 300 <= V <= 2000
    assert d['shapedirs'].shape == (V, 3, 10)
    assert d['posedirs'].shape == (V, 3, 207)
    assert d['J_regressor'].shape == (24, V)
    assert d['weights'].shape == (V, 24)
    assert d['kintree_table'].shape == (2, 24)
    assert d['f'].ndim == 2 and d['f'].shape[1] == 3 and d['f'].max() < V
    assert all(isinstance(v, np.ndarray) for v in d.values())
    np.testing.assert_allclose(d['weights'].sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(d['J_regressor'].sum(1), 1.0, atol=1e-12)
    with open(p2, 'rb') as fh:
        d2 = pickle.load(fh)
    with open(p3, 'rb') as fh:
        d3 = pickle.load(fh)
    for k in d:
        np.testing.assert_array_equal(d[k], d2[k])
    assert not np.allclose(d['v_template'], d3['v_template'])
    kid = np.load(kid_template_path(tmp_path / 'a'))
    assert kid.shape == (V, 3)


def test_body_is_upright_and_human_sized():
    a = build_smpl_arrays(seed=0)
    v = a['v_template']
    extent = v.max(0) - v.min(0)
    assert 1.6 < extent[1] < 1.8          # y up, ~1.71 m
    assert extent[0] > extent[2]          # T-pose: arm span along x
    J = a['J_regressor'] @ v
    assert J[15, 1] > J[12, 1] > J[0, 1] > J[4, 1] > J[7, 1]   # head > neck > pelvis > knee > ankle
    assert J[16, 0] > 0 > J[17, 0]        # left shoulder at +x
    kid_h = np.ptp(a['kid_template'][:, 1])
    assert 1.0 < kid_h < 1.2


def test_shape_directions_change_height_and_girth():
    a = build_smpl_arrays(seed=0)
    v0, S = a['v_template'], a['shapedirs']
    h = lambda v: np.ptp(v[:, 1])
    w = lambda v: np.ptp(v[:, 2])
    assert h(v0 + S[..., 0]) - h(v0) > 0.05          # beta0 = height
    assert abs(h(v0 + S[..., 1]) - h(v0)) < 0.02      # beta1 = girth, little height change
    assert w(v0 + S[..., 1]) - w(v0) > 0.01


@pytest.mark.parametrize('with_kid', [False, True])
def test_smplx_round_trip(tmp_path, with_kid):
    path = make_smpl_model_file(tmp_path, seed=0, with_kid_template=with_kid, gender='female')
    kw = dict(age='kid', kid_template_path=kid_template_path(tmp_path)) if with_kid else {}
    model = smplx.create(path, model_type='smpl', gender='female',
                         vertex_ids=smplx_vertex_ids(path), **kw)
    nb = 11 if with_kid else 10
    assert model.num_betas == nb
    out = model(betas=torch.zeros(1, nb))
    with open(path, 'rb') as fh:
        d = pickle.load(fh)
    np.testing.assert_allclose(out.vertices[0].detach().numpy(), d['v_template'], atol=1e-5)
    assert out.joints.shape == (1, 45, 3)
    # a bent elbow moves the hand but not the feet
    pose = torch.zeros(1, 69)
    pose[0, 3 * 17 + 1] = 1.0    # left elbow (joint 18) about y
    bent = model(betas=torch.zeros(1, nb), body_pose=pose)
    moved = (bent.vertices - out.vertices).norm(dim=-1)[0]
    assert moved.max() > 0.1
    feet = np.where(d['v_template'][:, 1] < d['v_template'][:, 1].min() + 0.05)[0]
    assert moved[feet].max() < 1e-6


def test_h36m_regressor(tmp_path, smpl_model_file):
    reg = make_h36m_regressor(str(smpl_model_file), out_path=str(tmp_path / 'h36m.npy'))
    assert reg.shape[0] == 17
    np.testing.assert_allclose(reg.sum(1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(np.load(tmp_path / 'h36m.npy'), reg)
