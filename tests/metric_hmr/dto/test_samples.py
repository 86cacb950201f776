"""metric_hmr.dto.samples: the refiner's output written back into a prediction dict."""
from __future__ import annotations

import dataclasses

import numpy as np

from metric_hmr.dto import BatchDTORefiner, ImageInput, run_dto
from metric_hmr.dto.batch_refiner import ImageOutput
from metric_hmr.dto.samples import refined_sample, sample_to_input
from metric_hmr.testing.dto_scenes import synthetic_scene


def _scene_and_result(seed=0):
    sc = synthetic_scene(seed=seed, K=4)
    res = run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                  sc['disparity'], sc['transl'], sc['h_init'], age_years=np.full(4, 30.0),
                  p_male=np.full(4, 0.5))
    K = len(sc['verts'])
    sample = dict(img_path='scene', ori_shape=sc['image_size'],
                  pred=dict(transl=sc['transl'].copy(), focal=sc['focal'].copy(),
                            princpt=sc['princpt'], vertices=np.stack(sc['verts']),
                            joints3d=np.stack([v[:24] for v in sc['verts']]),
                            height=sc['h_init'], age=np.full(K, 30.0), p_male=np.full(K, 0.5)))
    return sc, res, sample


def test_refined_sample_uses_the_refiners_translation_and_focal():
    """Review items 1-2: the released x/y re-alignment lives in ``ImageOutput.transl`` (it
    differs from ``result.transl_star``) and the DTO+ focal in ``ImageOutput.focal``;
    the written transl, focal and the moved meshes / joints must follow them."""
    sc, res, sample = _scene_and_result()
    img = sample_to_input(sample, sc['disparity'], has_body_model=False)
    moved = res.transl_star + np.array([0.05, -0.03, 0.0])     # a re-alignment of x, y
    focal = np.array([640.0, 640.0])
    out = ImageOutput(res, transl=moved, focal=focal, height=res.h_star)
    new = refined_sample(sample, img, out, refit=False, remeshed=False)
    pred = new['pred']
    assert np.allclose(pred['transl'], moved)
    assert np.allclose(pred['focal'], focal)
    ratio = res.depth_ratio
    v0 = np.stack(sc['verts'])
    assert np.allclose(pred['vertices'], v0 * ratio[:, None, None]
                       + (moved - sc['transl'] * ratio[:, None])[:, None, :])
    # each person's mesh keeps its offset to its translation
    assert np.allclose(pred['vertices'].mean(1) - pred['transl'],
                       (v0.mean(1) - sc['transl']) * ratio[:, None])
    # without a refined focal the input focal stays
    plain = refined_sample(sample, img, ImageOutput(res, transl=res.transl_star, height=res.h_star),
                           refit=False, remeshed=False)
    assert np.array_equal(plain['pred']['focal'], sample['pred']['focal'])


def test_refiner_output_carries_the_refined_focal(monkeypatch):
    """The refiner copies ``DTOResult.focal_star`` into ``ImageOutput.focal`` (both callers,
    generation and ``refined_sample``, read it there)."""
    import metric_hmr.dto.batch_refiner as br
    sc, res, _ = _scene_and_result()
    focal = np.array([650.0, 650.0])
    real = br.run_dto
    monkeypatch.setattr(br, 'run_dto', lambda *a, **k: dataclasses.replace(
        real(*a, **k), focal_star=focal, focal_refined=True))
    img = ImageInput(name='scene', image_hw=sc['image_size'], focal=sc['focal'],
                     princpt=sc['princpt'], depth=sc['disparity'], transl=sc['transl'],
                     vertices=np.stack(sc['verts']), heights=sc['h_init'])
    out, = BatchDTORefiner(dict(), faces=sc['faces'])([img])
    assert np.array_equal(out.focal, focal)
    monkeypatch.setattr(br, 'run_dto', real)
    out, = BatchDTORefiner(dict(), faces=sc['faces'])([img])
    assert out.focal is None
