# DTO default options (paper behaviour).  Every key is a field of metric_hmr.dto.DTOConfig;
# `dto_released` lists the released-code behaviour as named overrides
# (use `dict(preset='released')` or merge `dto_released` into `dto_cfg`).
dto_cfg = dict(
    # height priors (supplement 6.4)
    prior_mode='paper',                 # 'paper' group table | 'cdc' continuous-age CDC prior
    gender_thresholds=(0.5, 0.5),       # (female below, male above); between -> neutral adult
    adult_hybrid=True,                  # mu = (h_HMR + mu_gender) / 2
    fallback_prior='adult_neutral',     # unknown age / adult gender: N(1.715, 0.1^2), hybrid
    group_priors=None,                  # overrides, e.g. dict(baby=(0.75, 0.14))
    gender_prior=True,                  # False: Table 8's D', adults N(h_HMR, 0.073^2)
    # 'paper': run_dto's steps; 'released': the authors' released sequence
    # (metric_hmr.dto.released_algorithm; docs/dto_generate.md "Released algorithm")
    algorithm='paper',
    use_X=True,                         # False: Table 6's "+D without X"
    # relative depth map
    depth_convention='disparity',       # 'disparity' (D_rel = 1/disp) | 'depth'
    depth_resample='before',            # resample the raw map 'before' / 'after' conversion
    depth_aspect_tolerance=0.03,        # map vs image aspect ratio (relative); beyond: an error
    # visibility and cues
    resolution=512,                     # raster longest side (None = image size)
    depth_tol=0.02,                     # m, vertex-on-front-surface tolerance
    use_masks=True,
    edge_erosion=1,                     # drop depth samples 1 raster px inside silhouettes (0 = paper's letter)
    erosion_min_samples=3,              # fewer interior samples: erode one px less (down to 0)
    regression_source='vertices',       # X_i over visible 'vertices' | rendered 'pixels'
    z_source='transl',                  # z_i = translation z | 'rendered' mean mesh depth | 'samples'
    quasi_planar_test='variance',       # var(d) < mean within-person var (supp. 6.3)
    # bounds (supplement 6.3)
    bounds_mode='paper',                # [alpha1 X, alpha2 X], quasi-planar -> [X, X]
    alpha1=1.0,
    alpha2=5.0,
    min_corr=None,                      # X only from persons with r > min_corr
    fallback_X=None,                    # no scale cue: None -> only s_d >= 0
    # image verdict
    score_threshold=1.5,
    skipped_penalty=None,
    # released-code filters / regression refinements (off)
    min_mask_area_frac=None,
    min_visible_vertices=None,
    iqr_fence=False,
    row_mean_removal=False,
    inlier_thresh=None,
    # read only by algorithm='released' (near / far groups, 2.1 m rejection, feet fit);
    # setting one with algorithm='paper' is an error
    max_height=None,
    max_reject_rounds=10,
    far_rel_depth=None,
    far_size_frac=0.25,
    feet_fit=False,
    feet_frac=0.1,
    # DTO+ options (issue 15, docs/dto.md 'DTO+'; off = paper)
    depth_statistic='mean',             # 'mean' | 'median' | 'trimmed' person statistic
    trim_frac=0.2,
    scale_estimator='ols',              # intra-human slope: 'ols' (paper) | 'inverse' | 'rma'
    affine_space='depth',               # 'depth' z = s d + t | 'disparity' z = a / (q - b)
    height_loss='gaussian',             # 'gaussian' | 'huber' (IRLS)
    huber_c=2.0,
    irls_max_iter=10,
    focal_refine=False,                 # focal from heights + depth relief where identifiable
    focal_min_persons=3,
    focal_max_rel_std=0.1,
    focal_ratio_range=(0.5, 2.0),
    focal_min_corr=0.3,
    cue_noise_scale=0.0,                # > 0: each person's cue spread widens its height std
    depth_fusion='none',                # 'spread' | 'fixed': fuse z_i* with the size cue per person
    fusion_cue_std=0.0,                 # relative std of the depth cue ('fixed') / its floor ('spread')
    fusion_spread_scale=1.0,            # 'spread': cue std = floor (+) scale * relative cue spread
    bound_min_corr=0.0,                 # DTO+ bounds: persons with |r(v, z)| >= this only
    bound_softness=0.0,                 # > 0: the lower scale bound as a one-sided prior (rel. std)
    shift_limit_percentile=None,        # p: disparity shift b below the map's p-th percentile
    ground_contact='none',              # 'plane': fuse each depth with the others' ground plane
    ground_pixel_noise=0.02,            # foot-contact pixel std / person's pixel height
    ground_depth_std_floor=0.03,        # added in quadrature to a person's own relative depth std
    ground_min_persons=4,               # foot contacts needed in the image
    ground_roll_min_persons=6,          # from this many contacts the horizon may be tilted
    ground_outlier_c=2.5,               # beyond this many std off the others' plane: off_ground
)

dto_released = dict(
    gender_thresholds=(0.33, 0.67),
    regression_source='pixels',
    z_source='rendered',
    quasi_planar_test='std',
    bounds_mode='lower_only',
    min_corr=0.5,
    fallback_X=20.0,
    skipped_penalty=3.0,
    min_mask_area_frac=1 / 400,
    min_visible_vertices=500,
    iqr_fence=True,
    row_mean_removal=True,
    inlier_thresh=0.1,
    max_height=2.1,
    feet_fit=True,
    far_rel_depth=0.02,
    algorithm='released',
    edge_erosion=0,
)

# DTO+ (use `dict(preset='plus')` or merge `dto_plus` into `dto_cfg`)
dto_plus = dict(
    z_source='samples',                 # z_i: mesh depth at d_i's samples (the surface d_i sees)
    edge_erosion=2,
    erosion_min_samples=20,             # small persons keep >= 20 interior samples
    depth_statistic='median',
    scale_estimator='inverse',
    affine_space='disparity',
    height_loss='huber',
    focal_refine=False,                 # opt-in: biased on the development scenes (docs/dto.md)
    depth_fusion='spread',              # per-person depth fused with the size cue
    fusion_cue_std=0.0,
    fusion_spread_scale=1.0,
    bound_min_corr=0.2,                 # persons with |r| < 0.2 do not set the scale bounds
    alpha1=0.5,
    alpha2=3.0,
    bound_softness=0.05,                # lower bound as a one-sided prior (5 % relative std)
    shift_limit_percentile=1.0,         # shift b below the map's far end (the scene in front)
    ground_contact='plane',             # each depth fused with the others' ground plane
)

dto_refiner = dict(type='DTORefiner', dto=dto_cfg, body_model=None, refit_shape=True)

# Test-time DTO inside an MMEngine runner ("any HMR model + DTO"): use as test_cfg / val_cfg
# (type 'DTOValLoop' for validation) together with custom_imports = dict(imports=['dto_hooks']).
# Each output sample needs a depth map ('depth' array or 'depth_path' in the output or input sample).
dto_test_cfg = dict(type='DTOTestLoop', refiner=dto_refiner, on_missing_depth='error')
