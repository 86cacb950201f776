# "CameraHMR + DTO" on MuPoTS (see rh_precomputed_dto.py).
_base_ = ['./mupots_precomputed.py']

depth_dir = 'work_dirs/depth/mupots'
model = dict(
    depth_dir=depth_dir,
    dto=dict(type='DTORefiner', dto=dict(), body_model={{_base_.body_model}}))
test_dataloader = dict(dataset=dict(read_image_size=True))
