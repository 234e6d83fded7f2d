"""The fused DDPM ops against float64 pure-PyTorch references, opcheck, gradcheck,
torch.compile, low-precision behaviour and argument errors."""
import math

import pytest
import torch

from tests.conftest import cpu_and_cuda, tol

import vision_ext  # noqa: F401
from vision_ext.diffusion import alphas_cumprod, make_betas
from vision_ext.ops import ddpm as D

AB = alphas_cumprod(make_betas("linear"))


def bcast(v, x):
    return v.reshape(-1, *([1] * (x.dim() - 1)))


def ref_ddpm(m, x, t, tp, noise, pred, var, clip):
    ab = bcast(AB[t], x)
    abp = bcast(torch.where(tp >= 0, AB[tp.clamp(min=0)], torch.ones((), dtype=torch.float64)), x)
    x, m, noise = x.double(), m.double(), noise.double()
    if var.startswith("learned"):
        m, pv = m.chunk(2, dim=1)
    x0 = {"epsilon": (x - (1 - ab).sqrt() * m) / ab.sqrt(), "sample": m,
          "v_prediction": ab.sqrt() * x - (1 - ab).sqrt() * m}[pred]
    if clip > 0:
        x0 = x0.clamp(-clip, clip)
    beta = 1 - ab / abp
    mean = abp.sqrt() * beta / (1 - ab) * x0 + (ab / abp).sqrt() * (1 - abp) / (1 - ab) * x
    small = ((1 - abp) / (1 - ab) * beta).clamp(min=1e-20)
    sigma = {"fixed_small": small.sqrt(), "fixed_large": beta.sqrt()}.get(var)
    if var == "learned_range":
        frac = (pv + 1) / 2
        sigma = torch.exp(0.5 * (frac * beta.log() + (1 - frac) * small.log()))
    return mean + sigma * noise * bcast((t > 0).double(), x), x0


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("pred", ["epsilon", "sample", "v_prediction"])
@pytest.mark.parametrize("var", ["fixed_small", "fixed_large", "learned_range"])
@pytest.mark.parametrize("clip", [1.0, 0.0])
def test_ddpm_step_matches_float64_reference(device, pred, var, clip):
    x = torch.randn(3, 4, 5, 7)
    m = torch.randn(3, 8 if var == "learned_range" else 4, 5, 7)
    t, tp = torch.tensor([999, 500, 0]), torch.tensor([998, 400, -1])
    z = torch.randn_like(x)
    want, want_x0 = ref_ddpm(m, x, t, tp, z, pred, var, clip)
    dev = lambda v: v.to(device)  # noqa: E731
    got, got_x0 = D.ddpm_step(dev(m), dev(x), dev(t), dev(tp), dev(AB), noise=dev(z), prediction_type=pred,
                              variance_type=var, clip_sample_range=clip)
    torch.testing.assert_close(got.cpu().double(), want, **tol(torch.float32))
    torch.testing.assert_close(got_x0.cpu().double(), want_x0, **tol(torch.float32))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_ddpm_step_dtypes(dtype):
    x, m, z = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    t, tp = torch.tensor(600), torch.tensor(580)
    want, _ = ref_ddpm(m, x, t.reshape(1), tp.reshape(1), z, "epsilon", "fixed_small", 1.0)
    got, _ = D.ddpm_step(m.to(dtype), x.to(dtype), t, tp, AB, noise=z.to(dtype), clip_sample_range=1.0)
    assert got.dtype == dtype
    torch.testing.assert_close(got.double(), want, rtol=2e-2, atol=2e-2 if dtype != torch.float64 else 1e-6)


def test_non_contiguous_and_channels_last_inputs():
    x = torch.randn(2, 3, 8, 8).to(memory_format=torch.channels_last)
    m = torch.randn(2, 3, 8, 16)[..., ::2]
    z = torch.randn(2, 3, 8, 8)
    t, tp = torch.tensor([700, 3]), torch.tensor([650, 2])
    got, _ = D.ddpm_step(m, x, t, tp, AB, noise=z, clip_sample_range=1.0)
    want, _ = ref_ddpm(m, x, t, tp, z, "epsilon", "fixed_small", 1.0)
    torch.testing.assert_close(got.double(), want, **tol(torch.float32))


