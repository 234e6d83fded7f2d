"""Region shape methods of `vision-ext features`: Otsu threshold -> connected-component labels ->
shape features (boxes, centroids, orientation lines) or pairwise relations of the largest regions."""
from vision_ext.cli import UsageError

DESCRIPTION = [
    "shape: Otsu threshold, 8-connected labels, per-region shape features (boxes, centroids, orientation);",
    "relations: pairwise relations (direction, distance, above/left, containment, adjacency) of the largest regions.",
    "  vision-ext features coins.png --method shape --min-area 30 -o shape.png",
    "  vision-ext features --method relations --top 4 --dark-objects -o relations.png",
]


def add_arguments(p):
    p.add_argument("--min-area", type=int, default=20, help="shape/relations: drop regions smaller than this (default 20)")
    p.add_argument("--top", type=int, default=4, help="relations: how many of the largest regions (default 4)")
    p.add_argument("--dark-objects", action="store_true", help="shape/relations: objects darker than the background")


def check(args):
    if args.min_area < 1:
        raise UsageError(f"--min-area must be >= 1 pixel, got {args.min_area}")
    if args.top < 2:
        raise UsageError(f"--top must be >= 2 (relations need a pair), got {args.top}")


def _labels(args, image):
    """Otsu mask of the grey image (objects brighter, or darker with --dark-objects), labelled."""
    import cv2
    import numpy as np

    flag = cv2.THRESH_BINARY_INV if args.dark_objects else cv2.THRESH_BINARY
    _, mask = cv2.threshold(image.gray, 0, 1, flag | cv2.THRESH_OTSU)
    n, lab = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
    return lab.astype(np.int32), n - 1


def _features(args, image, device):
    import torch

    from vision_ext import features

    lab, _ = _labels(args, image)
    f = features.shape_features(torch.from_numpy(lab).to(device))
    keep = (f.area >= args.min_area).nonzero().flatten().cpu().tolist()
    return lab, f, keep


def shape(args, image, device):
    import math

    import cv2

    lab, f, keep = _features(args, image, device)
    canvas = cv2.cvtColor(image.gray, cv2.COLOR_GRAY2BGR)
    for i in keep:
        r0, c0, r1, c1 = (int(v) for v in f.bbox[i])
        cv2.rectangle(canvas, (c0, r0), (c1 - 1, r1 - 1), (0, 200, 0), 1)
        cy, cx = (float(v) for v in f.centroid[i])
        # orientation: angle between the row axis and the major axis (skimage's convention)
        t, half = float(f.orientation[i]), float(f.axis_major_length[i]) / 2
        dx, dy = half * math.sin(t), half * math.cos(t)
        cv2.line(canvas, (round(cx - dx), round(cy - dy)), (round(cx + dx), round(cy + dy)), (0, 0, 255), 1, cv2.LINE_AA)
        cv2.circle(canvas, (round(cx), round(cy)), 2, (255, 0, 0), -1)
    for i in keep:
        print(f"  region {int(f.label[i]):4d}: area {int(f.area[i]):6d}  centroid ({float(f.centroid[i, 0]):7.1f}, "
              f"{float(f.centroid[i, 1]):7.1f})  perimeter {float(f.perimeter[i]):8.1f}  eccentricity "
              f"{float(f.eccentricity[i]):.3f}  solidity {float(f.solidity[i]):.3f}  circularity "
              f"{float(f.circularity[i]):.3f}")
    return canvas, f"{len(keep)} regions of >= {args.min_area} pixels ({len(f)} labelled) on a " \
                   f"{image.width}x{image.height} image"


def relations(args, image, device):
    import cv2
    import numpy as np

    from vision_ext import features

    lab, f, keep = _features(args, image, device)
    if len(keep) < 2:
        raise UsageError(f"--method relations: only {len(keep)} region(s) of >= {args.min_area} pixels; lower "
                         "--min-area or try --dark-objects")
    areas = f.area.cpu().numpy()
    top = sorted(keep, key=lambda i: -areas[i])[:args.top]
    labels_top = [int(f.label[i]) for i in top]
    sub = np.where(np.isin(lab, labels_top), lab, 0)
    rel = features.region_relations(sub)
    names = rel.label.tolist()
    canvas = cv2.cvtColor(image.gray, cv2.COLOR_GRAY2BGR)
    fs = features.shape_features(sub)
    for i in range(len(names)):
        cy, cx = (float(v) for v in fs.centroid[i])
        cv2.putText(canvas, str(names[i]), (round(cx) + 3, round(cy) - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 255), 1, cv2.LINE_AA)
        for j in range(i + 1, len(names)):
            ry, rx = (float(v) for v in fs.centroid[j])
            cv2.line(canvas, (round(cx), round(cy)), (round(rx), round(ry)), (0, 200, 0), 1, cv2.LINE_AA)
            words = [w for w, m in (("above", rel.strictly_above), ("below", rel.strictly_below),
                                    ("left of", rel.strictly_left_of), ("right of", rel.strictly_right_of),
                                    ("inside the box of", rel.inside_bbox), ("inside the hull of", rel.inside_hull),
                                    ("touching", rel.adjacent8)) if bool(m[i, j])]
            print(f"  {names[i]} -> {names[j]}: direction {np.degrees(float(rel.direction[i, j])):7.1f} deg, "
                  f"distance {float(rel.distance[i, j]):7.1f} px" + (f", {', '.join(words)}" if words else ""))
    return canvas, f"relations of the {len(names)} largest regions (of {len(keep)} with >= {args.min_area} pixels)"


METHODS = {"shape": shape, "relations": relations}
