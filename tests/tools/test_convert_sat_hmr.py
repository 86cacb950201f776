"""tools/convert_sat_hmr.py and strict loading (train / test / infer)."""
import json
import os
import runpy
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(os.environ.get('SAT_HMR_FIXTURE', REPO.parent / 'shared' / 'fixtures' / 'sat_hmr'))


def _tiny_sat_model():
    import metric_hmr.models  # noqa: F401
    from metric_hmr.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='MAHMR', input_size=112,
        backbone=dict(type='SATEncoder', embed_dim=32, depth=3, num_heads=2, hidden_dim=32, map_layers=1),
        decoder=dict(type='DABDecoder', d_model=32, nhead=2, num_layers=2, dim_feedforward=64, num_queries=4,
                     dn_param_dim=82),
        heads=dict(type='SATHeads', num_betas=10), camera_head=None, body_model=dict(type='none'),
        losses=dict(det=dict(type='FocalDetectionLoss'))))


def _as_sat_hmr(model):
    """Our state dict renamed back to SAT-HMR's names (+ its alias, rebuilt and SMPL buffers)."""
    from metric_hmr.models.sat_hmr_keys import SAT_HMR_PREFIXES
    sd = {}
    for k, v in model.state_dict().items():
        src = next(s for s, d in SAT_HMR_PREFIXES if d is not None and k.startswith(d))
        dst = next(d for s, d in SAT_HMR_PREFIXES if s == src)
        sd[src + k[len(dst):]] = v.clone()
    for k in [k for k in sd if k.startswith('bbox_embed.')]:
        sd['decoder.decoder.' + k] = sd[k]
    sd.update(cam_intrinsics=torch.eye(3), z_order_map=torch.zeros(4, 4, dtype=torch.long))
    sd['human_model.v_template'] = torch.zeros(6890, 3)
    return sd


def test_converter_maps_every_key_and_loads_strictly(tmp_path):
    from metric_hmr.utils.checkpoint import load_model_weights
    model = _tiny_sat_model()
    sd = _as_sat_hmr(model)
    src = tmp_path / 'sat.pth'
    torch.save({'model': {'module.' + k: v for k, v in sd.items()}}, src)  # wrapper + DDP prefix
    main = runpy.run_path(str(REPO / 'tools' / 'convert_sat_hmr.py'))['main']
    assert main([str(src), str(tmp_path / 'ours.pth'), '--table']) == 0
    fresh = _tiny_sat_model()
    with torch.no_grad():
        for p in fresh.parameters():
            p.add_(1.0)
    assert load_model_weights(fresh, str(tmp_path / 'ours.pth'), strict=True) == ([], [])
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k
    ckpt = torch.load(tmp_path / 'ours.pth', weights_only=True)
    assert ckpt['meta']['counts'] == dict(mapped=len(model.state_dict()), alias=6 * 2, rebuilt=3, dropped=0,
                                          unmapped=0)


def test_converter_rejects_unmapped_and_inconsistent_alias_and_pads_betas(tmp_path, capsys):
    from metric_hmr.models.sat_hmr_keys import convert_sat_hmr_state_dict
    sd = _as_sat_hmr(_tiny_sat_model())
    main = runpy.run_path(str(REPO / 'tools' / 'convert_sat_hmr.py'))['main']
    bad = dict(sd, **{'foo.weight': torch.zeros(2)})
    torch.save(bad, tmp_path / 'bad.pth')
    assert main([str(tmp_path / 'bad.pth'), str(tmp_path / 'o.pth')]) == 1
    assert 'foo.weight' in capsys.readouterr().err and not (tmp_path / 'o.pth').exists()
    alias = dict(sd)
    alias['decoder.decoder.bbox_embed.0.layers.0.bias'] = alias['bbox_embed.0.layers.0.bias'] + 1
    with pytest.raises(ValueError, match='alias'):
        convert_sat_hmr_state_dict(alias)
    out, report = convert_sat_hmr_state_dict(sd, num_betas=11, keep_dn=False)
    assert out['heads.mean_shape'].shape == (11,) and out['heads.shape_head.1.layers.4.weight'].shape == (11, 32)
    assert float(out['heads.shape_head.1.layers.4.weight'][10].abs().sum()) == 0
    assert 'decoder.dn_enc.weight' not in out and report.count('dropped') == 2
    torch.save({'not': 'a state dict'}, tmp_path / 'x.pth')
    assert main([str(tmp_path / 'x.pth'), str(tmp_path / 'o.pth')]) == 1


