"""Every command's error paths (issue 15), in-process through vision_ext.cli.main: bad checkpoints and images
(missing, folder, empty, truncated, corrupt, wrong kind), numbers at 0, negative and NaN, bad output paths and
devices. Each must end in one line on stderr naming the option and exit status 2: no traceback, no run."""
import os

import pytest
import torch

from helpers.cli_errors import fails
from vision_ext.cli import main

TINY_DDPM = ["--image-size", "4", "--base-channels", "4", "--batch-size", "2", "--no-progress"]
TINY_TRAIN = ["--model", "resnet-v1", "--subset", "8", "--batch-size", "8", "--epochs", "1", "--workers", "0",
              "--device", "cpu", "--no-progress"]




@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """Real checkpoints of both kinds, and broken files made from them."""
    d = tmp_path_factory.mktemp("ckpts")
    ddpm = str(d / "ddpm.pt")
    assert main(["ddpm", "train", "--steps", "1", "--out", ddpm, *TINY_DDPM]) == 0
    assert main(["train", *TINY_TRAIN, "--out", str(d / "run")]) == 0
    data = open(ddpm, "rb").read()
    files = {"ddpm": ddpm, "train": str(d / "run" / "checkpoint.pt"), "missing": str(d / "missing.pt"),
             "folder": str(d / "folder"), "empty": str(d / "empty.pt"), "truncated": str(d / "truncated.pt"),
             "text": str(d / "text.pt"), "foreign": str(d / "foreign.pt")}
    os.makedirs(files["folder"])
    open(files["empty"], "wb").close()
    open(files["truncated"], "wb").write(data[: len(data) // 2])
    open(files["text"], "w").write("not a checkpoint\n")
    torch.save({"weights": torch.ones(3)}, files["foreign"])
    return files


BAD_CHECKPOINTS = {
    "missing": "does not exist", "folder": "folder", "empty": "is empty (0 bytes)",
    "truncated": "not a readable PyTorch checkpoint", "text": "not a readable PyTorch checkpoint",
    "foreign": "not a vision_ext checkpoint",
}


@pytest.mark.parametrize("kind", [*BAD_CHECKPOINTS, "train"])
def test_ddpm_sample_bad_checkpoint(capsys, ckpts, kind, tmp_path):
    need = "is a `vision-ext train` checkpoint" if kind == "train" else BAD_CHECKPOINTS[kind]
    fails(capsys, ["ddpm", "sample", "--checkpoint", ckpts[kind], "-o", str(tmp_path / "g.png")], "--checkpoint",
           need)


@pytest.mark.parametrize("kind", [k for k in [*BAD_CHECKPOINTS, "train"] if k != "missing"])
def test_ddpm_train_resume_bad_checkpoint(capsys, ckpts, kind):
    need = {"folder": "a folder", "train": "is a `vision-ext train` checkpoint"}.get(kind) or BAD_CHECKPOINTS[kind]
    fails(capsys, ["ddpm", "train", "--resume", "--steps", "5", "--out", ckpts[kind], *TINY_DDPM], need)


@pytest.mark.parametrize("kind", ["empty", "truncated", "text", "foreign", "ddpm", "folder"])
def test_train_resume_bad_checkpoint(capsys, ckpts, kind, tmp_path):
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    target = run / "checkpoint.pt"
    if kind == "folder":
        target.mkdir()
    else:
        shutil.copy(ckpts[kind], target)
    need = {"ddpm": "is a `vision-ext ddpm train` checkpoint", "folder": "is a folder"}.get(kind) \
        or BAD_CHECKPOINTS[kind]
    fails(capsys, ["train", *TINY_TRAIN, "--resume", "--out", str(run)], need)


def test_train_ddpm_out_paths(capsys, ckpts, tmp_path):
    fails(capsys, ["ddpm", "train", "--steps", "2", "--out", ckpts["ddpm"], *TINY_DDPM], "already holds",
           "--resume", "--overwrite")
    fails(capsys, ["ddpm", "train", "--steps", "2", "--out", ckpts["folder"], *TINY_DDPM], "--out", "a folder")
    fails(capsys, ["train", *TINY_TRAIN, "--out", ckpts["text"]], "--out", "an existing file, not a folder")
    fails(capsys, ["compare-resnets", "--models", "resnet-v1", "--out", ckpts["text"]], "an existing file")
    fails(capsys, ["bench", "--quick", "--family", "residual", "--out", ckpts["text"]], "an existing file")


def test_ddpm_train_overwrite_starts_afresh(ckpts, tmp_path):
    import shutil

    ck = str(tmp_path / "d.pt")
    shutil.copy(ckpts["ddpm"], ck)
    assert main(["ddpm", "train", "--steps", "2", "--overwrite", "--seed", "3", "--out", ck, *TINY_DDPM]) == 0
    state = torch.load(ck, weights_only=False)
    assert state["step"] == 2 and state["config"]["seed"] == 3


DDPM_TRAIN_NUMBERS = [
    ("--steps", ["0", "-1"], "--steps must be at least 1"),
    ("--batch-size", ["0", "-1"], "--batch-size must be an integer >= 1"),
    ("--base-channels", ["0", "-1"], "--base-channels must be an integer >= 1"),
    ("--checkpoint-every", ["0", "-1"], "--checkpoint-every must be an integer >= 1"),
    ("--image-size", ["0", "-1", "3"], "--image-size must be an even number >= 4"),
    ("--lr", ["0", "-1", "nan", "inf"], "--lr must be a finite number > 0"),
    ("--min-snr-gamma", ["-1", "nan"], "--min-snr-gamma must be a finite number >= 0"),
    ("--seed", ["-1", str(2 ** 63)], "--seed must be in [0, 2^63 - 1]"),
]


@pytest.mark.parametrize("option,values,need", DDPM_TRAIN_NUMBERS, ids=[c[0] for c in DDPM_TRAIN_NUMBERS])
def test_ddpm_train_numbers(capsys, tmp_path, option, values, need):
    out = str(tmp_path / "d.pt")
    for value in values:
        fails(capsys, ["ddpm", "train", "--steps", "2", "--out", out, *TINY_DDPM, option, value], need)
        assert not os.path.exists(out)  # rejected before any training


def test_integer_options_given_nan_are_argparse_errors(capsys, tmp_path):
    fails(capsys, ["ddpm", "train", "--steps", "nan", "--out", str(tmp_path / "d.pt")], "invalid int value: 'nan'")
    fails(capsys, ["train", "--epochs", "nan", "--out", str(tmp_path)], "invalid int value: 'nan'")
    fails(capsys, ["features", "--max-corners", "nan"], "invalid int value: 'nan'")


DDPM_SAMPLE_NUMBERS = [
    ("--steps", ["0", "-1"], "--num and --steps must be at least 1"),
    ("--num", ["0", "-1"], "--num and --steps must be at least 1"),
    ("--eta", ["-1", "nan", "1.5"], "--eta must be a finite number in [0, 1]"),
    ("--seed", ["-1"], "--seed must be in [0, 2^63 - 1]"),
]


@pytest.mark.parametrize("option,values,need", DDPM_SAMPLE_NUMBERS, ids=[c[0] for c in DDPM_SAMPLE_NUMBERS])
def test_ddpm_sample_numbers(capsys, ckpts, tmp_path, option, values, need):
    png = tmp_path / "g.png"
    for value in values:
        fails(capsys, ["ddpm", "sample", "--checkpoint", ckpts["ddpm"], "--sampler", "ddim", "-o", str(png),
                        option, value], need)
        assert not png.exists()


def test_ddpm_sample_steps_beyond_training_eta_without_ddim_and_outputs(capsys, ckpts, tmp_path):
    base = ["ddpm", "sample", "--checkpoint", ckpts["ddpm"]]
    fails(capsys, [*base, "--steps", "1001", "-o", str(tmp_path / "g.png")], "--steps must be at most 1000")
    fails(capsys, [*base, "--eta", "0.5", "-o", str(tmp_path / "g.png")], "--eta applies to --sampler ddim only")
    fails(capsys, [*base, "-o", str(tmp_path / "g.xyz")], "unknown image extension .xyz", ".png")
    fails(capsys, [*base, "-o", str(tmp_path)], "a folder; give a file path")
    fails(capsys, [*base, "-o", os.path.join(ckpts["text"], "g.png")], "is a file, so the folder cannot be made")


TRAIN_NUMBERS = [
    ("--epochs", ["0", "-1"], "--epochs must be a positive integer"),
    ("--batch-size", ["0", "-1"], "--batch-size must be a positive integer"),
    ("--subset", ["0", "-1"], "--subset must be a positive integer"),
    ("--lr", ["0", "-1", "nan", "inf"], "--lr must be positive"),
    ("--momentum", ["-1", "nan"], "--momentum must be a finite number >= 0"),
    ("--weight-decay", ["-1", "nan"], "--weight-decay must be a finite number >= 0"),
    ("--workers", ["-1"], "--workers must be 0 or more"),
    ("--seed", ["-1"], "--seed must be in [0, 2^63 - 1]"),
    ("--stop-after", ["0", "-1"], "--stop-after must be a positive number of epochs"),
]


TRAIN_CASES = [pytest.param(cmd, *case, id=f"{cmd}{case[0]}") for cmd in ("train", "compare-resnets")
               for case in TRAIN_NUMBERS if not (cmd == "compare-resnets" and case[0] == "--stop-after")]


@pytest.mark.parametrize("command,option,values,need", TRAIN_CASES)
def test_train_and_compare_numbers(capsys, tmp_path, command, option, values, need):
    extra = ["--models", "resnet-v1"] if command == "compare-resnets" else ["--model", "resnet-v1"]
    for value in values:
        fails(capsys, [command, *extra, "--out", str(tmp_path / "run"), option, value], need)
    assert not (tmp_path / "run").exists()


FEATURE_NUMBERS = [
    ("--block-size", ["0", "-1", "32"], "--block-size must be in [1, 31]"),
    ("--ksize", ["0", "-3", "2", "9"], "--ksize must be 1, 3, 5, 7 or -1"),
    ("--threshold", ["-1", "256"], "--threshold must be in [0, 255]"),
    ("--quality", ["0", "-1", "nan"], "--quality must be > 0"),
    ("--k", ["nan", "inf"], "--k must be a finite number"),
    ("--max-corners", ["-1"], "--max-corners must be >= 0"),
    ("--threshold", ["nan"], "--threshold must be a number"),
    ("--min-distance", ["-1", "nan"], "--min-distance must be >= 0"),
]


@pytest.mark.parametrize("option,values,need", FEATURE_NUMBERS, ids=[c[0] for c in FEATURE_NUMBERS])
def test_features_numbers(capsys, tmp_path, option, values, need):
    out = tmp_path / "f.png"
    for value in values:
        fails(capsys, ["features", "--method", "gftt", "-o", str(out), option, value], need)
    assert not out.exists()


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "truncated", "text"])
def test_features_bad_images(capsys, tmp_path, kind):
    import cv2
    import numpy as np

    path = tmp_path / "img.png"
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        ok, buf = cv2.imencode(".png", np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8))
        path.write_bytes(buf.tobytes()[:40])
    elif kind == "text":
        path.write_text("not an image")
    fails(capsys, ["features", str(path), "-o", str(tmp_path / "out.png")], "IMAGE", "cannot read")


