"""Relative Human: PCDR_0.2 (all / per age group), 2D PCK and detection P/R/F1."""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from metric_hmr.registry import METRICS
from ..functional import (PCDRAccumulator, detection_prf1, greedy_match_2d, pck_2d,
                          project_points)
from ..functional.joints import CROWDPOSE14
from .benchmark_metric import SMPL_KEYS, BenchmarkMetric, nanmean, num_persons

__all__ = ['RelativeHumanMetric']


@METRICS.register_module()
class RelativeHumanMetric(BenchmarkMetric):
    """Relative Human protocol of method.md §4.

    Ground truth per image (``gt``): ``kpts2d (N,14,3)`` CrowdPose-14 ``[x, y, visible]``,
    ``depth_id (N,)`` ordinal layer (-1 unknown), ``age_group (N,)`` (0 adult, 1 teen,
    2 kid, 3 baby, -1 unknown).
    Prediction (``pred``): ``transl (N,3)`` (depth = z) and keypoints: with
    ``pred_keypoints='auto'`` the projected SMPL joints (head top = vertex 411) when SMPL
    parameters + ``focal``/``princpt`` are present, else ``kpts2d (N,14,2)`` in CrowdPose-14
    order; ``'smpl'`` / ``'kpts2d'`` force one source.

    Reported (``rh/`` prefix): ``pcdr_0.2/{all,adult,teen,kid,baby}`` in percent,
    ``pck`` (fraction), ``precision``, ``recall``, ``f1`` (fractions), and counts.

    Args:
        tau: depth tolerance of PCDR (m).
        miss_penalty: weight of a missed person in the PCDR denominator.
        pck_ratio: PCK threshold as a fraction of the person scale.
        iou_thresh: minimum keypoint-box IoU for a match.
        ignore_joints: CrowdPose joints excluded from matching and PCK. The released
            evaluator never maps the neck (its 'Neck_LSP' name is absent from both
            19-joint orders), so the default excludes it too.
        match_distance: 'mean' (mean per-joint distance) or 'norm' (released code).
    """
    default_prefix = 'rh'

    def __init__(self, tau: float = 0.2, miss_penalty: float = 0.3, pck_ratio: float = 1 / 7,
                 iou_thresh: float = 0.05, ignore_joints: Sequence[str] = ('neck',),
                 match_distance: str = 'mean', pred_keypoints: str = 'auto', **kwargs):
        super().__init__(**kwargs)
        self.tau = tau
        self.miss_penalty = miss_penalty
        self.pck_ratio = pck_ratio
        self.iou_thresh = iou_thresh
        self.match_distance = match_distance
        if pred_keypoints not in ('auto', 'smpl', 'kpts2d'):
            raise ValueError(f"pred_keypoints must be 'auto', 'smpl' or 'kpts2d', "
                             f'got {pred_keypoints!r}')
        self.pred_keypoints = pred_keypoints
        unknown = [j for j in ignore_joints if j not in CROWDPOSE14]
        if unknown:
            raise ValueError(f'ignore_joints {unknown} are not CrowdPose-14 joints {CROWDPOSE14}')
        self.joint_mask = np.array([j not in ignore_joints for j in CROWDPOSE14])

    def _pred_kpts2d(self, pred: dict) -> np.ndarray:
        has_smpl = all(pred.get(k) is not None for k in SMPL_KEYS + ('focal', 'princpt'))
        source = self.pred_keypoints
        if source == 'auto':
            source = 'smpl' if has_smpl else 'kpts2d'
        if source == 'kpts2d':
            if pred.get('kpts2d') is None:
                raise ValueError('prediction has neither SMPL parameters + intrinsics nor kpts2d')
            k = np.asarray(pred['kpts2d'], np.float64)
            if k.ndim != 3 or k.shape[1] != 14:
                raise ValueError(f'pred kpts2d must be (N,14,2) CrowdPose-14, got {k.shape}')
            return k[..., :2]
        if num_persons(pred) == 0:
            return np.zeros((0, 14, 2))
        meshes = self.pred_meshes(pred)
        j3d = self.geometry.crowdpose_joints(meshes.vertices, meshes.joints)
        return project_points(j3d, pred['focal'], pred['princpt'])

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample, pred, gt in self.iter_samples(data_batch, data_samples):
            gt_k = np.asarray(gt['kpts2d'], np.float64).reshape(-1, 14, 3)
            gt_valid = (gt_k[..., 2] > 0) & self.joint_mask[None]
            # persons with < 2 annotated joints cannot be matched in 2D: excluded, counted
            matchable = gt_valid.sum(axis=1) >= 2
            gidx = np.where(matchable)[0]
            n_pred = num_persons(pred)
            pred_k = self._pred_kpts2d(pred) if n_pred else np.zeros((0, 14, 2))
            pred_z = np.asarray(pred['transl'], np.float64).reshape(-1, 3)[:, 2] \
                if n_pred else np.zeros(0)
            m = greedy_match_2d(pred_k, gt_k[gidx, :, :2], gt_valid[gidx],
                                iou_thresh=self.iou_thresh, distance=self.match_distance)
            p_idx, g_idx = m.pairs[:, 0], gidx[m.pairs[:, 1]]
            self.results.append(dict(
                img_path=sample.get('img_path'),
                depth=pred_z[p_idx],
                layer=np.asarray(gt['depth_id']).reshape(-1)[g_idx],
                age=np.asarray(gt['age_group']).reshape(-1)[g_idx],
                missed_age=np.asarray(gt['age_group']).reshape(-1)[gidx[m.misses]],
                pck=pck_2d(pred_k[p_idx], gt_k[g_idx, :, :2], gt_valid[g_idx], self.pck_ratio),
                n_pred=n_pred, n_gt=len(gidx), n_tp=len(p_idx),
                n_unmatchable=int((~matchable).sum())))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        acc = PCDRAccumulator(tau=self.tau, miss_penalty=self.miss_penalty)
        for r in results:
            acc.add_image(r['depth'], r['layer'], r['age'], r['missed_age'])
        pcdr = acc.result()
        tag = f'pcdr_{self.tau:g}'
        out = {f'{tag}/{k}': 100.0 * v for k, v in pcdr.items()}
        out['pck'] = nanmean(np.concatenate([r['pck'] for r in results]) if results else [])
        prf = detection_prf1(sum(r['n_tp'] for r in results), sum(r['n_pred'] for r in results),
                             sum(r['n_gt'] for r in results))
        out.update(prf)
        out['num_pairs'] = acc.pairs['all']
        out['num_missed'] = acc.missed['all']
        out['num_gt_unmatchable'] = sum(r['n_unmatchable'] for r in results)
        return out