def test_strict_loading_names_the_mismatch_and_non_strict_prints_it(tmp_path):
    from metric_hmr.utils.checkpoint import load_model_weights
    model = _tiny_sat_model()
    sd = dict(model.state_dict())
    sd.pop('decoder.tgt_embed.weight')
    sd['extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': sd}, tmp_path / 'c.pth')
    with pytest.raises(RuntimeError, match='decoder.tgt_embed.weight'):
        load_model_weights(model, str(tmp_path / 'c.pth'))
    lines = []
    missing, unexpected = load_model_weights(model, str(tmp_path / 'c.pth'), strict=False, logger=lines.append)
    assert missing == ['decoder.tgt_embed.weight'] and unexpected == ['extra.weight']
    assert any('decoder.tgt_embed.weight' in s for s in lines) and any('extra.weight' in s for s in lines)
    # stage change: explicitly named prefixes only
    sd = dict(model.state_dict())
    sd.pop('decoder.tgt_embed.weight')
    torch.save({'state_dict': sd}, tmp_path / 'd.pth')
    assert load_model_weights(model, str(tmp_path / 'd.pth'), new_prefixes=['decoder.tgt_embed.'],
                              logger=lines.append) == ([], [])


def test_every_sat_hmr_key_of_the_fixture_manifest_fits_the_full_model(repo_root):
    """All 673 keys of SAT-HMR's state dict (fixture manifest, from its module definitions) map
    onto the full-size model with the same shapes, and every model key is covered."""
    man = FIXTURE / 'weights_manifest.json'
    if not man.is_file():
        pytest.skip(f'SAT-HMR fixture not found at {FIXTURE} (set SAT_HMR_FIXTURE)')
    from metric_hmr.models.sat_hmr_keys import map_sat_hmr_key
    spec = runpy.run_path(str(repo_root / 'tools' / 'benchmarks' / 'sat_hmr_conformance.py'))
    model = spec['build_sat_hmr_model']()
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    seen = set()
    for e in json.loads(man.read_text())['keys']:
        status, target = map_sat_hmr_key(e['name'])
        assert status != 'unmapped', e['name']
        if status == 'mapped':
            assert own[target] == tuple(e['shape']), e['name']
            seen.add(target)
    assert seen == set(own)


def test_stage_checkpoints_chain_strictly(repo_root):
    """converted SAT-HMR (10 betas, ``--num-betas 11``) -> stage 1 -> stage 2 -> stage 3 load
    strictly (same keys and shapes), with only the prefixes the configs name (stage 2 drops
    dn_enc, adds the FoV head).  Stages are SMPL-A (11 betas): the converter's zero kid-blend
    row / column make SAT-HMR's 10-beta tensors fit stage 1."""
    from mmengine.config import Config

    import metric_hmr.models  # noqa: F401
    from metric_hmr.models.sat_hmr_keys import convert_sat_hmr_state_dict
    from metric_hmr.registry import MODELS
    shapes = {}
    for stage in (1, 2, 3):
        cfg = Config.fromfile(str(repo_root / 'configs' / f'mahmr_stage{stage}.py'))
        shapes[stage] = {k: tuple(v.shape) for k, v in MODELS.build(cfg.model.to_dict()).state_dict().items()}
        if stage == 1:
            assert cfg.load_from.endswith('sat_hmr_vitb_converted.pth')
            nb = cfg.model.heads.num_betas
        if stage == 2:
            drop, new = tuple(cfg.load_drop_prefixes), tuple(cfg.load_new_prefixes)
    spec = runpy.run_path(str(repo_root / 'tools' / 'benchmarks' / 'sat_hmr_conformance.py'))
    sat_model = spec['build_sat_hmr_model']()
    assert sat_model.heads.num_betas == 10                  # SAT-HMR's own head
    converted, report = convert_sat_hmr_state_dict(_as_sat_hmr(sat_model), num_betas=nb)
    del sat_model
    assert report.count('unmapped') == 0
    assert {k: tuple(v.shape) for k, v in converted.items()} == shapes[1]   # strict fit of stage 1
    assert float(converted['heads.shape_head.0.layers.4.weight'][10].abs().sum()) == 0
    assert float(converted['decoder.dn_enc.weight'][:, 72 + 10:].abs().sum()) == 0
    kept = {k: v for k, v in shapes[1].items() if not k.startswith(drop)}
    assert kept == {k: v for k, v in shapes[2].items() if not k.startswith(new)}
    assert any(k.startswith(drop) for k in shapes[1]) and any(k.startswith(new) for k in shapes[2])
    assert shapes[2] == shapes[3]


