"""Keys of the authors' DTO-Humans files (finding 5 of issue 12).

The fixture files here are written the way the authors' code writes them (``np.savez``
of a dict of per-image dicts; ``np.savez(path, annots=dict)`` for the released file), not
with this project's writers, so the tests show that the two are interchangeable.
"""
import numpy as np
import pytest
from PIL import Image

from metric_hmr.generation.keys import (RELEASE_NAMING, image_relpath, merge_released,
                                        released_key, released_to_run_annots, run_annots_to_released,
                                        run_key, run_key_from_released)


def test_run_and_released_keys_follow_the_authors_depths():
    """Mirrors dto_framework.py 107-115 (dir_depth 3 for insta1/insta2, 1 for coco/aic/mpii)
    and 501 (key = last dir_depth parts of the image path), and MA-HMR
    prepare_dto.py 36-37 (insta keys prefixed with 'insta-train/')."""
    name = 'data/insta/images/insta-train/000123/abc/0042.jpg'
    assert run_key(name, 'insta1') == '000123/abc/0042.jpg'
    assert released_key(name, 'insta2') == 'insta-train/000123/abc/0042.jpg'
    assert released_key('images/train2014/COCO_train2014_000000000036.jpg', 'coco') == \
        'COCO_train2014_000000000036.jpg'
    assert released_key('aic/images/x/y.jpg', 'aic') == 'y.jpg'
    # a difference in depth would show: insta keeps three parts, mpii one
    assert released_key('a/b/c.jpg', 'mpii') == 'c.jpg'
    assert run_key_from_released('insta-train/1/2/3.jpg', 'insta1') == '1/2/3.jpg'
    assert image_relpath('insta-train/1/2/3.jpg', 'insta1') == 'insta/images/insta-train/1/2/3.jpg'
    assert image_relpath('c.jpg', 'coco') == 'coco2014/images/train2014/c.jpg'


def test_bad_names_raise_clear_errors():
    with pytest.raises(ValueError, match='insta1 keys keep the last 3'):
        run_key('x/y.jpg', 'insta1')
    with pytest.raises(ValueError, match="must start with 'insta-train/'"):
        run_key_from_released('1/2/3.jpg', 'insta1')
    with pytest.raises(ValueError, match='unknown release dataset'):
        run_key('a.jpg', 'h36m')


def _run_annots(rng, n, k=11):
    cam = np.array([[1000.0, 0, 320], [0, 1001.0, 240], [0, 0, 1]], np.float32)
    return {'pose_cam': rng.normal(size=(n, 72)).astype(np.float32),
            'shape': rng.normal(size=(n, k)).astype(np.float32),
            'cam_int': np.repeat(cam[None], n, 0),
            'trans_cam': rng.normal(size=(n, 3)) + [0, 0, 5],
            'is_released': np.ones(n, bool), 'is_optimize': True}


def test_run_annots_round_trip_through_the_released_layout():
    """Mirrors MA-HMR prepare_dto.py 16-40: one person dict per row, the camera from the
    image's first cam_int; the inverse gives back the same arrays and keys."""
    rng = np.random.default_rng(0)
    run = {'1/2/a.jpg': _run_annots(rng, 3), '1/3/b.jpg': _run_annots(rng, 2)}
    rel = run_annots_to_released(run, 'insta1')
    assert sorted(rel) == ['insta-train/1/2/a.jpg', 'insta-train/1/3/b.jpg']
    p = rel['insta-train/1/2/a.jpg'][1]
    assert set(p) == {'smpl_param', 'cam_param'} and set(p['smpl_param']) == {'shape', 'pose', 'trans'}
    np.testing.assert_array_equal(p['cam_param']['focal'], [1000.0, 1001.0])
    np.testing.assert_array_equal(p['cam_param']['princpt'], [320.0, 240.0])
    back = released_to_run_annots(rel, 'insta1')
    assert sorted(back) == sorted(run)
    for k in run:
        for f in ('pose_cam', 'shape', 'trans_cam', 'cam_int'):
            np.testing.assert_allclose(back[k][f], run[k][f])


def test_insta_halves_merge_into_one_file_later_overwrites():
    """Mirrors MA-HMR prepare_dto.py 8-40: every *opt*.npz of the insta folder goes into
    one dict; a repeated key keeps the later value (and is reported here)."""
    rng = np.random.default_rng(1)
    a = run_annots_to_released({'1/2/a.jpg': _run_annots(rng, 2)}, 'insta1')
    b = run_annots_to_released({'1/2/a.jpg': _run_annots(rng, 4), '9/9/z.jpg': _run_annots(rng, 1)},
                               'insta2')
    merged, repeats = merge_released([a, b])
    assert repeats == ['insta-train/1/2/a.jpg'] and len(merged['insta-train/1/2/a.jpg']) == 4
    assert RELEASE_NAMING['insta1'].released_file == RELEASE_NAMING['insta2'].released_file
    with pytest.raises(ValueError, match='more than one part'):
        merge_released([a, b], on_repeat='error')


