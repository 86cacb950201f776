"""DTOTestLoop / DTOValLoop inside a real MMEngine Runner with a tiny fake model."""
import copy

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.runner import Runner

from dto_hooks.hooks import DTOTestHook
from dto_hooks.loops import DTOTestLoop, DTOValLoop, load_depth_map


class FakeHMR(BaseModel):
    """Returns stored per-image predictions (ARCHITECTURE.md dicts) for each input sample."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='predict'):
        if mode == 'loss':
            return dict(loss=self.dummy.sum())
        return [dict(img_path=s['img_path'], ori_shape=s['ori_shape'], pred=copy.deepcopy(s['stored_pred']),
                     gt=s['gt']) for s in data_samples]


class DepthErrorMetric(BaseMetric):
    """Mean relative error of the predicted root depth against ground truth."""
    default_prefix = 'fake'

    def __init__(self, **kw):
        super().__init__(**kw)
        self.with_record = 0

    def process(self, data_batch, data_samples):
        for s in data_samples:
            self.with_record += int('dto' in s)
            z = np.asarray(s['pred']['transl'])[:, 2]
            self.results.append(np.abs(z - s['gt']['transl'][:, 2]) / s['gt']['transl'][:, 2])

    def compute_metrics(self, results):
        return dict(depth_rel_err=float(np.mean(np.concatenate(results))))


class SceneSet(torch.utils.data.Dataset):
    def __init__(self, samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return dict(inputs=torch.zeros(1), data_samples=self.samples[i])


def collate(batch):
    return dict(inputs=[b['inputs'] for b in batch], data_samples=[b['data_samples'] for b in batch])


def _samples(bm, make_smpl_scene, tmp_path, n=3):
    out = []
    for i in range(n):
        sample, disp, truth = make_smpl_scene(bm, seed=10 + i, K=3)
        ds = dict(img_path=sample['img_path'], ori_shape=sample['ori_shape'], stored_pred=sample['pred'],
                  gt=dict(transl=truth['T_true'], height=truth['H_true']))
        if i % 2 == 0:
            path = tmp_path / f'depth_{i}.npy'
            np.save(path, disp)
            ds['depth_path'] = str(path)
        else:
            ds['depth'] = disp
        out.append(ds)
    return out


_RUNNERS = iter(range(10 ** 6))


def _runner(tmp_path, samples, dto=None, mode='test'):
    """A Runner whose test (or val) loop is MMEngine's, or the DTO loop with options ``dto``."""
    loader = dict(dataset=SceneSet(samples), batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False), collate_fn=collate)
    kw = dict(model=FakeHMR(), work_dir=str(tmp_path / 'work'), default_scope='metric_hmr',
              log_level='WARNING', experiment_name=f'dto_loop_{next(_RUNNERS)}',
              default_hooks=dict(logger=None, checkpoint=None, timer=None, param_scheduler=None,
                                 sampler_seed=None))
    loop = dict() if dto is None else dict(type='DTOTestLoop' if mode == 'test' else 'DTOValLoop', **dto)
    if mode == 'test':
        kw.update(test_dataloader=loader, test_cfg=loop, test_evaluator=Evaluator([DepthErrorMetric()]))
    else:
        kw.update(val_dataloader=loader, val_cfg=loop, val_evaluator=Evaluator([DepthErrorMetric()]))
    return Runner(**kw)


def base_metric(runner, mode):
    return (runner.test_evaluator if mode == 'test' else runner.val_evaluator).metrics[0]


@pytest.mark.parametrize('mode', ['test', 'val'])
def test_loop_applies_dto_before_metrics(smpl_body_model, make_smpl_scene, tmp_path, mode):
    bm, path = smpl_body_model
    samples = _samples(bm, make_smpl_scene, tmp_path)
    base = _runner(tmp_path / 'a', samples, None, mode)
    plain = (base.test() if mode == 'test' else base.val())['fake/depth_rel_err']
    dto = dict(refiner=dict(type='DTORefiner', body_model=dict(type='SMPLBodyModel', model_path=path)))
    runner = _runner(tmp_path / 'b', samples, dto, mode)
    with_dto = (runner.test() if mode == 'test' else runner.val())['fake/depth_rel_err']
    assert plain > 0.05                # wrongly scaled predictions
    assert with_dto < 0.6 * plain      # DTO brings persons closer to their metric depths
    loop = runner.test_loop if mode == 'test' else runner.val_loop
    assert isinstance(loop, DTOTestLoop if mode == 'test' else DTOValLoop)
    assert loop.dto.num_refined == len(samples)
    evaluator = runner.test_evaluator if mode == 'test' else runner.val_evaluator
    assert evaluator.metrics[0].with_record == len(samples)     # metrics saw refined samples
    assert base_metric(base, mode).with_record == 0
    # nothing is patched on the model
    assert 'test_step' not in runner.model.__dict__ and 'val_step' not in runner.model.__dict__


def test_missing_depth_error_and_skip(smpl_body_model, make_smpl_scene, tmp_path):
    bm, _ = smpl_body_model
    samples = _samples(bm, make_smpl_scene, tmp_path, n=2)
    for s in samples:
        s.pop('depth', None)
        s.pop('depth_path', None)
    runner = _runner(tmp_path / 'err', samples, dict(refiner=dict(type='DTORefiner', body_model=bm)))
    with pytest.raises(ValueError, match="scene_10.jpg: no 'depth'"):
        runner.test()
    runner = _runner(tmp_path / 'skip', samples, dict(refiner=dict(type='DTORefiner', body_model=bm),
                                                      on_missing_depth='skip'))
    runner.test()
    assert runner.test_loop.dto.num_skipped == 2 and runner.test_loop.dto.num_refined == 0


def test_load_depth_map_formats(tmp_path):
    a = np.random.default_rng(0).uniform(1, 2, (4, 5))
    np.save(tmp_path / 'd.npy', a)
    np.savez(tmp_path / 'd.npz', depth=a, other=a)
    np.testing.assert_allclose(load_depth_map(str(tmp_path / 'd.npy')), a)
    np.testing.assert_allclose(load_depth_map(str(tmp_path / 'd.npz'), 'depth'), a)
    import cv2
    cv2.imwrite(str(tmp_path / 'd.png'), (a * 1000).astype(np.uint16))
    np.testing.assert_allclose(load_depth_map(str(tmp_path / 'd.png'), scale=1000.0), a, atol=1e-3)
    with pytest.raises(FileNotFoundError, match='missing.npy'):
        load_depth_map(str(tmp_path / 'missing.npy'))
    np.savez(tmp_path / 'e.npz', a=a, b=a)
    with pytest.raises(ValueError, match="no array 'depth'"):
        load_depth_map(str(tmp_path / 'e.npz'), 'depth')
    np.testing.assert_allclose(load_depth_map(str(tmp_path / 'e.npz')), a)   # no key: the first


def test_loops_and_evaluator_share_the_dto_depth_reader():
    """Review item 16/12: one depth-file reader (metric_hmr.dto.depth_map)."""
    import metric_hmr.dto.depth_map as dm
    from metric_hmr.generation import depth_stage
    assert load_depth_map is dm.load_depth_map
    assert depth_stage.load_depth_map is dm.load_depth_map
    assert depth_stage.aspect_mismatch is dm.aspect_mismatch



def test_old_hook_names_the_loops():
    with pytest.raises(ValueError, match='DTOTestLoop'):
        DTOTestHook(refiner=dict(type='DTORefiner', faces=np.zeros((1, 3), int)))
