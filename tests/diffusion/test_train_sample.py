"""A short CPU training run: the loss falls and DDPM samples resemble the digits (not noise);
exact resume; the U-Net's paper configuration; the CLI end to end."""
import torch

from vision_ext.diffusion import DDPMScheduler, TrainConfig, Trainer, UNet, sample

TINY = dict(image_size=8, base_channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_resolutions=(),
            batch_size=64, lr=2e-3, ema_decay=0.9)


def test_paper_cifar10_unet_has_35_7m_parameters():
    m = UNet(3, 128, (1, 2, 2, 2), 2, (16,), 0.1, 32)
    assert sum(p.numel() for p in m.parameters()) == 35_746_307


def test_unet_shapes_with_attention():
    m = UNet(1, 16, (1, 2), 1, (4,), 0.0, 8)
    assert m(torch.randn(3, 1, 8, 8), torch.tensor([1, 500, 999])).shape == (3, 1, 8, 8)


def test_training_loss_falls_and_samples_resemble_data():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _training_loss_falls_and_samples_resemble_data()
    finally:
        torch.set_num_threads(threads)  # later tests (e.g. exact resume against a subprocess) need the default


def _training_loss_falls_and_samples_resemble_data():
    tr = Trainer(TrainConfig(steps=300, **TINY))
    tr.run(300)
    first, last = sum(tr.losses[:20]) / 20, sum(tr.losses[-20:]) / 20
    assert last < 0.6 * first, (first, last)
    x = sample(tr.ema.eval(), DDPMScheduler(), (64, 1, 8, 8), 50, generator=torch.Generator().manual_seed(0))
    data_mean, sample_mean = tr.data.mean(0).flatten(), x.mean(0).flatten()
    noise_mean = torch.randn(64, 1, 8, 8, generator=torch.Generator().manual_seed(1)).clamp(-1, 1).mean(0).flatten()
    corr = lambda a, b: torch.corrcoef(torch.stack([a, b]))[0, 1].item()  # noqa: E731
    # the average sample looks like the average digit; the average of noise does not
    assert corr(sample_mean, data_mean) > 0.8
    assert abs(corr(noise_mean, data_mean)) < 0.5
    assert (x.mean() - tr.data.mean()).abs() < (0 - tr.data.mean()).abs()


def test_resume_is_exact(tmp_path):
    cfg = dict(TINY, batch_size=8, base_channels=8)
    straight = Trainer(TrainConfig(steps=4, **cfg))
    straight.run(4)
    first = Trainer(TrainConfig(steps=4, **cfg))
    first.run(2, checkpoint=str(tmp_path / "c.pt"), every=1)
    resumed = Trainer(TrainConfig(steps=4, **cfg))
    resumed.load(torch.load(tmp_path / "c.pt", weights_only=False))
    resumed.run(4)
    assert resumed.losses == straight.losses
    for a, b in zip(resumed.ema.state_dict().values(), straight.ema.state_dict().values()):
        assert torch.equal(a, b)


def test_cli_train_resume_sample(tmp_path):
    from vision_ext.cli import main
    ck, png = str(tmp_path / "d.pt"), str(tmp_path / "grid.png")
    common = ["--out", ck, "--image-size", "8", "--base-channels", "8", "--batch-size", "8", "--no-progress"]
    assert main(["ddpm", "train", "--steps", "2", *common]) == 0
    assert main(["ddpm", "train", "--steps", "3", "--resume", *common]) == 0
    assert torch.load(ck, weights_only=False)["step"] == 3
    for sampler in ["ddpm", "ddim", "plms"]:
        assert main(["ddpm", "sample", "--checkpoint", ck, "--sampler", sampler, "--steps", "4", "--num", "4",
                     "-o", png]) == 0
    import matplotlib.image
    assert matplotlib.image.imread(png).shape[0] > 8


def test_cli_bad_arguments(tmp_path, capsys):
    import pytest

    from vision_ext.cli import main
    with pytest.raises(SystemExit):
        main(["ddpm", "sample", "--checkpoint", str(tmp_path / "missing.pt")])
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ddpm", "train", "--resume", "--out", str(tmp_path / "none.pt")])
    assert "--resume" in capsys.readouterr().err
