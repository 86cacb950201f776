"""CMU Panoptic: MPJPE per sequence (haggling, mafia, ultimatum, pizza) and mean."""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np

from metric_hmr.registry import METRICS
from ..functional import mean_point_error, nearest_pose_match
from ..functional.joints import H36M_PELVIS
from .benchmark_metric import BenchmarkMetric, nanmean, num_persons

__all__ = ['PANOPTIC_J24_TO_H36M', 'PANOPTIC_PELVIS_J24', 'SEQUENCES', 'PanopticMetric']

# Panoptic annotation joints (24, SPIN's LSP-extended order) -> H36M-17 order.
PANOPTIC_J24_TO_H36M = [14, 2, 1, 0, 3, 4, 5, 16, 12, 17, 18, 9, 10, 11, 8, 7, 6]
PANOPTIC_PELVIS_J24 = 14
SEQUENCES = ('haggling', 'mafia', 'ultimatum', 'pizza')


@METRICS.register_module()
class PanopticMetric(BenchmarkMetric):
    """CMU Panoptic protocol (method.md §4, as in SAT-HMR / BMP).

    Ground truth: ``joints3d (N,24,4)`` metres + visibility (last column) in the
    annotation's 24-joint order. The gt pelvis is lowered by ``pelvis_offset`` m in y
    (BMP convention, aligning it with the SMPL H36M pelvis). Each gt person takes the
    prediction with the closest root-relative pose over the joints visible in all gt
    persons of the image; its MPJPE (mm) is the mean over the gt person's visible
    H36M-17 joints. Results per sequence (by name in the image path) and ``mean``
    over all persons.
    """
    default_prefix = 'panoptic'

    def __init__(self, pelvis_offset: float = 0.06, sequences: Sequence[str] = SEQUENCES,
                 **kwargs):
        super().__init__(**kwargs)
        self.pelvis_offset = pelvis_offset
        self.sequences = tuple(sequences)

    def _seq_of(self, sample: dict, gt: dict) -> str:
        if gt.get('seq'):
            name = str(gt['seq'])
        else:
            name = str(sample.get('img_path', ''))
        for s in self.sequences:
            if s in name:
                return s
        raise ValueError(f'{sample.get("img_path")}: no sequence of {self.sequences} in '
                         f'{name!r}')

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample, pred, gt in self.iter_samples(data_batch, data_samples):
            j24 = np.asarray(gt['joints3d'], np.float64).reshape(-1, 24, 4).copy()
            j24[:, PANOPTIC_PELVIS_J24, 1] -= self.pelvis_offset
            gj = j24[:, PANOPTIC_J24_TO_H36M, :3]
            vis = j24[:, PANOPTIC_J24_TO_H36M, 3] > 0
            g_rel = gj - gj[:, H36M_PELVIS:H36M_PELVIS + 1]
            seq = self._seq_of(sample, gt)
            if num_persons(pred) == 0 or len(gj) == 0:
                self.results.append(dict(seq=seq, mpjpe=np.zeros(0), n_unscored=len(gj)))
                continue
            pj = self.geometry.h36m_joints(self.pred_meshes(pred).vertices)
            p_rel = pj - pj[:, H36M_PELVIS:H36M_PELVIS + 1]
            common = vis.all(axis=0)
            idx = nearest_pose_match(g_rel, p_rel, common if common.any() else None)
            err = 1000 * mean_point_error(p_rel[idx], g_rel, vis)
            self.results.append(dict(seq=seq, mpjpe=err, n_unscored=0))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        by_seq = defaultdict(list)
        for r in results:
            by_seq[r['seq']].append(r['mpjpe'])
        out = {}
        for s in self.sequences:
            if s in by_seq:
                out[f'mpjpe/{s}'] = nanmean(np.concatenate(by_seq[s]))
        allv = np.concatenate([r['mpjpe'] for r in results]) if results else np.zeros(0)
        out['mpjpe/mean'] = nanmean(allv)
        out['num_unscored'] = int(sum(r['n_unscored'] for r in results))
        return out
