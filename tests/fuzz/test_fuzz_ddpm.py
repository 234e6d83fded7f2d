"""Property-based tests of the DDPM ops against float64 torch formulas (issue 15): batches of 0 and 1, odd
sizes, fp32/fp64/fp16/bf16, contiguous / channels_last / sliced / expanded inputs, NaN and inf values, every
prediction type, timesteps at both ends of the schedule. Calls run in the sandbox child (crash isolation)."""
import pytest
import torch
from fuzzing import sandbox  # noqa: F401  (fixture)
from tolerances import close
from helpers import philox_reference as R
from hypothesis import given
from hypothesis import strategies as st
from strategies import FLOATS, LAYOUTS, arrange, nchw, tensors

from vision_ext.diffusion import alphas_cumprod, make_betas

D = "vision_ext.ops.ddpm:"
AB = alphas_cumprod(make_betas("linear"))
T = len(AB)
PREDICTIONS = ("epsilon", "sample", "v_prediction")


def _b(v, x):
    return v.reshape(-1, *([1] * (x.dim() - 1)))


@st.composite
def batch(draw, n_tensors, max_n=3):
    """(shape, dtype, tensors, t, special) with t one timestep per sample (or a scalar); `special`: the
    tensors hold a few NaN/inf values."""
    special = draw(st.booleans())
    shape = draw(nchw(max_n=max_n))
    dtype, layout = draw(st.sampled_from(FLOATS)), draw(st.sampled_from(LAYOUTS))
    same = layout == "expanded"
    ts = [draw(tensors(shape, dtype, special=special, same_rows=same)) for _ in range(n_tensors)]
    ends = st.sampled_from([0, 1, T - 2, T - 1])
    t = draw(st.one_of(st.lists(st.one_of(ends, st.integers(0, T - 1)), min_size=shape[0], max_size=shape[0])
                       .map(lambda v: torch.tensor(v, dtype=torch.long)), ends.map(torch.tensor)))
    if same and t.dim():
        t = t[:1].expand(shape[0]).clone() if shape[0] else t
    return shape, dtype, [arrange(v, layout) for v in ts], t, special


def _prev_of(draw_t, t):
    return torch.where(t > 0, (t - draw_t).clamp(min=-1), torch.full_like(t, -1))


@given(data=batch(2))
def test_add_noise_matches_formula(sandbox, data):
    shape, dtype, (x, n), t, special = data
    got = sandbox.call(D + "add_noise", x, n, t, AB)
    ab = _b(AB[t], x)
    want = ab.sqrt() * x.double() + (1 - ab).sqrt() * n.double()
    assert got.shape == x.shape and got.dtype == dtype
    close(got, want, dtype, non_finite_inputs=special)


@given(data=batch(2), pred=st.sampled_from(PREDICTIONS), gamma=st.sampled_from([0.0, 1.0, 5.0]))
def test_training_target_matches_formula(sandbox, data, pred, gamma):
    shape, dtype, (x, n), t, special = data
    if t.dim() == 0:
        t = t.expand(shape[0]).clone()
    xt, target, w = sandbox.call(D + "training_target", x, n, t, AB, pred, gamma)
    ab = AB[t]
    a, s = _b(ab.sqrt(), x), _b((1 - ab).sqrt(), x)
    xd, nd = x.double(), n.double()
    close(xt, a * xd + s * nd, dtype, non_finite_inputs=special)
    want = {"epsilon": nd, "sample": xd, "v_prediction": a * nd - s * xd}[pred]
    close(target, want, dtype, non_finite_inputs=special)
    snr = ab / (1 - ab)
    capped = snr.clamp(max=gamma)
    want_w = torch.ones_like(snr) if gamma <= 0 else {"epsilon": capped / snr, "sample": capped,
                                                      "v_prediction": capped / (snr + 1)}[pred]
    assert w.shape == (shape[0],)
    close(w, want_w, torch.float32)  # weights depend on t only


def _conditioning(t) -> float:
    """x0 = (x - sqrt(1 - ab) eps) / sqrt(ab) amplifies the inputs' rounding by 1 / sqrt(ab): up to ~160 near
    t = T, for any fp32 evaluation (torch's unfused one too), so tolerances scale with it."""
    return float((1 / AB[t].sqrt()).max()) if t.numel() else 1.0


def _x0(pred, m, x, ab):
    return {"epsilon": (x - (1 - ab).sqrt() * m) / ab.sqrt(), "sample": m,
            "v_prediction": ab.sqrt() * x - (1 - ab).sqrt() * m}[pred]


@given(data=batch(3), stride=st.integers(1, 400), pred=st.sampled_from(PREDICTIONS),
       var=st.sampled_from(["fixed_small", "fixed_large"]), clip=st.sampled_from([0.0, 1.0]))
