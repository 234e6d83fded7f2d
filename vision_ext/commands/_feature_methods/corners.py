"""Corner and keypoint methods of `vision-ext features`: Harris, Shi-Tomasi, FAST, GFTT (points drawn as circles)."""
from vision_ext.cli import UsageError
from vision_ext.commands._feature_methods._common import draw_points

DESCRIPTION = [
    "harris / shi-tomasi: local maxima of the response above --quality x max;",
    "fast: FAST keypoints; gftt: good features to track.",
    "  vision-ext features -o corners.png                 (skimage's camera photo)",
    "  vision-ext features photo.jpg --method fast --threshold 25 -o fast.png",
    "  vision-ext features --method gftt --max-corners 200 --min-distance 8 -o gftt.png",
]


def add_arguments(p):
    p.add_argument("--k", type=float, default=0.04, help="Harris k (default 0.04)")
    p.add_argument("--type", default="9_16", choices=["9_16", "7_12", "5_8"], help="FAST type (default 9_16)")
    p.add_argument("--no-nonmax", action="store_true", help="FAST: skip non-maximum suppression")
    p.add_argument("--min-distance", type=float, default=1.0, help="gftt: minimum distance (default 1)")


def check(args):
    from vision_ext.commands import _checks as checks

    if args.ksize not in (-1, 1, 3, 5, 7):
        raise UsageError(f"--ksize must be 1, 3, 5, 7 or -1 (Scharr), got {args.ksize}")
    if args.threshold is not None and not 0 <= args.threshold <= 255:
        raise UsageError(f"--threshold must be in [0, 255], got {args.threshold}")
    checks.number("--k", args.k, example=0.04)
    if not args.min_distance >= 0:  # inf is fine (only the best corner survives); NaN is not
        raise UsageError(f"--min-distance must be >= 0, got {args.min_distance}")


def _response_points(resp, quality, limit):
    """Local 3x3 maxima above quality x max, strongest first."""
    import torch
    import torch.nn.functional as F

    r = resp.reshape(1, 1, *resp.shape[-2:])
    peak = F.max_pool2d(r, 3, 1, 1)
    keep = (r == peak) & (r > r.max() * quality)
    ys, xs = keep[0, 0].nonzero(as_tuple=True)
    order = r[0, 0, ys, xs].argsort(descending=True)
    if limit > 0:
        order = order[:limit]
    return torch.stack([xs[order], ys[order]], 1).cpu().numpy()


def _points(pts, image):
    return draw_points(image.gray, pts), f"{len(pts)} points on a {image.width}x{image.height} image"


def harris(args, image, device):
    from vision_ext import features

    resp = features.harris_response(image.gray_tensor(device), args.block_size or 2, args.ksize, args.k)
    return _points(_response_points(resp, args.quality, args.max_corners), image)


def shi_tomasi(args, image, device):
    from vision_ext import features

    resp = features.min_eigen_response(image.gray_tensor(device), args.block_size or 3, args.ksize)
    return _points(_response_points(resp, args.quality, args.max_corners), image)


def fast(args, image, device):
    from vision_ext import features

    threshold = 10 if args.threshold is None else int(args.threshold)
    kp = features.fast(image.gray_tensor(device), threshold, not args.no_nonmax, args.type, args.max_corners or None)
    return _points(kp.numpy(0), image)


def gftt(args, image, device):
    from vision_ext import features

    kp = features.good_features_to_track(image.gray_tensor(device), args.max_corners, args.quality,
                                         args.min_distance, args.block_size or 3, args.ksize, False, args.k)
    return _points(kp.numpy(0), image)


METHODS = {"harris": harris, "shi-tomasi": shi_tomasi, "fast": fast, "gftt": gftt}
