"""`vision-ext features`: run one image-feature method on an image and write what it found, drawn.

The methods live in vision_ext/commands/_feature_methods/ (one module per family)."""
import argparse
import math

import numpy as np

from vision_ext.cli import UsageError
from vision_ext.commands import _checks as checks
from vision_ext.commands._feature_methods import families
from vision_ext.commands._feature_methods._common import Image

# Common image extensions; -o accepts those this cv2 build writes (cv2.haveImageWriter).
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "ppm", "pgm", "pbm", "pnm", "exr", "jp2",
                    "sr", "ras", "hdr", "pic", "pxm", "avif", "gif")


def _method_table():
    table = {}
    for family in families():
        for name, fn in family.METHODS.items():
            table[name] = (family, fn)
    return table


def register(sub):
    table = _method_table()
    description = ["Run one feature method on IMAGE and write what it found, drawn, to -o/--output.", ""]
    for family in dict.fromkeys(f for f, _ in table.values()):
        description += family.DESCRIPTION
    p = sub.add_parser("features", help="image features: " + ", ".join(table),
                       description="\n".join(description), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", nargs="?", default=None,
                   help="input image (any format OpenCV reads); default: skimage.data.astronaut() for colour "
                        "methods, else skimage.data.camera()")
    p.add_argument("--method", default="harris", choices=list(table), help="method (default harris)")
    p.add_argument("-o", "--output", default="features.png", help="output image (default features.png)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--block-size", type=int, default=None, help="window size (harris 2, shi-tomasi/gftt 3)")
    p.add_argument("--ksize", type=int, default=3, help="Sobel aperture 1/3/5/7 or -1 for Scharr (default 3)")
    p.add_argument("--quality", type=float, default=0.01,
                   help="keep responses above quality x max (harris, shi-tomasi, gftt; default 0.01)")
    p.add_argument("--threshold", type=float, default=None,
                   help="detection threshold of the method (FAST: 0..255, default 10)")
    p.add_argument("--max-corners", type=int, default=1000, help="at most this many points (0 = all; default 1000)")
    for family in dict.fromkeys(f for f, _ in table.values()):
        family.add_arguments(p)
    p.set_defaults(func=run)


def _load(path, colour_default):
    """IMAGE, or skimage's astronaut (colour methods) / camera (the others) when none is given."""
    import cv2

    if path is None:
        from skimage import data

        if colour_default:
            bgr = np.ascontiguousarray(data.astronaut()[..., ::-1])
            return Image(bgr=bgr, gray=cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        gray = data.camera()
        return Image(bgr=cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray=gray)
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise UsageError(f"IMAGE: cannot read {path!r} as an image; give a PNG/JPEG/... file path")
    return Image(bgr=bgr, gray=cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def _check(args, family):
    if args.block_size is not None and not 1 <= args.block_size <= 31:
        raise UsageError(f"--block-size must be in [1, 31], got {args.block_size}")
    if args.threshold is not None and math.isnan(args.threshold):
        raise UsageError("--threshold must be a number, got nan")
    if not args.quality > 0 or math.isnan(args.quality):
        raise UsageError(f"--quality must be > 0, e.g. 0.01, got {args.quality}")
    if args.max_corners < 0:
        raise UsageError(f"--max-corners must be >= 0 (0 = all), got {args.max_corners}")
    family.check(args)
    import cv2

    checks.output_file("-o/--output", args.output, [e for e in IMAGE_EXTENSIONS if cv2.haveImageWriter("x." + e)])
    return checks.device("--device", args.device)


def run(args):
    import cv2

    family, method = _method_table()[args.method]
    device = _check(args, family)
    image = _load(args.image, getattr(family, "COLOUR_DEFAULT", False))
    canvas, summary = method(args, image, device)
    if not cv2.imwrite(args.output, canvas):
        raise UsageError(f"-o/--output: cannot write {args.output!r}; use a .png or .jpg path in an existing folder")
    print(f"{args.method}: {summary} -> {args.output}")
    return 0