def _ma_hmr_state_dict(kid: bool):
    """Synthetic MA-HMR state dict: SAT-HMR's manifest keys + MA-HMR's own, as zero-stride tensors.

    MA-HMR (gouba2333/MA-HMR models/sat_model.py) = SAT-HMR's ``Model`` with, for
    configs/models/fov.yaml / fov_kid.yaml: ``fov_head = MLP(768, 768, 1, 4)`` (lines 141-145),
    no ``dn_enc`` (``use_dn: False``, lines 227-235) and, with ``use_kid`` (lines 88-91, 184),
    ``mean_shape`` (11,) and ``shape_head.*.layers.4`` with 11 outputs.
    """
    man = FIXTURE / 'weights_manifest.json'
    if not man.is_file():
        pytest.skip(f'SAT-HMR fixture not found at {FIXTURE} (set SAT_HMR_FIXTURE)')
    shapes = {e['name']: tuple(e['shape']) for e in json.loads(man.read_text())['keys']
              if not e['name'].startswith('dn_enc.')}
    for i in range(4):
        shapes[f'fov_head.layers.{i}.weight'] = (1 if i == 3 else 768, 768)
        shapes[f'fov_head.layers.{i}.bias'] = (1 if i == 3 else 768,)
    if kid:
        shapes['mean_shape'] = (11,)
        for k in [k for k in shapes if k.startswith('shape_head.') and '.layers.4.' in k]:
            shapes[k] = (11,) + shapes[k][1:]
    return {k: torch.zeros(()).expand(s) for k, s in shapes.items()}


def _full_mahmr_shapes(num_betas: int):
    """Parameter / buffer shapes of the stage-3 MAHMR (camera branch, no dn_enc), built on meta."""
    from mmengine.config import Config

    import metric_hmr.models  # noqa: F401
    from metric_hmr.registry import MODELS
    m = Config.fromfile(str(REPO / 'configs' / '_base_' / 'mahmr_model.py')).model.to_dict()
    m['heads'].update(num_betas=num_betas, mean_params=None)
    with torch.device('meta'):
        model = MODELS.build(m)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize('kid', [False, True])
def test_ma_hmr_checkpoint_converts_with_every_key_mapped(kid):
    """An MA-HMR checkpoint (fov / fov_kid model of gouba2333/MA-HMR models/sat_model.py:141-145,
    88-91) converts onto our stage-3 model: fov_head.* -> camera_head.*, every other key as in
    SAT-HMR, shapes equal, nothing unmapped; an 11-beta file refuses num_betas=10 by name."""
    from metric_hmr.models.sat_hmr_keys import convert_sat_hmr_state_dict
    nb = 11 if kid else 10
    sd = _ma_hmr_state_dict(kid)
    out, report = convert_sat_hmr_state_dict(sd, num_betas=nb)
    assert report.count('unmapped') == 0
    assert report['fov_head.layers.3.weight'] == ('mapped', 'camera_head.layers.3.weight')
    own = _full_mahmr_shapes(nb)
    assert {k: tuple(v.shape) for k, v in out.items()} == own
    assert len(report) == len(sd) and report.count('rebuilt') == 4  # cam_intrinsics + 3 z-order maps
    if kid:
        with pytest.raises(ValueError, match='num-betas 11'):
            convert_sat_hmr_state_dict(sd, num_betas=10)
    out, report = convert_sat_hmr_state_dict(sd, num_betas=nb, keep_camera=False)
    assert report.count('dropped') == 8 and not any(k.startswith('camera_head.') for k in out)