def test_ddpm_step_matches_posterior(sandbox, data, stride, pred, var, clip):
    shape, dtype, (m, x, z), t, special = data
    tp = _prev_of(stride, t)
    prev, x0 = sandbox.call(D + "ddpm_step", m, x, t, tp, AB, noise=z, prediction_type=pred, variance_type=var,
                            clip_sample_range=clip)
    ab = _b(AB[t], x)
    abp = _b(torch.where(tp >= 0, AB[tp.clamp(min=0)], torch.ones((), dtype=torch.float64)), x)
    want_x0 = _x0(pred, m.double(), x.double(), ab)
    if clip > 0:
        want_x0 = want_x0.clamp(-clip, clip)
    beta = 1 - ab / abp
    mean = abp.sqrt() * beta / (1 - ab) * want_x0 + (ab / abp).sqrt() * (1 - abp) / (1 - ab) * x.double()
    var_t = ((1 - abp) / (1 - ab) * beta).clamp(min=1e-20) if var == "fixed_small" else beta
    want = torch.where(_b(t, x) > 0, mean + var_t.sqrt() * z.double(), mean)  # no noise at t = 0
    cond = _conditioning(t)
    close(x0, want_x0, dtype, scale=cond, non_finite_inputs=special)
    close(prev, want, dtype, scale=cond, non_finite_inputs=special)


@given(data=batch(3), stride=st.integers(1, 400), pred=st.sampled_from(PREDICTIONS), eta=st.floats(0, 1))
def test_ddim_step_matches_formula(sandbox, data, stride, pred, eta):
    shape, dtype, (m, x, z), t, special = data
    tp = _prev_of(stride, t)
    prev, x0 = sandbox.call(D + "ddim_step", m, x, t, tp, AB, noise=z, eta=eta, prediction_type=pred)
    ab = _b(AB[t], x)
    abp = _b(torch.where(tp >= 0, AB[tp.clamp(min=0)], torch.ones((), dtype=torch.float64)), x)
    md, xd = m.double(), x.double()
    want_x0 = _x0(pred, md, xd, ab)
    eps = {"epsilon": md, "sample": (xd - ab.sqrt() * md) / (1 - ab).sqrt(),
           "v_prediction": ab.sqrt() * md + (1 - ab).sqrt() * xd}[pred]
    sigma = eta * ((1 - abp) / (1 - ab) * (1 - ab / abp)).sqrt()
    want = abp.sqrt() * want_x0 + (1 - abp - sigma ** 2).clamp(min=0).sqrt() * eps
    if eta > 0:
        want = want + sigma * z.double()
    cond = _conditioning(t)
    close(x0, want_x0, dtype, scale=cond, non_finite_inputs=special)
    close(prev, want, dtype, scale=cond, non_finite_inputs=special)


@given(data=batch(3), stride=st.integers(1, 400), weights=st.lists(st.floats(-3, 3), min_size=1, max_size=3))
def test_plms_step_matches_pndm_transfer(sandbox, data, stride, weights):
    shape, dtype, (x, m1, m2), t, special = data
    tp = _prev_of(stride, t)
    outs = [m1, m2, m1][: len(weights)]
    got = sandbox.call(D + "plms_step", x, outs, weights, t, tp, AB)
    ab = _b(AB[t], x)
    abp = _b(torch.where(tp >= 0, AB[tp.clamp(min=0)], torch.ones((), dtype=torch.float64)), x)
    eps = sum(w * o.double() for w, o in zip(weights, outs))
    denom = ab * (1 - abp).sqrt() + (ab * (1 - ab) * abp).sqrt()
    want = (abp / ab).sqrt() * x.double() - (abp - ab) * eps / denom
    close(got, want, dtype, scale=1 + sum(abs(w) for w in weights), non_finite_inputs=special)


@given(shape=st.lists(st.integers(0, 5), min_size=0, max_size=4), dtype=st.sampled_from(FLOATS),
       seed=st.one_of(st.integers(0, 2 ** 63 - 1), st.sampled_from([0, 2 ** 63 - 1])),
       offset=st.one_of(st.integers(0, 2 ** 63 - 1), st.sampled_from([0, 2 ** 32 - 1, 2 ** 32, 2 ** 63 - 1])),
       layout=st.sampled_from(LAYOUTS))
def test_philox_normal_like_is_the_reference_stream(sandbox, shape, dtype, seed, offset, layout):
    like = arrange(torch.zeros(shape, dtype=dtype), layout)
    got = sandbox.call(D + "philox_normal_like", like, seed, offset)
    assert got.shape == like.shape and got.dtype == dtype
    want = torch.from_numpy(R.normals(seed, offset, like.numel())).reshape(like.shape)
    torch.testing.assert_close(got, want.to(dtype), rtol=0, atol=0)


