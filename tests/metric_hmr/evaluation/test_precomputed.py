"""Prediction files, PrecomputedPredictor, FoV metric and MuPoTS / Panoptic error patterns."""
import numpy as np
import pytest

from metric_hmr.datasets.benchmarks import MuPoTSDataset, PanopticDataset
from metric_hmr.datasets.benchmarks.fixtures import make_benchmark_fixture
from metric_hmr.evaluation import (FoVMetric, MuPoTSMetric, PanopticMetric, PrecomputedPredictor,
                                   load_predictions, save_predictions)
from metric_hmr.evaluation.functional.joints import H36M_TO_MPI, MPI_EVAL14


def _pred(n, seed=0):
    rng = np.random.default_rng(seed)
    return dict(focal=np.array([900.0, 910.0]), princpt=np.array([320.0, 240.0]),
                global_orient=rng.normal(size=(n, 3)), body_pose=rng.normal(size=(n, 69)),
                betas=rng.normal(size=(n, 10)), transl=rng.normal(size=(n, 3)),
                scores=rng.uniform(size=n))


def test_prediction_file_round_trip(tmp_path):
    preds = {'a/1.jpg': _pred(2), 'b/2.jpg': _pred(0, 1), 'c/3.jpg': _pred(3, 2)}
    path = str(tmp_path / 'p.npz')
    save_predictions(path, preds)
    with np.load(path, allow_pickle=False) as f:      # flat arrays: no pickle needed
        assert f['person_img'].tolist() == [0, 0, 2, 2, 2]
    back = load_predictions(path)
    for k, p in preds.items():
        for name, v in p.items():
            np.testing.assert_allclose(back[k][name], v, err_msg=f'{k} {name}')


def test_release_layout_is_read(tmp_path):
    person = dict(smpl_param=dict(shape=np.arange(11.0), pose=np.ones(72), trans=[0, 0, 5.0]),
                  cam_param=dict(focal=[1000.0, 1000.0], princpt=[500.0, 400.0]))
    np.savez(tmp_path / 'x_CHMR_SMPL_OPT.npz',
             annots=np.array({'coco/1.jpg': [person, person]}, dtype=object))
    p = load_predictions(str(tmp_path / 'x_CHMR_SMPL_OPT.npz'))['coco/1.jpg']
    assert p['betas'].shape == (2, 11) and p['body_pose'].shape == (2, 69)
    assert p['transl'][0].tolist() == [0, 0, 5.0] and p['princpt'].tolist() == [500, 400]


def test_bad_prediction_files(tmp_path):
    np.savez(tmp_path / 'bad.npz', img_keys=np.array(['a']), focal=np.zeros((1, 2)))
    with pytest.raises(ValueError, match='lacks'):
        load_predictions(str(tmp_path / 'bad.npz'))
    with pytest.raises(FileNotFoundError):
        load_predictions(str(tmp_path / 'none.npz'))


def test_predictor_missing_images(tmp_path):
    path = str(tmp_path / 'p.npz')
    save_predictions(path, {'a.jpg': _pred(1)})
    batch = [dict(img_key='a.jpg', img_path='/x/a.jpg', gt={}), dict(img_key='b.jpg', gt={})]
    out = PrecomputedPredictor(path).test_step(batch)
    assert len(out[0]['pred']['transl']) == 1 and len(out[1]['pred']['transl']) == 0
    with pytest.raises(KeyError, match="'b.jpg'"):
        PrecomputedPredictor(path, missing='error').test_step(batch)
    model = PrecomputedPredictor(path)
    with pytest.raises(KeyError, match='do not match'):
        model.test_step([dict(img_key=f'z{i}.jpg', gt={}) for i in range(20)])


def test_fov_metric():
    h = 720
    f_gt = h / (2 * np.tan(np.radians(30)))
    f_pred = h / (2 * np.tan(np.radians(35)))
    m = FoVMetric()
    m.process(None, [dict(ori_shape=(h, 1280), pred=dict(focal=[f_pred, f_pred]),
                          gt=dict(focal=[f_gt, f_gt])),
                     dict(ori_shape=(h, 1280), pred=dict(fov=np.radians(70.0)),
                          gt=dict(focal=[f_gt, f_gt])),
                     dict(ori_shape=None, pred=dict(focal=[1, 1]), gt=dict(focal=[1, 1]))])
    r = m.compute_metrics(m.results)
    assert r['fov_deg'] == pytest.approx(10.0) and r['num_skipped'] == 1


