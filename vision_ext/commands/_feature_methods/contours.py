"""Contour method of `vision-ext features`: iso-contours (skimage.measure.find_contours) drawn
coloured by their signed curvature (blue: turning clockwise, red: counter-clockwise as displayed)."""
import numpy as np

DESCRIPTION = [
    "contours: iso-contours (skimage.measure.find_contours) coloured by curvature; prints the counts.",
    "  vision-ext features --method contours --level 100 --smoothing 2 -o contours.png",
]


def add_arguments(p):
    p.add_argument("--level", type=float, default=None,
                   help="contours: iso-value on the grey image, 0..255 (default (min + max) / 2)")
    p.add_argument("--smoothing", type=float, default=2.0,
                   help="contours: Gaussian sigma in samples of the curvature (default 2)")


def check(args):
    from vision_ext.commands import _checks as checks

    if args.method != "contours":
        return
    if args.level is not None:
        checks.number("--level", args.level, example=100)
    checks.number("--smoothing", args.smoothing, low=0, example=2)


def _colour(k, scale):
    """BGR for curvature k: red for positive, blue for negative, grey for straight."""
    t = max(-1.0, min(1.0, k / scale))
    return (int(128 - 127 * t), int(128 - 127 * abs(t)), int(128 + 127 * t))


def contours(args, image, device):
    import cv2

    from vision_ext import features

    found = features.find_contours(image.gray_tensor(device), args.level)
    canvas = cv2.cvtColor(image.gray // 2, cv2.COLOR_GRAY2BGR)
    closed = points = 0
    scale = 0.25  # a radius of 4 pixels saturates the colour
    for c in found:
        points += len(c)
        is_closed = bool((c[0] == c[-1]).all())
        closed += is_closed
        distinct = len(c) - 1 if is_closed else len(c)
        xy = np.round(c.cpu().numpy()[:, ::-1]).astype(np.int32)
        if distinct < 3:
            cv2.polylines(canvas, [xy], False, (128, 128, 128), 1)
            continue
        k = features.contour_curvature(c.double(), smoothing=args.smoothing).cpu().numpy()
        for i in range(len(c) - 1):
            kk = 0.5 * (k[i] + k[i + 1])
            cv2.line(canvas, tuple(map(int, xy[i])), tuple(map(int, xy[i + 1])), _colour(kk, scale), 1)
    level = "auto" if args.level is None else f"{args.level:g}"
    return canvas, (f"{len(found)} contours ({closed} closed, {len(found) - closed} open), {points} points at "
                    f"level {level} on a {image.width}x{image.height} image")


METHODS = {"contours": contours}
