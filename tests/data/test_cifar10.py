import os
import pickle

import numpy as np
import pytest
import torch

from vision_ext.data import DatasetNotFoundError, load_cifar10, load_dataset
from vision_ext.data.cifar10 import TEST_FILES, TRAIN_FILES


def _write_fake_cifar(folder, per_batch=20, seed=0):
    """Batches in the real format: pickled dicts with bytes keys, (N, 3072) uint8 rows in CHW order."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    written = {}
    for name in TRAIN_FILES + TEST_FILES:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_batch).tolist()
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": data,
                         b"filenames": [b"x.png"] * per_batch}, f)
        written[name] = (data, labels)
    return written


@pytest.mark.parametrize("layout", ["batches_dir", "parent_dir"])
def test_reads_python_batches(tmp_path, layout):
    batches = tmp_path / "cifar-10-batches-py"
    written = _write_fake_cifar(str(batches))
    root = str(batches if layout == "batches_dir" else tmp_path)
    x, y = load_cifar10(root, train=True)
    assert x.shape == (100, 3, 32, 32) and x.dtype == torch.uint8 and y.dtype == torch.int64
    # Row layout: 1024 red, then 1024 green, then 1024 blue values, each row-major.
    data, labels = written["data_batch_2"]
    assert torch.equal(x[20], torch.from_numpy(data[0].reshape(3, 32, 32)))
    assert x[20, 1, 0, 5].item() == data[0][1024 + 5] and x[20, 2, 3, 0].item() == data[0][2048 + 3 * 32]
    assert y[20:40].tolist() == labels
    tx, ty = load_cifar10(root, train=False)
    assert tx.shape == (20, 3, 32, 32) and ty.tolist() == written["test_batch"][1]


def test_missing_data_names_the_fix(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_cifar10(str(tmp_path), train=True)
    message = str(err.value)
    assert str(tmp_path) in message and "cifar-10-python.tar.gz" in message and "--dataset digits" in message
    with pytest.raises(DatasetNotFoundError, match="--data-dir"):
        load_dataset("cifar10", True, data_dir=None)


def test_not_a_cifar_batch_is_rejected(tmp_path):
    _write_fake_cifar(str(tmp_path))
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((3, 100), np.uint8), b"labels": [0, 1, 2]}, f)
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        load_cifar10(str(tmp_path), train=False)
