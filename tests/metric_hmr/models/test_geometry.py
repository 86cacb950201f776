import math

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from metric_hmr.models.geometry import (axis_angle_to_matrix, box_cxcywh_to_xyxy, box_xyxy_to_cxcywh,
                                        cam_to_transl, focal_to_fov, fov_to_focal, generalized_box_iou,
                                        matrix_to_axis_angle, matrix_to_rot6d, project_points, rot6d_to_matrix)


def test_rotation_round_trips_match_scipy():
    rng = np.random.default_rng(0)
    aa = rng.normal(size=(64, 3))
    aa[:4] = [[0, 0, 0], [1e-7, 0, 0], [math.pi - 1e-4, 0, 0], [0, 3.1, 0]]
    R = axis_angle_to_matrix(torch.tensor(aa))
    np.testing.assert_allclose(R.numpy(), Rotation.from_rotvec(aa).as_matrix(), atol=1e-6)
    back = matrix_to_axis_angle(R).numpy()
    np.testing.assert_allclose(Rotation.from_rotvec(back).as_matrix(), R.numpy(), atol=1e-5)
    np.testing.assert_allclose(rot6d_to_matrix(matrix_to_rot6d(R)).numpy(), R.numpy(), atol=1e-6)


def test_rot6d_gives_rotations_and_gradients():
    x = torch.randn(10, 6, requires_grad=True)
    R = rot6d_to_matrix(x)
    eye = torch.eye(3).expand(10, 3, 3)
    assert torch.allclose(R @ R.transpose(1, 2), eye, atol=1e-5)
    assert torch.allclose(torch.det(R), torch.ones(10), atol=1e-5)
    R.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_focal_fov_and_weak_perspective_translation_agree():
    fov = torch.tensor([math.radians(60.0)])
    f = fov_to_focal(fov, 1000.0)
    assert abs(float(f) - 1000 / (2 * math.tan(math.radians(30)))) < 1e-3
    assert abs(float(focal_to_fov(f, 1000.0)) - math.radians(60)) < 1e-6
    # t_z = 2 f / (s S); the root projects back to the predicted normalised position
    S, s, uv = 200.0, torch.tensor([0.5]), torch.tensor([[0.2, -0.4]])
    t = cam_to_transl(s, uv, f, S)
    assert abs(float(t[0, 2]) - 2 * float(f) / (0.5 * S)) < 1e-4
    px = project_points(t[:, None], f, S)[0, 0]
    np.testing.assert_allclose(((px - S / 2) / (S / 2)).numpy(), uv[0].numpy(), atol=1e-5)


def test_boxes_and_giou():
    b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
    assert torch.allclose(box_cxcywh_to_xyxy(box_xyxy_to_cxcywh(b)), b)
    g = generalized_box_iou(b, b)
    # IoU 1/7, enclosing 9, union 7 -> 1/7 - 2/9
    assert abs(float(g[0, 1]) - (1 / 7 - 2 / 9)) < 1e-6
    assert torch.allclose(torch.diag(g), torch.ones(2))
