"""`vision-ext features`: detect corners / keypoints in an image and draw them, or write Canny edges."""
import argparse
import math

from vision_ext.cli import UsageError
from vision_ext.commands import _checks as checks

METHODS = ("harris", "shi-tomasi", "fast", "gftt", "canny")
# Common image extensions; -o accepts those this cv2 build writes (cv2.haveImageWriter).
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "ppm", "pgm", "pbm", "pnm", "exr", "jp2",
                    "sr", "ras", "hdr", "pic", "pxm", "avif", "gif")


def register(sub):
    p = sub.add_parser(
        "features", help="detect corners or keypoints (Harris, Shi-Tomasi, FAST, GFTT) and draw them, or Canny edges",
        description=("Detect corners or keypoints in IMAGE and write a copy with them drawn.\n"
                     "harris / shi-tomasi: local maxima of the response above --quality x max;\n"
                     "fast: FAST keypoints; gftt: good features to track;\n"
                     "canny: writes the 0/255 edge map (cv2.Canny) instead of drawing points.\n\nExamples:\n"
                     "  vision-ext features -o corners.png                 (skimage's camera photo)\n"
                     "  vision-ext features photo.jpg --method fast --threshold 25 -o fast.png\n"
                     "  vision-ext features --method gftt --max-corners 200 --min-distance 8 -o gftt.png\n"
                     "  vision-ext features --method canny --low 50 --high 150 -o edges.png"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", nargs="?", default=None,
                   help="input image (any format OpenCV reads); default: skimage.data.camera()")
    p.add_argument("--method", default="harris", choices=METHODS, help="detector (default harris)")
    p.add_argument("-o", "--output", default="features.png", help="output image (default features.png)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--block-size", type=int, default=None, help="window size (harris 2, shi-tomasi/gftt 3)")
    p.add_argument("--ksize", type=int, default=3, help="Sobel aperture 1/3/5/7 or -1 for Scharr (default 3)")
    p.add_argument("--k", type=float, default=0.04, help="Harris k (default 0.04)")
    p.add_argument("--quality", type=float, default=0.01,
                   help="keep responses above quality x max (harris, shi-tomasi, gftt; default 0.01)")
    p.add_argument("--threshold", type=int, default=10, help="FAST threshold 0..255 (default 10)")
    p.add_argument("--type", default="9_16", choices=["9_16", "7_12", "5_8"], help="FAST type (default 9_16)")
    p.add_argument("--no-nonmax", action="store_true", help="FAST: skip non-maximum suppression")
    p.add_argument("--max-corners", type=int, default=1000, help="at most this many points (0 = all; default 1000)")
    p.add_argument("--min-distance", type=float, default=1.0, help="gftt: minimum distance (default 1)")
    p.add_argument("--low", type=float, default=50.0, help="canny: low hysteresis threshold (default 50)")
    p.add_argument("--high", type=float, default=150.0, help="canny: high hysteresis threshold (default 150)")
    p.add_argument("--l2", action="store_true", help="canny: L2 gradient magnitude instead of L1")
    p.set_defaults(func=run)


def _load(path):
    import cv2

    if path is None:
        from skimage import data

        return data.camera()
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise UsageError(f"IMAGE: cannot read {path!r} as an image; give a PNG/JPEG/... file path")
    return img


def _check(args):
    if args.block_size is not None and not 1 <= args.block_size <= 31:
        raise UsageError(f"--block-size must be in [1, 31], got {args.block_size}")
    if args.method == "canny" and args.ksize not in (3, 5, 7):
        raise UsageError(f"--ksize must be 3, 5 or 7 for canny (the Sobel aperture), got {args.ksize}")
    if args.ksize not in (-1, 1, 3, 5, 7):
        raise UsageError(f"--ksize must be 1, 3, 5, 7 or -1 (Scharr), got {args.ksize}")
    if not 0 <= args.threshold <= 255:
        raise UsageError(f"--threshold must be in [0, 255], got {args.threshold}")
    if not args.quality > 0 or math.isnan(args.quality):
        raise UsageError(f"--quality must be > 0, e.g. 0.01, got {args.quality}")
    checks.number("--k", args.k, example=0.04)
    if args.max_corners < 0:
        raise UsageError(f"--max-corners must be >= 0 (0 = all), got {args.max_corners}")
    if not args.min_distance >= 0:  # inf is fine (only the best corner survives); NaN is not
        raise UsageError(f"--min-distance must be >= 0, got {args.min_distance}")
    import cv2

    checks.output_file("-o/--output", args.output, [e for e in IMAGE_EXTENSIONS if cv2.haveImageWriter("x." + e)])
    return checks.device("--device", args.device)


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


def run(args):
    import cv2
    import torch

    from vision_ext import features

    device = _check(args)
    gray = _load(args.image)
    img = torch.from_numpy(gray).to(device)
    if args.method == "canny":
        return _write_edges(args, gray, features.canny(img, args.low, args.high, args.ksize, args.l2))
    if args.method == "harris":
        resp = features.harris_response(img, args.block_size or 2, args.ksize, args.k)
        pts = _response_points(resp, args.quality, args.max_corners)
    elif args.method == "shi-tomasi":
        resp = features.min_eigen_response(img, args.block_size or 3, args.ksize)
        pts = _response_points(resp, args.quality, args.max_corners)
    elif args.method == "fast":
        kp = features.fast(img, args.threshold, not args.no_nonmax, args.type, args.max_corners or None)
        pts = kp.numpy(0)
    else:
        kp = features.good_features_to_track(img, args.max_corners, args.quality, args.min_distance,
                                             args.block_size or 3, args.ksize, False, args.k)
        pts = kp.numpy(0)
    canvas = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    for x, y in pts:
        cv2.circle(canvas, (int(x), int(y)), 3, (0, 0, 255), 1, lineType=cv2.LINE_AA)
    if not cv2.imwrite(args.output, canvas):
        raise UsageError(f"-o/--output: cannot write {args.output!r}; use a .png or .jpg path in an existing folder")
    print(f"{args.method}: {len(pts)} points on a {gray.shape[1]}x{gray.shape[0]} image -> {args.output}")
    return 0


def _write_edges(args, gray, edges):
    import cv2

    if not cv2.imwrite(args.output, edges.cpu().numpy()):
        raise UsageError(f"-o/--output: cannot write {args.output!r}; use a .png or .jpg path in an existing folder")
    n = int((edges > 0).sum())
    print(f"canny: {n} edge pixels on a {gray.shape[1]}x{gray.shape[0]} image -> {args.output}")
    return 0
