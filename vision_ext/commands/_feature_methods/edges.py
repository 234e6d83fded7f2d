"""Edge methods of `vision-ext features`: Canny writes the 0/255 edge map (cv2.Canny) instead of drawing points."""
from vision_ext.cli import UsageError

DESCRIPTION = [
    "canny: writes the 0/255 edge map (cv2.Canny).",
    "  vision-ext features --method canny --low 50 --high 150 -o edges.png",
]


def add_arguments(p):
    p.add_argument("--low", type=float, default=50.0, help="canny: low hysteresis threshold (default 50)")
    p.add_argument("--high", type=float, default=150.0, help="canny: high hysteresis threshold (default 150)")
    p.add_argument("--l2", action="store_true", help="canny: L2 gradient magnitude instead of L1")


def check(args):
    if args.ksize not in (3, 5, 7):
        raise UsageError(f"--ksize must be 3, 5 or 7 for canny (the Sobel aperture), got {args.ksize}")


def canny(args, image, device):
    from vision_ext import features

    edges = features.canny(image.gray_tensor(device), args.low, args.high, args.ksize, args.l2).cpu().numpy()
    return edges, f"{int((edges > 0).sum())} edge pixels on a {image.width}x{image.height} image"


METHODS = {"canny": canny}
