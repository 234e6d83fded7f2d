import pytest
import torch

from vision_ext.data import load_dataset, make_loader


def _epoch(loader, epoch):
    loader.set_epoch(epoch)
    xs, ys = zip(*loader)
    return torch.cat(xs), torch.cat(ys)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", True, subset=96)


def test_epoch_depends_only_on_seed_and_epoch_not_on_workers(digits):
    in_process = make_loader(digits, 32, train=True, seed=3, workers=0)
    with_workers = make_loader(digits, 32, train=True, seed=3, workers=2)
    x0, y0 = _epoch(in_process, 1)
    x1, y1 = _epoch(with_workers, 1)
    assert torch.equal(x0, x1) and torch.equal(y0, y1)
    # Epoch 0 after epoch 1 is still epoch 0: no hidden state carried between epochs.
    a, _ = _epoch(in_process, 0)
    _epoch(in_process, 5)
    b, _ = _epoch(in_process, 0)
    assert torch.equal(a, b) and not torch.equal(a, x0)
    other_seed, _ = _epoch(make_loader(digits, 32, train=True, seed=4), 1)
    assert not torch.equal(other_seed, x0)


def test_train_loader_shuffles_and_augments_test_loader_does_neither(digits):
    train = make_loader(digits, 96, train=True, seed=0)
    test = make_loader(digits, 96, train=False)
    x, y = _epoch(train, 0)
    tx, ty = _epoch(test, 0)
    assert sorted(y.tolist()) == sorted(digits.labels.tolist()) and not torch.equal(y, digits.labels)
    assert torch.equal(ty, digits.labels)
    plain = test.dataset.normalize(digits.images)
    torch.testing.assert_close(tx, plain)
    # Match each augmented image to its source by label order: some must differ from the plain image.
    order = train.sampler.__iter__()
    source = plain[list(order)]
    changed = (x - source).abs().flatten(1).amax(1) > 1e-6
    assert 0.5 < changed.float().mean() <= 1.0


def test_shards_partition_the_data(digits):
    train_parts = [list(make_loader(digits, 16, train=True, seed=1, rank=r, world_size=2).sampler) for r in (0, 1)]
    assert len(train_parts[0]) == len(train_parts[1]) == 48
    assert sorted(train_parts[0] + train_parts[1]) == list(range(96))
    odd = load_dataset("digits", False, subset=31)
    test_parts = [list(make_loader(odd, 8, train=False, rank=r, world_size=2).sampler) for r in (0, 1)]
    assert sorted(test_parts[0] + test_parts[1]) == list(range(31))  # each image once, no padding


def test_synthetic_is_cifar_shaped_and_learnable_by_nearest_prototype():
    data = load_dataset("synthetic", True, subset=200)
    assert data.images.shape == (200, 3, 32, 32) and data.images.dtype == torch.uint8
    means = torch.stack([data.images[data.labels == c].float().mean(0) for c in range(10)])
    test = load_dataset("synthetic", False, subset=100)
    guess = torch.cdist(test.images.float().flatten(1), means.flatten(1)).argmin(1)
    assert (guess == test.labels).float().mean() > 0.9


def test_unknown_dataset_and_bad_subset():
    with pytest.raises(ValueError, match="choose one of digits, cifar10, synthetic"):
        load_dataset("mnist", True)
    with pytest.raises(ValueError, match="positive"):
        load_dataset("digits", True, subset=0)
