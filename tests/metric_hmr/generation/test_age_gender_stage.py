"""Age/gender from local transformers models (finding 2 of issue 12), with tiny randomly
initialised models built from transformers configs and saved to temporary folders."""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pytest
import torch
from PIL import Image

transformers = pytest.importorskip('transformers')
from transformers import (AutoConfig, AutoModelForImageClassification, PretrainedConfig,  # noqa: E402
                          PreTrainedModel, ViTConfig, ViTForImageClassification, ViTImageProcessor)
from transformers.utils import ModelOutput  # noqa: E402

from metric_hmr.generation.age_gender_stage import (HFAgeGender, face_box_from_keypoints,  # noqa: E402
                                                    label_to_years)
from metric_hmr.generation.state import ImageState, Persons  # noqa: E402

H, W = 96, 128


# ----------------------------------------------------------------------------- tiny MiVOLO-style model
class TinyMiVOLOConfig(PretrainedConfig):
    model_type = 'tiny_mivolo_test'


@dataclass
class TinyMiVOLOOutput(ModelOutput):
    age_output: Optional[torch.Tensor] = None
    gender_probs: Optional[torch.Tensor] = None
    gender_class_idx: Optional[torch.Tensor] = None


class TinyMiVOLO(PreTrainedModel):
    """Face + body inputs -> age (years), gender probability and class (0 male), like MiVOLO v2."""
    config_class = TinyMiVOLOConfig
    main_input_name = 'body_input'

    def __init__(self, config):
        super().__init__(config)
        self.face = torch.nn.Linear(3, 2)
        self.body = torch.nn.Linear(3, 2)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, std=1.0)
            torch.nn.init.normal_(module.bias, std=1.0)

    def forward(self, faces_input=None, body_input=None, **kw):
        f = self.face(faces_input.mean((2, 3))) + self.body(body_input.mean((2, 3)))
        logit = f[:, 1]
        cls = (logit < 0).long()                       # class 0 = male
        prob = torch.sigmoid(logit.abs())              # probability of the predicted class
        return TinyMiVOLOOutput(age_output=30.0 + 20.0 * torch.tanh(f[:, 0]), gender_probs=prob,
                                gender_class_idx=cls)


AutoConfig.register('tiny_mivolo_test', TinyMiVOLOConfig)
AutoModelForImageClassification.register(TinyMiVOLOConfig, TinyMiVOLO)


def _processor():
    return ViTImageProcessor(size={'height': 32, 'width': 32}, do_normalize=True)


@pytest.fixture(scope='module')
def mivolo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp('tiny_mivolo')
    torch.manual_seed(0)
    TinyMiVOLO(TinyMiVOLOConfig()).save_pretrained(d)
    _processor().save_pretrained(d)
    return str(d)


def _vit(labels, seed):
    torch.manual_seed(seed)
    cfg = ViTConfig(image_size=32, patch_size=16, hidden_size=16, num_hidden_layers=1,
                    num_attention_heads=2, intermediate_size=32,
                    id2label=dict(enumerate(labels)), label2id={k: i for i, k in enumerate(labels)})
    return ViTForImageClassification(cfg).eval()


@pytest.fixture(scope='module')
def classifier_dirs(tmp_path_factory):
    age = tmp_path_factory.mktemp('tiny_age')
    _vit(['0-2', '3-9', '10-19', '20-29', 'more than 70'], 1).save_pretrained(age)
    _processor().save_pretrained(age)
    gender = tmp_path_factory.mktemp('tiny_gender')
    _vit(['female', 'male'], 2).save_pretrained(gender)
    _processor().save_pretrained(gender)
    return str(age), str(gender)


def _state(tmp_path, kpts=None):
    rng = np.random.default_rng(0)
    p = tmp_path / 'img.png'
    img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    Image.fromarray(img).save(p)
    boxes = np.array([[10.0, 5.0, 50.0, 90.0], [60.0, -10.0, 140.0, 80.0], [np.nan] * 4])
    k = len(boxes)
    persons = Persons(np.zeros((k, 3)), np.zeros((k, 69)), np.zeros((k, 10)), np.zeros((k, 3)),
                      ['release'] * k, np.arange(k), kpts, boxes)
    return ImageState('img', str(p), (H, W), persons), img


