"""Region shape features and pairwise region relations of labelled images, batched, on CPU and CUDA.

- `shape_features(labels)`: per labelled region its area, perimeter, centroid, bounding box, raw /
  central / normalised moments and Hu invariants (as cv2.moments(mask_of_region, binaryImage=True) and
  cv2.HuMoments), and eccentricity, orientation, solidity, extent, axis lengths and perimeter as
  skimage.measure.regionprops defines them, with circularity 4*pi*area / perimeter^2. Every region of
  every image of a batch in one call.
- `region_relations(labels)`: direction, distance, above / below / left / right (by centroid and by
  bounding box), containment (bounding box, convex hull) and 4- / 8-adjacency of every pair of regions.

Labels are (H, W) or (B, H, W) integer tensors or numpy arrays, 0 = background (a bool mask is one
region, label 1; split a mask into its connected parts with skimage.measure.label first). Numpy in,
numpy out. Exactness notes: docs/EXACTNESS.md ("Region shape").
"""
import dataclasses
import math
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

from vision_ext.ops import shape as _ops

LabelsLike = Union[Tensor, np.ndarray]


def _labels(labels: LabelsLike) -> Tensor:
    if isinstance(labels, np.ndarray):
        if labels.dtype == np.uint32 or labels.dtype == np.uint64:
            if labels.size and labels.max() > np.iinfo(np.int64).max:
                raise ValueError("labels: values above 2^63 - 1 cannot be labels")
            labels = labels.astype(np.int64)
        elif labels.dtype == np.uint16:
            labels = labels.astype(np.int32)
        return torch.from_numpy(np.ascontiguousarray(labels))
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels: expected a torch.Tensor or numpy array, got {type(labels).__name__}")
    return labels


def _out(t: Tensor, as_numpy: bool):
    return t.cpu().numpy() if as_numpy else t


@dataclasses.dataclass
class ShapeFeatures:
    """Features of R regions, row i = region (image[i], label[i]), sorted by (image, label).

    Coordinates are (row, col) like scikit-image, except the raw moments, which follow cv2.moments
    (m_pq = sum x^p y^q with x = column, y = row, full-image coordinates; order m00 m10 m01 m20 m11 m02
    m30 m21 m12 m03). Central (mu20 mu11 mu02 mu30 mu21 mu12 mu03) and normalised (nu..) moments use
    the same order as cv2; skimage's `moments_central[p, q]` is our mu with p, q swapped (its first
    index is the row power). bbox is (min_row, min_col, max_row, max_col) with exclusive max, as
    regionprops' bbox. hull holds each region's convex hull vertices (row, col), region i at
    hull[hull_offsets[i]:hull_offsets[i + 1]]: the hull of the pixels' edge midpoints, as
    skimage.morphology.convex_hull_image builds it; area_convex counts the pixels whose centre is in
    that closed polygon. All floats are float64.
    """

    image: Tensor
    label: Tensor
    area: Tensor
    perimeter: Tensor
    area_convex: Tensor
    centroid: Tensor
    bbox: Tensor
    moments: Tensor
    moments_central: Tensor
    moments_normalized: Tensor
    moments_hu: Tensor
    eccentricity: Tensor
    orientation: Tensor
    solidity: Tensor
    extent: Tensor
    circularity: Tensor
    axis_major_length: Tensor
    axis_minor_length: Tensor
    hull: Tensor
    hull_offsets: Tensor

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def index(self, label: int, image: int = 0) -> int:
        """Row of region `label` of image `image` (ValueError if absent)."""
        lab, img = (x.cpu().numpy() if isinstance(x, Tensor) else x for x in (self.label, self.image))
        hit = np.nonzero((lab == label) & (img == image))[0]
        if len(hit) == 0:
            raise ValueError(f"label: no region {label} in image {image}")
        return int(hit[0])

    def hull_of(self, i: int):
        """(N, 2) convex hull vertices (row, col) of region row i, clockwise on screen (rows down)."""
        return self.hull[int(self.hull_offsets[i]):int(self.hull_offsets[i + 1])]

    def cv2_moments(self, i: int) -> dict:
        """Region row i as the dict cv2.moments returns (m.., mu.., nu.. keys)."""
        vals = [float(v) for v in self.moments[i]] + [float(v) for v in self.moments_central[i]] + \
            [float(v) for v in self.moments_normalized[i]]
        return dict(zip(_ops.RAW_NAMES + _ops.CENTRAL_NAMES + _ops.NORMALIZED_NAMES, vals))


