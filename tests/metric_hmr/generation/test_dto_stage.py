"""DTOStage (batched over images) agrees with dto_hooks.DTORefiner (per image); matching
stage hands detection masks to DTO; release persons are never dropped."""
import numpy as np
import pytest

from metric_hmr.generation.readers import CameraHMRReleaseReader
from metric_hmr.generation.state import Detections


def _states(scenes):
    r = CameraHMRReleaseReader(str(scenes / 'demo-release.npz'), str(scenes / 'images'))
    return r, [r.load(i) for i in r.image_ids()]


def test_dto_stage_equals_dto_refiner(scenes, gen_smpl_file):
    from metric_hmr import register_all_modules
    register_all_modules()
    from dto_hooks.refiner import DTORefiner

    from metric_hmr.generation.depth_stage import PrecomputedDepth
    from metric_hmr.generation.dto_stage import DTOStage
    from metric_hmr.generation.estimator_stages import UnknownAgeGender
    bm = dict(type='SMPLBodyModel', model_path=str(gen_smpl_file))
    _, states = _states(scenes)
    PrecomputedDepth(str(scenes / 'depth'))(states)
    UnknownAgeGender()(states)
    stage = DTOStage(body_model=bm, dto=dict(resolution=128), device='cpu')
    stage(states)                                   # all images in one batch
    refiner = DTORefiner(dto=dict(resolution=128), body_model=bm)
    for s in states:
        p = s.persons
        sample = dict(img_path=s.img_path, ori_shape=s.ori_shape,
                      pred=dict(global_orient=p.global_orient, body_pose=p.body_pose, betas=p.betas,
                                transl=p.transl, focal=s.focal, princpt=s.princpt))
        out, res = refiner(sample, s.depth, age=s.age, p_male=s.p_male)
        assert s.status == ('kept' if res.kept else 'rejected')
        np.testing.assert_allclose(s.refined.transl, out['pred']['transl'], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(s.refined.betas, out['pred']['betas'], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(s.dto['h_star'], res.h_star, rtol=1e-6)


def test_matching_stage_masks_reach_dto(scenes):
    from metric_hmr.generation.dto_stage import _person_masks
    from metric_hmr.generation.estimator_stages import NoInitialHMR
    from metric_hmr.generation.match_stage import KeypointMatching
    from metric_hmr.generation.release import COCO_TO_OPENPOSE
    _, states = _states(scenes)
    s = states[0]
    n = len(s.persons)
    h, w = s.ori_shape
    # a "perfect" detector for persons 1..n-1 (person 0 missed) plus one stray detection
    kp = s.persons.kpts2d[:, COCO_TO_OPENPOSE].copy()
    kp[..., 2] = np.where(kp[..., 2] > 0, 0.9, 0.0)
    stray = kp[0].copy()
    stray[:, 0] += w          # far outside every person
    det_kpts = np.concatenate([kp[1:][::-1], stray[None]])      # detector order != input order
    masks = np.zeros((n, h, w), bool)
    for k in range(n):
        masks[k, :, k] = True   # distinguishable masks
    s.detections = Detections(boxes=np.tile([0.0, 0.0, w, h], (n, 1)), scores=np.full(n, 0.9),
                              masks=masks, kpts=det_kpts)
    KeypointMatching()([s])
    NoInitialHMR()([s])
    assert len(s.persons) == n                                  # nobody dropped, order kept
    assert s.person_det.tolist() == [-1] + list(range(n - 2, -1, -1))
    assert s.events['persons_matched'] == n - 1 and s.events['persons_unmatched_kept'] == 1
    assert s.events['unmatched_detections_dropped'] == 1         # the stray one, counted
    pm = _person_masks(s)
    assert pm.shape == (n, h, w) and pm[0].all()                # unmatched: no restriction
    for i in range(1, n):
        assert np.array_equal(pm[i], masks[s.person_det[i]])


def test_image_without_usable_person_is_skipped_not_rejected(scenes, gen_smpl_file):
    """docs/dto_generate.md: images whose persons DTO cannot use are *skipped* with their
    reason; 'rejected' is reserved for the mean-residual filter (> 1.5)."""
    from metric_hmr import register_all_modules
    register_all_modules()
    from metric_hmr.generation.depth_stage import PrecomputedDepth
    from metric_hmr.generation.dto_stage import DTOStage
    from metric_hmr.generation.estimator_stages import UnknownAgeGender
    from metric_hmr.generation.records import image_record
    _, states = _states(scenes)
    states = states[:2]
    PrecomputedDepth(str(scenes / 'depth'))(states)
    UnknownAgeGender()(states)
    states[0].depth = np.full_like(states[0].depth, np.nan)    # no valid depth anywhere
    DTOStage(body_model=dict(type='SMPLBodyModel', model_path=str(gen_smpl_file)),
             dto=dict(resolution=128), device='cpu')(states)
    s = states[0]
    assert s.status == 'skipped', (s.status, s.reason)
    assert s.reason == 'no_usable_person: no_valid_depth'
    rec = image_record(s)
    assert rec['num_persons'] == len(s.persons) and rec['dto']['image_score'] is None
    assert all(p['reasons'] == 'no_valid_depth' for p in rec['persons'])
    assert states[1].status in ('kept', 'rejected')


def test_refined_focal_reaches_the_released_cam_int_and_the_record():
    """Review item 1: a DTO+ refined focal (``ImageOutput.focal``) becomes the image's
    focal: the released ``cam_param`` of its persons, the record's ``focal`` / ``fov_v_deg``;
    the input focal is kept in the DTO record as ``focal_in``."""
    from metric_hmr.dto import run_dto
    from metric_hmr.dto.batch_refiner import ImageOutput
    from metric_hmr.generation.dto_stage import _apply
    from metric_hmr.generation.records import image_record, released_entry
    from metric_hmr.generation.state import ImageState, Persons
    from metric_hmr.testing.dto_scenes import synthetic_scene
    sc = synthetic_scene(seed=0, K=4)
    K = 4
    res = run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                  sc['disparity'], sc['transl'], sc['h_init'], age_years=np.full(K, 30.0),
                  p_male=np.full(K, 0.5), config=dict(score_threshold=1e9))
    assert res.kept and res.used.all()
    persons = Persons(global_orient=np.zeros((K, 3)), body_pose=np.zeros((K, 69)),
                      betas=np.zeros((K, 10)), transl=sc['transl'], source=['release'] * K,
                      source_index=np.arange(K))
    s = ImageState(img_id='a.jpg', img_path=None, ori_shape=sc['image_size'], persons=persons,
                   focal=sc['focal'].copy(), princpt=sc['princpt'])
    refined = np.array([700.0, 700.0])
    _apply(s, ImageOutput(res, transl=res.transl_star, focal=refined, betas=np.zeros((K, 10)),
                          height=res.h_star, refit_flags=[''] * K))
    assert s.status == 'kept'
    entry = released_entry(s)
    assert len(entry) == K
    for p in entry:
        assert np.allclose(p['cam_param']['focal'], refined)
    rec = image_record(s)
    assert np.allclose(rec['focal'], refined)
    assert rec['fov_v_deg'] < 2 * np.degrees(np.arctan(sc['image_size'][0] / 2 / 600.0))
    assert np.allclose(s.dto['focal_in'], sc['focal'])


def test_record_carries_the_per_person_and_focal_fields():
    """Review item 6: the generation record holds the DTO+ per-person outputs (robust
    weight, outlier, group, z_fit) and the focal decision with its reason; on the paper
    path the DTO+ ones are None."""
    from metric_hmr.dto import run_dto
    from metric_hmr.dto.batch_refiner import ImageOutput
    from metric_hmr.generation.dto_stage import _apply
    from metric_hmr.generation.records import image_record
    from metric_hmr.generation.state import ImageState, Persons
    from metric_hmr.testing.dto_scenes import synthetic_scene
    sc = synthetic_scene(seed=0, K=4)
    K = 4
    for preset in ('plus', 'paper'):
        res = run_dto(sc['verts'], sc['faces'], sc['focal'], sc['princpt'], sc['image_size'],
                      sc['disparity'], sc['transl'], sc['h_init'], age_years=np.full(K, 30.0),
                      p_male=np.full(K, 0.5), config=dict(preset=preset, focal_refine=preset == 'plus'))
        persons = Persons(global_orient=np.zeros((K, 3)), body_pose=np.zeros((K, 69)),
                          betas=np.zeros((K, 10)), transl=sc['transl'], source=['release'] * K,
                          source_index=np.arange(K))
        s = ImageState(img_id='a.jpg', img_path=None, ori_shape=sc['image_size'], persons=persons,
                       focal=sc['focal'].copy(), princpt=sc['princpt'])
        _apply(s, ImageOutput(res, transl=res.transl_star, focal=res.focal_star,
                              betas=np.zeros((K, 10)), height=res.h_star, refit_flags=[''] * K))
        rec = image_record(s)
        dto = rec['dto']
        assert dto['focal_refined'] == res.focal_refined and dto['focal_reason'] == res.focal_reason
        assert dto['affine_space'] == res.affine_space and len(dto['group_params']) == 1
        for i, p in enumerate(rec['persons']):
            assert p['group'] == int(res.group[i])
            if preset == 'plus':
                assert p['outlier'] == bool(res.outlier[i])
                assert p['robust_weight'] == pytest.approx(res.robust_weight[i], nan_ok=True)
                assert p['z_fit'] == pytest.approx(res.z_fit[i])
            else:
                assert p['outlier'] is None and p['robust_weight'] is None and p['z_fit'] is None
        if preset == 'plus':
            assert dto['focal_refined'] or dto['focal_reason']     # the decision is explained
