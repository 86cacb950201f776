"""Generation statistics (paper Figs. 6-8) in metric_hmr.visualization.plots."""
from __future__ import annotations

import json

import numpy as np

from metric_hmr.visualization.plots import StatsCollector, collect, write_stats


def _records():
    person = dict(h_init=1.7, h_star=1.6)
    return [dict(status='kept', num_persons=2, fov_v_deg=50.0,
                 persons=[person, dict(person, published=False)]),
            dict(status='kept', num_persons=1, fov_v_deg=None,
                 persons=[dict(h_init=1.2, h_star=None)]),
            dict(status='skipped', num_persons=3, fov_v_deg=40.0, persons=[person])]


def test_collect_counts_kept_images_and_published_persons():
    c = collect(_records())
    assert c['persons_per_image'].tolist() == [2, 1]
    assert c['fov_v_deg'].tolist() == [50.0]
    assert c['height_input'].tolist() == [1.7] and c['height_dto'].tolist() == [1.6]


def test_write_stats_from_collector_matches_records(tmp_path):
    sc = StatsCollector()
    for r in _records():
        sc.add(r)
    stats = write_stats(sc, tmp_path / 'a')
    assert stats == write_stats(_records(), tmp_path / 'b')
    assert stats['persons_per_image']['histogram'] == [0, 1, 1]
    assert json.loads((tmp_path / 'a' / 'stats.json').read_text())['fov_v_deg']['n'] == 1
    for f in ('persons_per_image.png', 'fov_distribution.png', 'height_distribution.png'):
        assert (tmp_path / 'a' / f).stat().st_size > 0
    assert np.isclose(stats['height_dto']['mean'], 1.6)


def test_old_generation_stats_path_is_an_alias():
    from metric_hmr.generation import stats as old
    assert old.StatsCollector is StatsCollector and old.write_stats is write_stats