def shape_features(mask_or_labels: LabelsLike) -> ShapeFeatures:
    """Shape features of every labelled region of a (H, W) or (B, H, W) label image (see ShapeFeatures).

    Equal to cv2.moments(region_mask, binaryImage=True) / cv2.HuMoments for the moments (float64,
    ~1e-12 relative; the sums are exact integers), and to skimage.measure.regionprops for area, bbox,
    centroid, central / normalised / Hu moments, eccentricity, orientation, axis lengths, perimeter
    (4-connectivity weighted border), area_convex, solidity and extent. circularity = 4*pi*area /
    perimeter^2 (0 where the perimeter is 0: regions one or two pixels thick everywhere). Empty input
    or all-background gives zero regions.
    """
    as_numpy = isinstance(mask_or_labels, np.ndarray)
    labels = _labels(mask_or_labels)
    regions, bbox, v, hull, offsets = _ops.shape_features(labels)
    o = _ops
    fields = dict(
        image=regions[:, 0], label=regions[:, 1], area=v[:, o.AREA], perimeter=v[:, o.PERIMETER],
        area_convex=v[:, o.AREA_CONVEX], centroid=v[:, o.CENTROID_ROW:o.CENTROID_COL + 1], bbox=bbox,
        moments=v[:, o.RAW], moments_central=v[:, o.CENTRAL], moments_normalized=v[:, o.NORMALIZED],
        moments_hu=v[:, o.HU], eccentricity=v[:, o.ECCENTRICITY], orientation=v[:, o.ORIENTATION],
        solidity=v[:, o.SOLIDITY], extent=v[:, o.EXTENT], circularity=v[:, o.CIRCULARITY],
        axis_major_length=v[:, o.AXIS_MAJOR], axis_minor_length=v[:, o.AXIS_MINOR], hull=hull,
        hull_offsets=offsets)
    return ShapeFeatures(**{k: _out(t.contiguous(), as_numpy) for k, t in fields.items()})


@dataclasses.dataclass
class RegionRelations:
    """Pairwise relations of N regions (row / column i = region (image[i], label[i]), the order of
    shape_features). Every matrix is (N, N); entry [i, j] says how region i stands to region j, and
    is False / NaN when i and j are in different images of a batch. Definitions (rows grow downwards,
    centroids (r, c), boxes (min_row, min_col, max_row, max_col) with exclusive max):

    - direction[i, j]: angle in radians, (-pi, pi], of the vector from centroid i to centroid j,
      counter-clockwise on screen from the +column axis: atan2(-(r_j - r_i), c_j - c_i); 0 on the diagonal.
    - distance[i, j]: Euclidean distance between the centroids.
    - above[i, j]: r_i < r_j; below[i, j]: r_i > r_j; left_of[i, j]: c_i < c_j; right_of[i, j]: c_i > c_j.
    - strictly_above[i, j]: max_row_i <= min_row_j (every row of i is above every row of j); likewise
      strictly_below (max_row_j <= min_row_i), strictly_left_of (max_col_i <= min_col_j), strictly_right_of.
    - inside_bbox[i, j]: i != j and box i lies within box j (edges may coincide).
    - inside_hull[i, j]: i != j and the convex hull polygon of i (ShapeFeatures.hull) lies within the
      closed convex hull polygon of j, e.g. a region in the hole of a ring.
    - adjacent4[i, j] / adjacent8[i, j]: i != j and some pixel of i and some pixel of j are 4- /
      8-neighbours (share an edge / an edge or a corner).
    """

    image: Tensor
    label: Tensor
    direction: Tensor
    distance: Tensor
    above: Tensor
    below: Tensor
    left_of: Tensor
    right_of: Tensor
    strictly_above: Tensor
    strictly_below: Tensor
    strictly_left_of: Tensor
    strictly_right_of: Tensor
    inside_bbox: Tensor
    inside_hull: Tensor
    adjacent4: Tensor
    adjacent8: Tensor

    def __len__(self) -> int:
        return int(self.label.shape[0])