def _gtkps(face_xy, back=False):
    """(3,44,3) keypoints whose OpenPose face joints 0,15,16,17,18 are given."""
    k = np.zeros((3, 44, 3))
    k[0, [0, 15, 16, 17, 18], :2] = face_xy
    k[0, [0, 15, 16, 17, 18], 2] = 1.0
    if back:
        k[0, [15, 16], 0] = k[0, [16, 15], 0]
    return k


def test_label_strings_map_to_years():
    assert label_to_years('0-2') == 1.5 and label_to_years('3-9') == 6.5
    assert label_to_years('(25-32)') == 29.0 and label_to_years('more than 70') == 75.0
    assert label_to_years('70+') == 75.0 and label_to_years('teen') == 11.5
    assert label_to_years('male') is None and label_to_years('cat') is None


def test_face_box_as_the_released_code_builds_it():
    """Mirrors dto_framework.py 419-435: joints 0,15,16,17,18; back-facing (x of 15 > x
    of 16) -> no face; square of side 1.2 x the x-extent, centred, int-truncated."""
    face = np.array([[30, 20], [26, 17], [34, 17], [22, 19], [38, 19]], float)
    box = face_box_from_keypoints(_gtkps(face)[0])
    np.testing.assert_array_equal(box, [int(30 - 9.6), int(18.5 - 9.6), int(30 + 9.6), int(18.5 + 9.6)])
    assert face_box_from_keypoints(_gtkps(face, back=True)[0]) is None
    assert face_box_from_keypoints(np.zeros((44, 3))) is None


def test_mivolo_style_model_face_and_body_crops_flip_average(tmp_path, mivolo_dir):
    """Mirrors dto_framework.py 445-493: body crop = box clipped to the image, face crop
    from the keypoints, flipped copies averaged; P(male) = p if class 0 else 1 - p."""
    face = np.array([[30, 20], [26, 17], [34, 17], [22, 19], [38, 19]], float)
    s, img = _state(tmp_path, _gtkps(face))
    stage = HFAgeGender(mivolo_dir, trust_remote_code=False, missing_face='zeros', device='cpu')
    assert stage.kind == 'mivolo'
    stage([s])
    assert s.extra['age_gender_source'].startswith('age/gender: mivolo model')
    assert np.isnan(s.age[2]) and np.isnan(s.p_male[2]) and s.events['age_gender_no_box'] == 1
    # expected values from the model itself on the crops the released code would take
    model = AutoModelForImageClassification.from_pretrained(mivolo_dir, local_files_only=True).eval()
    proc = _processor()
    fb = face_box_from_keypoints(_gtkps(face)[0]).astype(int)
    bodies = [img[5:90, 10:50], img[0:80, 60:128]]
    faces = [img[max(fb[1], 0):fb[3], max(fb[0], 0):fb[2]], np.zeros((8, 8, 3), np.uint8)]

    def run(b, f):
        t = lambda cs: proc(images=cs, return_tensors='pt')['pixel_values']  # noqa: E731
        with torch.no_grad():
            o = model(faces_input=t(f), body_input=t(b))
        pm = torch.where(o.gender_class_idx == 0, o.gender_probs, 1 - o.gender_probs)
        return o.age_output.numpy(), pm.numpy()
    a1, p1 = run(bodies, faces)
    a2, p2 = run([c[:, ::-1].copy() for c in bodies], [c[:, ::-1].copy() for c in faces])
    np.testing.assert_allclose(s.age[:2], (a1 + a2) / 2, rtol=1e-5)
    np.testing.assert_allclose(s.p_male[:2], (p1 + p2) / 2, rtol=1e-5)
    # a different face crop changes the answer (the face input is used)
    s2, _ = _state(tmp_path, _gtkps(face, back=True))
    stage([s2])
    assert not np.isclose(s2.age[0], s.age[0])


