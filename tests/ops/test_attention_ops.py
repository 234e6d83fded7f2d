"""small_head_attention: equal to a float64 softmax(q k^T * scale) v within fp32 rounding, for key counts that
are and are not whole 16-key blocks and strided q/k/v; the same bits at avx2 and avx512 (both sum in 16
lanes with FMA); opcheck; the wrapper's fallbacks; bad input named."""
import pytest
import torch
import torch.nn.functional as F

from tests.conftest import run_at_every_level
from vision_ext.ops.attention import attention, small_head_eligible


def _reference(q, k, v, scale):
    s = (q.double() @ k.double().transpose(-1, -2)) * scale
    return s.softmax(-1) @ v.double()


def _heads(b, n, h, d, gen):
    """[B, H, N, d] as a view of a [B, N, H*d] projection (the U-Net's layout: strided heads)."""
    return torch.randn(b, n, h * d, generator=gen).view(b, n, h, d).transpose(1, 2)


@pytest.mark.parametrize("d", [8, 16])
@pytest.mark.parametrize("n,m", [(64, 64), (37, 77), (5, 1), (130, 17), (3, 1024), (9, 1030)])
def test_matches_float64_reference(d, n, m):
    g = torch.Generator().manual_seed(n * 100 + m)
    q, k, v = _heads(2, n, 3, d, g) * 2, _heads(2, m, 3, d, g) * 2, _heads(2, m, 3, d, g)
    out = torch.ops.vision_ext.small_head_attention(q, k, v, d ** -0.5)
    assert out.shape == (2, 3, n, d) and out.transpose(1, 2).is_contiguous()
    torch.testing.assert_close(out.double(), _reference(q, k, v, d ** -0.5), rtol=1e-5, atol=1e-5)


def test_same_bits_at_avx2_and_avx512():
    g = torch.Generator().manual_seed(0)
    # 101 queries: avx512 takes two rows at a time, with one left over per 64-row task; avx2 one
    q, k, v = (_heads(2, 101, 4, 8, g) for _ in range(3))
    outs = run_at_every_level(lambda: torch.ops.vision_ext.small_head_attention(q, k, v, 0.3))
    if "avx2" in outs and "avx512" in outs:
        assert torch.equal(outs["avx2"], outs["avx512"])
    for out in outs.values():
        torch.testing.assert_close(out.double(), _reference(q, k, v, 0.3), rtol=1e-5, atol=1e-5)


def test_large_scores_do_not_overflow():
    q = torch.full((1, 1, 3, 8), 30.0)
    k = torch.randn(1, 1, 40, 8, generator=torch.Generator().manual_seed(1))
    v = torch.randn(1, 1, 40, 8, generator=torch.Generator().manual_seed(2))
    out = torch.ops.vision_ext.small_head_attention(q, k, v, 1.0)
    torch.testing.assert_close(out.double(), _reference(q, k, v, 1.0), rtol=1e-5, atol=1e-5)


def test_opcheck_and_wrapper():
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 2, 20, 16, generator=g) for _ in range(3))
    torch.library.opcheck(torch.ops.vision_ext.small_head_attention, (q, k, v, 0.25),
                          test_utils=("test_schema", "test_faketensor"))
    with torch.no_grad():
        assert small_head_eligible(q, k, v)
        torch.testing.assert_close(attention(q, k, v), F.scaled_dot_product_attention(q, k, v), rtol=1e-5, atol=1e-5)
    # Other head sizes, float64 and anything that needs a gradient go to ATen.
    q32 = torch.randn(1, 2, 20, 32)
    assert not small_head_eligible(q32, q32, q32)
    qg = q.clone().requires_grad_()
    assert not small_head_eligible(qg, k, v)
    attention(qg, k, v).sum().backward()
    assert qg.grad is not None


def test_bad_input_names_the_argument():
    q = torch.randn(1, 2, 4, 8)
    with pytest.raises(RuntimeError, match="head_dim must be 8 or 16"):
        torch.ops.vision_ext.small_head_attention(torch.randn(1, 2, 4, 32), torch.randn(1, 2, 4, 32),
                                                  torch.randn(1, 2, 4, 32), 1.0)
    with pytest.raises(RuntimeError, match="k has head_dim"):
        torch.ops.vision_ext.small_head_attention(q, torch.randn(1, 2, 4, 16), torch.randn(1, 2, 4, 16), 1.0)
    with pytest.raises(RuntimeError, match="q must be float32"):
        torch.ops.vision_ext.small_head_attention(q.double(), q.double(), q.double(), 1.0)
    with pytest.raises(RuntimeError, match="k and v must be"):
        torch.ops.vision_ext.small_head_attention(q, torch.randn(1, 2, 4, 8), torch.randn(1, 2, 5, 8), 1.0)


@pytest.mark.parametrize("ours_faster", [True, False])
def test_attention_takes_the_kernel_that_measured_faster(monkeypatch, ours_faster):
    import vision_ext.nn as vnn
    from vision_ext.nn import conv_choice

    g = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(1, 2, 24, 8, generator=g) for _ in range(3))
    calls = {"ours": 0}
    real = torch.ops.vision_ext.small_head_attention

    class Counting:  # stands in for torch.ops.vision_ext in the wrapper, counting our kernel's calls
        def small_head_attention(self, *a):
            calls["ours"] += 1
            return real(*a)

    from vision_ext.ops import attention as A
    monkeypatch.setattr(A, "_ops", Counting())
    times = iter([1.0, 2.0, 1.0, 2.0] if ours_faster else [2.0, 1.0, 2.0, 1.0])  # ours, ATen, ours, ATen
    monkeypatch.setattr(conv_choice, "_best_time", lambda fn: next(times))
    previous = vnn.set_conv_autotune(True)
    try:
        with torch.no_grad():
            for _ in range(2):  # measured once, followed after
                torch.testing.assert_close(attention(q, k, v), F.scaled_dot_product_attention(q, k, v),
                                           rtol=1e-5, atol=1e-5)
        choice = [c for key, c in vnn.conv_choices().items() if key[0] == "small_head_attention"]
        assert choice == [ours_faster]
        assert calls["ours"] == (2 if ours_faster else 0)
    finally:
        vnn.set_conv_autotune(previous)