def _run(ds, pred_file, metric):
    batch = [ds.get_data_info(i) for i in range(len(ds))]
    metric.process(batch, PrecomputedPredictor(pred_file).test_step(batch))
    return metric.compute_metrics(metric.results)


def test_mupots_known_error_pattern(tmp_path, eval_smpl):
    """Three evaluation joints of one gt person moved by 20 cm -> its PCK drops by 3/visible."""
    fx = make_benchmark_fixture('mupots', str(tmp_path), eval_smpl['path'],
                                eval_smpl['regressor'], persons_per_image=(2,))
    annots = np.load(fx['ann_file'], allow_pickle=True)['annots'][()]
    person = annots[fx['img_keys'][0]][0]
    person['vis'][:] = True
    # MPI evaluation joints 2, 3, 4 (right arm) in the file's H36M order
    h36m_idx = [H36M_TO_MPI[j] for j in (2, 3, 4)]
    person['annot_3d'][h36m_idx] += [200.0, 0.0, 0.0]
    np.savez(fx['ann_file'], annots=np.array(annots, dtype=object))
    geometry = dict(body_model=dict(type='SMPLBodyModel', model_path=eval_smpl['path']),
                    j_regressor_h36m=eval_smpl['regressor'])
    res = _run(MuPoTSDataset(ann_file=fx['ann_file']), fx['pred_file'],
               MuPoTSMetric(geometry=geometry, rescale_bones=False))
    # person 0: 11 of 14 within 150 mm, person 1: 14 of 14
    assert res['pck_all'] == pytest.approx(100 * (11 / 14 + 1) / 2)
    assert res['pck_match'] == res['pck_all']
    assert res['mpjpe'] == pytest.approx(200 * 3 / 14 / 2, rel=1e-3)
    assert len(MPI_EVAL14) == 14


def test_mupots_visibility_is_read_in_the_file_mpi_order(tmp_path, eval_smpl):
    """The preprocessing reorders annot_2d / annot_3d to H36M but stores the occlusion-based
    ``vis`` in the original MPI joint order (the released evaluator uses it unpermuted)."""
    fx = make_benchmark_fixture('mupots', str(tmp_path), eval_smpl['path'],
                                eval_smpl['regressor'], persons_per_image=(2,))
    annots = np.load(fx['ann_file'], allow_pickle=True)['annots'][()]
    for p in annots[fx['img_keys'][0]]:
        p['vis'][:] = True
    person = annots[fx['img_keys'][0]][0]
    arm = (2, 3, 4)                                   # MPI right shoulder / elbow / wrist
    person['vis'][list(arm)] = False                  # occluded, MPI order as in the file
    person['annot_3d'][[H36M_TO_MPI[j] for j in arm]] += [200.0, 0.0, 0.0]
    np.savez(fx['ann_file'], annots=np.array(annots, dtype=object))
    geometry = dict(body_model=dict(type='SMPLBodyModel', model_path=eval_smpl['path']),
                    j_regressor_h36m=eval_smpl['regressor'])
    res = _run(MuPoTSDataset(ann_file=fx['ann_file']), fx['pred_file'],
               MuPoTSMetric(geometry=geometry, rescale_bones=False))
    # the moved joints are exactly the occluded ones: both persons score 100
    assert res['pck_all'] == pytest.approx(100.0)


def test_panoptic_known_offset(tmp_path, eval_smpl):
    """Every gt joint but the pelvis moved 10 cm: root-relative error is 10 cm on 16 of 17."""
    fx = make_benchmark_fixture('panoptic', str(tmp_path), eval_smpl['path'],
                                eval_smpl['regressor'], persons_per_image=(2, 1))
    annots = np.load(fx['ann_file'], allow_pickle=True)['annots'][()]
    for a in annots.values():
        pelvis = a['kpts3d'][:, 14, :3].copy()
        a['kpts3d'][..., 2] += 0.1
        a['kpts3d'][:, 14, :3] = pelvis
        a['kpts3d'][:, 13, 3] = 0                  # an invisible joint (not in H36M-17 map)
    np.savez(fx['ann_file'], annots=np.array(annots, dtype=object))
    geometry = dict(body_model=dict(type='SMPLBodyModel', model_path=eval_smpl['path']),
                    j_regressor_h36m=eval_smpl['regressor'])
    res = _run(PanopticDataset(ann_file=fx['ann_file']), fx['pred_file'],
               PanopticMetric(geometry=geometry))
    assert res['mpjpe/mean'] == pytest.approx(100 * 16 / 17, rel=1e-3)
    assert set(res) >= {'mpjpe/haggling', 'mpjpe/pizza'}
