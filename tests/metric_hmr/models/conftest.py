"""Fixtures of the MA-HMR model tests: a tiny MA-HMR config and toy batches."""
import copy

import pytest
import torch

S = 112  # tiny canvas (multiple of 56)


def paper_losses():
    """The loss configs of configs/_base_/mahmr_losses.py (the one place of the weights)."""
    from pathlib import Path

    from mmengine.config import Config
    path = Path(__file__).resolve().parents[3] / 'configs' / '_base_' / 'mahmr_losses.py'
    return Config.fromfile(str(path)).paper_losses.to_dict()


def tiny_model_cfg(smpl_path, camera=True, use_dn=False, num_queries=8):
    """SAT-HMR's architecture at width 32 (SATEncoder, DABDecoder, SATHeads) + the FoV branch."""
    return dict(
        type='MAHMR', input_size=S,
        backbone=dict(type='SATEncoder', embed_dim=32, depth=3, num_heads=2, hidden_dim=32, map_layers=1),
        decoder=dict(type='DABDecoder', d_model=32, nhead=2, num_layers=2, dim_feedforward=64,
                     num_queries=num_queries, dn_param_dim=82 if use_dn else 0),
        heads=dict(type='SATHeads', num_betas=10),
        dn=dict(dn_number=2, box_noise_scale=0.4, tgt_noise_scale=0.2) if use_dn else None,
        camera_head=dict(type='FoVHead', in_dim=32, hidden_dim=32) if camera else None,
        losses=paper_losses(),
        body_model=dict(type='SMPLBodyModel', model_path=str(smpl_path)))


@pytest.fixture
def tiny_cfg(smpl_model_file):
    return copy.deepcopy(tiny_model_cfg(smpl_model_file))


@pytest.fixture(scope='session')
def toy_batch(smpl_model_file):
    """A packed, collated batch of two toy scenes on the S x S canvas (no augmentation)."""
    from metric_hmr.datasets.train import (CanvasHMR, HMRListDataset, LoadHMRImage, PackHMRInputs,
                                           mahmr_collate, make_toy_scene)
    from metric_hmr.registry import BODY_MODELS
    import metric_hmr.body_models  # noqa: F401
    bm = BODY_MODELS.build(dict(type='SMPLBodyModel', model_path=str(smpl_model_file)))
    scenes = [make_toy_scene(bm, seed, (96, 128), no_smpl_fraction=0.3) for seed in (0, 1)]
    ds = HMRListDataset(scenes, pipeline=[LoadHMRImage(), CanvasHMR(S), PackHMRInputs()])
    return mahmr_collate([ds[0], ds[1]])


def build(cfg):
    import metric_hmr.body_models  # noqa: F401
    import metric_hmr.models  # noqa: F401
    from metric_hmr.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.fixture
def make_cfg(smpl_model_file):
    """Factory: tiny_model_cfg(smpl, camera=..., use_dn=..., num_queries=...)."""
    return lambda **kw: copy.deepcopy(tiny_model_cfg(smpl_model_file, **kw))


@pytest.fixture
def build_model():
    return build
