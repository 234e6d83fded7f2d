"""Colour methods of `vision-ext features` (vision_ext.features.colour): the per-channel histogram
plot, the Di Zenzo gradient magnitude, and the sub-block grid with each block's mean colour."""
import numpy as np

from vision_ext.cli import UsageError

COLOUR_DEFAULT = True

DESCRIPTION = [
    "color-histogram: draws the per-channel histograms (blue, green, red curves; cv2.calcHist's bins);",
    "color-gradient: writes the Di Zenzo colour gradient magnitude (scaled to 0..255);",
    "grid: the --grid-size x --grid-size sub-blocks, each filled with its mean colour, lines between.",
    "  vision-ext features --method color-histogram --hist-bins 64 -o hist.png   (skimage's astronaut)",
    "  vision-ext features photo.jpg --method grid --grid-size 8 -o grid.png",
]

PLOT_HEIGHT, PLOT_WIDTH = 300, 512


def add_arguments(p):
    p.add_argument("--hist-bins", type=int, default=256, help="color-histogram: bins per channel (default 256)")
    p.add_argument("--grid-size", type=int, default=4, help="grid: blocks per side (default 4)")


def check(args):
    if args.method == "color-histogram" and not 1 <= args.hist_bins <= 4096:
        raise UsageError(f"--hist-bins must be in [1, 4096], got {args.hist_bins}")
    if args.method == "grid" and args.grid_size < 1:
        raise UsageError(f"--grid-size must be >= 1, got {args.grid_size}")
    if args.method == "color-gradient" and args.ksize not in (-1, 1, 3, 5, 7):
        raise UsageError(f"--ksize must be 1, 3, 5, 7 or -1 (Scharr), got {args.ksize}")


def color_histogram(args, image, device):
    import cv2

    from vision_ext import features

    hist = features.color_histogram(image.rgb_tensor(device), bins=args.hist_bins).cpu().numpy()  # (3, bins) RGB
    canvas = np.full((PLOT_HEIGHT, PLOT_WIDTH, 3), 255, np.uint8)
    top = max(1, int(hist.max()))
    xs = (np.arange(args.hist_bins) + 0.5) * PLOT_WIDTH / args.hist_bins
    for c, bgr in zip(range(3), [(0, 0, 255), (0, 160, 0), (255, 0, 0)]):  # R, G, B channels in BGR colours
        ys = PLOT_HEIGHT - 1 - hist[c] / top * (PLOT_HEIGHT - 10)
        pts = np.stack([xs, ys], 1).round().astype(np.int32)
        cv2.polylines(canvas, [pts], False, bgr, 1, lineType=cv2.LINE_AA)
    peaks = ", ".join(f"{n} peak at bin {int(hist[c].argmax())}" for c, n in enumerate("RGB"))
    return canvas, f"{args.hist_bins} bins per channel on a {image.width}x{image.height} image ({peaks})"


def color_gradient(args, image, device):
    from vision_ext import features

    mag, _ = features.color_gradient(image.rgb_tensor(device), ksize=args.ksize)
    mag = mag.cpu().numpy()
    top = float(mag.max())
    out = np.zeros(mag.shape, np.uint8) if top == 0 else np.clip(mag / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out, f"max magnitude {top:.1f}, mean {float(mag.mean()):.2f} on a {image.width}x{image.height} image"


def grid(args, image, device):
    import cv2

    from vision_ext import features
    from vision_ext.features.colour import grid_bounds

    g = args.grid_size
    if g > min(image.height, image.width):
        raise UsageError(f"--grid-size {g} is larger than the {image.width}x{image.height} image")
    feats, names = features.grid_features(image.rgb_tensor(device), grid=(g, g), features=["moments"])
    mean = feats[..., [names.index(f"moments.mean.c{c}") for c in range(3)]].cpu().numpy()  # RGB
    canvas = image.bgr.copy()
    rows, cols = grid_bounds(image.height, g), grid_bounds(image.width, g)
    for i, (y0, y1) in enumerate(rows):
        for j, (x0, x1) in enumerate(cols):
            colour = tuple(int(round(v)) for v in mean[i, j, ::-1])
            cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), colour, -1)
            cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), (255, 255, 255), 1)
    return canvas, f"{g}x{g} blocks, {len(names)} features per block on a {image.width}x{image.height} image"


METHODS = {"color-histogram": color_histogram, "color-gradient": color_gradient, "grid": grid}
