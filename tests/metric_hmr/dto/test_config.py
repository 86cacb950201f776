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
