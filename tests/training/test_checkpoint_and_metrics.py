import json
import os
import random

import numpy as np
import pytest
import torch

from vision_ext.training import checkpoint as ckpt
from vision_ext.training.metrics import MetricsLog, peak_rss_mib


def test_atomic_save_replaces_and_leaves_no_temp_files(tmp_path):
    path = str(tmp_path / "checkpoint.pt")
    first, second = torch.randn(5), torch.randn(5)
    ckpt.atomic_save({"w": first}, path)
    ckpt.atomic_save({"w": second}, path)
    assert torch.equal(ckpt.load(path)["w"], second)
    assert os.listdir(tmp_path) == ["checkpoint.pt"]


def test_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = str(tmp_path / "checkpoint.pt")
    ckpt.atomic_save({"w": torch.ones(3)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ckpt.atomic_save({"w": Unpicklable()}, path)
    assert torch.equal(ckpt.load(path)["w"], torch.ones(3)) and os.listdir(tmp_path) == ["checkpoint.pt"]


def test_rng_states_round_trip():
    states = ckpt.rng_states()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.rand(10), np.random.rand(10), random.random()
    ckpt.restore_rng_states(states)
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


def test_metrics_log_appends_and_drops_records_past_the_checkpoint(tmp_path):
    log = MetricsLog(str(tmp_path), {"model": "m"})
    for e in (1, 2, 3):
        log.append({"epoch": e, "test_acc": e / 10})
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert [r["epoch"] for r in data["epochs"]] == [1, 2, 3]
    resumed = MetricsLog(str(tmp_path), {"model": "m"}, keep_epochs=2)
    assert [r["epoch"] for r in resumed.data["epochs"]] == [1, 2]
    fresh = MetricsLog(str(tmp_path), {"model": "m"}, keep_epochs=0)
    assert fresh.data["epochs"] == []


def test_peak_rss_exceeds_an_allocation_larger_than_the_previous_peak():
    before = peak_rss_mib()
    size_mib = before + 64  # resident on its own, so the peak must pass it
    block = torch.ones(int(size_mib * 2**20) // 4)
    assert block.sum() > 0
    assert peak_rss_mib() >= size_mib