def test_ddim_and_plms_match_reference():
    x, m = torch.randn(2, 3, 6, 6, dtype=torch.float64), torch.randn(2, 3, 6, 6, dtype=torch.float64)
    t, tp = torch.tensor([800, 100]), torch.tensor([700, -1])
    ab, abp = bcast(AB[t], x), bcast(torch.where(tp >= 0, AB[tp.clamp(min=0)], torch.tensor(1.0, dtype=torch.float64)), x)
    x0 = (x - (1 - ab).sqrt() * m) / ab.sqrt()
    want = abp.sqrt() * x0 + (1 - abp).sqrt() * m
    got, _ = D.ddim_step(m, x, t, tp, AB)
    torch.testing.assert_close(got, want)
    # PLMS with a single output is the same deterministic transfer.
    torch.testing.assert_close(D.plms_step(x, [m], [1.0], t, tp, AB), want)
    m2 = torch.randn_like(m)
    torch.testing.assert_close(D.plms_step(x, [m, m2], [1.5, -0.5], t, tp, AB),
                               D.plms_step(x, [1.5 * m - 0.5 * m2], [1.0], t, tp, AB))


def _philox_ref(ctr, key):
    """Philox4x32-10 in Python integers (Salmon et al. 2011)."""
    c, k = list(ctr), list(key)
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & 0xFFFFFFFF, (p0 >> 32) ^ c[3] ^ k[1], p0 & 0xFFFFFFFF]
        k = [(k[0] + 0x9E3779B9) & 0xFFFFFFFF, (k[1] + 0xBB67AE85) & 0xFFFFFFFF]
    return c


def test_philox_known_answer_and_normal_mapping():
    assert _philox_ref([0, 0, 0, 0], [0, 0]) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    seed, offset = 0x123456789, 5
    got = D.philox_normal_like(torch.empty(13), seed, offset)
    want = []
    for g in range(4):
        r = _philox_ref([g, 0, offset, 0], [seed & 0xFFFFFFFF, seed >> 32])
        for k in range(2):
            u1, u2 = [((v >> 9) + 0.5) / 2 ** 23 for v in r[2 * k:2 * k + 2]]
            rad = math.sqrt(-2 * math.log(u1))
            want += [rad * math.cos(2 * math.pi * u2), rad * math.sin(2 * math.pi * u2)]
    torch.testing.assert_close(got, torch.tensor(want[:13]), rtol=1e-5, atol=2e-6)


def test_philox_noise_is_standard_normal_and_streams_differ():
    z = D.philox_normal_like(torch.empty(1 << 20), 7, 0)
    assert abs(z.mean().item()) < 5e-3 and abs(z.std().item() - 1) < 5e-3
    assert abs((z[:-1] * z[1:]).mean().item()) < 5e-3  # neighbours uncorrelated
    assert not torch.equal(z[:100], D.philox_normal_like(torch.empty(100), 7, 1))
    # the step draws exactly these numbers when given no noise tensor
    x, m = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    a, _ = D.ddpm_step(m, x, torch.tensor(500), torch.tensor(499), AB, seed=7, offset=3, clip_sample_range=1.0)
    b, _ = D.ddpm_step(m, x, torch.tensor(500), torch.tensor(499), AB,
                       noise=D.philox_normal_like(x, 7, 3), clip_sample_range=1.0)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.cuda
