"""Blob methods of `vision-ext features`: scikit-image's blob_log / blob_dog / blob_doh, each blob
drawn as a circle of its radius (sigma * sqrt(2) for LoG / DoG, sigma for DoH, as skimage's notes say)."""
import math

from vision_ext.cli import UsageError

DESCRIPTION = [
    "blob-log / blob-dog / blob-doh: scale-space blobs (skimage.feature.blob_log / blob_dog / blob_doh),",
    "  drawn as circles; --threshold and --max-sigma default to skimage's (0.2 / 0.5 / 0.01 and 50 / 50 / 30).",
    "  vision-ext features --method blob-log --max-sigma 30 --threshold 0.1 -o blobs.png",
]

DEFAULT_THRESHOLD = {"blob-log": 0.2, "blob-dog": 0.5, "blob-doh": 0.01}
DEFAULT_MAX_SIGMA = {"blob-log": 50.0, "blob-dog": 50.0, "blob-doh": 30.0}


def add_arguments(p):
    p.add_argument("--min-sigma", type=float, default=1.0, help="blobs: smallest sigma (default 1)")
    p.add_argument("--max-sigma", type=float, default=None, help="blobs: largest sigma (default 50; blob-doh 30)")
    p.add_argument("--num-sigma", type=int, default=10, help="blob-log / blob-doh: number of sigmas (default 10)")
    p.add_argument("--sigma-ratio", type=float, default=1.6, help="blob-dog: ratio of successive sigmas (default 1.6)")
    p.add_argument("--overlap", type=float, default=0.5,
                   help="blobs: the smaller of two blobs overlapping by more than this goes (default 0.5)")
    p.add_argument("--threshold-rel", type=float, default=None,
                   help="blobs: also require a response >= this x the scale space's maximum")
    p.add_argument("--log-scale", action="store_true", help="blob-log / blob-doh: sigmas evenly spaced in log10")


def check(args):
    from vision_ext.commands import _checks as checks

    checks.number("--min-sigma", args.min_sigma, low=0, low_open=True, example=1)
    if args.max_sigma is not None:
        checks.number("--max-sigma", args.max_sigma, low=args.min_sigma, example=50)
    if args.num_sigma < 1:
        raise UsageError(f"--num-sigma must be >= 1, got {args.num_sigma}")
    if args.method == "blob-dog":
        checks.number("--sigma-ratio", args.sigma_ratio, low=1, low_open=True, example=1.6)
    checks.number("--overlap", args.overlap, low=0, high=1, example=0.5)
    if args.threshold is not None:
        checks.number("--threshold", args.threshold, example=0.1)
    if args.threshold_rel is not None:
        checks.number("--threshold-rel", args.threshold_rel, low=0, high=1, example=0.1)


def _draw(image, rows, per_sigma=math.sqrt(2)):
    import cv2

    canvas = cv2.cvtColor(image.gray, cv2.COLOR_GRAY2BGR)
    for y, x, sigma in rows:
        cv2.circle(canvas, (int(x), int(y)), max(1, int(round(sigma * per_sigma))), (0, 0, 255), 1,
                   lineType=cv2.LINE_AA)
    return canvas, f"{len(rows)} blobs on a {image.width}x{image.height} image"


def _threshold(args):
    return DEFAULT_THRESHOLD[args.method] if args.threshold is None else args.threshold


def _max_sigma(args):
    return DEFAULT_MAX_SIGMA[args.method] if args.max_sigma is None else args.max_sigma


def blob_log(args, image, device):
    from vision_ext import features

    found = features.blob_log(image.gray_tensor(device), args.min_sigma, _max_sigma(args), args.num_sigma,
                              _threshold(args), args.overlap, args.log_scale, threshold_rel=args.threshold_rel)
    return _draw(image, found.numpy(0))


def blob_dog(args, image, device):
    from vision_ext import features

    found = features.blob_dog(image.gray_tensor(device), args.min_sigma, _max_sigma(args), args.sigma_ratio,
                              _threshold(args), args.overlap, threshold_rel=args.threshold_rel)
    return _draw(image, found.numpy(0))


def blob_doh(args, image, device):
    from vision_ext import features

    found = features.blob_doh(image.gray_tensor(device), args.min_sigma, _max_sigma(args), args.num_sigma,
                              _threshold(args), args.overlap, args.log_scale, threshold_rel=args.threshold_rel)
    return _draw(image, found.numpy(0), per_sigma=1.0)


METHODS = {"blob-log": blob_log, "blob-dog": blob_dog, "blob-doh": blob_doh}
