"""GPU path of generation (run with --rungpu on a GPU machine): Depth Anything and the DTO
stage's body model on CUDA by default, batched across images, matching the CPU result."""
import pytest


@pytest.mark.gpu
def test_gpu_depth_and_dto_match_cpu(gen_cfg, tmp_path):
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    from metric_hmr.generation.pipeline import GenerationPipeline
    assert torch.cuda.is_available()
    torch.manual_seed(0)
    bb = Dinov2Config(hidden_size=16, num_hidden_layers=4, num_attention_heads=2, intermediate_size=32,
                      patch_size=14, image_size=56, reshape_hidden_states=False,
                      out_features=['stage1', 'stage2', 'stage3', 'stage4'])
    DepthAnythingForDepthEstimation(DepthAnythingConfig(
        backbone_config=bb, reassemble_hidden_size=16, neck_hidden_sizes=[8, 8, 16, 16],
        fusion_hidden_size=8, head_hidden_size=8, patch_size=14)).save_pretrained(str(tmp_path / 'da'))

    def pipeline(device):
        stages = [gen_cfg['stages'][0], gen_cfg['stages'][1],
                  dict(type='DepthAnythingDepth', model_dir=str(tmp_path / 'da'), input_size=56,
                       batch_size=4, device=device),
                  dict(gen_cfg['stages'][3], device=device)]
        return GenerationPipeline(gen_cfg['reader'], stages, batch_size=4)

    gpu, cpu = pipeline(None), pipeline('cpu')
    assert gpu.stages[2].device.type == 'cuda' and gpu.stages[3].device.type == 'cuda'
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ids = gpu.reader.image_ids()
    rec_g, _ = gpu.run(ids)
    rec_c, _ = cpu.run(ids)
    assert [r['status'] for r in rec_g] == [r['status'] for r in rec_c]
    for a, b in zip(rec_g, rec_c):
        for pa, pb in zip(a['persons'], b['persons']):
            assert pa['z_star'] == pytest.approx(pb['z_star'], rel=1e-3, abs=1e-3)
            assert pa['h_star'] == pytest.approx(pb['h_star'], rel=1e-3, abs=1e-3)
