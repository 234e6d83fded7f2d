"""Texture methods of `vision-ext features` (skimage's LBP, HOG and GLCM): each writes an image of what
it computed instead of drawing points."""
import math

import numpy as np

from vision_ext.cli import UsageError

DESCRIPTION = [
    "lbp: local binary pattern codes scaled to 0..255 (skimage.feature.local_binary_pattern);",
    "hog: the HOG visualisation (skimage.feature.hog, visualize=True);",
    "glcm: prints graycoprops of the grey-level co-occurrence matrix and writes the normalised matrix.",
    "  vision-ext features --method lbp --lbp-points 8 --lbp-radius 1 --lbp-method uniform -o lbp.png",
    "  vision-ext features --method hog --orientations 9 --pixels-per-cell 8 -o hog.png",
    "  vision-ext features --method glcm --glcm-distance 1 --glcm-levels 64 -o glcm.png",
]

LBP_METHODS = ["default", "ror", "uniform", "nri_uniform", "var"]


def add_arguments(p):
    p.add_argument("--lbp-points", type=int, default=8, help="lbp: circle points P (default 8)")
    p.add_argument("--lbp-radius", type=float, default=1.0, help="lbp: circle radius R in pixels (default 1)")
    p.add_argument("--lbp-method", default="default", choices=LBP_METHODS, help="lbp: pattern (default default)")
    p.add_argument("--orientations", type=int, default=9, help="hog: orientation bins (default 9)")
    p.add_argument("--pixels-per-cell", type=int, default=8, help="hog: cell edge in pixels (default 8)")
    p.add_argument("--glcm-distance", type=int, default=1, help="glcm: pixel pair distance (default 1)")
    p.add_argument("--glcm-levels", type=int, default=256,
                   help="glcm: grey levels, the image is quantised to them (2..256, default 256)")


def check(args):
    if args.method == "lbp":
        top = 31 if args.lbp_method in ("default", "ror") else 64
        if not 1 <= args.lbp_points <= top:
            raise UsageError(f"--lbp-points must be in [1, {top}] for --lbp-method {args.lbp_method}, "
                             f"got {args.lbp_points}")
        if not (math.isfinite(args.lbp_radius) and 0 < args.lbp_radius <= 4096):
            raise UsageError(f"--lbp-radius must be in (0, 4096] pixels, got {args.lbp_radius}")
    elif args.method == "hog":
        if not 1 <= args.orientations <= 180:
            raise UsageError(f"--orientations must be in [1, 180], got {args.orientations}")
        if args.pixels_per_cell < 2:
            raise UsageError(f"--pixels-per-cell must be >= 2 (the drawing needs a radius), got {args.pixels_per_cell}")
    elif args.method == "glcm":
        if args.glcm_distance < 1:
            raise UsageError(f"--glcm-distance must be >= 1, got {args.glcm_distance}")
        if not 2 <= args.glcm_levels <= 256:
            raise UsageError(f"--glcm-levels must be in [2, 256], got {args.glcm_levels}")


def _to_u8(values):
    v = np.nan_to_num(np.asarray(values, np.float64), nan=0.0)
    lo, hi = float(v.min()), float(v.max())
    scaled = (v - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(v)
    return np.round(scaled).astype(np.uint8)


def lbp(args, image, device):
    from vision_ext import features

    codes = features.local_binary_pattern(image.gray_tensor(device), args.lbp_points, args.lbp_radius,
                                          args.lbp_method).cpu().numpy()
    distinct = len(np.unique(codes[~np.isnan(codes)]))
    return _to_u8(codes), (f"{distinct} distinct {args.lbp_method} codes (P={args.lbp_points}, R={args.lbp_radius}) "
                           f"on a {image.width}x{image.height} image")


def hog(args, image, device):
    from vision_ext import features

    ppc = (args.pixels_per_cell, args.pixels_per_cell)
    if image.height < 3 * ppc[0] or image.width < 3 * ppc[1]:
        raise UsageError(f"IMAGE: {image.width}x{image.height} is too small for --pixels-per-cell "
                         f"{args.pixels_per_cell} (HOG blocks are 3x3 cells)")
    feats, vis = features.hog(image.gray_tensor(device), args.orientations, ppc, visualize=True)
    return _to_u8(vis.cpu().numpy()), f"{feats.numel()} HOG features on a {image.width}x{image.height} image"


def glcm(args, image, device):
    import torch

    from vision_ext import features
    from vision_ext.ops.texture import GLCM_PROPS

    gray = image.gray_tensor(device)
    levels = args.glcm_levels
    if levels < 256:
        gray = (gray.to(torch.int32) * levels // 256).to(torch.uint8)
    angles = [0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    P = features.graycomatrix(gray, [args.glcm_distance], angles, levels=levels, symmetric=True, normed=True)
    props = features.graycoprops(P, list(GLCM_PROPS)).cpu().numpy()  # (props, 1, angles)
    for name, row in zip(GLCM_PROPS, props):
        print(f"  {name:>13}: " + "  ".join(f"{v:.6g}" for v in row[0]))
    mean = P.mean(dim=(-1, -2)).cpu().numpy()  # averaged over the angles
    canvas = _to_u8(np.log1p(mean / max(float(mean.max()), 1e-300) * 1e4))
    return canvas, f"{levels}x{levels} co-occurrence matrix (distance {args.glcm_distance}, 4 angles, symmetric)"


METHODS = {"lbp": lbp, "hog": hog, "glcm": glcm}
