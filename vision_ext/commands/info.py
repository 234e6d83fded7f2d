"""`vision-ext info`: what this build contains."""
import json


def register(sub):
    p = sub.add_parser("info", help="print build information (CUDA kernels, archs, SIMD, ops)",
                       description="Print vision_ext.build_info() as JSON.\n\nExample:\n  vision-ext info")
    p.set_defaults(func=run)


def run(args):
    import vision_ext

    print(json.dumps(vision_ext.build_info(), indent=2))
    return 0
