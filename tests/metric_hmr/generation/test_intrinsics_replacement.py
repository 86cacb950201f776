"""Known intrinsics replacing an input's: the root retargeting, the file and EXIF stages,
and the override of the FoV stages on an input that already has persons."""
import json
import math

import numpy as np
import pytest

from metric_hmr.generation.estimator_stages import (ExifIntrinsics, FixedFoVIntrinsics, IntrinsicsFile,
                                                    exif_focal_35mm, load_intrinsics_file,
                                                    set_intrinsics)
from metric_hmr.generation.records import image_record
from metric_hmr.generation.state import SRC_RELEASE, ImageState, Persons
from metric_hmr.geometry import project_points, retarget_translation_to_intrinsics, vfov_to_focal


def _state(img_id='a.jpg', shape=(60, 80), path=None, focal=(100.0, 100.0), princpt=(40.0, 30.0)):
    t = np.array([[0.4, -0.2, 5.0], [-1.0, 0.3, 8.0]])
    p = Persons(np.zeros((2, 3)), np.zeros((2, 69)), np.zeros((2, 10)), t, [SRC_RELEASE] * 2, np.arange(2))
    return ImageState(img_id=img_id, img_path=path, ori_shape=shape, persons=p,
                      focal=np.array(focal), princpt=np.array(princpt))


def test_retarget_keeps_the_pixel_and_scales_depth_with_the_focal():
    t = np.array([[0.4, -0.2, 5.0], [-1.0, 0.3, 8.0]])
    f0, c0, f1, c1 = [100.0, 120.0], [40.0, 30.0], [150.0, 150.0], [41.0, 29.0]
    t1 = retarget_translation_to_intrinsics(t, f0, c0, f1, c1)
    np.testing.assert_allclose(project_points(t1, f1, c1), project_points(t, f0, c0), atol=1e-12)
    np.testing.assert_allclose(t1[:, 2], t[:, 2] * math.sqrt(150 * 150 / (100 * 120)), rtol=1e-15)
    np.testing.assert_allclose(retarget_translation_to_intrinsics(t, f0, c0, f0, c0), t, atol=1e-15)
    with pytest.raises(ValueError, match='focal_new'):
        retarget_translation_to_intrinsics(t, f0, c0, [0.0, 1.0], c1)


def test_set_intrinsics_moves_input_persons_and_records_the_input():
    s = _state()
    t_in = s.persons.transl.copy()
    set_intrinsics(s, [150.0, 150.0], [40.0, 30.0], 'test')
    np.testing.assert_allclose(s.persons.transl[:, 2], t_in[:, 2] * 1.5)
    np.testing.assert_allclose(project_points(s.persons.transl, s.focal, s.princpt),
                               project_points(t_in, [100, 100], [40, 30]), atol=1e-12)
    rec = image_record(s)
    assert rec['intrinsics_source'] == 'test' and rec['focal'] == [150.0, 150.0]
    assert rec['intrinsics_in']['focal'] == [100.0, 100.0]
    np.testing.assert_allclose(rec['intrinsics_in']['transl'], t_in)
    assert s.events['intrinsics_replaced'] == 1
    # no persons yet (the image-folder flow): nothing to move, nothing noted
    e = ImageState(img_id='b', img_path=None, ori_shape=(60, 80), persons=Persons.empty())
    set_intrinsics(e, [90.0, 90.0], [40.0, 30.0], 'test')
    assert 'intrinsics_replaced' not in e.events and image_record(e)['intrinsics_in'] is None
    assert image_record(_state())['intrinsics_source'] == 'input'


def test_fov_override_on_an_input_with_persons_moves_them():
    """Before, FixedFoVIntrinsics(override=True) on a CameraHMR release changed the focal
    and left the persons where the old focal put them (a different projection)."""
    s = _state()
    t_in = s.persons.transl.copy()
    FixedFoVIntrinsics(fov_deg=60, override=True)([s])
    f = vfov_to_focal(math.radians(60), 60)
    np.testing.assert_allclose(s.persons.transl[:, 2], t_in[:, 2] * f / 100.0)
    np.testing.assert_allclose(project_points(s.persons.transl, s.focal, s.princpt),
                               project_points(t_in, [100, 100], [40, 30]), atol=1e-12)