def test_features_outputs_and_devices(capsys, tmp_path):
    fails(capsys, ["features", "-o", str(tmp_path / "f.xyz")], "unknown image extension .xyz", ".png")
    fails(capsys, ["features", "-o", str(tmp_path / "f")], "unknown image extension (none)")
    fails(capsys, ["features", "-o", str(tmp_path)], "a folder; give a file path")
    fails(capsys, ["features", "--device", "bogus", "-o", str(tmp_path / "f.png")], "--device 'bogus': not a device")
    fails(capsys, ["features", "--device", "mps", "-o", str(tmp_path / "f.png")], "runs on cpu or cuda")
    if not torch.cuda.is_available():
        fails(capsys, ["features", "--device", "cuda", "-o", str(tmp_path / "f.png")], "no CUDA device")
    assert not list(tmp_path.iterdir())


def test_features_infinite_min_distance_keeps_the_best_corner(capsys, tmp_path):
    out = tmp_path / "f.png"
    assert main(["features", "--method", "gftt", "--min-distance", "inf", "-o", str(out)]) == 0
    assert "gftt: 1 points" in capsys.readouterr().out and out.exists()


def test_bench_and_info_bad_arguments(capsys, tmp_path):
    for value in ["0", "-1", "nan", "inf"]:
        fails(capsys, ["bench", "--min-time", value, "--out", str(tmp_path)], "--min-time must be a positive number")
    fails(capsys, ["info", "--bogus"], "unrecognized arguments: --bogus")
