"""The attributes and methods diffusers pipelines use on a scheduler, and step outputs that behave
like diffusers' (attributes, keys, indexing, to_tuple, return_dict=False)."""
import pytest
import torch

diffusers = pytest.importorskip("diffusers")

from vision_ext.diffusion import DDIMScheduler, DDPMScheduler, PLMSScheduler  # noqa: E402

PAIRS = [(DDPMScheduler, diffusers.DDPMScheduler, {}), (DDIMScheduler, diffusers.DDIMScheduler, {}),
         (PLMSScheduler, diffusers.PNDMScheduler, dict(skip_prk_steps=True))]
IDS = ["ddpm", "ddim", "plms"]


def _step_both(ours, ref, kwargs, return_dict=True):
    a, b = ref(**kwargs), ours(**kwargs)
    a.set_timesteps(10)
    b.set_timesteps(10)
    x, m = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    t = a.timesteps[0]
    if ours is PLMSScheduler:
        return a.step(m, t, x, return_dict=return_dict), b.step(m, t, x, return_dict=return_dict)
    return (a.step(m, t, x, generator=torch.Generator().manual_seed(0), return_dict=return_dict),
            b.step(m, t, x, generator=torch.Generator().manual_seed(0), return_dict=return_dict))


@pytest.mark.parametrize("ours,ref,kwargs", PAIRS, ids=IDS)
def test_public_api_as_diffusers(ours, ref, kwargs):
    a, b = ref(**kwargs), ours(**kwargs)
    assert b.order == a.order == type(b).order
    assert b.init_noise_sigma == a.init_noise_sigma
    assert len(b) == len(a)
    x = torch.randn(1, 3, 4, 4)
    assert b.scale_model_input(x, 10) is x
    assert (a.timesteps is None) == (b.timesteps is None)  # PNDM has none before set_timesteps
    if a.timesteps is not None:
        assert torch.equal(a.timesteps, b.timesteps)
    a.set_timesteps(25, device="cpu")
    b.set_timesteps(25, device="cpu")
    assert b.timesteps.dtype == a.timesteps.dtype == torch.int64
    assert b.timesteps.device == torch.device("cpu")
    assert torch.equal(a.timesteps, b.timesteps)
    assert b.num_inference_steps == a.num_inference_steps == 25


@pytest.mark.parametrize("ours,ref,kwargs", PAIRS, ids=IDS)
def test_outputs_behave_like_diffusers(ours, ref, kwargs):
    a, b = _step_both(ours, ref, kwargs)
    assert list(b.keys()) == list(a.keys())
    assert len(b) == len(a) and list(b) == list(a)
    assert len(b.to_tuple()) == len(a.to_tuple())
    for key in a.keys():
        torch.testing.assert_close(b[key], a[key])
        assert b[key] is getattr(b, key)
        assert key in b
    for i in range(len(a.to_tuple())):
        torch.testing.assert_close(b[i], a[i])
    assert [v.shape for v in b.values()] == [v.shape for v in a.values()]
    assert [k for k, _ in b.items()] == list(a.keys())
    assert len(b[:1]) == 1 and b[:1][0] is b.prev_sample
    assert dict(b).keys() == dict(a).keys()
    if "pred_original_sample" not in a.keys():  # PLMS: a field that is None is not a key
        assert b.pred_original_sample is None
        with pytest.raises(KeyError):
            b["pred_original_sample"]
    with pytest.raises(KeyError):
        b["sample"]


@pytest.mark.parametrize("ours,ref,kwargs", PAIRS, ids=IDS)
def test_return_dict_false_gives_diffusers_tuple(ours, ref, kwargs):
    torch.manual_seed(0)
    a, b = _step_both(ours, ref, kwargs, return_dict=False)
    torch.manual_seed(0)
    _, d = _step_both(ours, ref, kwargs, return_dict=True)
    assert type(b) is tuple and len(b) == len(a)
    for u, v, w in zip(b, d.to_tuple(), a):
        torch.testing.assert_close(u, v, rtol=0, atol=0)
        torch.testing.assert_close(u, w, rtol=5e-4, atol=5e-4)


def test_unnamed_variance_type_is_an_error_naming_the_choices():
    with pytest.raises(ValueError, match=r"variance_type: expected one of 'fixed_small'.*'learned_range'.*"
                                         r"got 'fixed_smal'.*'fixed_small'"):
        DDPMScheduler(variance_type="fixed_smal")
    with pytest.raises(ValueError, match="variance_type"):
        DDPMScheduler.from_config({"variance_type": None})


def test_diffusers_runs_unnamed_variance_types_as_fixed_small():
    """What the error message tells the user: diffusers' behaviour for such values is 'fixed_small'."""
    x, m = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    outs = []
    for vt in ("fixed_smal", None, "fixed_small"):
        s = diffusers.DDPMScheduler(variance_type=vt)
        s.set_timesteps(10)
        outs.append(s.step(m, s.timesteps[2], x, generator=torch.Generator().manual_seed(0)).prev_sample)
    ours = DDPMScheduler(variance_type="fixed_small")
    ours.set_timesteps(10)
    mine = ours.step(m, ours.timesteps[2], x, generator=torch.Generator().manual_seed(0)).prev_sample
    for o in outs:
        torch.testing.assert_close(o, outs[-1], rtol=0, atol=0)
        torch.testing.assert_close(mine, o, rtol=5e-4, atol=5e-4)


def test_list_of_generators_draws_one_sample_each():
    """diffusers' randn_tensor: generator[i] draws sample i (pipelines pass lists)."""
    ref, ours = diffusers.DDPMScheduler(), DDPMScheduler()
    ref.set_timesteps(10)
    ours.set_timesteps(10)
    x, m = torch.randn(3, 3, 8, 8), torch.randn(3, 3, 8, 8)
    gens = lambda: [torch.Generator().manual_seed(s) for s in (5, 6, 7)]  # noqa: E731
    a = ref.step(m, ref.timesteps[1], x, generator=gens()).prev_sample
    b = ours.step(m, ours.timesteps[1], x, generator=gens()).prev_sample
    torch.testing.assert_close(b, a, rtol=5e-4, atol=5e-4)
    with pytest.raises(ValueError, match="generator"):
        ours.step(m, ours.timesteps[1], x, generator=gens()[:2])
