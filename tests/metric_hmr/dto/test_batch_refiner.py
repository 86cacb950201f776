"""BatchDTORefiner: the one way DTO is applied (generation stage, DTORefiner, evaluator)."""
import numpy as np
import pytest

from metric_hmr.dto import BatchDTORefiner, ImageInput
from metric_hmr.dto.batch_refiner import minor_flags


def _input(sample, disp, **kw):
    p = sample['pred']
    return ImageInput(name=sample['img_path'], image_hw=sample['ori_shape'], focal=p['focal'],
                      princpt=p['princpt'], depth=disp, transl=p['transl'], betas=p['betas'],
                      global_orient=p['global_orient'], body_pose=p['body_pose'], **kw)


def test_batch_equals_one_image_at_a_time(smpl_body_model, make_smpl_scene):
    """Batching the body-model passes over images changes nothing but float32 noise."""
    bm, _ = smpl_body_model
    scenes = [make_smpl_scene(bm, seed=s, K=3) for s in range(3)]
    inputs = [_input(sc, disp) for sc, disp, _ in scenes]
    refiner = BatchDTORefiner(dict(resolution=256), body_model=bm)
    batch = refiner(inputs)
    for img, out in zip(inputs, batch):
        alone = refiner([img])[0]
        assert out.error == '' and out.result.optimized
        np.testing.assert_allclose(out.transl, alone.transl, rtol=1e-6)
        np.testing.assert_allclose(out.betas, alone.betas, rtol=1e-5, atol=1e-6)
        # the refitted shapes have the corrected heights
        moved = out.result.used & (np.abs(out.result.depth_ratio - 1) > 0)
        np.testing.assert_allclose(np.asarray(bm.tpose_height(out.betas[moved]), np.float64),
                                   out.result.h_star[moved], atol=1e-3)
        assert all(f for f, m in zip(out.refit_flags, moved) if m)
        assert all(f == '' for f, m in zip(out.refit_flags, moved) if not m)


def test_bad_image_does_not_stop_the_batch(smpl_body_model, make_smpl_scene):
    bm, _ = smpl_body_model
    (s0, d0, _), (s1, d1, _) = make_smpl_scene(bm, seed=0, K=3), make_smpl_scene(bm, seed=1, K=3)
    bad = _input(s1, d1)
    bad.betas = np.concatenate([bad.betas, np.full((3, 1), 0.5)], 1)   # an age blend, 10-D model
    out = BatchDTORefiner(dict(resolution=256), body_model=bm)([_input(s0, d0), bad])
    assert out[0].error == '' and out[0].result is not None
    assert out[1].result is None and 'image scene_1.jpg, person 0' in out[1].error


def test_minor_rule_from_age_or_group():
    """Minor = under 15 years (conventions.is_minor) or a teen / kid / baby group code."""
    np.testing.assert_array_equal(minor_flags([30.0, 14.9, np.nan, np.nan], [-1, -1, 2, 0], 4),
                                  [False, True, True, False])
    np.testing.assert_array_equal(minor_flags(None, None, 2), [False, False])


def test_without_body_model_needs_vertices_heights_and_faces(smpl_body_model, make_smpl_scene):
    bm, _ = smpl_body_model
    sample, disp, _ = make_smpl_scene(bm, seed=2, K=3)
    img = _input(sample, disp)
    out = BatchDTORefiner(faces=bm.faces)([img])[0]
    assert out.result is None and 'no vertices' in out.error
    with pytest.raises(ValueError, match='preset'):
        BatchDTORefiner(dict(preset='nope'))
