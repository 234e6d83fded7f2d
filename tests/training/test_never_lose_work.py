"""Training never loses work (issue 15): a run SIGKILLed while it writes a checkpoint leaves the previous
checkpoint loadable and `--resume` continues from it exactly; Ctrl-C (SIGINT) saves, then stops with status
130. The runs are real `vision-ext` processes whose checkpoint write is hooked (tests/helpers/cli_with_slow_save.py)."""
import glob
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from vision_ext.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, "tests", "helpers", "cli_with_slow_save.py")
DDPM = ["--image-size", "4", "--base-channels", "4", "--batch-size", "2", "--no-progress"]
RESNET = ["--model", "resnet-v1", "--subset", "8", "--batch-size", "8", "--workers", "0", "--device", "cpu",
          "--no-progress"]


def _start(tmp_path, index, mode, args):
    marker = tmp_path / "marker"
    # The child computes with this process's thread count: reductions split by threads round differently,
    # and the resumed half of each comparison runs here.
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS=str(torch.get_num_threads()))
    proc = subprocess.Popen([sys.executable, DRIVER, str(marker), str(index), mode, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the run ended before its hooked save (status {proc.returncode}):\n{out}\n{err}")
        time.sleep(0.02)
    return proc


def _kill_mid_write(tmp_path, index, args):
    proc = _start(tmp_path, index, "kill", args)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _same_state(a: dict, b: dict) -> None:
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), k


def test_ddpm_killed_mid_checkpoint_keeps_the_previous_and_resumes_exactly(tmp_path):
    ck = str(tmp_path / "d.pt")
    _kill_mid_write(tmp_path, 2, ["ddpm", "train", "--steps", "4", "--checkpoint-every", "2", "--out", ck, *DDPM])
    assert glob.glob(ck + ".*.tmp")  # the half-written temp file of the killed write
    assert torch.load(ck, weights_only=False)["step"] == 2  # the previous checkpoint, whole
    assert main(["ddpm", "train", "--steps", "4", "--checkpoint-every", "2", "--resume", "--out", ck, *DDPM]) == 0
    assert not glob.glob(ck + ".*.tmp")  # the next successful write clears it
    straight = str(tmp_path / "straight.pt")
    assert main(["ddpm", "train", "--steps", "4", "--checkpoint-every", "2", "--out", straight, *DDPM]) == 0
    a, b = torch.load(ck, weights_only=False), torch.load(straight, weights_only=False)
    assert a["step"] == b["step"] == 4 and a["losses"] == b["losses"]
    _same_state(a["model"], b["model"])
    _same_state(a["ema"], b["ema"])


def test_ddpm_ctrl_c_saves_the_step_then_stops_and_resumes_exactly(tmp_path):
    ck = str(tmp_path / "d.pt")
    proc = _start(tmp_path, 1, "signal", ["ddpm", "train", "--steps", "100000", "--checkpoint-every", "1",
                                          "--out", ck, *DDPM])
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err.strip().splitlines()[-1]
    stopped = torch.load(ck, weights_only=False)["step"]
    assert 1 <= stopped < 100000 and f"at step {stopped} of 100000" in err
    until = str(stopped + 2)
    assert main(["ddpm", "train", "--steps", until, "--resume", "--out", ck, *DDPM]) == 0
    straight = str(tmp_path / "straight.pt")
    assert main(["ddpm", "train", "--steps", until, "--out", straight, *DDPM]) == 0
    a, b = torch.load(ck, weights_only=False), torch.load(straight, weights_only=False)
    assert a["losses"] == b["losses"]
    _same_state(a["ema"], b["ema"])


def test_train_killed_mid_checkpoint_keeps_the_previous_and_resumes_exactly(tmp_path):
    run, straight = tmp_path / "run", tmp_path / "straight"
    _kill_mid_write(tmp_path, 2, ["train", *RESNET, "--epochs", "2", "--out", str(run)])
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 1
    assert main(["train", *RESNET, "--epochs", "2", "--resume", "--out", str(run)]) == 0
    assert main(["train", *RESNET, "--epochs", "2", "--out", str(straight)]) == 0
    a = torch.load(run / "checkpoint.pt", weights_only=False)
    b = torch.load(straight / "checkpoint.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 2
    _same_state(a["model"], b["model"])
    assert not glob.glob(str(run / "checkpoint.pt.*.tmp"))


def test_train_ctrl_c_finishes_the_epoch_saves_and_stops(tmp_path):
    run = tmp_path / "run"
    proc = _start(tmp_path, 1, "signal", ["train", *RESNET, "--epochs", "3", "--out", str(run)])
    proc.send_signal(signal.SIGINT)  # during epoch 1's checkpoint write or epoch 2
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    stopped = torch.load(run / "checkpoint.pt", weights_only=False)
    assert stopped["epoch"] in (1, 2)
    assert "Traceback" not in err and f"at epoch {stopped['epoch']} of 3" in err and "--resume" in err
    straight = tmp_path / "straight"
    assert main(["train", *RESNET, "--epochs", "3", "--stop-after", str(stopped["epoch"]), "--out",
                 str(straight)]) == 0
    _same_state(stopped["model"], torch.load(straight / "checkpoint.pt", weights_only=False)["model"])
