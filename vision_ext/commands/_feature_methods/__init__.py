"""One module per feature family for `vision-ext features`, found by name like the bench cases.

A family module defines
- `COLOUR_DEFAULT` (optional, False): the default image is colour (astronaut) instead of camera;
- `METHODS`: {method name: run(args, image, device) -> (canvas, summary)}, where `image` is the
  `_common.Image` read from IMAGE, `canvas` a uint8 HxW or HxWx3 (BGR) array to write to
  -o/--output and `summary` the line printed after "<method>: ";
- `DESCRIPTION`: lines for `vision-ext features --help` (one per method, examples welcome);
- `add_arguments(parser)`: the family's own options (names unique across families; the shared ones,
  IMAGE, --method, -o, --device, --ksize, --block-size, --threshold, --quality, --max-corners, live in
  vision_ext/commands/features.py);
- `check(args)`: up-front checks of those options for the chosen method (UsageError naming the option).
"""
from vision_ext._discover import import_submodules


def families():
    """The family modules, in name order (stable --help and --method choices)."""
    return import_submodules(__name__, __path__)