def test_philox_cpu_cuda_identical():
    x = torch.empty(4099)
    torch.testing.assert_close(D.philox_normal_like(x.cuda(), 11, 2).cpu(), D.philox_normal_like(x, 11, 2),
                               rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_add_noise_keeps_noise_at_t0_t1(dtype):
    x, n = torch.zeros(2, 3, 16, 16, dtype=dtype), torch.randn(2, 3, 16, 16).to(dtype)
    out = D.add_noise(x, n, torch.tensor([0, 1]), AB)
    assert (out.float().abs().sum((1, 2, 3)) > 0).all()
    want = bcast((1 - AB[[0, 1]]).sqrt(), x) * n.double()
    torch.testing.assert_close(out.double(), want, rtol=1e-2, atol=1e-5)


@pytest.mark.parametrize("pred", ["epsilon", "sample", "v_prediction"])
def test_training_target(pred):
    x, n, t = torch.randn(4, 3, 5, 5), torch.randn(4, 3, 5, 5), torch.tensor([0, 10, 500, 999])
    xt, target, w = D.training_target(x, n, t, AB, pred, min_snr_gamma=5.0)
    a, s = bcast(AB[t].sqrt(), x).float(), bcast((1 - AB[t]).sqrt(), x).float()
    torch.testing.assert_close(xt, a * x + s * n)
    torch.testing.assert_close(target, {"epsilon": n, "sample": x, "v_prediction": a * n - s * x}[pred])
    snr = AB[t] / (1 - AB[t])
    want_w = {"epsilon": snr.clamp(max=5) / snr, "sample": snr.clamp(max=5), "v_prediction": snr.clamp(max=5) / (snr + 1)}
    torch.testing.assert_close(w, want_w[pred].float())


def _samples(device, requires_grad=False):
    x = torch.randn(2, 3, 4, 4, device=device, requires_grad=requires_grad)
    return x, torch.randn(2, 3, 4, 4, device=device, requires_grad=requires_grad)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck(device, requires_grad):
    x, n = _samples(device, requires_grad)
    ab, t, tp = AB.to(device), torch.tensor([3, 900], device=device), torch.tensor([2, 800], device=device)
    ops = torch.ops.vision_ext
    torch.library.opcheck(ops.add_noise, (x, n, t, ab))
    torch.library.opcheck(ops.ddpm_training_target, (x, n, t, ab, "v_prediction", 5.0))
    m, s = x.detach(), n.detach()
    torch.library.opcheck(ops.ddpm_step, (m, s, t, tp, ab, None, None, 1, 2, "epsilon", "fixed_small", 1.0, 1.0))
    torch.library.opcheck(ops.ddim_step, (m, s, t, tp, ab, s, None, 0, 0, 0.5, True, "sample", 1.0, 1.0))
    torch.library.opcheck(ops.plms_step, (s, [m, m * 2], [1.5, -0.5], t, tp, ab, "epsilon", 0.9999))
    torch.library.opcheck(ops.philox_normal_like, (s, 3, 4))


def test_gradcheck_float64():
    x, n = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True), torch.randn(2, 3, 3, dtype=torch.float64,
                                                                                      requires_grad=True)
    t = torch.tensor([5, 700])
    assert torch.autograd.gradcheck(lambda a, b: D.add_noise(a, b, t, AB), (x, n))
    for pred in ["epsilon", "sample", "v_prediction"]:
        assert torch.autograd.gradcheck(lambda a, b: D.training_target(a, b, t, AB, pred)[:2], (x, n))


def test_compile_fullgraph_step():
    from vision_ext.diffusion import DDPMScheduler
    s = DDPMScheduler()
    s.set_timesteps(50)
    t, tp = s.timesteps[10], s.previous_timestep(s.timesteps[10])
    ab = s.alphas_cumprod

    def step(m, x, z):
        return D.ddpm_step(m, x, t, tp, ab, noise=z, clip_sample_range=1.0)[0]

    m, x, z = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(m, x, z), step(m, x, z))


BAD_INPUTS = [
    (lambda x: D.add_noise(x, x, torch.tensor([0, 1000]), AB), "timesteps: timestep 1000 is out of range"),
    (lambda x: D.add_noise(x, x, torch.tensor([0.5, 1.0]), AB), "timesteps: expected an integer tensor"),
    (lambda x: D.add_noise(x, x, torch.tensor([1, 2, 3]), AB), r"timesteps: expected one timestep or one per sample"),
    (lambda x: D.add_noise(x, x[:, :2], 3, AB), "noise and original: expected the same shape"),
    (lambda x: D.ddpm_step(x, x, 5, 4, AB, prediction_type="eps"), "prediction_type: expected one of"),
    (lambda x: D.ddpm_step(x, x, 5, 4, AB, variance_type="small"), "variance_type: expected one of"),
    (lambda x: D.ddpm_step(x[:, :2], x, 5, 4, AB), "model_output: expected the shape of sample"),
    (lambda x: D.ddpm_step(x, x, 5, -2, AB), "prev_timestep: timestep -2 is out of range"),
    (lambda x: D.ddim_step(x, x, 5, 4, AB, eta=-1.0), "eta: expected a non-negative"),
    (lambda x: D.plms_step(x, [x] * 5, [0.2] * 5, 5, 4, AB), "model_outputs: expected 1 to 4"),
    (lambda x: D.plms_step(x, [x], [1.0], 5, 4, AB, prediction_type="sample"), "prediction_type"),
    (lambda x: D.philox_normal_like(x.to(torch.float8_e4m3fn), 1),
     r"input: expected a floating-point tensor \(float32"),
    (lambda x: D.ddim_step(x, x, 5, 4, AB, eta=-1.0, prediction_type="eps"), "prediction_type: expected one of"),
    (lambda x: D.ddpm_step(x, x, 5, 4, AB, prediction_type="eps", variance_type="small"), "prediction_type"),
]


