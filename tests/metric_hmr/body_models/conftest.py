"""Shared fixtures of the body-model tests: small SMPL / SMPL-A models from the fixture."""
import pytest

from metric_hmr.testing import kid_template_path, make_smpl_model_file


@pytest.fixture(scope='session')
def smpl_files(tmp_path_factory):
    """(pkl path, kid template path) of a procedural SMPL-format model."""
    folder = tmp_path_factory.mktemp('smpl_bm')
    return make_smpl_model_file(folder, seed=0, with_kid_template=True), kid_template_path(folder)


@pytest.fixture(scope='session')
def smpl_bm(smpl_files):
    from metric_hmr.body_models import SMPLBodyModel
    return SMPLBodyModel(smpl_files[0])


@pytest.fixture(scope='session')
def smpla_bm(smpl_files):
    from metric_hmr.body_models import SMPLBodyModel
    return SMPLBodyModel(smpl_files[0], kid_template_path=smpl_files[1])
