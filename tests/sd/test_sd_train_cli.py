"""`vision-ext sd train` / `sd evaluate` error paths: one line on stderr naming the option, exit status 2, and
nothing trained; and the evaluation's pieces (accuracy table, image conversion)."""
import os

import pytest
import torch

from helpers.cli_errors import fails as _fails

QUICK = ["--quick", "--vae-steps", "1", "--text-steps", "1", "--unet-steps", "1", "--no-progress"]


def test_train_bad_out(capsys, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    _fails(capsys, ["sd", "train", "--out", str(a_file), *QUICK], "--out", "an existing file, not a folder")
    _fails(capsys, ["sd", "train", "--out", str(tmp_path / "none"), "--resume", *QUICK], "--resume", "holds no run")
    run = tmp_path / "run"
    run.mkdir()
    (run / "train_state.pt").write_text("not a checkpoint")
    _fails(capsys, ["sd", "train", "--out", str(run), *QUICK], "already holds a run", "--resume", "--overwrite")
    _fails(capsys, ["sd", "train", "--out", str(run), "--resume", *QUICK], "--resume", "not a readable")
    _fails(capsys, ["sd", "train", "--out", str(run), "--resume", "--overwrite"], "contradict")
    torch.save({"weights": torch.ones(2)}, run / "train_state.pt")
    _fails(capsys, ["sd", "train", "--out", str(run), "--resume"], "--resume", "not a `vision-ext sd train`")
    assert not os.path.exists(run / "model_index.json")


TRAIN_NUMBERS = [
    ("--vae-steps", ["0", "-3"], "--vae-steps must be an integer >= 1"),
    ("--unet-steps", ["0"], "--unet-steps must be an integer >= 1"),
    ("--caption-dropout", ["-0.1", "1", "nan"], "--caption-dropout must be a finite number in [0, 0.99]"),
    ("--checkpoint-every", ["0"], "--checkpoint-every must be an integer >= 1"),
    ("--stop-after", ["0"], "--stop-after must be an integer >= 1"),
    ("--seed", ["-1"], "--seed must be in [0, 2^63 - 1]"),
]


@pytest.mark.parametrize("option,values,need", TRAIN_NUMBERS, ids=[c[0] for c in TRAIN_NUMBERS])
def test_train_bad_numbers(capsys, tmp_path, option, values, need):
    for value in values:
        _fails(capsys, ["sd", "train", "--out", str(tmp_path / "r"), *QUICK, option, value], need)
    assert not os.path.exists(tmp_path / "r")


def test_evaluate_bad_arguments(capsys, tmp_path, sd_pipeline_dir):
    _, foreign = sd_pipeline_dir  # a diffusers SD folder whose tokenizer knows nothing of digits
    _fails(capsys, ["sd", "evaluate", "--checkpoint", str(tmp_path)], "--checkpoint", "no model_index.json")
    _fails(capsys, ["sd", "evaluate", "--checkpoint", foreign], "--checkpoint", "does not know the digit captions")


def test_evaluate_bad_numbers(capsys, tmp_path):
    from vision_ext.sd.training import vocab
    from vision_ext.sd.training.data import caption_words

    folder = tmp_path / "sd"
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    vocab.write_tokenizer(str(folder / "tokenizer"), caption_words(), 16)
    for option, value, need in [("--guidance", "1", "--guidance must be a finite number in (1, 100]"),
                                ("--guidance", "nan", "--guidance"), ("--per-digit", "0", "--per-digit"),
                                ("--steps", "0", "--steps"), ("--seed", "-2", "--seed")]:
        _fails(capsys, ["sd", "evaluate", "--checkpoint", str(folder), option, value], need)


def test_accuracy_and_image_conversion():
    from vision_ext.sd.training.evaluate import accuracy, to_digit_images

    pred = torch.arange(10).repeat_interleave(2)
    pred[0] = 5  # one of the two zeros read as a five
    pred[19] = 0
    acc = accuracy(pred, 2)
    assert acc["zero"] == 0.5 and acc["nine"] == 0.5 and acc["one"] == 1.0
    assert acc["overall"] == pytest.approx(18 / 20)
    img = torch.rand(3, 3, 32, 32)
    out = to_digit_images(img)
    assert out.dtype == torch.uint8 and out.shape == (3, 3, 32, 32)
    assert torch.equal(out[:, 0], (img.mean(dim=1) * 255).round().to(torch.uint8))


def test_digit_classifier_reads_the_real_held_out_digits():
    from vision_ext.data.digits import load_digits32
    from vision_ext.sd.training.evaluate import classify, digit_classifier

    model, held_out = digit_classifier()
    images, labels = load_digits32(train=False)
    pred = classify(model, images)
    assert held_out == pytest.approx((pred == labels).float().mean().item())
    assert held_out > 0.97
