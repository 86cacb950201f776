"""3DPW / Hi4D: MPJPE, PA-MPJPE, PVE, T-pose height error and focal error."""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from metric_hmr.registry import METRICS
from ..functional import (detection_prf1, greedy_match_2d, mean_point_error, pa_mpjpe,
                          project_points, vertical_fov)
from ..functional.joints import H36M_EVAL14, H36M_PELVIS
from .benchmark_metric import BenchmarkMetric, focal_y_of, nanmean, num_persons

__all__ = ['MeshMetric']


@METRICS.register_module()
class MeshMetric(BenchmarkMetric):
    """Mesh benchmarks with SMPL ground truth (method.md §4: 3DPW, Hi4D).

    Persons are matched by greedy 2D matching of the projected SMPL joints (gt with gt
    intrinsics, prediction with predicted intrinsics). For each matched person, with
    the H36M pelvis (regressed joint 0) of each body as its root:

    * ``mpjpe``: mean error over the 14 H36M evaluation joints, root-relative (mm);
    * ``pa_mpjpe``: the same after Procrustes alignment with scale (mm);
    * ``pve``: mean error over all vertices after pelvis alignment (mm);
    * ``height_error``: |T-pose height(pred betas) - T-pose height(gt betas)| (mm),
      gt heights with the annotated gender's model when ``use_gt_gender``.

    Also ``precision/recall/f1`` of the matching and ``focal_error`` (px, |fy| per
    image) / ``fov_error`` (degrees, when ``ori_shape`` is known).

    Ground-truth persons with fewer than ``min_visible_joints`` projected SMPL joints
    inside the image are left out (as the released loaders do) when the image size is
    known (``ori_shape``; set ``read_image_size=True`` on the dataset); the counts are
    reported as ``num_gt_out_of_view`` / ``num_images_size_unknown``.

    Args:
        iou_thresh: keypoint-box IoU threshold of the matching.
        use_gt_gender: build gt bodies with the gendered models of
            ``geometry['gendered_body_models']`` (3DPW/Hi4D gt are gendered).
        min_visible_joints: see above (0 disables the filter).
    """
    default_prefix = 'mesh'

    def __init__(self, iou_thresh: float = 0.1, use_gt_gender: bool = True,
                 min_visible_joints: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.iou_thresh = iou_thresh
        self.use_gt_gender = use_gt_gender
        self.min_visible_joints = min_visible_joints

    def _in_view(self, gt_2d: np.ndarray, gt_z: np.ndarray, shape) -> np.ndarray:
        """gt persons with >= min_visible_joints projected SMPL joints inside the image
        (the released loaders drop the others); all persons when the size is unknown."""
        if shape is None or not self.min_visible_joints:
            return np.ones(len(gt_2d), bool)
        h, w = shape[:2]
        inside = ((gt_2d[..., 0] >= 0) & (gt_2d[..., 0] < w) & (gt_2d[..., 1] >= 0)
                  & (gt_2d[..., 1] < h) & (gt_z > 0))
        return inside.sum(axis=1) >= self.min_visible_joints

    def process(self, data_batch, data_samples: Sequence) -> None:
        geo = self.geometry
        for sample, pred, gt in self.iter_samples(data_batch, data_samples):
            shape = sample.get('ori_shape') or gt.get('ori_shape')
            gtm = self.gt_meshes(gt, self.use_gt_gender)
            gt_2d = project_points(gtm.joints, gt['focal'], gt['princpt'])
            keep = self._in_view(gt_2d, gtm.joints[..., 2], shape)
            gidx = np.where(keep)[0]
            n_gt, n_pred = len(gidx), num_persons(pred)
            rec = dict(img_path=sample.get('img_path'), n_gt=n_gt, n_pred=n_pred, n_tp=0,
                       n_out_of_view=int((~keep).sum()), size_unknown=shape is None,
                       mpjpe=np.zeros(0), pa_mpjpe=np.zeros(0), pve=np.zeros(0),
                       height_error=np.zeros(0), focal_error=np.nan, fov_error=np.nan)
            pf = focal_y_of(pred, shape)
            if pf is not None and gt.get('focal') is not None:
                gf = float(np.ravel(gt['focal'])[1])
                rec['focal_error'] = abs(pf - gf)
                if shape is not None:
                    rec['fov_error'] = float(np.degrees(abs(vertical_fov(pf, shape[0])
                                                            - vertical_fov(gf, shape[0]))))
            if n_gt == 0 or n_pred == 0:
                self.results.append(rec)
                continue
            pm = self.pred_meshes(pred)
            pred_2d = project_points(pm.joints, pred['focal'], pred['princpt'])
            match = greedy_match_2d(pred_2d, gt_2d[gidx], iou_thresh=self.iou_thresh)
            p, g = match.pairs[:, 0], gidx[match.pairs[:, 1]]
            rec['n_tp'] = len(p)
            if len(p):
                pj = geo.h36m_joints(pm.vertices[p])
                gj = geo.h36m_joints(gtm.vertices[g])
                p_root, g_root = pj[:, H36M_PELVIS], gj[:, H36M_PELVIS]
                pj = (pj - p_root[:, None])[:, H36M_EVAL14]
                gj = (gj - g_root[:, None])[:, H36M_EVAL14]
                rec['mpjpe'] = 1000 * mean_point_error(pj, gj)
                rec['pa_mpjpe'] = 1000 * pa_mpjpe(pj, gj)
                rec['pve'] = 1000 * mean_point_error(pm.vertices[p] - p_root[:, None],
                                                     gtm.vertices[g] - g_root[:, None])
                genders = gt.get('gender') if self.use_gt_gender else None
                n_all = len(gtm.vertices)
                h_gt = geo.tpose_heights(np.asarray(gt['betas']).reshape(n_all, -1)[g],
                                         None if genders is None else [genders[i] for i in g])
                h_pred = geo.tpose_heights(np.asarray(pred['betas']).reshape(n_pred, -1)[p])
                rec['height_error'] = 1000 * np.abs(h_pred - h_gt)
            self.results.append(rec)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        cat = lambda k: np.concatenate([r[k] for r in results]) if results else np.zeros(0)  # noqa
        out = {k: nanmean(cat(k)) for k in ('mpjpe', 'pa_mpjpe', 'pve', 'height_error')}
        out.update(detection_prf1(sum(r['n_tp'] for r in results),
                                  sum(r['n_pred'] for r in results),
                                  sum(r['n_gt'] for r in results)))
        out['focal_error'] = nanmean(r['focal_error'] for r in results)
        out['fov_error'] = nanmean(r['fov_error'] for r in results)
        out['num_matched'] = int(sum(r['n_tp'] for r in results))
        out['num_gt_out_of_view'] = int(sum(r['n_out_of_view'] for r in results))
        out['num_images_size_unknown'] = int(sum(r['size_unknown'] for r in results))
        return out
