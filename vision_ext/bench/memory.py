"""Peak resident memory of a few training steps, each variant in a fresh process
(the kernel's high-water mark, VmHWM, is per process and never goes down).

  python -m vision_ext.bench.memory            # resnet18-CIFAR, batch 32: ours vs eager NCHW / channels_last
"""
import json
import subprocess
import sys

_STEP = r"""
import json, torch
from vision_ext import models
from vision_ext.bench.models import EagerTwin
torch.manual_seed(0)
variant, batch = {variant!r}, {batch}
model = models.resnet18(10, cifar_stem=True)
if variant != "ours":
    model = EagerTwin(model).to(memory_format=torch.channels_last if variant == "eager channels_last"
                                else torch.contiguous_format)
x = torch.randn(batch, 3, 32, 32)
if variant == "eager channels_last":
    x = x.contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (batch,))
opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
def rss(key):
    return int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1]) * 1024
base = rss("VmRSS:")
for _ in range(3):
    opt.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
print(json.dumps({{"variant": variant, "peak_bytes": rss("VmHWM:"), "base_bytes": base}}))
"""


def peak_rss(variant: str, batch: int = 32) -> dict:
    out = subprocess.run([sys.executable, "-c", _STEP.format(variant=variant, batch=batch)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    rows = [peak_rss(v) for v in ("ours", "eager NCHW", "eager channels_last")]
    for r in rows:
        print(f"{r['variant']:<22} peak RSS {r['peak_bytes'] / 2**20:8.1f} MiB "
              f"(after set-up {r['base_bytes'] / 2**20:7.1f} MiB, training adds {(r['peak_bytes'] - r['base_bytes']) / 2**20:7.1f} MiB)")


if __name__ == "__main__":
    main()
