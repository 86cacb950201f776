import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metric_hmr.visualization import VisualizationWriter, load_run, write_report

CHROMIUM = '/usr/bin/chromium'
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def run_dir(tmp_path, make_scene):
    """A small run: 5 images (3 visualised), DTO numbers, photos on disk."""
    rng = np.random.default_rng(0)
    out = tmp_path / 'run'
    with VisualizationWriter(out / 'vis', every_n=2, faces=None, resolution=320) as w:
        for i in range(5):
            k = 1 + i % 3
            centers = [(rng.uniform(-2, 2), rng.uniform(3, 9)) for _ in range(k)]
            heights = rng.uniform(0.9, 1.9, k)
            sample, verts, faces = make_scene(centers, heights)
            w.faces = faces
            photo = tmp_path / f'photo{i}.jpg'
            Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)).save(photo)
            sample['img_path'] = str(photo)
            dto = dict(h_init=heights * rng.uniform(0.8, 1.2, k), h_star=heights, std_h=np.full(k, 0.05),
                       residual=rng.uniform(0, 2, k), image_score=float(rng.uniform(0, 3)),
                       kept=bool(i % 4), reasons=[])
            w.add(i, sample, dto=dto)
    return out


def test_report_contents_and_local_assets(run_dir):
    records = load_run(run_dir)
    records.append(dict(image_id='broken', img_path='/nonexistent/x.jpg', mesh_path='/nonexistent/m.npz',
                        score=9.0, persons=[dict(height_after=1.7)]))
    records.append(dict(image_id='bare'))       # no numbers at all: omitted from the panels
    index = write_report(run_dir / 'report', records, n_gallery=2, n_scenes=2)
    html = index.read_text()
    # no network: every src/href is a relative path inside the report folder
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs, 'no images linked'
    for ref in refs:
        assert not re.match(r'^[a-z]+:', ref) and not ref.startswith('/'), ref
        assert (index.parent / ref).is_file(), ref
    assert 'http://' not in html and 'https://' not in html
    for plot in ('persons_per_image', 'fov', 'height_hist', 'height_scatter', 'residuals',
                 'image_scores', 'depths'):
        assert (index.parent / 'plots' / f'{plot}.png').is_file(), plot
    assert html.count('class="mhmr-view"') == 2
    assert 'Best images' in html and 'Worst images' in html
    # the broken record is reported, not silently dropped
    assert 'broken: img_path not found' in html and 'broken: no 3D view' in html


def test_report_of_empty_and_partial_records(tmp_path):
    index = write_report(tmp_path / 'r', [])
    assert '<h1>' in index.read_text()
    index = write_report(tmp_path / 'r2', [dict(persons=[dict(depth=3.0)]), dict(score='n/a')])
    html = index.read_text()
    assert 'plots/depths.png' in html and 'height_hist' not in html


def test_make_report_tool(run_dir, tmp_path):
    tool = REPO / 'tools' / 'make_report.py'
    res = subprocess.run([sys.executable, str(tool), str(run_dir)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert (run_dir / 'report' / 'index.html').is_file()
    assert 'report with 5 images' in res.stdout


def test_make_report_tool_error_on_missing_records(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location('make_report_tool', REPO / 'tools' / 'make_report.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(tmp_path / 'nothing')]) == 2
    assert 'no records' in capsys.readouterr().err


# ---------------------------------------------------------------- headless Chromium
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--enable-logging=stderr', '--v=0',
                  # WebGL through SwiftShader (software), without the deprecation notice
                  '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader']
# Chromium's own performance hint when a software WebGL canvas is read back for
# compositing; it is not produced by the page.
IGNORED_CONSOLE = re.compile(r'GL Driver Message \(OpenGL, Performance')


def _chromium(args, url):
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f'--user-data-dir={profile}', *args, url],
                              capture_output=True, text=True, timeout=120)


def _console_lines(stderr):
    lines = [ln for ln in stderr.splitlines() if ':CONSOLE' in ln]
    return [ln for ln in lines if not IGNORED_CONSOLE.search(ln)]


@pytest.mark.chromium
@pytest.mark.skipif(not os.path.exists(CHROMIUM),
                    reason=f'{CHROMIUM} not installed (apt-get install chromium)')
def test_report_in_headless_chromium(run_dir, tmp_path):
    index = write_report(run_dir / 'report', load_run(run_dir), n_scenes=2)
    url = index.resolve().as_uri()

    dom = _chromium(['--dump-dom'], url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r'<pre id="report-status">([^<]*)</pre>', dom.stdout)
    assert m and m.group(1), 'the page script did not run'
    status = json.loads(m.group(1).replace('&quot;', '"'))
    assert status['errors'] == []
    assert status['scenes'] == 2 and status['rendered'] == 2
    assert _console_lines(dom.stderr) == []

    for view in ('camera', 'top', 'side'):       # the other camera presets also render cleanly
        res = _chromium(['--dump-dom'], f'{url}#view={view}')
        m = re.search(r'<pre id="report-status">([^<]*)</pre>', res.stdout)
        st = json.loads(m.group(1).replace('&quot;', '"'))
        assert st['errors'] == [] and st['rendered'] == 2, (view, st)
        assert _console_lines(res.stderr) == [], view

    shot = tmp_path / 'shot.png'
    res = _chromium([f'--screenshot={shot}', '--window-size=1200,900'], url)
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    assert _console_lines(res.stderr) == []
    img = np.asarray(Image.open(shot).convert('RGB')).astype(int)
    x, y, w, h = (int(round(v)) for v in status['canvas_rects'][0])
    assert y + 100 < img.shape[0], 'first 3D view is below the screenshot'
    view = img[y:min(y + h, img.shape[0]), x:x + w]
    assert len(np.unique(view.reshape(-1, 3), axis=0)) > 20, '3D view is blank'
    saturated = (view.max(2) - view.min(2)) > 60       # shaded person colours, not grey/black
    assert saturated.sum() > 300, 'no person meshes visible in the 3D view'


def test_gallery_split_best_and_worst():
    from metric_hmr.visualization.report import _rank
    recs = [dict(score=s) for s in (0.5, 2.0, None, 1.0, 3.0, 0.1)]
    assert _rank(recs, 2) == ([5, 0], [4, 1])
    assert _rank(recs, 6) == ([5, 0, 3], [4, 1])    # few images: better half / worse half