BAD = [
    ("add_noise", lambda x: (x, x[:, :1], torch.tensor(3), AB), "noise"),
    ("add_noise", lambda x: (x, x, torch.tensor(T), AB), "timestep"),
    ("add_noise", lambda x: (x, x, torch.tensor(-1), AB), "timestep"),
    ("add_noise", lambda x: (x, x, torch.tensor(3.0), AB), "timestep"),
    ("add_noise", lambda x: (x, x, torch.tensor([1, 2, 3, 4, 5]), AB), "timestep"),
    ("add_noise", lambda x: (x.int(), x.int(), torch.tensor(3), AB), ""),
    ("training_target", lambda x: (x, x, torch.tensor([3, 4]), AB, "bogus", 0.0), "prediction_type"),
    ("philox_normal_like", lambda x: (x, 2 ** 63, 0), "seed"),
    ("philox_normal_like", lambda x: (x, 0, -5), "offset"),
]


@pytest.mark.parametrize("op,args,name", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_are_clear_errors(sandbox, op, args, name):
    err = sandbox.expect_error(D + op, *args(torch.randn(2, 3, 4, 4)))
    assert name in err.message, err.message


# Found by the fuzzers above: a prediction type that does not use an input (the epsilon target is the noise,
# a "sample" output is x0, an epsilon output is eps) must not turn a NaN/inf there into NaN through a 0 * x
# term, as torch's formulas never read it (csrc/include/vision_ext/ddpm.h, target_value). 37 elements: the
# vector lanes and the scalar tail of every CPU level.
NAN, INF = float("nan"), float("inf")
VALUES = torch.linspace(-2.0, 2.0, 37).reshape(1, 1, 1, 37)
TS, TPREV = torch.tensor([0, 500]), torch.tensor([-1, 400])


def _pair():
    return torch.cat([VALUES, VALUES.flip(-1)])


def test_unused_inputs_stay_out_of_training_targets():
    from tests.conftest import run_at_every_level
    from vision_ext.ops import ddpm

    v = _pair()

    def targets():
        eps = ddpm.training_target(torch.full_like(v, NAN), v, TS, AB, "epsilon")[1]
        x0 = ddpm.training_target(v, torch.full_like(v, INF), TS, AB, "sample")[1]
        return eps, x0

    for eps, x0 in run_at_every_level(targets).values():
        assert torch.equal(eps, v) and torch.equal(x0, v)
    # the v target reads both inputs, so a NaN original gives NaN as torch's formula does
    assert torch.isnan(ddpm.training_target(torch.full_like(v, NAN), v, TS, AB, "v_prediction")[1]).all()


def test_sample_predictions_take_x0_from_the_output_alone():
    from tests.conftest import run_at_every_level
    from vision_ext.ops import ddpm

    v, nan = _pair(), torch.full_like(_pair(), NAN)

    def steps():
        ddim_x0 = ddpm.ddim_step(v, nan, TS, TPREV, AB, prediction_type="sample")[1]
        ddpm_x0 = ddpm.ddpm_step(v, nan, TS, TPREV, AB, noise=torch.zeros_like(v), prediction_type="sample")[1]
        return ddim_x0, ddpm_x0

    for ddim_x0, ddpm_x0 in run_at_every_level(steps).values():
        assert torch.equal(ddim_x0, v) and torch.equal(ddpm_x0, v)
    # epsilon prediction reads the sample for x0: NaN in, NaN out
    assert torch.isnan(ddpm.ddim_step(v, nan, TS, TPREV, AB)[1]).all()


def test_plms_of_an_infinite_sample_stays_infinite():
    from tests.conftest import run_at_every_level
    from vision_ext.ops import ddpm

    v = _pair()
    inf = torch.full_like(v, INF)
    ab = AB.double()
    for got in run_at_every_level(lambda: ddpm.plms_step(inf, [v], [1.0], TS, TPREV, AB)).values():
        assert torch.isposinf(got).all()  # sqrt(abp / ab) * inf - c_e * eps
    # v prediction converts with the sample (eps = sqrt(ab) v + sqrt(1 - ab) x): inf - inf there is NaN, as in torch
    sa, sb = ab[TS].sqrt().view(2, 1, 1, 1), (1 - ab[TS]).sqrt().view(2, 1, 1, 1)
    c_x = (ab[TPREV.clamp(min=0)].where(TPREV >= 0, torch.ones(())) / ab[TS]).sqrt().view(2, 1, 1, 1)
    want = c_x * inf.double() - (sa * v.double() + sb * inf.double())
    got = ddpm.plms_step(inf, [v], [1.0], TS, TPREV, AB, prediction_type="v_prediction").double()
    assert torch.equal(torch.isnan(got), torch.isnan(want))
