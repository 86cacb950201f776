"""Detector / keypoint stages accept model-zoo names resolved from the installed packages."""
import os

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('mmpose')

from metric_hmr.generation.detection_stage import (MMDetPersonDetector, MMPoseTopDown,  # noqa: E402
                                                   resolve_model_config)


def test_names_resolve_to_bundled_configs():
    """As mmengine's BaseInferencer._load_model_from_metafile: name (case-insensitive) ->
    the config inside the package's .mim folder; the weights URL is only reported."""
    cfg, url = resolve_model_config('td-hm_ViTPose-base-simple_8xb64-210e_coco-256x192', 'mmpose')
    assert os.path.isfile(cfg) and cfg.endswith('td-hm_ViTPose-base-simple_8xb64-210e_coco-256x192.py')
    assert url.startswith('https://')
    cfg, _ = resolve_model_config('CASCADE-MASK-RCNN_X101-64X4D_FPN_MS-3X_COCO', 'mmdet')
    assert os.path.isfile(cfg) and 'cascade-mask-rcnn_x101-64x4d_fpn_ms-3x_coco' in cfg
    assert resolve_model_config(cfg, 'mmdet') == (cfg, None)
    with pytest.raises(FileNotFoundError, match='neither a file nor a model name'):
        resolve_model_config('no-such-model', 'mmdet')


def test_stages_build_from_names_with_local_weights_only(tmp_path):
    with pytest.raises(FileNotFoundError, match='download https://.* yourself'):
        MMPoseTopDown('td-hm_res50_8xb64-210e_coco-256x192',
                      checkpoint='https://download.openmmlab.com/x.pth', device='cpu')
    with pytest.raises(FileNotFoundError, match='must be a local file'):
        MMDetPersonDetector('rtmdet-ins_tiny_8xb32-300e_coco', checkpoint=str(tmp_path / 'no.pth'),
                            device='cpu')
    det = MMDetPersonDetector('rtmdet-ins_tiny_8xb32-300e_coco', checkpoint=None, device='cpu')
    assert det.model.cfg.model.type == 'RTMDet'
    pose = MMPoseTopDown('td-hm_res50_8xb64-210e_coco-256x192', checkpoint=None, device='cpu')
    assert pose.model.dataset_meta['num_keypoints'] == 17
