"""Checks of a generation config before anything runs, and its resolved form.

* unknown ``generation.*`` keys and unknown constructor keywords of readers / stages /
  body models are reported in one line naming the known ones (not a TypeError deep in a
  constructor);
* :func:`resolved_run_config` fills in every constructor default (and the DTO options of
  the chosen preset), so the shard fingerprint changes when a default changes, not only
  when the config file does.
"""
from __future__ import annotations

import inspect
from typing import Dict, Iterable, List, Optional

__all__ = ['ConfigError', 'DEFAULT_GENERATION', 'check_generation_keys', 'check_components',
           'resolved_component', 'resolved_run_config', 'component_list']

DEFAULT_GENERATION = dict(shard_size=64, batch_size=8, progress=True, vis_every=0, report=True,
                          debug_delay_per_shard=0.0, dist_timeout_s=7 * 24 * 3600,
                          torch_threads=1, check_inputs=True, output_keys=None)


class ConfigError(ValueError):
    """A configuration the user must fix; the run stops before processing any image."""


def check_generation_keys(gen: Optional[dict]) -> dict:
    """``generation`` dict merged over the defaults; unknown keys raise :class:`ConfigError`."""
    gen = dict(gen or {})
    unknown = sorted(set(gen) - set(DEFAULT_GENERATION))
    keys = gen.get('output_keys')
    if keys is not None:
        from .keys import RELEASE_NAMING
        if keys not in RELEASE_NAMING:
            raise ConfigError(f'generation.output_keys={keys!r} is not a release of the authors\' '
                              f'naming; known: {sorted(RELEASE_NAMING)} (or None: the release imgname)')
    if unknown:
        raise ConfigError(f'unknown generation key(s) {", ".join(unknown)}; known: '
                          f'{", ".join(sorted(DEFAULT_GENERATION))}')
    return {**DEFAULT_GENERATION, **gen}


def _registry_class(cfg: dict, where: str, registry=None):
    from ..registry import DTO_STAGES
    registry = registry or DTO_STAGES
    typ = cfg.get('type')
    if not isinstance(typ, str):
        return None if not isinstance(typ, type) else typ
    cls = registry.get(typ)
    if cls is None:
        raise ConfigError(f'{where}: unknown type {typ!r}; registered: '
                          f'{", ".join(sorted(registry.module_dict))}')
    return cls


def _signature_params(cls) -> Optional[Dict[str, inspect.Parameter]]:
    """Constructor keywords of ``cls``, or None when it takes ``**kwargs`` (anything goes)."""
    if cls.__init__ is object.__init__:      # no constructor of its own: no keywords
        return {}
    params = dict(inspect.signature(cls.__init__).parameters)
    params.pop('self', None)
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return None
    return params


def _check_keys(cfg: dict, cls, where: str) -> None:
    params = _signature_params(cls)
    if params is None:
        return
    unknown = sorted(k for k in cfg if k != 'type' and k not in params)
    if unknown:
        raise ConfigError(f'{where} ({cls.__name__}): unknown keyword(s) {", ".join(unknown)}; '
                          f'known: {", ".join(params) or "(none)"}')


def check_components(components: Iterable[tuple]) -> None:
    """``components``: (where, cfg dict) pairs (reader, stages[i]); nested ``body_model``
    dicts are checked against ``BODY_MODELS``, a nested ``dto`` dict against DTOConfig."""
    from ..registry import BODY_MODELS
    for where, cfg in components:
        if not isinstance(cfg, dict):
            continue
        cls = _registry_class(cfg, where)
        if cls is None:
            continue
        _check_keys(cfg, cls, where)
        bm = cfg.get('body_model')
        if isinstance(bm, dict):
            bm_cls = _registry_class(bm, f'{where}.body_model', BODY_MODELS)
            if bm_cls is not None:
                _check_keys(bm, bm_cls, f'{where}.body_model')
        if isinstance(cfg.get('dto'), dict):
            from metric_hmr.dto.config import DTOConfig
            try:
                DTOConfig.from_dict(dict(cfg['dto']))
            except ValueError as e:
                raise ConfigError(f'{where}.dto: {e}') from e


def resolved_component(cfg, registry=None):
    """``cfg`` with every constructor default filled in (recursively for ``body_model``;
    ``dto`` resolved to all DTO options of its preset)."""
    if not isinstance(cfg, dict):
        return cfg
    from ..registry import BODY_MODELS
    out = dict(cfg)
    cls = _registry_class(cfg, 'component', registry)
    params = _signature_params(cls) if cls is not None else None
    for name, p in (params or {}).items():
        if name not in out and p.default is not inspect.Parameter.empty:
            out[name] = p.default
    if isinstance(out.get('body_model'), dict):
        out['body_model'] = resolved_component(out['body_model'], BODY_MODELS)
    if 'dto' in out and (out['dto'] is None or isinstance(out['dto'], dict)):
        from metric_hmr.dto.config import DTOConfig
        out['dto'] = DTOConfig.from_dict(None if out['dto'] is None else dict(out['dto'])).to_dict()
    return out


def resolved_run_config(cfg: dict, gen: dict) -> dict:
    """What determines the outputs (not work_dir, progress): reader, stages and body models
    with all defaults, DTO options, shard and batch size (the body model runs batched over
    a chunk's persons: float32 results depend on the batch in the last bits), procedural
    body model."""
    return {'reader': resolved_component(cfg['reader']),
            'stages': [resolved_component(s) for s in cfg['stages']],
            'shard_size': gen['shard_size'], 'batch_size': gen['batch_size'],
            'procedural_smpl': cfg.get('procedural_smpl')}


def component_list(cfg: dict) -> List[tuple]:
    """(where, cfg) of the reader and every stage, for :func:`check_components`."""
    return [('reader', cfg['reader'])] + [(f'stages[{i}]', s) for i, s in enumerate(cfg['stages'])]