def test_intrinsics_file(tmp_path):
    path = tmp_path / 'K.json'
    path.write_text(json.dumps({'a.jpg': {'focal': [150, 160], 'princpt': [39.5, 30.5]},
                                'b.jpg': {'vfov_deg': 60}, 'c.jpg': {'focal': 120}}))
    a, b, c, d = _state('a.jpg'), _state('b.jpg'), _state('c.jpg'), _state('d.jpg')
    IntrinsicsFile(str(path))([a, b, c, d])
    assert a.focal.tolist() == [150.0, 160.0] and a.princpt.tolist() == [39.5, 30.5]
    assert b.focal[0] == pytest.approx(vfov_to_focal(math.radians(60), 60))
    assert b.princpt.tolist() == [40.0, 30.0]
    assert c.focal.tolist() == [120.0, 120.0]
    assert d.focal.tolist() == [100.0, 100.0] and d.events['intrinsics_not_in_file'] == 1 and d.active
    assert a.extra['intrinsics_source'] == f'file {path}'
    e = _state('e.jpg')
    IntrinsicsFile(str(path), missing='skip')([e])
    assert e.status == 'skipped' and e.reason.startswith('intrinsics_not_in_file')
    # override=False: only images without intrinsics take the file's
    f = _state('c.jpg')
    IntrinsicsFile(str(path), override=False)([f])
    assert f.focal.tolist() == [100.0, 100.0]


@pytest.mark.parametrize('content, match', [
    ('[1, 2]', 'expected an object'),
    ('{"a.jpg": 5}', "image 'a.jpg'.*expected an object"),
    ('{"a.jpg": {"focal": -3}}', "image 'a.jpg'.*> 0"),
    ('{"a.jpg": {"focal": [1, 2, 3]}}', "image 'a.jpg'.*focal"),
    ('{"a.jpg": {"focal": "500"}}', "image 'a.jpg'.*focal"),
    ('{"a.jpg": {"focal": 500, "vfov_deg": 50}}', 'exactly one'),
    ('{"a.jpg": {"vfov_deg": 190}}', 'vfov_deg'),
    ('{"a.jpg": {"focal": 500, "princpt": [1]}}', 'princpt'),
    ('{"a.jpg": {"focal": 500, "skew": 0}}', 'unknown keys'),
    ('{"a.jpg": {"focal": NaN}}', 'finite'),
    ('{not json', 'not valid JSON'),
])
def test_intrinsics_file_errors_name_file_and_image(tmp_path, content, match):
    path = tmp_path / 'K.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as e:
        load_intrinsics_file(str(path))
    assert str(path) in str(e.value)
    with pytest.raises(FileNotFoundError, match='nothere.json'):
        IntrinsicsFile(str(tmp_path / 'nothere.json'))


def _jpeg(path, f35=None, size=(80, 60)):
    from PIL import Image
    im = Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8))
    exif = Image.Exif()
    if f35 is not None:
        exif.get_ifd(0x8769)[0xA405] = f35
    im.save(path, exif=exif.tobytes())


def test_exif_intrinsics(tmp_path):
    _jpeg(tmp_path / 'a.jpg', f35=28)
    _jpeg(tmp_path / 'b.jpg')
    assert exif_focal_35mm(str(tmp_path / 'a.jpg')) == 28.0
    assert exif_focal_35mm(str(tmp_path / 'b.jpg')) is None
    a = _state('a.jpg', path=str(tmp_path / 'a.jpg'))
    b = _state('b.jpg', path=str(tmp_path / 'b.jpg'))
    (tmp_path / 'c.jpg').write_bytes(b'not an image')
    c = _state('c.jpg', path=str(tmp_path / 'c.jpg'))
    ExifIntrinsics()([a, b, c])
    # 28 mm equivalent on the 43.27 mm full-frame diagonal, image diagonal 100 px
    assert a.focal[0] == pytest.approx(28 * 100 / math.hypot(36, 24)) and a.princpt.tolist() == [40.0, 30.0]
    assert a.extra['intrinsics_source'] == 'exif f35 28 mm'
    assert b.focal.tolist() == [100.0, 100.0] and b.events['exif_focal_missing'] == 1
    assert c.active and c.events['exif_unreadable'] == 1 and c.events['exif_focal_missing'] == 1
    d = _state('b.jpg', path=str(tmp_path / 'b.jpg'))
    ExifIntrinsics(missing='skip')([d])
    assert d.status == 'skipped' and d.reason.startswith('exif_focal_missing')


