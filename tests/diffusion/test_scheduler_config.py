"""Scheduler configs as diffusers has them: a read-only mapping with attribute access, from_config
from ours / a dict / a diffusers config, and scheduler_config.json folders that either library
writes and the other reads."""
import copy
import json
import pickle
import warnings

import numpy as np
import pytest
import torch

diffusers = pytest.importorskip("diffusers")

from vision_ext.diffusion import DDIMScheduler, DDPMScheduler, PLMSScheduler  # noqa: E402

# (ours, diffusers' peer, constructor arguments that differ from the defaults)
PAIRS = [
    (DDPMScheduler, diffusers.DDPMScheduler, dict(variance_type="fixed_large", beta_schedule="scaled_linear")),
    (DDIMScheduler, diffusers.DDIMScheduler, dict(steps_offset=1, set_alpha_to_one=False, clip_sample=False)),
    (PLMSScheduler, diffusers.PNDMScheduler, dict(skip_prk_steps=True, timestep_spacing="trailing")),
]
IDS = ["ddpm", "ddim", "plms"]


def _public(config):
    return {k: v for k, v in dict(config).items() if not k.startswith("_")}


def _one_step(sched, steps=10):
    sched.set_timesteps(steps)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    m = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    kwargs = {"generator": torch.Generator().manual_seed(2)} if not isinstance(sched, PLMSScheduler) and \
        not isinstance(sched, diffusers.PNDMScheduler) else {}
    return sched.step(m, sched.timesteps[0], x, **kwargs).prev_sample


@pytest.mark.parametrize("ours,ref,kwargs", PAIRS, ids=IDS)
def test_config_is_a_read_only_mapping_with_attributes(ours, ref, kwargs):
    cfg = ours(**kwargs).config
    ref_cfg = ref(**kwargs).config
    assert isinstance(cfg, dict)  # diffusers' from_config requires a dict
    assert _public(cfg) == _public(ref_cfg)
    assert sorted(cfg["_use_default_values"]) == sorted(ref_cfg["_use_default_values"])
    assert cfg["num_train_timesteps"] == cfg.num_train_timesteps == 1000
    assert dict(cfg)["timestep_spacing"] == kwargs.get("timestep_spacing", "leading")
    with pytest.raises(AttributeError, match="no entry"):
        cfg.not_an_entry
    for mutate in (lambda: cfg.__setitem__("beta_end", 1.0), lambda: setattr(cfg, "beta_end", 1.0),
                   lambda: cfg.pop("beta_end"), lambda: cfg.update(beta_end=1.0), lambda: cfg.__delitem__("beta_end"),
                   lambda: cfg.setdefault("x", 1), lambda: cfg.clear()):
        with pytest.raises(TypeError, match="read-only"):
            mutate()
    assert cfg.beta_end == 0.02
    assert pickle.loads(pickle.dumps(cfg)) == cfg and copy.deepcopy(cfg) == cfg


@pytest.mark.parametrize("ours,ref,kwargs", PAIRS, ids=IDS)
def test_from_config_takes_ours_a_dict_and_diffusers(ours, ref, kwargs):
    mine = ours(**kwargs)
    for source in (mine.config, dict(mine.config), ref(**kwargs).config):
        built = ours.from_config(source)
        assert type(built) is ours and _public(built.config) == _public(mine.config)
        torch.testing.assert_close(_one_step(built), _one_step(ours(**kwargs)), rtol=0, atol=0)
    # diffusers takes ours too, and steps as from its own config
    theirs = ref.from_config(mine.config)
    assert _public(theirs.config) == _public(ref(**kwargs).config)
    # keyword arguments override entries
    assert ours.from_config(mine.config, beta_end=0.03).config.beta_end == 0.03


def test_from_config_across_classes_as_diffusers():
    """Entries left at their defaults are dropped (the target's defaults apply); entries another
    scheduler takes are kept in the config but not passed; both silently."""
    for src_ours, src_ref, kwargs in [(DDIMScheduler, diffusers.DDIMScheduler, {}),
                                      (DDIMScheduler, diffusers.DDIMScheduler, dict(set_alpha_to_one=True)),
                                      (DDPMScheduler, diffusers.DDPMScheduler, dict(variance_type="fixed_large"))]:
        for dst_ours, dst_ref in [(PLMSScheduler, diffusers.PNDMScheduler), (DDIMScheduler, diffusers.DDIMScheduler),
                                  (DDPMScheduler, diffusers.DDPMScheduler)]:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                got = dst_ours.from_config(src_ours(**kwargs).config, skip_prk_steps=True) \
                    if dst_ours is PLMSScheduler else dst_ours.from_config(src_ours(**kwargs).config)
            want = dst_ref.from_config(src_ref(**kwargs).config, skip_prk_steps=True) \
                if dst_ref is diffusers.PNDMScheduler else dst_ref.from_config(src_ref(**kwargs).config)
            assert _public(got.config) == _public(want.config), (src_ours, dst_ours, kwargs)


