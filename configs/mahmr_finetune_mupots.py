# Stage 4 for MuPoTS.  MuPoTS has no training split; MA-HMR's released code evaluates MuPoTS
# with the checkpoint of its Panoptic fine-tune (configs/run/panoptic_ft.yaml lists
# eval_datasets_used: [panoptic, mupots]), so this is that recipe: 3DPW + BEDLAM 1 fps (rate 4)
# + AGORA, 6 epochs (see mahmr_finetune_panoptic.py).  The paper's Table 2 reports no
# fine-tuned MA-HMR number on MuPoTS.  Score with configs/eval/mahmr_mupots.py.
# (MuCo-3DHP, used by ROMP / BEV for MuPoTS, is not part of MA-HMR's or SAT-HMR's code.)
_base_ = ['./mahmr_finetune_panoptic.py']
