"""CameraHMR release input / DTO-Humans released layout: round trips and bad files."""
import numpy as np
import pytest

from metric_hmr.generation.release import (ReleaseImage, load_camerahmr_release,
                                           load_released_annots, pad_betas_smpla, released_person,
                                           save_released_annots, write_camerahmr_release)


def _images(nb=10, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for name, n in (('b/img2.jpg', 3), ('a/img1.jpg', 2)):
        out.append(ReleaseImage(imgname=name, rows=np.arange(n), global_orient=rng.normal(size=(n, 3)),
                                body_pose=rng.normal(size=(n, 69)), betas=rng.normal(size=(n, nb)),
                                transl=rng.normal(size=(n, 3)) + [0, 0, 5],
                                focal=np.array([500.0, 500.0]), princpt=np.array([320.0, 240.0]),
                                kpts2d=rng.uniform(0, 1, size=(n, 44, 3)),
                                boxes=np.tile([10.0, 20.0, 110.0, 220.0], (n, 1))))
    return out


@pytest.mark.parametrize('pose_key,transl_key,nb', [('pose_cam', 'trans_cam', 10), ('pose', 'cam_t', 11)])
def test_release_round_trip(tmp_path, pose_key, transl_key, nb):
    ims = _images(nb)
    p = write_camerahmr_release(tmp_path / 'x-release.npz', ims, pose_key=pose_key, transl_key=transl_key)
    with np.load(p) as z:
        assert pose_key in z.files and transl_key in z.files and z['shape'].shape[1] == nb
    back = load_camerahmr_release(p)
    assert [b.imgname for b in back] == ['b/img2.jpg', 'a/img1.jpg']   # file order kept
    for a, b in zip(ims, back):
        for f in ('global_orient', 'body_pose', 'betas', 'transl', 'focal', 'princpt', 'kpts2d'):
            np.testing.assert_allclose(getattr(b, f), getattr(a, f), err_msg=f)
        # boxes come back as squares around the centre (CameraHMR: scale = size / 200)
        centre = lambda x: (x[:, :2] + x[:, 2:]) / 2  # noqa: E731
        np.testing.assert_allclose(centre(b.boxes), centre(a.boxes))
    assert back[0].rows.tolist() == [0, 1, 2] and back[1].rows.tolist() == [3, 4]


def test_person_order_kept_when_rows_interleave(tmp_path):
    ims = _images()
    p = write_camerahmr_release(tmp_path / 'r.npz', ims)
    with np.load(p) as z:
        d = {k: z[k] for k in z.files}
    perm = np.array([0, 3, 1, 4, 2])          # interleave the two images' rows
    np.savez(tmp_path / 'i.npz', **{k: v[perm] for k, v in d.items()})
    back = {b.imgname: b for b in load_camerahmr_release(tmp_path / 'i.npz')}
    assert back['b/img2.jpg'].rows.tolist() == [0, 2, 4]
    np.testing.assert_allclose(back['b/img2.jpg'].transl, ims[0].transl)


def test_corrupt_and_incomplete_release(tmp_path):
    bad = tmp_path / 'bad-release.npz'
    bad.write_bytes(b'PK\x03\x04 this is not a zip')
    with pytest.raises(ValueError, match='bad-release.npz'):
        load_camerahmr_release(bad)
    with pytest.raises(FileNotFoundError, match='nothere.npz'):
        load_camerahmr_release(tmp_path / 'nothere.npz')
    p = write_camerahmr_release(tmp_path / 'ok.npz', _images())
    with np.load(p) as z:
        d = {k: z[k] for k in z.files if k != 'trans_cam'}
    np.savez(tmp_path / 'notransl.npz', **d)
    with pytest.raises(ValueError, match="notransl.npz: missing field 'transl'"):
        load_camerahmr_release(tmp_path / 'notransl.npz')
    d2 = dict(d, trans_cam=np.zeros((5, 3)), shape=np.zeros((5, 12)))
    np.savez(tmp_path / 'badshape.npz', **d2)
    with pytest.raises(ValueError, match='field shape has shape'):
        load_camerahmr_release(tmp_path / 'badshape.npz')
    d3 = dict(d, trans_cam=np.full((5, 3), np.nan))
    np.savez(tmp_path / 'nan.npz', **d3)
    # a bad row belongs to its image: that image carries the problem, the others load
    transl = np.zeros((5, 3)) + [0, 0, 5]
    transl[3] = np.nan
    np.savez(tmp_path / 'nan.npz', **dict(d, trans_cam=transl))
    images = load_camerahmr_release(tmp_path / 'nan.npz')
    bad_img = next(im for im in images if 3 in im.rows.tolist())
    person = bad_img.rows.tolist().index(3)
    assert bad_img.problem == (f'invalid_release_row: {tmp_path / "nan.npz"}: field transl is not '
                               f'finite in row 3 (person {person})')
    assert all(im.problem == '' for im in images if im is not bad_img)
    cam = d['cam_int'].copy()
    cam[0, 0, 0] = 0.0
    np.savez(tmp_path / 'f0.npz', **dict(d, trans_cam=np.zeros((5, 3)) + [0, 0, 5], cam_int=cam))
    im0 = next(im for im in load_camerahmr_release(tmp_path / 'f0.npz') if 0 in im.rows.tolist())
    assert im0.problem.startswith(f'invalid_intrinsics: {tmp_path / "f0.npz"}: field cam_int of '
                                  'row 0 has focal fx=0')
    np.savez(tmp_path / 'empty.npz', **{k: v[:0] for k, v in d.items()}, trans_cam=np.zeros((0, 3)))
    with pytest.raises(ValueError, match='empty.npz: the release has 0 rows'):
        load_camerahmr_release(tmp_path / 'empty.npz')


def test_released_layout_exact(tmp_path):
    betas = pad_betas_smpla(np.ones((2, 10)))
    assert betas.shape == (2, 11) and np.all(betas[:, 10] == 0)
    assert np.array_equal(pad_betas_smpla(np.ones((1, 11))), np.ones((1, 11)))
    with pytest.raises(ValueError):
        pad_betas_smpla(np.ones((1, 9)))
    entry = released_person(betas[0], np.zeros(3), np.ones(69), [1, 2, 3], [500, 501], [320, 240])
    path = save_released_annots(tmp_path / 'x_CHMR_SMPL_OPT.npz', {'a.jpg': [entry, entry]})
    annots = load_released_annots(path)
    assert list(annots) == ['a.jpg'] and len(annots['a.jpg']) == 2
    p = annots['a.jpg'][0]
    assert set(p) == {'smpl_param', 'cam_param'}
    assert set(p['smpl_param']) == {'shape', 'pose', 'trans'} and set(p['cam_param']) == {'focal', 'princpt'}
    assert p['smpl_param']['shape'].shape == (11,) and p['smpl_param']['pose'].shape == (72,)
    assert p['smpl_param']['trans'].shape == (3,) and p['cam_param']['focal'].shape == (2,)
    np.testing.assert_allclose(p['smpl_param']['pose'][3:], 1.0)
    np.testing.assert_allclose(p['cam_param']['princpt'], [320, 240])
    # the reference loader's access pattern works
    ref_style = np.load(path, allow_pickle=True)['annots'][()]
    assert ref_style['a.jpg'][1]['smpl_param']['trans'].tolist() == [1, 2, 3]


def test_release_keypoint_and_box_fields_checked_at_load(tmp_path):
    """gtkps must be the 44-joint layout the matching indexes (J19 neck 37, head-top 38) and
    center/scale one row per person: a malformed file is rejected at load, naming the file
    and field, instead of an IndexError deep inside the matching stage."""
    p = write_camerahmr_release(tmp_path / 'ok.npz', _images())
    with np.load(p) as z:
        d = {k: z[k] for k in z.files}
    np.savez(tmp_path / 'kp25.npz', **dict(d, gtkps=d['gtkps'][:, :25]))
    with pytest.raises(ValueError,
                       match=r'kp25.npz: field gtkps has shape \(5, 25, 3\), expected \(5, 44, 3\)'):
        load_camerahmr_release(tmp_path / 'kp25.npz')
    np.savez(tmp_path / 'center.npz', **dict(d, center=d['center'][:4]))
    with pytest.raises(ValueError, match='center.npz: fields center'):
        load_camerahmr_release(tmp_path / 'center.npz')
    np.savez(tmp_path / 'scale2.npz', **dict(d, scale=np.stack([d['scale']] * 2, 1)))
    assert len(load_camerahmr_release(tmp_path / 'scale2.npz')) == 2    # (N, 2) scales are fine