def _adjacency(labels: Tensor, keys: Tensor, span: int, n: int, diagonal: bool) -> Tensor:
    """(N, N) bool: pairs of regions with a pixel p of one and p + offset of the other, over the
    offsets (0, 1), (1, 0) and, with diagonal, (1, 1) and (1, -1) (row, col)."""
    lab = labels.reshape((-1,) + tuple(labels.shape[-2:])).to(torch.int64)
    h, w = lab.shape[-2:]
    lab = lab + (lab > 0) * (torch.arange(lab.shape[0], device=lab.device).view(-1, 1, 1) * span)  # region keys
    offsets = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if diagonal else [])
    adj = torch.zeros((n, n), dtype=torch.bool, device=labels.device)
    for dy, dx in offsets:
        cols_p, cols_q = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        p, q = lab[:, 0:h - dy, cols_p], lab[:, dy:h, cols_q]
        hit = (p != q) & (p > 0) & (q > 0)
        i, j = torch.searchsorted(keys, p[hit]), torch.searchsorted(keys, q[hit])
        adj[i, j] = True
        adj[j, i] = True
    return adj


def _inside_hull(f: ShapeFeatures, candidates: Tensor) -> Tensor:
    """inside_hull for the (i, j) pairs of `candidates` (box i within box j)."""
    out = torch.zeros(candidates.shape, dtype=torch.bool)
    hull, off = f.hull.cpu(), f.hull_offsets.cpu()
    for i, j in torch.nonzero(candidates).tolist():
        vi = hull[off[i]:off[i + 1]]
        vj = hull[off[j]:off[j + 1]]
        e = torch.roll(vj, -1, 0) - vj                                   # edges of j, in order
        d = vi[:, None, :] - vj[None, :, :]                              # vertex of i minus edge start
        cr = e[None, :, 0] * d[..., 1] - e[None, :, 1] * d[..., 0]      # one sign inside a convex polygon
        out[i, j] = bool((cr >= 0).all() or (cr <= 0).all())
    return out


def region_relations(labels: LabelsLike, features: Optional[ShapeFeatures] = None) -> RegionRelations:
    """Pairwise relations of the labelled regions (see RegionRelations for the exact definitions).

    features: the shape_features of the same labels, if already computed (saves a pass)."""
    as_numpy = isinstance(labels, np.ndarray)
    lab = _labels(labels)
    f = features if features is not None else shape_features(lab)
    t = {k.name: getattr(f, k.name) for k in dataclasses.fields(f)}
    t = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v).to(lab.device) for k, v in t.items()}
    f = ShapeFeatures(**t)
    n = len(f)
    img = f.image
    same = img[:, None] == img[None, :]
    eye = torch.eye(n, dtype=torch.bool, device=lab.device)
    r, c = f.centroid[:, 0], f.centroid[:, 1]
    dr, dc = r[None, :] - r[:, None], c[None, :] - c[:, None]
    nan = torch.full_like(dr, math.nan)
    direction = torch.where(same, torch.atan2(-dr, dc), nan)
    distance = torch.where(same, torch.hypot(dr, dc), nan)
    r0, c0, r1, c1 = (f.bbox[:, k] for k in range(4))
    inside_bbox = same & ~eye & (r0[None, :] <= r0[:, None]) & (c0[None, :] <= c0[:, None]) & \
        (r1[:, None] <= r1[None, :]) & (c1[:, None] <= c1[None, :])
    span = int(f.label.max()) + 1 if n else 1
    keys = f.image * span + f.label
    rel = dict(
        image=f.image, label=f.label, direction=direction, distance=distance,
        above=same & (r[:, None] < r[None, :]), below=same & (r[:, None] > r[None, :]),
        left_of=same & (c[:, None] < c[None, :]), right_of=same & (c[:, None] > c[None, :]),
        strictly_above=same & (r1[:, None] <= r0[None, :]), strictly_below=same & (r1[None, :] <= r0[:, None]),
        strictly_left_of=same & (c1[:, None] <= c0[None, :]), strictly_right_of=same & (c1[None, :] <= c0[:, None]),
        inside_bbox=inside_bbox, inside_hull=_inside_hull(f, inside_bbox.cpu()).to(lab.device),
        adjacent4=_adjacency(lab, keys, span, n, False), adjacent8=_adjacency(lab, keys, span, n, True))
    return RegionRelations(**{k: _out(v, as_numpy) for k, v in rel.items()})


__all__ = ["ShapeFeatures", "shape_features", "RegionRelations", "region_relations"]
