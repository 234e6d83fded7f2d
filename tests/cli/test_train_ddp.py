"""`torchrun --nproc_per_node 2 -m vision_ext.cli train` with gloo on CPU."""
import json
import os
import subprocess
import sys

import torch

import vision_ext
from vision_ext.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(vision_ext.__file__)))
COMMON = ["--model", "resnet-v1", "--subset", "64", "--epochs", "1", "--workers", "0", "--device", "cpu",
          "--no-progress"]


def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path):
    ddp_out, single_out = tmp_path / "ddp", tmp_path / "single"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    # --standalone picks a free rendezvous port, so parallel test runs do not collide.
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "vision_ext.cli", "train", *COMMON, "--batch-size", "16", "--out", str(ddp_out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("epoch 1/1") == 1  # only rank 0 reports
    assert sorted(os.listdir(ddp_out)) == ["checkpoint.pt", "metrics.json"]
    data = json.loads((ddp_out / "metrics.json").read_text())
    assert data["config"]["world_size"] == 2 and data["config"]["batch_size"] == 16
    assert len(data["epochs"]) == 1 and data["config"]["train_images"] == 64

    # resnet-v1 has no BatchNorm, so 2 processes x 16 images (DistributedSampler interleaves one shuffled
    # order) take the same steps as 1 process x 32 images: weights agree up to summation order.
    assert main(["train", *COMMON, "--batch-size", "32", "--out", str(single_out)]) == 0
    ddp = torch.load(ddp_out / "checkpoint.pt", weights_only=False)["model"]
    single = torch.load(single_out / "checkpoint.pt", weights_only=False)["model"]
    torch.manual_seed(0)  # the runs' initialisation (--seed 0): training must have moved the weights
    initial = vision_ext.training.build_model("resnet-v1", 10).state_dict()
    assert max((ddp[k] - initial[k]).abs().max().item() for k in ddp) > 1e-3
    for key in single:
        torch.testing.assert_close(ddp[key], single[key], rtol=1e-4, atol=1e-5, msg=key)
    single_metrics = json.loads((single_out / "metrics.json").read_text())["epochs"][0]
    assert abs(data["epochs"][0]["train_loss"] - single_metrics["train_loss"]) < 1e-4
    assert data["epochs"][0]["test_acc"] == single_metrics["test_acc"]
