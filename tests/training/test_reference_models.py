import pytest
import torch

from vision_ext.models import reference as ref
from vision_ext.training import MODELS, build_model, count_parameters


def test_reference_resnets_have_torchvision_parameter_counts():
    # torchvision.models.resnet18() / resnet101() at 1000 classes.
    assert count_parameters(ref.resnet18()) == 11_689_512
    assert count_parameters(ref.resnet101()) == 44_549_160


def test_reference_keys_match_torchvision_naming():
    keys = list(ref.resnet18().state_dict())
    assert keys[:6] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                        "bn1.num_batches_tracked"]
    assert "layer2.0.downsample.0.weight" in keys and "layer2.0.downsample.1.running_var" in keys
    assert keys[-2:] == ["fc.weight", "fc.bias"]
    assert "layer3.22.bn3.weight" in ref.resnet101().state_dict()


@pytest.mark.parametrize("name", ["resnet18", "resnet-v1", "resnet-v2"])
def test_fused_and_reference_builds_agree(name):
    fused, plain = build_model(name, 10, fused=True), build_model(name, 10, fused=False)
    a, b = fused.state_dict(), plain.state_dict()
    assert sorted(a) == sorted(b) and all(a[k].shape == b[k].shape for k in a)
    plain.load_state_dict(a)
    x = torch.randn(4, 3, 32, 32)
    for training in (True, False):
        fused.train(training), plain.train(training)
        torch.testing.assert_close(fused(x), plain(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["resnet18", "resnet-v2"])
def test_same_seed_gives_the_same_initial_weights_in_both_builds(name):
    torch.manual_seed(0)
    fused = build_model(name, 10, fused=True).state_dict()
    torch.manual_seed(0)
    plain = build_model(name, 10, fused=False).state_dict()
    assert all(torch.equal(fused[k], plain[k]) for k in plain)


def test_resnet101_fused_and_reference_keys_agree():
    a = build_model("resnet101", 10, fused=True).state_dict()
    b = build_model("resnet101", 10, fused=False).state_dict()
    assert list(a) == list(b) and all(a[k].shape == b[k].shape for k in a)


def test_notes_nets_get_a_classifier_head():
    for name in ("resnet-v1", "resnet-v2"):
        for fused in (True, False):
            assert build_model(name, 7, fused)(torch.randn(2, 3, 32, 32)).shape == (2, 7)


def test_unknown_model():
    with pytest.raises(ValueError, match="choose one of " + ", ".join(MODELS)):
        build_model("vgg16")
