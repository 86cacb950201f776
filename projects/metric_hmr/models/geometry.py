"""Pure geometry used by MA-HMR: rotations, camera <-> FoV, weak-perspective camera, boxes.

All functions are batched over leading dimensions and work on the device of their inputs.
"""
import math

import torch
import torch.nn.functional as F


# ----------------------------------------------------------------------------- rotations
def rot6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """6D rotation representation (Zhou et al.) -> rotation matrix.

    Args:
        x: (..., 6) the first two columns of the rotation matrix, concatenated.
    Returns:
        (..., 3, 3) rotation matrices (Gram-Schmidt on the two columns).
    """
    a1, a2 = x[..., 0:3], x[..., 3:6]
    b1 = F.normalize(a1, dim=-1, eps=1e-6)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1, eps=1e-6)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def matrix_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the inverse of :func:`rot6d_to_matrix` on rotations."""
    return torch.cat([R[..., :, 0], R[..., :, 1]], dim=-1)


def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula. aa: (..., 3) -> (..., 3, 3)."""
    angle = aa.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    axis = aa / angle
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*aa.shape[:-1], 3, 3)
    s, c = torch.sin(angle)[..., None], torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand_as(K)
    return eye + s * K + (1 - c) * (K @ K)


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """Rotation matrix -> axis-angle (..., 3), robust near 0 and pi (via a quaternion)."""
    q = matrix_to_quaternion(R)
    # keep w >= 0 so the angle lies in [0, pi]
    q = torch.where(q[..., :1] < 0, -q, q)
    xyz = q[..., 1:]
    sin_half = xyz.norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, q[..., :1])
    # angle / sin(angle/2), with its limit 2 at 0
    factor = torch.where(sin_half > 1e-6, angle / sin_half.clamp_min(1e-6), 2.0 + angle ** 2 / 12)
    return xyz * factor


def matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 4) quaternion (w, x, y, z); numerically stable branch choice."""
    m = R
    t0 = 1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    t1 = 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2]
    t2 = 1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2]
    t3 = 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]
    cands = torch.stack([
        torch.stack([t0, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
        torch.stack([m[..., 2, 1] - m[..., 1, 2], t1, m[..., 1, 0] + m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0]], -1),
        torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] + m[..., 0, 1], t2, m[..., 2, 1] + m[..., 1, 2]], -1),
        torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] + m[..., 1, 2], t3], -1),
    ], dim=-2)  # (..., 4 candidates, 4)
    t = torch.stack([t0, t1, t2, t3], -1)
    best = t.argmax(-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    tb = torch.gather(t, -1, best[..., None]).clamp_min(1e-12)
    return q / (2 * tb.sqrt())


def rot6d_to_axis_angle(x: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3)."""
    return matrix_to_axis_angle(rot6d_to_matrix(x))


# ------------------------------------------------------------------------------- camera
def fov_to_focal(fov_v: torch.Tensor, img_h) -> torch.Tensor:
    """Vertical FoV (rad) -> focal length in pixels: f = H / (2 tan(v/2))."""
    return img_h / (2 * torch.tan(fov_v / 2))


def focal_to_fov(focal, img_h):
    """Focal length (px) -> vertical FoV (rad): v = 2 atan(H / (2 f)). Works for floats too."""
    if isinstance(focal, torch.Tensor):
        return 2 * torch.atan(img_h / (2 * focal))
    return 2 * math.atan(img_h / (2 * focal))


def cam_to_transl(scale: torch.Tensor, root_xy: torch.Tensor, focal: torch.Tensor,
                  input_size: float) -> torch.Tensor:
    """Weak-perspective camera (s, root position) -> camera-space translation (metres).

    The principal point is the centre of the square ``input_size`` canvas (the transforms
    put it there).  With u_n = (u - S/2) / (S/2) the normalised image position of the root,
    a weak-perspective projection u_n = s * X is the perspective one at depth
    t_z = 2 f / (s S), hence X = u_n / s.

    Args:
        scale: (...,) s > 0.
        root_xy: (..., 2) normalised root position in [-1, 1] canvas units.
        focal: (...,) focal length in canvas pixels (broadcastable to ``scale``).
        input_size: canvas side S in pixels.
    Returns:
        (..., 3) translation (X, Y, t_z).
    """
    tz = 2 * focal / (scale * input_size)
    return torch.cat([root_xy / scale[..., None], tz[..., None]], dim=-1)


def project_points(points: torch.Tensor, focal: torch.Tensor, input_size: float) -> torch.Tensor:
    """Perspective projection onto the canvas (principal point at its centre).

    Args:
        points: (..., J, 3) camera-space points.
        focal: (...,) focal length in canvas pixels.
    Returns:
        (..., J, 2) pixel coordinates on the canvas.
    """
    z = points[..., 2:3].clamp_min(1e-3)
    return points[..., :2] / z * focal[..., None, None] + input_size / 2


# -------------------------------------------------------------------------------- boxes
def box_cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def box_xyxy_to_cxcywh(b: torch.Tensor) -> torch.Tensor:
    x0, y0, x1, y1 = b.unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], -1)


def generalized_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise GIoU of xyxy boxes. a: (N, 4), b: (M, 4) -> (N, M)."""
    area_a = (a[:, 2] - a[:, 0]).clamp_min(0) * (a[:, 3] - a[:, 1]).clamp_min(0)
    area_b = (b[:, 2] - b[:, 0]).clamp_min(0) * (b[:, 3] - b[:, 1]).clamp_min(0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp_min(0).prod(-1)
    union = area_a[:, None] + area_b[None] - inter
    iou = inter / union.clamp_min(1e-9)
    lt_c = torch.min(a[:, None, :2], b[None, :, :2])
    rb_c = torch.max(a[:, None, 2:], b[None, :, 2:])
    area_c = (rb_c - lt_c).clamp_min(0).prod(-1)
    return iou - (area_c - union) / area_c.clamp_min(1e-9)


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    x = x.clamp(eps, 1 - eps)
    return torch.log(x / (1 - x))
