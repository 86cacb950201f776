"""configs/_base_/dto.py mirrors DTOConfig (defaults and the released preset)."""
import dataclasses
import os

import pytest
from mmengine.config import Config

from dto_hooks import DTOConfig, DTORefiner

CFG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'dto.py')


def _norm(d):
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}


def test_base_config_equals_paper_defaults():
    cfg = Config.fromfile(CFG)
    assert _norm(cfg.dto_cfg.to_dict()) == _norm(DTOConfig().to_dict())


def test_released_overrides_equal_released_preset():
    cfg = Config.fromfile(CFG)
    merged = dict(cfg.dto_cfg.to_dict(), **cfg.dto_released.to_dict())
    assert _norm(DTOConfig.from_dict(merged).to_dict()) == _norm(DTOConfig.released().to_dict())
    assert DTOConfig.from_dict(dict(preset='released', max_height=2.3)).max_height == 2.3


def test_refiner_builds_from_config():
    cfg = Config.fromfile(CFG)
    ref = DTORefiner(**{k: v for k, v in cfg.dto_refiner.items() if k != 'type'}, faces=[[0, 1, 2]])
    assert ref.cfg == DTOConfig() and ref.body_model is None and not ref.refit_shape


def test_bad_preset():
    with pytest.raises(ValueError, match='preset'):
        DTOConfig.from_dict(dict(preset='magic'))
    assert dataclasses.is_dataclass(DTOConfig)


_CHOICES = dict(prior_mode=('paper', 'cdc'), depth_convention=('disparity', 'depth'),
                depth_resample=('before', 'after'), regression_source=('vertices', 'pixels'),
                z_source=('transl', 'rendered'), quasi_planar_test=('variance', 'std'),
                bounds_mode=('paper', 'lower_only'))


@pytest.mark.parametrize('option', sorted(_CHOICES))
def test_typed_choice_typo_fails_when_built(option):
    """A typo in a string option is one error at build time naming option and choices."""
    for ok in _CHOICES[option]:
        assert getattr(DTOConfig.from_dict({option: ok}), option) == ok
    with pytest.raises(ValueError) as e:
        DTOConfig.from_dict({option: 'typo'})
    msg = str(e.value)
    assert option in msg and 'typo' in msg and all(c in msg for c in _CHOICES[option])
    with pytest.raises(ValueError, match=option):       # replace() validates too
        dataclasses.replace(DTOConfig(), **{option: 'typo'})


@pytest.mark.parametrize('bad, name', [
    (dict(alpha1=6.0), 'alpha1'), (dict(gender_thresholds=(0.7, 0.3)), 'gender_thresholds'),
    (dict(fallback_prior='giant'), 'fallback_prior'), (dict(resolution=0), 'resolution'),
    (dict(edge_erosion=-1), 'edge_erosion'), (dict(feet_frac=0.0), 'feet_frac'),
    (dict(score_threshold=0.0), 'score_threshold'), (dict(max_height=-2.1), 'max_height')])
def test_out_of_range_numbers_name_the_option(bad, name):
    with pytest.raises(ValueError, match=name):
        DTOConfig.from_dict(bad)


def test_sub_configs_carry_the_flat_options():
    cfg = DTOConfig.released()
    assert cfg.priors.gender_thresholds == (0.33, 0.67) and cfg.priors.fallback_prior == 'adult_neutral'
    assert cfg.cues.regression_source == 'pixels' and cfg.cues.inlier_thresh == 0.1
    assert cfg.bounds.bounds_mode == 'lower_only' and cfg.bounds.fallback_X == 20.0
    assert cfg.verdict.skipped_penalty == 3.0
    # a group prior table entry may serve as the fallback
    assert DTOConfig(group_priors=dict(giant=(2.2, 0.1)), fallback_prior='giant').priors.fallback_prior == 'giant'
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.alpha1 = 2.0
