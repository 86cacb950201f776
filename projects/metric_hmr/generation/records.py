"""Per-image records: the rich JSON record and the released-layout entry of one image."""
from __future__ import annotations

import math
from typing import List, Optional

import numpy as np

from ..geometry import focal_to_vfov
from .release import pad_betas_smpla, released_person
from .state import ImageState

__all__ = ['vertical_fov', 'HEIGHT_RANGE', 'unpublished_reason', 'image_record', 'released_entry']

# per-person DTO fields copied into the record ((K,) arrays of DTOResult; None where the
# algorithm does not produce one, e.g. the DTO+ robust weights on the paper path)
_PERSON_DTO_FIELDS = ('mu', 'sigma', 'h_init', 'h_star', 'z_init', 'z_star', 'std_z', 'std_h',
                      'residual', 'd_i', 'X_i', 'w_i', 'used', 'reasons', 'prior_source',
                      'refit_flags', 'group', 'z_fit', 'robust_weight', 'outlier',
                      'ground_weight', 'off_ground')
# image fields: the fit, the verdict, and the DTO+ focal decision with its reason
# ('focal_in': the input focal when the refined one replaced it)
_IMAGE_DTO_FIELDS = ('s_d', 't_d', 'X', 'quasi_planar', 'x_min', 'x_max', 'active',
                     'image_score', 'optimized', 'flags', 'image_reason', 'group_params',
                     'affine_space', 'focal_refined', 'focal_reason', 'focal_ratio',
                     'focal_ratio_est', 'focal_ratio_std', 'focal_star', 'focal_in',
                     'ground_plane', 'ground_tau', 'ground_reason')


def _f(x):
    """JSON-safe float (NaN/inf -> None)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _clean(v):
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _f(v)
    return v


def vertical_fov(focal, ori_shape) -> Optional[float]:
    """Vertical FoV in degrees, v = 2 atan(H / (2 fy)); None when unknown or invalid
    (fy <= 0 is reported by the reader as ``invalid_intrinsics``)."""
    if focal is None or ori_shape is None:
        return None
    try:
        return math.degrees(focal_to_vfov(float(focal[1]), float(ori_shape[0])))
    except ValueError:
        return None


# plausible T-pose heights (m) of a body-model person; outside: a degenerate shape
HEIGHT_RANGE = (0.2, 3.0)


def unpublished_reason(s: ImageState, i: int) -> str:
    """'' when person ``i`` of a kept image is published (DTO corrected it), else why not:
    ``behind_camera`` (input or corrected z <= 0), ``degenerate_shape`` (non-finite shape
    or a T-pose height outside ``HEIGHT_RANGE``) or ``not_in_fit: <DTO's reason>`` (a person
    DTO did not fit; the released algorithm's ``unchanged: ...`` persons are published)."""
    final = s.refined if s.refined is not None else s.persons
    for name, t in (('input', s.persons.transl[i]), ('corrected', final.transl[i])):
        if not np.all(np.isfinite(t)) or t[2] <= 0:
            return f'behind_camera: person {i} has {name} z = {float(t[2]):.4g} m'
    dto = s.dto or {}
    h = (dto.get('h_init') or [None] * (i + 1))[i]
    if not np.all(np.isfinite(final.betas[i])) or h is None or not np.isfinite(h) \
            or not HEIGHT_RANGE[0] <= h <= HEIGHT_RANGE[1]:
        return f'degenerate_shape: person {i} has T-pose height {h} m (outside {HEIGHT_RANGE})'
    used = dto.get('used')
    why = (dto.get('reasons') or [''] * (i + 1))[i] or ''
    # 'unchanged: ...' = written with the input parameters by design (released algorithm:
    # persons alone in their group, persons rejected by the 2.1 m rule); a lone usable
    # person passed through (paper path) only occurs in skipped images, which carry the
    # image's reason (``image_skipped``)
    if (used is None or not used[i]) and why != 'single_person_pass_through' \
            and not why.startswith('unchanged:'):
        return f'not_in_fit: person {i}: {why or "unused"}'
    return ''


