"""`vision-ext compare-resnets` end to end: table on stdout, comparison.json and comparison.png."""
import json

import pytest

from vision_ext.cli import main

COMMON = ["--workers", "0", "--device", "cpu", "--no-progress"]
TINY = ["--subset", "8", "--batch-size", "8", "--epochs", "2", *COMMON]
# resnet101 is ~8 GFLOP per 32x32 training image: one step of 4 images keeps this test short.
ONE_STEP = ["--subset", "4", "--batch-size", "4", "--epochs", "1", *COMMON]


def test_resnet18_vs_resnet101_table_json_and_png(tmp_path, capsys):
    assert main(["compare-resnets", *ONE_STEP, "--out", str(tmp_path)]) == 0
    stdout = capsys.readouterr().out
    result = json.loads((tmp_path / "comparison.json").read_text())
    r18, r101 = result["runs"]
    assert (r18["model"], r101["model"]) == ("resnet18", "resnet101")
    # CIFAR-stem ResNets with a 10-class head.
    assert (r18["parameters"], r101["parameters"]) == (11_173_962, 42_512_970)
    # ~4x the weights, gradients and momentum: the deeper net's process peaks higher.
    assert r101["peak_memory_mib"] > r18["peak_memory_mib"]
    for run in (r18, r101):
        assert run["memory_kind"] == "cpu_peak_rss"
        assert run["total_time_s"] == pytest.approx(run["mean_epoch_time_s"]) and run["total_time_s"] > 0
        assert run["best_test_acc"] == max(run["curves"]["test_acc"])
        assert all(len(curve) == 1 for curve in run["curves"].values())
        assert (tmp_path / run["model"] / "metrics.json").exists()
    assert result["notes_section_3"]["resnet101"]["mean_epoch_s"] == 200.2
    for row in ("parameters", "peak RSS (CPU)", "total time (1 epoch)", "mean epoch time", "best test accuracy"):
        assert row in stdout and row in result["table"]
    assert "11.17 M" in stdout and "42.51 M" in stdout

    import matplotlib.image

    png = matplotlib.image.imread(str(tmp_path / "comparison.png"))
    assert png.shape[0] > 300 and png.shape[1] > 2 * png.shape[0] - 200  # two panels side by side
    assert png[..., :3].std() > 0.05  # not a blank canvas


def test_both_builds_of_one_model(tmp_path, capsys):
    assert main(["compare-resnets", "--models", "resnet-v2", "--impls", "fused,reference", *TINY,
                 "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "comparison.json").read_text())["runs"]
    assert [r["label"] for r in runs] == ["resnet-v2 (fused)", "resnet-v2 (reference)"]
    assert [r["fused"] for r in runs] == [True, False]
    # Same init, data and maths: the two builds learn the same thing.
    assert runs[0]["curves"]["train_loss"] == pytest.approx(runs[1]["curves"]["train_loss"], rel=1e-4)
    assert all(len(curve) == 2 for curve in runs[0]["curves"].values())
    assert runs[0]["total_time_s"] == pytest.approx(2 * runs[0]["mean_epoch_time_s"])
    assert runs[0]["best_test_acc"] == max(runs[0]["curves"]["test_acc"])
    assert "resnet-v2 (reference)" in capsys.readouterr().out
    assert (tmp_path / "comparison.png").stat().st_size > 10_000


def test_bad_arguments(tmp_path, capsys):
    for argv, message in ((["--models", "resnet18,vgg"], "unknown model(s) vgg"),
                          (["--impls", "fast"], "use fused, reference or fused,reference"),
                          (["--epochs", "-1"], "--epochs must be a positive integer")):
        with pytest.raises(SystemExit) as exit_info:
            main(["compare-resnets", *argv, "--out", str(tmp_path)])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["compare-resnets", "--help"])
    assert "Examples:" in capsys.readouterr().out
