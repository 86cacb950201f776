"""The small synthetic config overfits a few synthetic crowd scenes on CPU (slow)."""
import math
import os

import pytest
import torch


@pytest.mark.slow
def test_small_config_overfits_synthetic_scenes(tmp_path, smpl_model_file, repo_root, capsys):
    os.environ.setdefault('ANNY_CACHE_DIR', os.path.expanduser('~/.cache/metric_hmr/anny'))
    from mmengine.config import Config

    import metric_hmr.body_models  # noqa: F401
    import metric_hmr.models  # noqa: F401
    from metric_hmr.datasets.train import CanvasHMR, LoadHMRImage, PackHMRInputs, mahmr_collate
    from metric_hmr.registry import MODELS
    from metric_hmr.synthetic import SyntheticCrowdsDataset
    from metric_hmr.synthetic.shards import generate_set

    cfg = Config.fromfile(str(repo_root / 'configs' / 'mahmr_small_synthetic.py'))
    # uniform layout: at small image sizes the group layout leaves few persons inside the view
    root = generate_set(tmp_path / 'synth', num_scenes=4, seed=0, scenes_per_shard=4, image_size=(240, 320),
                        layout='uniform', min_person_frac=0.08, num_persons=dict(low=3, high=5), render_rgb=True)
    S = cfg.model.input_size
    ds = SyntheticCrowdsDataset(data_root=str(root), pipeline=[LoadHMRImage(), CanvasHMR(S), PackHMRInputs()])
    batch = mahmr_collate([ds[i] for i in range(len(ds))])
    assert sum(len(s['gt']['boxes']) for s in batch['data_samples']) >= 6

    cfg.model.body_model = dict(type='SMPLBodyModel', model_path=str(smpl_model_file))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model.to_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    fov_gt = torch.tensor([s['fov_v'] for s in batch['data_samples']])

    def evaluate():
        model.train()
        with torch.no_grad():
            torch.manual_seed(1)
            total = float(sum(model(**model.data_preprocessor(batch, True), mode='loss').values()))
            model.eval()
            fov = model(**model.data_preprocessor(batch), mode='tensor')['fov']
        return total, float((fov - fov_gt).abs().mean())

    loss0, fov_err0 = evaluate()
    steps = 400
    for _ in range(steps):
        model.train()
        losses = model(**model.data_preprocessor(batch, True), mode='loss')
        opt.zero_grad()
        sum(losses.values()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    loss1, fov_err1 = evaluate()
    with capsys.disabled():
        print(f'\noverfit {len(ds)} synthetic scenes, {steps} steps: total loss {loss0:.3f} -> {loss1:.3f} '
              f'({loss0 / loss1:.1f}x), FoV error {math.degrees(fov_err0):.2f} -> {math.degrees(fov_err1):.2f} deg')
    assert loss1 < loss0 / 10
    assert fov_err1 < fov_err0
