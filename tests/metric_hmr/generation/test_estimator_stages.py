"""Intrinsics, age/gender and initial-HMR components (pure parts and TorchScript plug-ins)."""
import json
import math

import numpy as np
import pytest
import torch

from metric_hmr.generation.estimator_stages import (AnnotationAgeGender, FixedFoVIntrinsics,
                                                    FoVEstimatorIntrinsics, ReleaseIntrinsics,
                                                    cam_crop_to_full, square_crops)
from metric_hmr.generation.state import SRC_RELEASE, ImageState, Persons
from metric_hmr.geometry import vfov_to_focal


def _state(img_id='a.png', k=2, shape=(60, 80), path=None):
    p = Persons(np.zeros((k, 3)), np.zeros((k, 69)), np.zeros((k, 10)), np.tile([0, 0, 5.0], (k, 1)),
                [SRC_RELEASE] * k, np.arange(k))
    return ImageState(img_id=img_id, img_path=path, ori_shape=shape, persons=p)


def test_fixed_fov_and_release_intrinsics():
    s = _state()
    FixedFoVIntrinsics(fov_deg=60)([s])
    assert s.focal[1] == pytest.approx(60 / (2 * math.tan(math.radians(30))))
    assert s.princpt.tolist() == [40.0, 30.0]
    t = _state()
    ReleaseIntrinsics()([t])
    assert t.status == 'skipped' and t.reason == 'missing_intrinsics'
    s.focal = np.array([1.0, 1.0])
    FixedFoVIntrinsics(fov_deg=60)([s])            # input intrinsics kept unless override
    assert s.focal[0] == 1.0
    FixedFoVIntrinsics(fov_deg=90, override=True)([s])
    assert s.focal[0] == pytest.approx(s.ori_shape[0] / 2)   # f = H / (2 tan 45 deg)
    for bad in (0.0, 180.0, -5.0):                  # a one-line config error, not ZeroDivisionError
        with pytest.raises(ValueError, match='fov_deg'):
            FixedFoVIntrinsics(fov_deg=bad)


def test_fov_estimator_torchscript(tmp_path):
    class FoV(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0],), 1.2) + 0.0 * x.mean()
    torch.jit.script(FoV()).save(str(tmp_path / 'fov.pt'))
    from PIL import Image
    Image.fromarray(np.zeros((60, 80, 3), np.uint8)).save(tmp_path / 'a.png')
    s = _state(path=str(tmp_path / 'a.png'))
    FoVEstimatorIntrinsics(str(tmp_path / 'fov.pt'), input_size=32, device='cpu')([s])
    assert s.focal[0] == pytest.approx(vfov_to_focal(1.2, 60), rel=1e-6)
    with pytest.raises(FileNotFoundError, match='nothere.pt'):
        FoVEstimatorIntrinsics(str(tmp_path / 'nothere.pt'))


def test_annotation_age_gender(tmp_path):
    f = tmp_path / 'ag.json'
    f.write_text(json.dumps({'a.png': [{'age': 6, 'p_male': 0.2}, {'age': None, 'p_male': None}]}))
    s, other = _state('a.png'), _state('b.png')
    AnnotationAgeGender(str(f))([s, other])
    assert s.age[0] == 6 and np.isnan(s.age[1]) and s.p_male[0] == 0.2
    assert np.isnan(other.age).all() and other.events['age_gender_unannotated'] == 2
    bad = _state('a.png', k=3)       # a count mismatch is that image's problem: a skip
    AnnotationAgeGender(str(f))([bad])
    assert bad.status == 'skipped'
    assert bad.reason == f'bad_age_gender_annotation: {f}: image a.png has 2 entries for 3 input persons'
    # out-of-range values become unknown, noted per person
    f.write_text(json.dumps({'a.png': [{'age': 500, 'p_male': 0.2}, {'age': 7, 'p_male': 1.5}]}))
    odd = _state('a.png')
    AnnotationAgeGender(str(f))([odd])
    assert np.isnan(odd.age[0]) and odd.age[1] == 7 and odd.p_male[0] == 0.2 and np.isnan(odd.p_male[1])
    assert odd.events['age_out_of_range'] == 1 and odd.events['p_male_out_of_range'] == 1
    assert 'person 0 has age 500' in odd.notes[0] and 'person 1 has p_male 1.5' in odd.notes[1]
    (tmp_path / 'broken.json').write_text('{')
    with pytest.raises(ValueError, match='broken.json'):
        AnnotationAgeGender(str(tmp_path / 'broken.json'))


def test_cam_crop_to_full_projects_box_centre():
    focal, princpt = np.array([500.0, 500.0]), np.array([320.0, 240.0])
    center, size = np.array([[400.0, 200.0]]), np.array([100.0])
    t = cam_crop_to_full(np.array([[0.8, 0.0, 0.0]]), center, size, focal, princpt)
    assert t[0, 2] == pytest.approx(2 * 500 / (0.8 * 100))
    uv = focal * t[0, :2] / t[0, 2] + princpt          # crop centre -> box centre
    np.testing.assert_allclose(uv, center[0])


def test_square_crops_shape_and_mask():
    img = np.full((20, 30, 3), 255, np.uint8)
    boxes = np.array([[0.0, 0.0, 10.0, 20.0], [25.0, 15.0, 35.0, 25.0]])
    masks = np.zeros((2, 20, 30), bool)
    crops = square_crops(img, boxes, 8, masks)
    assert crops.shape == (2, 3, 8, 8) and float(crops.max()) == 0.0
    crops = square_crops(img, boxes, 8)
    assert float(crops[0].mean()) > 0.4 and float(crops[1].min()) == 0.0   # partly outside
