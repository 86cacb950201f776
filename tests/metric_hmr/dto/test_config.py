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
                z_source=('transl', 'rendered', 'samples'), quasi_planar_test=('variance', 'std'),
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


def test_plus_overrides_equal_plus_preset():
    """Review item 25: ``dto_plus`` of the base config file mirrors ``DTOConfig.plus_preset()``."""
    cfg = Config.fromfile(CFG)
    merged = dict(_norm(cfg.dto_cfg.to_dict()), **_norm(cfg.dto_plus.to_dict()))
    assert DTOConfig(**merged) == DTOConfig.plus_preset()


@pytest.mark.parametrize('option, value', [
    ('bounds_mode', 'paper'), ('min_corr', 0.3), ('fallback_X', 10.0), ('z_source', 'transl'),
    ('regression_source', 'vertices'), ('quasi_planar_test', 'variance'), ('edge_erosion', 2),
    ('depth_tol', 0.05), ('prior_mode', 'cdc'), ('adult_hybrid', False), ('iqr_fence', False),
    ('affine_space', 'disparity'), ('focal_refine', True), ('alpha2', 3.0)])
def test_released_algorithm_refuses_options_it_does_not_read(option, value):
    """Review item 4: ``preset='released'`` with an option the released sequence ignores
    is one ValueError naming it (before, it was accepted and silently ignored)."""
    with pytest.raises(ValueError, match=f"does not read the option.*'{option}'"):
        DTOConfig.from_dict({'preset': 'released', option: value})
    # the options it reads are accepted
    for ok in (dict(max_height=2.3), dict(max_reject_rounds=3), dict(gender_prior=False),
               dict(use_X=False), dict(resolution=128, min_visible_vertices=100)):
        DTOConfig.from_dict(dict(preset='released', **ok))


@pytest.mark.parametrize('option, value', [('max_height', 2.1), ('feet_fit', True),
                                           ('far_rel_depth', 0.02), ('max_reject_rounds', 3)])
def test_paper_path_refuses_released_only_options(option, value):
    """Review item 10: the paper / DTO+ path has no 2.1 m rejection, feet fit or far
    group (they live in released_algorithm.py only): setting one is an error."""
    for preset in ('paper', 'plus'):
        with pytest.raises(ValueError, match=f"'{option}'.*released-code"):
            DTOConfig.from_dict({'preset': preset, option: value})
