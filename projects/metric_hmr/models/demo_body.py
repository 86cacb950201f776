"""A body model for CPU demo configs when the licensed SMPL files are absent."""

from __future__ import annotations

import os.path as osp

from metric_hmr.registry import BODY_MODELS

__all__ = ['DemoSMPLBodyModel']


@BODY_MODELS.register_module()
def DemoSMPLBodyModel(cache_dir: str = 'work_dirs/demo_smpl', seed: int = 0, **kwargs):
    """``SMPLBodyModel`` on the procedural SMPL-format stand-in of :mod:`metric_hmr.testing`.

    The file is written to ``cache_dir`` on first use (atomically; deterministic for a
    seed, so concurrent ranks write the same bytes).  For demos and tests only: it is not
    SMPL, so anything trained with it predicts parameters of this stand-in body.
    """
    from metric_hmr.body_models import SMPLBodyModel
    from metric_hmr.testing import make_smpl_model_file
    path = osp.join(cache_dir, 'SMPL_NEUTRAL.pkl')
    if not osp.isfile(path):
        path = make_smpl_model_file(cache_dir, seed=seed)
    return SMPLBodyModel(model_path=path, **kwargs)
