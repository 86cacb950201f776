"""Shared fixtures of the synthetic-crowd tests: one small Anny generator per session."""
import pytest

SMALL = dict(image_size=(96, 128), num_persons=dict(low=3, high=6))


@pytest.fixture(scope='session')
def anny_gen():
    from metric_hmr.synthetic import SyntheticCrowdGenerator
    return SyntheticCrowdGenerator(seed=7, severity=0.0, **SMALL)


@pytest.fixture(scope='session')
def anny_scenes(anny_gen):
    return [anny_gen.generate(i) for i in range(3)]
