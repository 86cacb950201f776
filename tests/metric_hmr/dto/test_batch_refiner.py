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


def test_images_without_betas_are_moved_not_refitted(smpl_body_model, make_smpl_scene):
    """Vertices and heights given, no SMPL shape: translations move, no refit (and the
    other images of the batch are refitted as usual)."""
    bm, _ = smpl_body_model
    (s0, d0, _), (s1, d1, _) = make_smpl_scene(bm, seed=0, K=3), make_smpl_scene(bm, seed=1, K=3)
    ref = BatchDTORefiner(dict(resolution=256), body_model=bm)
    full = _input(s0, d0)
    posed = ref._pose_all([_input(s1, d1)])[0]
    bare = ImageInput(name='bare', image_hw=posed.image_hw, focal=posed.focal, princpt=posed.princpt,
                      depth=d1, transl=posed.transl, vertices=posed.vertices, heights=posed.heights)
    out = ref([full, bare])
    assert out[1].error == '' and out[1].betas is None and out[1].refit_flags == [''] * 3
    np.testing.assert_array_equal(out[1].height, out[1].result.h_star)
    assert any(out[0].refit_flags)


@pytest.fixture(scope='module')
def smpla_body_model(tmp_path_factory):
    """11-beta SMPL-A body model (kid template) written by metric_hmr.testing."""
    from metric_hmr.registry import BODY_MODELS
    import metric_hmr.body_models  # noqa: F401
    from metric_hmr.testing import make_smpl_model_file
    from metric_hmr.testing.smpl_fixture import kid_template_path
    d = str(tmp_path_factory.mktemp('smpla'))
    path = make_smpl_model_file(d, seed=0, with_kid_template=True)
    return BODY_MODELS.build(dict(type='SMPLBodyModel', model_path=path, num_betas=11,
                                  kid_template_path=kid_template_path(d)))


RELEASED = dict(preset='released', resolution=256, min_visible_vertices=10)


def test_released_realignment_reaches_refined_samples(smpla_body_model, smpl_body_model,
                                                      make_smpl_scene):
    """Review item 2: with ``preset='released'`` minors that shrink take an age-blend step
    and their x/y are re-aligned (``ImageOutput.transl`` != ``result.transl_star``);
    ``refine_samples`` (DTORefiner, the DTO loops, the precomputed evaluator) must write
    that translation, and the re-posed joints must belong to it."""
    bm10, _ = smpl_body_model
    sample, disp, _ = make_smpl_scene(bm10, seed=0, K=4)
    K = 4
    pred = sample['pred']
    pred['betas'] = np.concatenate([pred['betas'], np.zeros((K, 1), np.float32)], 1)
    pred['age'] = np.full(K, 6.0)                 # kids: a shrink takes the age-blend step
    pred['joints3d'] = np.zeros((K, 24, 3))
    ref = BatchDTORefiner(RELEASED, body_model=smpla_body_model)
    out, = ref([_input(sample, disp, age=pred['age'])])
    assert out.error == '', out.error
    blended = np.array(['age_blend' in f for f in out.refit_flags])
    assert blended.any(), out.refit_flags
    assert not np.allclose(out.transl[blended, :2], out.result.transl_star[blended, :2])
    outcome, = ref.refine_samples([sample], [disp], ages=[pred['age']])
    new = outcome.sample['pred']
    np.testing.assert_allclose(new['transl'], out.transl, rtol=1e-6)
    # joints re-posed at the written translation: same offset to it as from the body model
    v, j = ref.pose(new['betas'], pred['global_orient'], pred['body_pose'], new['transl'])
    np.testing.assert_allclose(new['joints3d'], j[:, :24], atol=1e-5)


def test_released_step_skips_persons_without_pose(smpla_body_model, smpl_body_model,
                                                  make_smpl_scene):
    """Review item 6: an image whose persons have betas but no pose (vertices given) is
    moved with a ``not_refit`` flag under ``preset='released'``; before, the released
    shape step concatenated ``None`` and the whole batch failed."""
    bm10, _ = smpl_body_model
    (s0, d0, _), (s1, d1, _) = make_smpl_scene(bm10, seed=0, K=3), make_smpl_scene(bm10, seed=1, K=3)
    ref = BatchDTORefiner(RELEASED, body_model=smpla_body_model)
    full = _input(s0, d0)
    posed = ref._pose_all([ref._check(_input(s1, d1))])[0]
    no_pose = ImageInput(name='no_pose', image_hw=posed.image_hw, focal=posed.focal,
                         princpt=posed.princpt, depth=d1, transl=posed.transl, betas=posed.betas,
                         vertices=posed.vertices)
    out = ref([full, no_pose])
    assert out[0].error == '' and out[1].error == ''
    moved = out[1].result.used & (np.abs(out[1].result.depth_ratio - 1) > 0)
    assert moved.any()
    assert [f for f, m in zip(out[1].refit_flags, moved) if m] == ['not_refit: no pose'] * int(moved.sum())
    np.testing.assert_allclose(out[1].transl, out[1].result.transl_star)
    np.testing.assert_array_equal(out[1].betas, posed.betas)