def _publication(s: ImageState) -> List[str]:
    """Per person: '' (published) or the reason it is left out of the released file."""
    if s.status == 'kept':
        return [unpublished_reason(s, i) for i in range(len(s.persons))]
    if s.dto is None or s.refined is None:
        return [f'image_{s.status}'] * len(s.persons)
    return [unpublished_reason(s, i) or f'image_{s.status}' for i in range(len(s.persons))]


def image_record(s: ImageState) -> dict:
    """JSON-able record of one image: status, reason, persons (input + refined parameters,
    prior, corrected height, posterior std, cues), events and timings."""
    k = len(s.persons)
    persons = []
    final = s.refined if s.refined is not None else s.persons
    why_not = _publication(s)
    for i in range(k):
        p = {'source': s.persons.source[i], 'source_index': int(s.persons.source_index[i]),
             'det_index': None if s.person_det is None else int(s.person_det[i]),
             'matched': None if s.person_det is None else bool(s.person_det[i] >= 0),
             'age': None if s.age is None else _f(s.age[i]),
             'p_male': None if s.p_male is None else _f(s.p_male[i]),
             'betas_in': _clean(np.asarray(s.persons.betas[i]).tolist()),
             'transl_in': _clean(np.asarray(s.persons.transl[i]).tolist()),
             'betas': _clean(pad_betas_smpla(np.asarray(final.betas[i])[None])[0].tolist()),
             'transl': _clean(np.asarray(final.transl[i]).tolist()),
             'published': not why_not[i], 'unpublished_reason': why_not[i] or None}
        if s.dto is not None:
            for key in _PERSON_DTO_FIELDS:
                if key in s.dto:
                    p[key] = None if s.dto[key] is None else _clean(s.dto[key][i])
        persons.append(p)
    rec = {'img_id': s.img_id, 'status': s.status, 'reason': s.reason,
           'ori_shape': None if s.ori_shape is None else [int(x) for x in s.ori_shape],
           'focal': None if s.focal is None else _clean(np.asarray(s.focal).tolist()),
           'princpt': None if s.princpt is None else _clean(np.asarray(s.princpt).tolist()),
           'fov_v_deg': _f(vertical_fov(s.focal, s.ori_shape)),
           'num_persons': k,
           'num_detections': None if s.detections is None else len(s.detections),
           'depth_kind': s.depth_kind if s.depth is not None else None,
           'depth_invalid_frac': None if s.depth is None else _f(np.mean(~np.isfinite(s.depth))),
           'persons': persons,
           'notes': list(s.notes),
           'age_gender_source': s.extra.get('age_gender_source'),
           # which stage set the intrinsics, and the input's own when they were replaced
           'intrinsics_source': s.extra.get('intrinsics_source', None if s.focal is None else 'input'),
           'intrinsics_in': (None if s.extra.get('intrinsics_in') is None
                             else {k: _clean(v) for k, v in s.extra['intrinsics_in'].items()}),
           'events': dict(sorted(s.events.items())),
           'timings': {key: round(v, 6) for key, v in s.timings.items()}}
    if 'vis' in s.extra:
        rec['vis'] = s.extra['vis']
    if s.dto is not None:
        rec['dto'] = {key: _clean(s.dto[key]) for key in _IMAGE_DTO_FIELDS if key in s.dto}
    return rec


def released_entry(s: ImageState) -> List[dict]:
    """The released-layout list of one *kept* image: its published persons (those DTO
    corrected, see :func:`unpublished_reason`), in input order."""
    final = s.refined if s.refined is not None else s.persons
    betas11 = pad_betas_smpla(final.betas)
    why_not = _publication(s)
    return [released_person(betas11[i], final.global_orient[i], final.body_pose[i],
                            final.transl[i], s.focal, s.princpt)
            for i in range(len(final)) if not why_not[i]]
