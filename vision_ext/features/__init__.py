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
from vision_ext.features.shape import RegionRelations, ShapeFeatures, region_relations, shape_features  # noqa: F401