def test_authors_layout_fixture_is_read_by_dto_humans_dataset(tmp_path):
    """A released INSTA file written exactly as MA-HMR prepare_dto.py 43-44 writes it
    (``np.savez(path, annots=dict)``), keys from a per-run file written as
    dto_framework.py 528 writes it (``np.savez(path, **annotations)``, keys with '/').
    DTOHumansDataset with img_prefix='images' finds <root>/images/<key> (MA-HMR insta.py 37)."""
    from metric_hmr.datasets.train import DTOHumansDataset
    rng = np.random.default_rng(2)
    run = {'000123/abc/0042.jpg': _run_annots(rng, 2, k=10),
           '000124/abd/0001.jpg': _run_annots(rng, 3, k=11)}
    for a in run.values():
        a['pose_cam'][:] = 0.0
        a['pose_cam'][:, 0] = np.pi
        a['trans_cam'][:, 2] = [5.0] * len(a['trans_cam'])
    run_file = tmp_path / 'insta1-release_opt.npz'
    np.savez(run_file, **run)
    with np.load(run_file, allow_pickle=True) as z:   # the authors' per-run file, read back
        run_back = {k: z[k][()] for k in z.files}
    assert sorted(run_back) == sorted(run)
    combined = {}
    for key, a in run_back.items():       # the authors' preparation, field by field
        cam = a['cam_int'][0]
        cp = {'focal': np.array([cam[0, 0], cam[1, 1]], np.float32),
              'princpt': np.array([cam[0, 2], cam[1, 2]], np.float32)}
        combined['insta-train/' + key] = [
            {'smpl_param': {'shape': a['shape'][i], 'pose': a['pose_cam'][i], 'trans': a['trans_cam'][i]},
             'cam_param': cp} for i in range(a['pose_cam'].shape[0])]
    root = tmp_path / 'insta'
    root.mkdir()
    np.savez(root / 'INSTA_CHMR_SMPL_OPT.npz', annots=combined)
    assert run_annots_to_released(run_back, 'insta1').keys() == combined.keys()
    for key in combined:
        p = tmp_path / image_relpath(key, 'insta1')
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((480, 640, 3), np.uint8)).save(p)
    from metric_hmr.testing import make_smpl_model_file
    from metric_hmr.testing.smpl_fixture import kid_template_path
    smpla = make_smpl_model_file(tmp_path / 'smpla', with_kid_template=True)   # 11-beta shapes: SMPL-A
    ds = DTOHumansDataset(ann_file='INSTA_CHMR_SMPL_OPT.npz', data_root=str(root), img_prefix='images',
                          body_model=dict(type='SMPLBodyModel', model_path=smpla, num_betas=11,
                                          kid_template_path=kid_template_path(tmp_path / 'smpla')))
    assert len(ds) == 2
    infos = [ds.get_data_info(i) for i in range(2)]
    assert sorted(len(s['gt']['transl']) for s in infos) == [2, 3]
    for s in infos:
        assert s['img_path'].startswith(str(root / 'images' / 'insta-train'))
        np.testing.assert_allclose(s['focal'], [1000.0, 1001.0])
        assert s['gt']['betas'].shape[1] == 11


def test_tool_renames_and_merges_generated_files(tmp_path):
    """tools/dto_authors_keys.py: generated insta1 / insta2 files (keys = release imgname)
    -> one file with the authors' keys; a repeated key is an error unless --overwrite."""
    import importlib.util
    import os
    from metric_hmr.generation.release import load_released_annots, save_released_annots
    spec = importlib.util.spec_from_file_location(
        'dto_authors_keys', os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools',
                                         'dto_authors_keys.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rng = np.random.default_rng(3)
    a = run_annots_to_released({'images/insta-train/1/2/a.jpg': _run_annots(rng, 2)}, 'coco')
    b = run_annots_to_released({'images/insta-train/1/3/b.jpg': _run_annots(rng, 3),
                                'images/insta-train/1/2/a.jpg': _run_annots(rng, 1)}, 'coco')
    save_released_annots(tmp_path / 'a.npz', a)
    save_released_annots(tmp_path / 'b.npz', b)
    out = tmp_path / 'INSTA_CHMR_SMPL_OPT.npz'
    with pytest.raises(ValueError, match='more than one part'):
        tool.main(['--dataset', 'insta1', str(tmp_path / 'a.npz'), '--dataset', 'insta2',
                   str(tmp_path / 'b.npz'), '--out', str(out)])
    tool.main(['--dataset', 'insta1', str(tmp_path / 'a.npz'), '--dataset', 'insta2',
               str(tmp_path / 'b.npz'), '--out', str(out), '--overwrite'])
    got = load_released_annots(out)
    assert sorted(got) == ['insta-train/1/2/a.jpg', 'insta-train/1/3/b.jpg']
    assert len(got['insta-train/1/2/a.jpg']) == 1          # the later file wins