@pytest.mark.parametrize("call,match", BAD_INPUTS)
def test_bad_inputs_name_the_argument(call, match):
    with pytest.raises(RuntimeError, match=match):
        call(torch.randn(2, 3, 4, 4))


# The same bad inputs on CUDA, the same messages (timestep ranges excepted: a kernel cannot raise).
@pytest.mark.cuda
@pytest.mark.parametrize("call,match", [c for c in BAD_INPUTS if "out of range" not in c[1]])
def test_bad_inputs_same_messages_on_cuda(call, match):
    with pytest.raises(RuntimeError, match=match):
        call(torch.randn(2, 3, 4, 4, device="cuda"))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_training_target_of_empty_samples_still_weights_each_sample(device):
    x, t = torch.randn(3, 0, device=device), torch.tensor([10, 500, 999], device=device)
    xt, target, w = D.training_target(x, x, t, AB.to(device), "epsilon", min_snr_gamma=5.0)
    snr = AB[t.cpu()] / (1 - AB[t.cpu()])
    assert xt.shape == target.shape == (3, 0)
    torch.testing.assert_close(w.cpu(), (snr.clamp(max=5) / snr).float())


def _cuda_vs_cpu(fn, *tensors, **tols):
    got = fn(*[v.cuda() for v in tensors])
    want = fn(*tensors)
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        torch.testing.assert_close(g.cpu(), w, **tols)


# CUDA against the CPU kernels (themselves checked against references above): odd sizes so Philox
# blocks straddle samples and end partially, per-sample timesteps, learned variance channels, Philox
# noise, low precision, and a sample sliced one element into its storage (no 16-byte alignment).
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_cuda_matches_cpu(dtype):
    tols = dict(rtol=1e-2, atol=1e-2) if dtype in (torch.float16, torch.bfloat16) else dict(rtol=1e-5, atol=1e-5)
    shape = (3, 5, 7, 9)
    big = torch.randn(math.prod(shape) + 1).to(dtype)
    m, mo2 = torch.randn(shape).to(dtype), torch.randn(3, 10, 7, 9).clamp(-1, 1).to(dtype)
    t, tp, th = torch.tensor([999, 500, 0]), torch.tensor([998, 480, -1]), torch.tensor([1.5, 0.0, 2.0])

    def unaligned(v):
        return v[1:].reshape(shape)

    for var, mo in [("fixed_small", m), ("learned_range", mo2), ("fixed_large", m)]:
        _cuda_vs_cpu(lambda a, b, c, d, e: D.ddpm_step(a, unaligned(b), c, d, e, seed=3, offset=9, variance_type=var,
                                                       clip_sample_range=1.0), mo, big, t, tp, AB, **tols)
    _cuda_vs_cpu(lambda a, b, c, d, e, f: D.ddim_step(a, unaligned(b), c, d, e, threshold=f, seed=5, eta=0.8,
                                                      use_clipped_model_output=True, prediction_type="v_prediction"),
                 m, big, t, tp, AB, th, **tols)
    outs = [torch.randn(shape).to(dtype) for _ in range(4)]
    weights = [55 / 24, -59 / 24, 37 / 24, -9 / 24]  # fp64 must keep them in double
    _cuda_vs_cpu(lambda a, b, c, d, e, f, g, h: D.plms_step(unaligned(a), [b, c, d, e], weights, f, g, h),
                 big, *outs, t, tp, AB, **(tols if dtype != torch.float64 else dict(rtol=1e-12, atol=1e-12)))
    _cuda_vs_cpu(lambda a, b, c, d: D.training_target(unaligned(a), b, c, d, "v_prediction", 5.0), big, m, t, AB,
                 **tols)
    _cuda_vs_cpu(lambda a: D.philox_normal_like(unaligned(a), 7, 2), big, rtol=0, atol=0)


