"""Classic image features (docs/ARCHITECTURE.md, section 1): one module per feature family."""
from vision_ext.features.corners import (  # noqa: F401
    FAST,
    GoodFeaturesToTrack,
    HarrisResponse,
    Keypoints,
    MinEigenResponse,
    fast,
    good_features_to_track,
    harris_response,
    min_eigen_response,
)
from vision_ext.features.edges import Canny, canny  # noqa: F401
from vision_ext.features.blobs import BlobDoG, BlobDoH, BlobLoG, Blobs, blob_doh, blob_dog, blob_log  # noqa: F401
from vision_ext.features.colour import (  # noqa: F401
    Moments,
    color_gradient,
    color_histogram,
    color_moments,
    grid_features,
    register_grid_feature,
)
from vision_ext.features.contours import contour_curvature, find_contours  # noqa: F401
from vision_ext.features.grid_texture import GLCM_GRID_PROPS  # noqa: F401  (registers lbp, glcm)
from vision_ext.features.orb import ORB, Matches, OrbKeypoints, match_descriptors, orb  # noqa: F401
from vision_ext.features.shape import RegionRelations, ShapeFeatures, region_relations, shape_features  # noqa: F401
from vision_ext.features.texture import (  # noqa: F401
    HOG,
    LocalBinaryPattern,
    graycomatrix,
    graycoprops,
    hog,
    local_binary_pattern,
)
