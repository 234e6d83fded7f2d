"""`vision-ext train` end to end on CPU with tiny subsets of the bundled digits."""
import json
import os

import pytest
import torch

from vision_ext.cli import main

TINY = ["--model", "resnet-v1", "--subset", "64", "--batch-size", "32", "--device", "cpu", "--no-progress"]


def _train(out, *extra):
    return main(["train", *TINY, "--out", str(out), *extra])


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())


def test_train_writes_metrics_and_checkpoint(tmp_path):
    assert _train(tmp_path, "--epochs", "2", "--workers", "0") == 0
    data = _metrics(tmp_path)
    assert data["config"]["model"] == "resnet-v1" and data["config"]["parameters"] > 0
    assert [r["epoch"] for r in data["epochs"]] == [1, 2]
    for record in data["epochs"]:
        assert record["memory_kind"] == "cpu_peak_rss" and record["peak_memory_mib"] > 0
        assert record["images_per_s"] > 0 and record["epoch_time_s"] >= record["train_time_s"] > 0
        assert 0 <= record["test_acc"] <= 1 and record["train_loss"] > 0
    assert data["epochs"][1]["lr"] < data["epochs"][0]["lr"]  # cosine decay
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 2
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "data", "recipe"} <= set(state)
    assert {"torch", "numpy", "python"} <= set(state["rng"])
    assert state["optimizer"]["state"]  # momentum buffers saved
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.pt", "metrics.json"]


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(straight, "--epochs", "2", "--workers", "0") == 0
    assert _train(split, "--epochs", "2", "--workers", "0", "--stop-after", "1") == 0
    assert [r["epoch"] for r in _metrics(split)["epochs"]] == [1]
    # The resumed half uses DataLoader workers: data order must not depend on them.
    assert _train(split, "--epochs", "2", "--workers", "2", "--resume") == 0
    a = torch.load(straight / "checkpoint.pt", weights_only=False)
    b = torch.load(split / "checkpoint.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 2
    for key, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][key]), key
    for pid, buf in a["optimizer"]["state"].items():
        assert torch.equal(buf["momentum_buffer"], b["optimizer"]["state"][pid]["momentum_buffer"])
    assert a["scheduler"] == b["scheduler"]
    ma, mb = _metrics(straight)["epochs"], _metrics(split)["epochs"]
    assert [r["train_loss"] for r in ma] == [r["train_loss"] for r in mb]
    assert [r["test_acc"] for r in ma] == [r["test_acc"] for r in mb]


def test_resnet18_no_fused_amp_channels_last(tmp_path):
    # The reference build with bf16 autocast and NHWC on CPU: runs and learns something finite.
    assert main(["train", "--model", "resnet18", "--no-fused", "--amp", "--channels-last", "--subset", "32",
                 "--batch-size", "16", "--epochs", "1", "--workers", "0", "--device", "cpu", "--no-progress",
                 "--out", str(tmp_path)]) == 0
    data = _metrics(tmp_path)
    assert data["config"]["fused"] is False and data["config"]["amp"] and data["config"]["channels_last"]
    assert torch.isfinite(torch.tensor(data["epochs"][0]["train_loss"]))


def _usage_error(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_bad_arguments_name_the_fix(tmp_path, capsys):
    out = ["--out", str(tmp_path / "run")]
    err = _usage_error(capsys, ["train", "--model", "vgg16", *out])
    assert "unknown model 'vgg16'" in err and "resnet18, resnet101, resnet-v1, resnet-v2" in err
    err = _usage_error(capsys, ["train", "--epochs", "0", *out])
    assert "--epochs must be a positive integer, got 0" in err
    err = _usage_error(capsys, ["train", "--dataset", "cifar10", "--data-dir", str(tmp_path / "nowhere"), *out])
    assert "CIFAR-10 not found" in err and "cifar-10-python.tar.gz" in err and "--dataset digits" in err
    err = _usage_error(capsys, ["train", "--dataset", "cifar10", *out])
    assert "needs --data-dir" in err
    err = _usage_error(capsys, ["train", "--dataset", "imagenet", *out])
    assert "unknown dataset 'imagenet'" in err
    err = _usage_error(capsys, ["train", *TINY, "--resume", *out])
    assert "no checkpoint" in err and "without --resume" in err


def test_existing_run_and_recipe_mismatch_are_refused(tmp_path, capsys):
    assert _train(tmp_path, "--epochs", "2", "--stop-after", "1", "--workers", "0") == 0
    err = _usage_error(capsys, ["train", *TINY, "--epochs", "2", "--out", str(tmp_path)])
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    err = _usage_error(capsys, ["train", *TINY, "--epochs", "2", "--lr", "0.1", "--resume", "--out", str(tmp_path)])
    assert "--lr 0.05 (checkpoint) vs 0.1 (now)" in err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "Examples:" in text and "--resume" in text and "torchrun --nproc_per_node 2" in text