def test_retarget_leaves_roots_behind_the_camera():
    t = np.array([[0.4, -0.2, 5.0], [0.1, 0.1, 0.0], [0.2, 0.3, -2.0]])
    t1 = retarget_translation_to_intrinsics(t, [100, 100], [40, 30], [150, 150], [40, 30])
    assert np.all(np.isfinite(t1))
    np.testing.assert_array_equal(t1[1:], t[1:])
    assert t1[0, 2] == pytest.approx(7.5)


def test_same_intrinsics_up_to_float32_move_nobody():
    s = _state(focal=np.float32([1000.1, 1000.1]), princpt=np.float32([40.0, 30.0]))
    t_in = s.persons.transl.copy()
    set_intrinsics(s, [1000.1, 1000.1], [40.0, 30.0], 'file')
    np.testing.assert_array_equal(s.persons.transl, t_in)
    assert 'intrinsics_replaced' not in s.events and 'intrinsics_in' not in s.extra


def test_implausible_focal_is_noted():
    s = _state()
    set_intrinsics(s, [4.2, 4.2], [40.0, 30.0], 'file K.json')      # millimetres, not pixels
    assert s.events['intrinsics_implausible'] == 1 and 'vertical FoV' in s.notes[-1]


def test_intrinsics_file_details(tmp_path):
    path = tmp_path / 'K.json'
    path.write_text('{"a.jpg": {"focal": 120}, "a.jpg": {"focal": 130}}')
    with pytest.raises(ValueError, match="duplicate keys \\['a.jpg'\\]"):
        load_intrinsics_file(str(path))
    path.write_text(json.dumps({'a.jpg': {'focal': 120}, 'b.jpg': {'vfov_deg': 50}}))
    stage = IntrinsicsFile(str(path), override=False)
    # override=False still fills images without intrinsics
    s = ImageState(img_id='a.jpg', img_path=None, ori_shape=(60, 80), persons=Persons.empty())
    stage([s])
    assert s.focal.tolist() == [120.0, 120.0] and s.princpt.tolist() == [40.0, 30.0]
    # the image size is needed for a FoV or a default principal point
    u = ImageState(img_id='b.jpg', img_path=None, ori_shape=None, persons=Persons.empty())
    stage([u])
    assert u.status == 'skipped' and 'image size unknown' in u.reason
    # the run signature changes with the image's entry (finished shards are redone), not others'
    sig_a, sig_c = stage.input_signature('a.jpg'), stage.input_signature('c.jpg')
    path.write_text(json.dumps({'a.jpg': {'focal': 125}, 'b.jpg': {'vfov_deg': 50}}))
    edited = IntrinsicsFile(str(path), override=False)
    assert edited.input_signature('a.jpg') != sig_a and edited.input_signature('c.jpg') == sig_c


def test_stages_build_from_configs(tmp_path):
    """The commented config lines of configs/dto/*.py build through the registry."""
    from metric_hmr.registry import DTO_STAGES
    path = tmp_path / 'K.json'
    path.write_text(json.dumps({'a.jpg': {'focal': 120}}))
    assert isinstance(DTO_STAGES.build(dict(type='IntrinsicsFile', path=str(path))), IntrinsicsFile)
    assert isinstance(DTO_STAGES.build(dict(type='ExifIntrinsics')), ExifIntrinsics)
    with pytest.raises(ValueError, match='missing'):
        DTO_STAGES.build(dict(type='ExifIntrinsics', missing='drop'))
