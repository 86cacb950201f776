"""configs/dto/dto_camerahmr_release.py defaults to the authors' released behaviour."""
import os

from mmengine.config import Config

CFG = os.path.join(os.path.dirname(__file__), '..', '..', 'configs', 'dto',
                   'dto_camerahmr_release.py')


def test_release_config_is_the_released_pipeline():
    from metric_hmr.dto.config import DTOConfig
    from metric_hmr.generation.detection_stage import resolve_model_config
    from metric_hmr.generation.match_stage import KeypointMatching
    cfg = Config.fromfile(CFG)
    st = {s['type']: dict(s) for s in cfg.stages}
    m = KeypointMatching(**{k: v for k, v in st['KeypointMatching'].items() if k != 'type'})
    assert (m.unmatched_persons, m.assignment, m.nms, m.body_joints) == \
        ('drop', 'detection_order', 'distance', 'j19')
    assert DTOConfig.from_dict(st['DTOStage']['dto']).algorithm == 'released'
    age = st['HFAgeGender']
    # foreign model code runs only after an explicit opt-in (README "Security")
    assert age['kind'] == 'mivolo' and age['trust_remote_code'] is False
    for t, scope in (('MMDetPersonDetector', 'mmdet'), ('MMPoseTopDown', 'mmpose')):
        path, _ = resolve_model_config(st[t]['config'], scope)
        assert os.path.isfile(path)
