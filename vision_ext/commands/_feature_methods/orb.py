"""ORB method of `vision-ext features`: keypoints drawn with their size and angle, or, with --match
OTHER, the cross-checked matches between IMAGE and OTHER drawn side by side."""
from vision_ext.cli import UsageError

DESCRIPTION = [
    "orb: ORB keypoints (size and angle drawn); with --match OTHER the matches between IMAGE and OTHER.",
    "  vision-ext features photo.jpg --method orb --n-features 1000 -o orb.png",
    "  vision-ext features left.png --method orb --match right.png -o matches.png",
]


def add_arguments(p):
    p.add_argument("--match", default=None, metavar="OTHER", help="orb: match IMAGE against this image and draw the matches")
    p.add_argument("--n-features", type=int, default=500, help="orb: at most this many keypoints (default 500)")
    p.add_argument("--scale-factor", type=float, default=1.2, help="orb: pyramid scale step (default 1.2)")
    p.add_argument("--n-levels", type=int, default=8, help="orb: pyramid levels (default 8)")
    p.add_argument("--score", default="harris", choices=["harris", "fast"], help="orb: ranking score (default harris)")


def check(args):
    from vision_ext.commands import _checks as checks

    if args.threshold is not None and not 0 <= args.threshold <= 255:
        raise UsageError(f"--threshold must be in [0, 255] (the FAST threshold of orb), got {args.threshold}")
    if not 1 <= args.n_features <= 1 << 20:
        raise UsageError(f"--n-features must be in [1, {1 << 20}], got {args.n_features}")
    checks.number("--scale-factor", args.scale_factor, low=1, high=4, low_open=True, example=1.2)
    if not 1 <= args.n_levels <= 32:
        raise UsageError(f"--n-levels must be in [1, 32], got {args.n_levels}")


def _read_other(path):
    import cv2

    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise UsageError(f"--match: cannot read {path!r} as an image; give a PNG/JPEG/... file path")
    return img


def orb(args, image, device):
    import cv2
    import torch

    from vision_ext import features

    threshold = 20 if args.threshold is None else int(args.threshold)
    kw = dict(n_features=args.n_features, scale_factor=args.scale_factor, n_levels=args.n_levels,
              fast_threshold=threshold, score=args.score)
    kp, desc = features.orb(image.gray_tensor(device), **kw)
    if args.match is None:
        canvas = cv2.drawKeypoints(image.gray, kp.to_cv2(0), None, color=(0, 0, 255),
                                   flags=cv2.DRAW_MATCHES_FLAGS_DRAW_RICH_KEYPOINTS)
        return canvas, f"{int(kp.counts[0])} keypoints on a {image.width}x{image.height} image"
    other = _read_other(args.match)
    kp2, desc2 = features.orb(torch.from_numpy(other).to(device), **kw)
    m = features.match_descriptors(desc[0], desc2[0], cross_check=True, counts1=kp.counts, counts2=kp2.counts)
    dm = sorted(m.to_cv2(0), key=lambda d: d.distance)
    canvas = cv2.drawMatches(image.gray, kp.to_cv2(0), other, kp2.to_cv2(0), dm, None, matchColor=(0, 255, 0),
                             singlePointColor=(0, 0, 255))
    return canvas, (f"{len(dm)} matches between {int(kp.counts[0])} and {int(kp2.counts[0])} keypoints "
                    f"({image.width}x{image.height} and {other.shape[1]}x{other.shape[0]})")


METHODS = {"orb": orb}
