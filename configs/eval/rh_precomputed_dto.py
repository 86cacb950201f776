# "CameraHMR + DTO" on Relative Human: the same precomputed predictions refined by DTO
# with per-image relative depth maps (<depth_dir>/<image key stem>.npy, the depth
# network's raw output; see docs/evaluation.md).
_base_ = ['./rh_precomputed.py']

depth_dir = 'work_dirs/depth/rh_test'
model = dict(
    depth_dir=depth_dir,
    dto=dict(type='DTORefiner', dto=dict(), body_model={{_base_.body_model}}))
# DTO needs the image size: read it from the image headers
test_dataloader = dict(dataset=dict(read_image_size=True))
