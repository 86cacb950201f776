"""Ground-truth scale map as SAT-HMR builds it (datasets/base.py + utils/map.py gen_scale_map)."""
import numpy as np
import torch

from metric_hmr.models.scale_map import build_scale_map_target, mesh_edge_midpoint_index


def test_mesh_points_mark_patches_nearest_person_wins_scale_is_box_diagonal():
    """Patches hit by projected mesh points get (1, ||(w, h)|| / S clamped to 1); persons are
    painted far to near; a person without a mesh covers the patch centres inside its box."""
    S = 112  # 4 x 4 patches of 28 px
    boxes = [torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 1.0, 1.0]])]
    far = torch.tensor([[10.0, 10.0], [40.0, 40.0]])          # patches (0, 0) and (1, 1)
    near = torch.tensor([[45.0, 50.0], [200.0, -5.0]])        # patch (1, 1); (3, 0) after clamping
    m = build_scale_map_target(boxes, (4, 4), input_size=S, points=[[far, near, None]],
                               depths=[torch.tensor([9.0, 3.0, 5.0])])[0]
    d0 = float(np.hypot(0.5, 0.5))
    d1 = float(np.hypot(0.25, 0.25))
    assert m[0, 0, 0] == 1 and abs(float(m[0, 0, 1]) - d0) < 1e-6
    assert m[1, 1, 0] == 1 and abs(float(m[1, 1, 1]) - d1) < 1e-6      # the nearer person owns it
    assert m[0, 3, 0] == 1                                              # clamped into the grid
    assert m[3, 3, 0] == 1 and m[2, 2, 0] == 0                          # box person: centre 98 only
    assert int(m[..., 0].sum()) == 4
    big = build_scale_map_target([torch.tensor([[0.0, 0.0, 1.0, 1.0]])], (4, 4), input_size=S)[0]
    assert float(big[..., 1].max()) == 1.0                              # clamped at 1


def test_edge_midpoints_are_the_unique_mesh_edges():
    faces = np.array([[0, 1, 2], [2, 1, 3]])
    e = mesh_edge_midpoint_index(faces)
    assert e.tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]
