"""torch.ops.vision_ext.shape_features: opcheck (fake kernel with data-dependent sizes), the same bits
at every CPU level and every thread count, torch.compile, and CPU/CUDA parity."""
import numpy as np
import pytest
import torch

from tests.conftest import cpu_and_cuda, run_at_every_level

ops = torch.ops.vision_ext


def _blobs(h, w, n, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((h, w), np.int64)
    for lab in range(1, n + 1):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, 14)
        out[(yy - cy) ** 2 + ((xx - cx) * rng.uniform(0.4, 1.6)) ** 2 <= r * r] = lab
    return torch.from_numpy(out)


def _outputs_equal(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_opcheck():
    lab = _blobs(40, 52, 7, 0)
    for args in [(lab,), (lab.to(torch.int32)[None].repeat(2, 1, 1),), (lab > 0,), (torch.zeros(0, 4, dtype=torch.int64),),
                 (lab * 10 ** 10,)]:
        torch.library.opcheck(ops.shape_features.default, args)


def test_every_level_and_thread_count_same_bits():
    # 300x260: wide rows cross every vector width and tail; 4 images so threads split bands and images.
    lab = torch.stack([_blobs(300, 260, 40, s) for s in range(4)])
    outs = run_at_every_level(lambda: ops.shape_features(lab))
    ref = next(iter(outs.values()))
    for level, out in outs.items():
        assert _outputs_equal(out, ref), level
    threads = torch.get_num_threads()
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            assert _outputs_equal(ops.shape_features(lab), ref), n
    finally:
        torch.set_num_threads(threads)


def test_compile_dynamic_regions():
    lab = _blobs(32, 32, 5, 1)
    fn = torch.compile(lambda t: ops.shape_features(t)[2][:, 0].sum(), fullgraph=True, backend="eager")
    assert fn(lab) == (lab > 0).sum()


def test_non_contiguous_input():
    lab = _blobs(64, 80, 9, 2)
    view = lab.t()
    assert _outputs_equal(ops.shape_features(view), ops.shape_features(view.contiguous()))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_device_parity(device):
    # The devices only add integers; the host finishes both: the same bits (CUDA compiled, not run here).
    lab = torch.stack([_blobs(90, 130, 25, s) for s in (3, 4)])
    cpu = ops.shape_features(lab)
    dev = ops.shape_features(lab.to(device))
    assert all(t.device.type == device for t in dev)
    assert _outputs_equal([t.cpu() for t in dev], cpu)