def test_unknown_entries_warn_and_are_returned():
    cfg = {"beta_schedule": "scaled_linear", "not_a_setting": 3, "_class_name": "DDIMScheduler"}
    with pytest.warns(UserWarning, match="not_a_setting"):
        sched, unused = DDIMScheduler.from_config(cfg, return_unused_kwargs=True, extra_kwarg=1)
    assert sched.config.beta_schedule == "scaled_linear"
    assert unused["not_a_setting"] == 3 and unused["extra_kwarg"] == 1
    assert sched.config["_class_name"] == "DDIMScheduler"


def test_config_repair_by_internal_dict_as_diffusers_pipelines_do():
    """Stable Diffusion pipelines assign scheduler._internal_dict to fix an old steps_offset."""
    from diffusers.configuration_utils import FrozenDict

    ours, ref = DDIMScheduler(), diffusers.DDIMScheduler()
    for s in (ours, ref):
        s._internal_dict = FrozenDict({**s.config, "steps_offset": 1})
        s.set_timesteps(10)
    assert ours.config.steps_offset == 1 and ours.timesteps.tolist() == ref.timesteps.tolist()
    assert ours.timesteps[-1] == 1


def test_from_config_rejects_paths_and_non_mappings(tmp_path):
    with pytest.raises(TypeError, match="from_pretrained"):
        DDIMScheduler.from_config(str(tmp_path))
    with pytest.raises(TypeError, match="mapping"):
        DDIMScheduler.from_config(["beta_end", 0.02])


@pytest.mark.parametrize("ours,ref,kwargs", PAIRS, ids=IDS)
def test_saved_file_is_diffusers_own(ours, ref, kwargs, tmp_path):
    """save_pretrained writes the bytes diffusers writes for the same config."""
    ours(**kwargs).save_pretrained(tmp_path / "a")
    ref(**kwargs).save_pretrained(tmp_path / "b")
    text = (tmp_path / "a" / "scheduler_config.json").read_text()
    assert text == (tmp_path / "b" / "scheduler_config.json").read_text()
    saved = json.loads(text)
    assert saved["_class_name"] == ref.__name__ and saved["_diffusers_version"] == diffusers.__version__


@pytest.mark.parametrize("ours,ref,kwargs", PAIRS, ids=IDS)
def test_folders_load_in_either_library(ours, ref, kwargs, tmp_path):
    ours(**kwargs).save_pretrained(tmp_path / "mine" / "scheduler")
    ref(**kwargs).save_config(tmp_path / "theirs" / "scheduler")
    # ours -> diffusers
    theirs = ref.from_pretrained(tmp_path / "mine", subfolder="scheduler")
    assert _public(theirs.config) == _public(ref(**kwargs).config)
    # diffusers -> ours, by subfolder and by the folder itself; load_config reads the dict
    for built in (ours.from_pretrained(tmp_path / "theirs", subfolder="scheduler"),
                  ours.from_pretrained(tmp_path / "theirs" / "scheduler")):
        assert _public(built.config) == _public(ours(**kwargs).config)
        torch.testing.assert_close(_one_step(built), _one_step(ours(**kwargs)), rtol=0, atol=0)
    assert ours.load_config(tmp_path / "theirs", subfolder="scheduler")["_class_name"] == ref.__name__
    # ours -> ours steps as before saving
    again = ours.from_pretrained(tmp_path / "mine" / "scheduler")
    torch.testing.assert_close(_one_step(again), _one_step(ours(**kwargs)), rtol=0, atol=0)


def test_trained_betas_round_trip(tmp_path):
    betas = np.linspace(1e-4, 0.03, 100)
    for value in (betas, betas.tolist(), torch.from_numpy(betas)):
        DDPMScheduler(num_train_timesteps=100, trained_betas=value).save_pretrained(tmp_path)
        new = DDPMScheduler.from_pretrained(tmp_path)
        assert new.betas.tolist() == torch.from_numpy(betas).tolist()
    ref = diffusers.DDPMScheduler.from_pretrained(tmp_path)
    torch.testing.assert_close(ref.betas.double(), new.betas, rtol=1e-6, atol=0)


def test_missing_config_names_the_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="scheduler_config.json"):
        DDIMScheduler.from_pretrained(tmp_path, subfolder="scheduler")
    with pytest.raises(FileNotFoundError, match="not a local file or folder"):
        DDIMScheduler.load_config("some-org/some-model")
    (tmp_path / "scheduler_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid JSON"):
        DDIMScheduler.from_pretrained(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file"):
        DDIMScheduler().save_config(tmp_path / "file")