def test_classifier_models_age_ranges_and_gender(tmp_path, classifier_dirs):
    """Plain image classifiers: expected age over the age labels, P(male) from a second
    classifier's 'male' label; batches of 1 give the same numbers as one batch."""
    age_dir, gender_dir = classifier_dirs
    s, img = _state(tmp_path)
    stage = HFAgeGender(age_dir, gender_model_dir=gender_dir, flip_average=False, device='cpu')
    assert stage.kind == 'classifier'
    stage([s])
    years = np.array([1.5, 6.5, 15.0, 25.0, 75.0])
    proc = _processor()
    x = proc(images=[img[5:90, 10:50], img[0:80, 60:128]], return_tensors='pt')['pixel_values']
    with torch.no_grad():
        pa = torch.softmax(_vit(['0-2', '3-9', '10-19', '20-29', 'more than 70'], 1)(x).logits, -1).numpy()
        pg = torch.softmax(_vit(['female', 'male'], 2)(x).logits, -1).numpy()
    np.testing.assert_allclose(s.age[:2], pa @ years, rtol=1e-5)
    np.testing.assert_allclose(s.p_male[:2], pg[:, 1], rtol=1e-5)
    s1, _ = _state(tmp_path)
    HFAgeGender(age_dir, gender_model_dir=gender_dir, flip_average=False, batch_size=1,
                device='cpu')([s1])
    np.testing.assert_allclose(s1.age[:2], s.age[:2], rtol=1e-5)
    # without a gender model the age-only classifier leaves the gender unknown
    s3, _ = _state(tmp_path)
    HFAgeGender(age_dir, flip_average=False, device='cpu')([s3])
    assert np.isnan(s3.p_male).all() and np.isfinite(s3.age[:2]).all()


def test_nothing_is_downloaded_and_bad_labels_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='never downloaded'):
        HFAgeGender('iitolstykh/mivolo_v2', device='cpu')
    d = tmp_path / 'bad'
    _vit(['cat', 'dog'], 0).save_pretrained(d)
    _processor().save_pretrained(d)
    with pytest.raises(ValueError, match=r"\['cat', 'dog'\] are neither an age nor a gender"):
        HFAgeGender(str(d), device='cpu')


def test_folder_with_its_own_code_needs_the_opt_in(tmp_path, mivolo_dir):
    """A folder whose config.json maps classes to code inside it (auto_map, as MiVOLO v2) is
    refused without trust_remote_code=True, before transformers reads it."""
    import json
    import shutil
    d = tmp_path / 'remote'
    shutil.copytree(mivolo_dir, d)
    cfg = json.loads((d / 'config.json').read_text())
    cfg['auto_map'] = {'AutoModelForImageClassification': 'modeling_x.XForAgeGender'}
    (d / 'config.json').write_text(json.dumps(cfg))
    (d / 'modeling_x.py').write_text('raise SystemExit("remote code ran")\n')
    with pytest.raises(ValueError, match='trust_remote_code=True'):
        HFAgeGender(str(d), kind='mivolo', device='cpu')


def test_unknown_age_gender_stage_states_it(tmp_path):
    from metric_hmr.generation import UnknownAgeGender
    s, _ = _state(tmp_path)
    UnknownAgeGender()([s])
    assert s.extra['age_gender_source'].startswith('age/gender: no model')


@pytest.mark.gpu
def test_gpu_float16_matches_cpu(tmp_path, mivolo_dir, classifier_dirs):
    """On a GPU the stage runs batched in float16 (dtype='auto') and agrees with CPU."""
    assert torch.cuda.is_available()
    face = np.array([[30, 20], [26, 17], [34, 17], [22, 19], [38, 19]], float)
    for kw in (dict(model_dir=mivolo_dir, missing_face='zeros'),
               dict(model_dir=classifier_dirs[0], gender_model_dir=classifier_dirs[1])):
        s_cpu, _ = _state(tmp_path, _gtkps(face))
        s_gpu, _ = _state(tmp_path, _gtkps(face))
        HFAgeGender(device='cpu', **kw)([s_cpu])
        stage = HFAgeGender(device='cuda', **kw)
        assert next(stage.model.parameters()).dtype == torch.float16
        stage([s_gpu])
        np.testing.assert_allclose(s_gpu.age[:2], s_cpu.age[:2], rtol=2e-2, atol=0.2)
        np.testing.assert_allclose(s_gpu.p_male[:2], s_cpu.p_male[:2], atol=2e-2)
