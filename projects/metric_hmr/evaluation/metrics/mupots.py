"""MuPoTS-3D: 3D-PCK@150mm (All / Match) and root-relative MPJPE."""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np

from metric_hmr.registry import METRICS
from ..functional import (mupots_identity_match, pck3d_per_person, point_errors,
                          project_points, rescale_bones_to_gt)
from ..functional.joints import H36M_TO_MPI, MPI_EVAL14, MPI_MATCH_JOINTS, MPI_PELVIS
from .benchmark_metric import BenchmarkMetric, nanmean, num_persons

__all__ = ['MuPoTSMetric']


@METRICS.register_module()
class MuPoTSMetric(BenchmarkMetric):
    """MuPoTS protocol (method.md §4; official MuPoTS evaluation).

    Ground truth: ``joints3d (N,17,3)`` metres and ``kpts2d (N,17,3)`` px + visibility,
    both in the H36M-17 order of the SMPL H36M regressor; ``seq`` (e.g. 'TS1').
    Predicted joints are the H36M regressor applied to the predicted meshes, projected
    with the predicted intrinsics for the identity matching (MPI joints 1-13, 40 px).

    Per gt person (MPI-17 order, root = pelvis): joint errors after root alignment,
    predicted bones rescaled to gt lengths (``rescale_bones``, official); PCK = share of
    *visible* joints among the 14 evaluation joints within 150 mm. ``pck_all`` counts
    unmatched gt persons with PCK 0, ``pck_match`` averages matched persons only.
    ``mpjpe`` (mm) is the mean root-relative error over the 14 joints of matched persons
    without bone rescaling. Per-sequence PCKs are reported as ``pck_all/TSk``.
    """
    default_prefix = 'mupots'

    def __init__(self, thresh_mm: float = 150.0, match_px: float = 40.0,
                 rescale_bones: bool = True, per_sequence: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.thresh_mm = thresh_mm
        self.match_px = match_px
        self.rescale_bones = rescale_bones
        self.per_sequence = per_sequence

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample, pred, gt in self.iter_samples(data_batch, data_samples):
            gj = np.asarray(gt['joints3d'], np.float64).reshape(-1, 17, 3)[:, H36M_TO_MPI] * 1000
            gk = np.asarray(gt['kpts2d'], np.float64).reshape(-1, 17, 3)[:, H36M_TO_MPI]
            vis = gk[..., 2] > 0
            n_gt, n_pred = len(gj), num_persons(pred)
            if n_pred:
                pm = self.pred_meshes(pred)
                pj_m = self.geometry.h36m_joints(pm.vertices)[:, H36M_TO_MPI]
                pk = project_points(pj_m, pred['focal'], pred['princpt'])
                pj = pj_m * 1000
            else:
                pj, pk = np.zeros((0, 17, 3)), np.zeros((0, 17, 2))
            jm = MPI_MATCH_JOINTS
            pair = mupots_identity_match(gk[:, jm, :2], pk[:, jm], thresh_px=self.match_px)
            g_rel = gj - gj[:, MPI_PELVIS:MPI_PELVIS + 1]
            err = np.full((n_gt, 17), np.inf)
            raw_err = np.full((n_gt, 17), np.nan)
            ok = pair >= 0
            if ok.any():
                p_rel = pj[pair[ok]] - pj[pair[ok], MPI_PELVIS:MPI_PELVIS + 1]
                raw_err[ok] = point_errors(p_rel, g_rel[ok])
                if self.rescale_bones:
                    p_rel = rescale_bones_to_gt(p_rel, g_rel[ok])
                err[ok] = point_errors(p_rel, g_rel[ok])
            pck = pck3d_per_person(err[:, MPI_EVAL14], vis[:, MPI_EVAL14], self.thresh_mm)
            self.results.append(dict(
                seq=str(gt.get('seq', 'all')), pck=pck, matched=ok,
                mpjpe=raw_err[ok][:, MPI_EVAL14].mean(axis=1) if ok.any() else np.zeros(0)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pck = np.concatenate([r['pck'] for r in results]) if results else np.zeros(0)
        matched = np.concatenate([r['matched'] for r in results]) if results else np.zeros(0, bool)
        out = {'pck_all': 100 * nanmean(pck), 'pck_match': 100 * nanmean(pck[matched]),
               'mpjpe': nanmean(np.concatenate([r['mpjpe'] for r in results]) if results else []),
               'num_gt': int(len(pck)), 'num_unmatched': int((~matched).sum())}
        if self.per_sequence:
            by_seq = defaultdict(list)
            for r in results:
                by_seq[r['seq']].append(r['pck'])
            for seq in sorted(by_seq):
                out[f'pck_all/{seq}'] = 100 * nanmean(np.concatenate(by_seq[seq]))
        return out
