"""Fixtures of the generation tests: a procedural body model and tiny synthetic scenes."""
import copy
from pathlib import Path

import pytest


@pytest.fixture(scope='session')
def gen_smpl_file(tmp_path_factory) -> Path:
    from metric_hmr.testing import make_smpl_model_file
    return Path(make_smpl_model_file(str(tmp_path_factory.mktemp('gen_smpl')), seed=0))


# small scenes of the synthetic-crowd generator: 2-3 persons of all ages inside the view
SCENES_CFG = dict(image_size=(96, 128), num_persons=dict(low=2, high=3), age_range=(3.0, 65.0),
                  camera=dict(height_range=(1.2, 2.0), pitch_deg_range=(0.0, 15.0),
                              vfov_deg_range=(45.0, 70.0)),
                  layout='uniform', fov_margin=0.8, dist_min=2.5, dist_max=7.0,
                  min_person_frac=0.2, render_rgb=True)


def export_scenes(out: Path, smpl_file, num_scenes: int, seed: int) -> Path:
    """Scenes of ``SyntheticCrowdGenerator`` (SMPL-format body) exported with
    ``export_camerahmr_release`` into ``out`` (``release.npz``, images/, depth/, masks/,
    truth.npz), plus ``demo-release.npz``: the same release with image names relative to
    ``images/`` (as CameraHMR's), so ``CameraHMRReleaseReader(demo-release.npz, images)``
    and ``PrecomputedDepth(depth)`` find ``images/<stem>.png`` / ``depth/<stem>.npy``."""
    from metric_hmr.generation.release import load_camerahmr_release, write_camerahmr_release
    from metric_hmr.synthetic import SyntheticCrowdGenerator, export_camerahmr_release
    gen = SyntheticCrowdGenerator(seed=seed, body_model=dict(type='SMPLBodyModel', model_path=str(smpl_file)),
                                  **SCENES_CFG)
    release = export_camerahmr_release([gen.generate(i) for i in range(num_scenes)], out, gen,
                                       min_pixels=20)
    images = load_camerahmr_release(release)
    assert len(images) == num_scenes, 'every scene must keep at least one person'
    for im in images:
        im.imgname = im.imgname[len('images/'):]
    write_camerahmr_release(out / 'demo-release.npz', images)
    return out


@pytest.fixture(scope='session')
def scenes(tmp_path_factory, gen_smpl_file) -> Path:
    """4 small synthetic scenes in the CameraHMR release format (+ depth, images, masks)."""
    return export_scenes(tmp_path_factory.mktemp('scenes'), gen_smpl_file, num_scenes=4, seed=1)


@pytest.fixture
def gen_cfg(scenes, gen_smpl_file, tmp_path):
    """A plain config dict of a precomputed-input run on ``scenes``; returns a fresh copy."""
    from metric_hmr import register_all_modules
    register_all_modules()
    cfg = dict(
        work_dir=str(tmp_path / 'work'),
        reader=dict(type='CameraHMRReleaseReader', release_file=str(scenes / 'demo-release.npz'),
                    img_root=str(scenes / 'images'), name='demo'),
        stages=[dict(type='ReleaseIntrinsics'), dict(type='UnknownAgeGender'),
                dict(type='PrecomputedDepth', depth_root=str(scenes / 'depth')),
                dict(type='DTOStage', body_model=dict(type='SMPLBodyModel',
                                                      model_path=str(gen_smpl_file)),
                     dto=dict(resolution=128))],
        generation=dict(shard_size=2, batch_size=2, progress=False, vis_every=0, report=False))
    return copy.deepcopy(cfg)


TINY = Path(__file__).parent / 'tiny_configs'


def _no_pretrained(cfg):
    """Fail when a config still asks for pretrained weights (nothing may download)."""
    text = cfg.pretty_text
    assert 'http' not in text and 'pretrained' not in text.replace('pretrained=None', ''), text


@pytest.fixture(scope='session')
def tiny_models(tmp_path_factory):
    """Random tiny networks built from configs and saved locally: mmdet Mask R-CNN, mmpose
    top-down heatmap model, Depth Anything (transformers), TorchScript age/gender and HMR."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    out = tmp_path_factory.mktemp('tiny_models')
    torch.manual_seed(0)
    det_cfg = Config.fromfile(str(TINY / 'tiny_mask_rcnn.py'))
    _no_pretrained(det_cfg)
    from mmdet.registry import MODELS as DET_MODELS
    from mmdet.utils import register_all_modules as det_register
    det_register(False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        det = DET_MODELS.build(det_cfg.model)
    # bias the classifier towards 'person' so the random detector reports persons above 0.5
    det.roi_head.bbox_head.fc_cls.bias.data[:] = torch.tensor([5.0, -5.0])
    torch.save({'state_dict': det.state_dict(), 'meta': {'dataset_meta': {'classes': ('person',)}}},
               out / 'det.pth')
    pose_cfg = Config.fromfile(str(TINY / 'tiny_topdown.py'))
    _no_pretrained(pose_cfg)
    from mmpose.registry import MODELS as POSE_MODELS
    from mmpose.utils import register_all_modules as pose_register
    pose_register(False)
    with DefaultScope.overwrite_default_scope('mmpose'):
        pose = POSE_MODELS.build(pose_cfg.model)
    pose.head.final_layer.bias.data[:] = 1.0      # keypoint scores >= 0.5
    torch.save({'state_dict': pose.state_dict()}, out / 'pose.pth')

    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config
    bb = Dinov2Config(hidden_size=16, num_hidden_layers=4, num_attention_heads=2, intermediate_size=32,
                      patch_size=14, image_size=56, reshape_hidden_states=False,
                      out_features=['stage1', 'stage2', 'stage3', 'stage4'])
    da = DepthAnythingForDepthEstimation(DepthAnythingConfig(
        backbone_config=bb, reassemble_hidden_size=16, neck_hidden_sizes=[8, 8, 16, 16],
        fusion_hidden_size=8, head_hidden_size=8, patch_size=14))
    da.save_pretrained(str(out / 'depth_anything'))

    class AgeGender(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):
            y = self.fc(self.conv(x).mean((2, 3)))
            return torch.stack([40.0 * torch.sigmoid(y[:, 0]), torch.sigmoid(y[:, 1])], 1)

    class HMR(torch.nn.Module):
        def forward(self, x):
            b = x.shape[0]
            cam = torch.tensor([[0.9, 0.0, 0.0]]).expand(b, 3) + 0.0 * x.mean()
            return torch.cat([torch.zeros(b, 1) + 3.14159, torch.zeros(b, 81), cam], 1)

    torch.jit.script(AgeGender()).save(str(out / 'age_gender.pt'))
    torch.jit.script(HMR()).save(str(out / 'hmr.pt'))
    return dict(det_config=str(TINY / 'tiny_mask_rcnn.py'), det_ckpt=str(out / 'det.pth'),
                pose_config=str(TINY / 'tiny_topdown.py'), pose_ckpt=str(out / 'pose.pth'),
                depth_dir=str(out / 'depth_anything'), age_gender=str(out / 'age_gender.pt'),
                hmr=str(out / 'hmr.pt'))
