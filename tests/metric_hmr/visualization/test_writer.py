import json

import numpy as np
import pytest
import trimesh
from PIL import Image

from metric_hmr.registry import VISUALIZERS
from metric_hmr.visualization import (MetricHMRVisualizer, VisualizationWriter, load_records,
                                      load_run, make_record, maybe_visualize)


def _dto(h_init, h_star):
    n = len(h_star)
    return dict(h_init=np.asarray(h_init), h_star=np.asarray(h_star), std_h=np.full(n, 0.04),
                z_init=np.linspace(3, 6, n), residual=np.linspace(0.1, 1.0, n), image_score=0.55,
                kept=True, reasons=[])


def test_writer_every_n_and_records(tmp_path, make_scene):
    w = VisualizationWriter(tmp_path / 'vis', every_n=2, faces=None, overlay=False, panel=False,
                            glb=False, mesh=False, export=True, require_smpl=True)
    for i in range(5):
        sample, verts, faces = make_scene([(0.0, 3 + i), (1.0, 5.0)], [1.7, 1.2])
        w.add(i, sample)
    w.close()
    recs = load_records(tmp_path / 'vis' / 'records.jsonl')
    assert [r['image_id'] for r in recs] == [f'{i:06d}' for i in range(5)]
    written = sorted(p.name for p in (tmp_path / 'vis').glob('*.json'))
    assert written == ['000000.json', '000002.json', '000004.json']
    assert all('json_path' in r for r in recs[::2]) and all('json_path' not in r for r in recs[1::2])
    assert recs[1]['persons'][0]['depth'] == pytest.approx(4.0)


def test_writer_full_outputs_and_report(tmp_path, make_scene):
    sample, verts, faces = make_scene([(-1.0, 4.0), (1.0, 7.0)], [1.7, 1.2])
    img = np.full((480, 640, 3), 90, np.uint8)
    Image.fromarray(img).save(tmp_path / 'photo.jpg')
    sample['img_path'] = str(tmp_path / 'photo.jpg')
    before = dict(transl=sample['pred']['transl'] * [1, 1, 0.8], vertices=verts * [1, 1, 0.8],
                  height=np.array([1.5, 1.0]))
    with VisualizationWriter(tmp_path / 'run', every_n=1, faces=faces) as w:
        rec = w.add(0, sample, before=before, dto=_dto([1.5, 1.0], [1.7, 1.2]))
    stem = '000000_photo'
    for suffix in ('_overlay.png', '_panel.png', '.npz', '.json', '.glb', '_mesh.npz'):
        assert (tmp_path / 'run' / (stem + suffix)).is_file(), suffix
    assert rec['score'] == pytest.approx(0.55) and rec['kept'] is True
    p0 = rec['persons'][0]
    assert p0['height_before'] == pytest.approx(1.5) and p0['height_after'] == pytest.approx(1.7)
    assert p0['depth_before'] == pytest.approx(3.2) and p0['age_group'] == 'adult'
    glb = trimesh.load(tmp_path / 'run' / (stem + '.glb'), force='scene')
    assert sum(isinstance(g, trimesh.Trimesh) for g in glb.geometry.values()) == 2
    panel = np.asarray(Image.open(tmp_path / 'run' / (stem + '_panel.png')))
    overlay = np.asarray(Image.open(tmp_path / 'run' / (stem + '_overlay.png')))
    assert panel.shape[0] > overlay.shape[0] and panel.shape[1] > overlay.shape[1]  # 2x2 layout

    records = load_run(tmp_path / 'run')
    assert records[0]['mesh_path'].startswith(str(tmp_path))
    index = w.write_report()
    html = index.read_text()
    assert 'canvas class="mhmr-view"' in html and 'plots/height_hist.png' in html


def test_make_record_per_person_reasons(make_scene):
    sample, _, _ = make_scene([(0.0, 3.0), (1.0, 5.0)], [1.7, 1.2])
    dto = _dto([1.6, 1.1], [1.7, 1.2])
    dto['reasons'] = ['', 'height > 2.1 m']    # per person, '' = optimized
    dto['kept'] = False
    rec = make_record('x', sample, dto=dto, reason='implausible')
    assert rec['kept'] is False and rec['reason'] == 'implausible'
    assert 'reason' not in rec['persons'][0]
    assert rec['persons'][1]['reason'] == 'height > 2.1 m'
    json.dumps(rec, allow_nan=False)  # strictly valid JSON


