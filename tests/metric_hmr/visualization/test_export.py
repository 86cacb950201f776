import json
import math

import numpy as np
import pytest
import trimesh

from metric_hmr.visualization import MeshScene, export_glb, export_params, opencv_to_gltf
from metric_hmr.visualization.export import EXPORT_KEYS, vertical_fov
from metric_hmr.visualization.glb import read_glb_json


def test_opencv_to_gltf_flips_y_and_z():
    p = opencv_to_gltf(np.array([[1.0, 2.0, 5.0]]))
    np.testing.assert_allclose(p, [[1.0, -2.0, -5.0]])  # in front of the camera -> -z


def test_glb_loads_back_with_trimesh(tmp_path, scene3):
    sample, verts, faces = scene3
    scene = MeshScene.from_sample(sample, verts, faces)
    path = export_glb(tmp_path / 'scene.glb', scene)

    loaded = trimesh.load(path, force='scene')
    meshes = {n: g for n, g in loaded.geometry.items() if isinstance(g, trimesh.Trimesh)}
    assert len(meshes) == 3
    names = sorted(meshes)
    assert names == ['person_00', 'person_01', 'person_02']
    for k, name in enumerate(names):
        m = meshes[name]
        assert len(m.vertices) == verts.shape[1]
        assert len(m.faces) == len(faces)
        # node transforms are identity: world coordinates = glTF conversion of OpenCV
        world = m.copy()
        world.apply_transform(loaded.graph.get(name)[0])
        np.testing.assert_allclose(world.vertices, opencv_to_gltf(verts[k]), atol=1e-5)
    # the frustum is a separate line node, not a triangle mesh
    assert any(isinstance(g, trimesh.path.Path3D) for g in loaded.geometry.values())
    # trimesh reads the camera with the image's vertical field of view
    assert loaded.has_camera
    assert loaded.camera.fov[1] == pytest.approx(math.degrees(2 * math.atan(480 / (2 * 600.0))), rel=1e-4)


def test_glb_camera_node(tmp_path, scene3):
    sample, verts, faces = scene3
    scene = MeshScene.from_sample(sample, verts, faces)
    gltf = read_glb_json(export_glb(tmp_path / 's.glb', scene).read_bytes())
    cam = gltf['cameras'][0]
    assert cam['type'] == 'perspective'
    assert math.isclose(cam['perspective']['yfov'], 2 * math.atan(480 / (2 * 600.0)), rel_tol=1e-6)
    assert math.isclose(cam['perspective']['aspectRatio'], 640 / 480, rel_tol=1e-6)
    cam_nodes = [n for n in gltf['nodes'] if 'camera' in n]
    assert len(cam_nodes) == 1 and 'matrix' not in cam_nodes[0] and 'rotation' not in cam_nodes[0]
    assert {n['name'] for n in gltf['nodes']} >= {'person_00', 'person_01', 'person_02',
                                                  'camera', 'camera_frustum'}
    # persons are in front of the glTF camera (negative z)
    for acc_i in (m['primitives'][0]['attributes']['POSITION'] for m in gltf['meshes'][:3]):
        assert gltf['accessors'][acc_i]['max'][2] < 0


def test_vertical_fov():
    assert math.isclose(vertical_fov((500, 500), (1000, 800)), 2 * math.atan(1.0))


def test_export_params_npz_and_json(tmp_path, scene3):
    sample, _, _ = scene3
    sample['pred']['std'][1] = np.nan
    npz_path, json_path = export_params(tmp_path / 'img0', sample)
    with np.load(npz_path) as z:
        assert set(z.files) == set(EXPORT_KEYS)
        np.testing.assert_allclose(z['transl'], sample['pred']['transl'])
        np.testing.assert_allclose(z['body_pose'], sample['pred']['body_pose'])
        assert z['betas'].shape == (3, 10)
        assert z['focal'].shape == (2,) and z['princpt'].shape == (2,)
        np.testing.assert_array_equal(z['age_group'], [0, 2, 1])
        assert np.isnan(z['std'][1])
    doc = json.loads(json_path.read_text())
    assert doc['num_persons'] == 3 and doc['missing'] == []
    assert doc['std'][1] is None and doc['std'][0] == pytest.approx(0.05)
    assert doc['age_group_name'] == ['adult', 'kid', 'teen']
    assert doc['height'] == pytest.approx([1.75, 1.15, 1.5])
    assert not list(tmp_path.glob('*.tmp*'))  # atomic writes leave no temporaries


def test_export_params_heights_from_dto_and_missing_smpl(tmp_path, scene3):
    sample, _, _ = scene3
    pred = dict(sample['pred'])
    for k in ('height', 'std', 'global_orient', 'body_pose', 'betas'):
        pred.pop(k)
    s = dict(sample, pred=pred)
    with pytest.raises(ValueError, match='global_orient'):
        export_params(tmp_path / 'a', s)
    dto = dict(h_star=np.array([1.7, 1.1, 1.4]), std_h=np.array([0.1, 0.2, 0.3]))
    npz_path, json_path = export_params(tmp_path / 'b', s, dto, require_smpl=False)
    doc = json.loads(json_path.read_text())
    assert doc['missing'] == ['global_orient', 'body_pose', 'betas']
    assert doc['height'] == pytest.approx([1.7, 1.1, 1.4])
    assert doc['std'] == pytest.approx([0.1, 0.2, 0.3])


def test_export_rejects_wrong_person_count(tmp_path, scene3):
    sample, _, _ = scene3
    sample['pred']['height'] = np.array([1.7, 1.6])
    with pytest.raises(ValueError, match='height has 2 values for 3 persons'):
        export_params(tmp_path / 'c', sample)