def test_empty_batch():
    x = torch.randn(0, 3, 4, 4)
    assert D.add_noise(x, x, torch.zeros(0, dtype=torch.long), AB).shape == x.shape
    assert D.ddpm_step(x, x, torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), AB)[0].shape == x.shape


def test_add_noise_large_streaming_matches_reference():
    # > 4 MiB of fp32 takes the streaming-store path; odd sample sizes start runs off the 64-byte grid.
    x = torch.randn(3, 3, 411, 409)
    n, t = torch.randn_like(x), torch.tensor([0, 500, 999])
    ab = bcast(AB[t], x)
    want = ab.sqrt() * x.double() + (1 - ab).sqrt() * n.double()
    got = D.add_noise(x, n, t, AB)
    torch.testing.assert_close(got, want.float(), rtol=1e-6, atol=1e-6)
    # one sample alone (2 MiB) takes the cached-store loop: the same bits
    torch.testing.assert_close(got[1:2], D.add_noise(x[1:2], n[1:2], t[1:2], AB), rtol=0, atol=0)


@pytest.mark.parametrize("clip", [1.0, 0.0])
def test_ddpm_step_large_streaming_matches_reference(clip):
    # > 4 MiB of fp32 outputs takes the streaming-store path; odd sample sizes start runs unaligned.
    x, m = torch.randn(3, 3, 411, 409), torch.randn(3, 3, 411, 409)
    t, tp = torch.tensor([999, 500, 1]), torch.tensor([998, 499, 0])
    z = D.philox_normal_like(x, 5, 6)
    got = D.ddpm_step(m, x, t, tp, AB, seed=5, offset=6, clip_sample_range=clip)
    # Bit-equal where the level has FMA. The base level (no FMA) rounds the two loops (in-kernel noise, given
    # noise) differently in the last bit, which x0 = (x - sqrt(1 - ab) eps) / sqrt(ab) amplifies ~160x at
    # t = 999: known, in the issue 11 note.
    exact = dict(rtol=0, atol=0) if vision_ext.cpu_capability() != "default" else dict(rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(got, D.ddpm_step(m, x, t, tp, AB, noise=z, clip_sample_range=clip), **exact)
    # one sample alone (2 MiB) takes the cached-store loop: the same bits
    one = D.ddpm_step(m[1:2], x[1:2], t[1:2], tp[1:2], AB, noise=z[1:2], clip_sample_range=clip)
    torch.testing.assert_close((got[0][1:2], got[1][1:2]), one, rtol=0, atol=0)
    want = ref_ddpm(m, x, t, tp, z, "epsilon", "fixed_small", clip)
    # The base level's two roundings per a * b + c, amplified at t = 999 as above: 1e-4 there.
    ref_tol = tol(torch.float32) if vision_ext.cpu_capability() != "default" else dict(rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(got, tuple(w.float() for w in want), **ref_tol)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("pred", ["epsilon", "sample", "v_prediction"])
def test_min_snr_weight_at_zero_terminal_snr(device, pred):
    # A zero-terminal-SNR schedule has alpha_bar = 0 at t = T - 1, where snr = 0 and the epsilon weight
    # min(snr, gamma) / snr is 0 / 0: its limit is 1 (it is exactly 1 for every 0 < snr <= gamma); v and
    # sample weights are 0 there. The weights elsewhere keep the formula (float64 reference).
    from vision_ext.diffusion import rescale_zero_terminal_snr

    ab = alphas_cumprod(rescale_zero_terminal_snr(make_betas("scaled_linear", 1000)))
    assert ab[-1] == 0
    t = torch.tensor([999, 998, 500, 3])
    x = torch.randn(4, 2, 3, 3)
    _, _, w = D.training_target(x.to(device), torch.randn_like(x).to(device), t.to(device), ab.to(device), pred,
                                min_snr_gamma=5.0)
    snr = ab[t] / (1 - ab[t])
    clipped = snr.clamp(max=5)
    want = {"epsilon": clipped / snr, "sample": clipped, "v_prediction": clipped / (snr + 1)}[pred]
    want[0] = {"epsilon": 1.0, "sample": 0.0, "v_prediction": 0.0}[pred]
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w.cpu(), want.float())