def test_maybe_visualize(tmp_path, make_scene):
    sample, _, _ = make_scene([(0.0, 3.0)], [1.7])
    w = VisualizationWriter(tmp_path, every_n=1, overlay=False, panel=False, glb=False, mesh=False,
                            export=False)
    assert maybe_visualize(1, 3, w, sample) is None
    assert maybe_visualize(3, 3, w, sample)['image_id'] == '000003'
    assert maybe_visualize(3, 0, w, sample) is None
    assert maybe_visualize(3, 3, None, sample) is None
    assert len(w.records) == 1


def test_writer_needs_faces_for_pictures(tmp_path, make_scene):
    sample, _, _ = make_scene([(0.0, 3.0)], [1.7])
    w = VisualizationWriter(tmp_path, every_n=1, export=False)
    with pytest.raises(ValueError, match='faces'):
        w.add(0, sample)


def test_registered_visualizer_draws_before_after(tmp_path, make_scene):
    sample, verts, faces = make_scene([(-1.0, 4.0), (1.0, 7.0)], [1.7, 1.2])
    vis = VISUALIZERS.build(dict(type='MetricHMRVisualizer', name='mhmr_test_vis', faces=faces,
                                 resolution=320, view_size=240))
    assert isinstance(vis, MetricHMRVisualizer)
    single = vis.add_datasample('img', None, sample, out_file=str(tmp_path / 'a.png'))
    before = dict(transl=sample['pred']['transl'] * [1, 1, 0.8], vertices=verts * [1, 1, 0.8])
    both = vis.add_datasample('img', None, sample, before=before, out_file=str(tmp_path / 'b.png'))
    assert (tmp_path / 'a.png').is_file() and (tmp_path / 'b.png').is_file()
    assert both.shape[0] > single.shape[0]   # before/after adds a row
    np.testing.assert_array_equal(vis.get_image(), both)
    sample['gt'] = dict(transl=sample['pred']['transl'], vertices=verts)
    with_gt = vis.add_datasample('img', None, sample, draw_gt=True, out_file=str(tmp_path / 'c.png'))
    assert with_gt.shape[0] > single.shape[0]


def test_records_of_several_writers_are_merged(tmp_path, make_scene):
    sample, _, _ = make_scene([(0.0, 3.0)], [1.7])
    for rank in range(2):
        w = VisualizationWriter(tmp_path, every_n=0, records_name=f'records_rank{rank}.jsonl')
        w.add(0, sample, image_id=f'r{rank}')
        w.close()
    assert sorted(r['image_id'] for r in load_run(tmp_path)) == ['r0', 'r1']
    with pytest.raises(ValueError, match='records'):
        VisualizationWriter(tmp_path, records_name='out.json')


def test_make_record_from_a_dto_dataclass(make_scene):
    from dataclasses import dataclass, field

    @dataclass
    class Result:                        # the fields of dto_hooks' DTOResult that records use
        h_init: np.ndarray
        h_star: np.ndarray
        std_h: np.ndarray
        residual: np.ndarray
        image_score: float
        kept: bool
        reasons: list = field(default_factory=list)
        image_reason: str = ''

    sample, _, _ = make_scene([(0.0, 3.0), (1.0, 5.0)], [1.7, 1.2])
    del sample['pred']['height'], sample['pred']['std']
    res = Result(np.array([1.5, 1.0]), np.array([1.7, np.nan]), np.array([0.03, np.nan]),
                 np.array([0.2, np.nan]), np.float64(0.2), np.bool_(False), ['', 'no_valid_depth'],
                 'mean residual > 1.5')
    rec = make_record('d', sample, dto=res)
    assert rec['kept'] is False and rec['score'] == pytest.approx(0.2)
    assert rec['reason'] == 'mean residual > 1.5'
    assert rec['persons'][0]['height_after'] == pytest.approx(1.7)
    assert 'height_after' not in rec['persons'][1] and rec['persons'][1]['reason'] == 'no_valid_depth'
    json.dumps(rec, allow_nan=False)
