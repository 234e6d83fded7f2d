import numpy as np
import pytest
import torch

from vision_ext.data import Normalize, crop_flip


def _numpy_crop_flip(image, padding, top, left, flip):
    """Independent reference: numpy zero padding and slicing."""
    a = np.pad(image.numpy(), ((0, 0), (padding, padding), (padding, padding)))
    _, h, w = image.shape
    a = a[:, top:top + h, left:left + w]
    return torch.from_numpy(np.ascontiguousarray(a[:, :, ::-1] if flip else a))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_crop_flip_matches_numpy_for_every_offset(dtype):
    image = (torch.rand(3, 32, 32) * 255).to(dtype)
    for top in range(9):
        for left in (0, 3, 8):
            for flip in (False, True):
                assert torch.equal(crop_flip(image, 4, top, left, flip), _numpy_crop_flip(image, 4, top, left, flip))


def test_centre_crop_without_flip_is_identity_and_real_images_survive(astronaut):
    image = torch.from_numpy(astronaut[::16, ::16].copy()).permute(2, 0, 1).contiguous()  # 3x32x32 photo
    assert torch.equal(crop_flip(image, 4, 4, 4, False), image)
    assert torch.equal(crop_flip(image, 4, 4, 4, True), image.flip(-1))
    shifted = crop_flip(image, 4, 0, 4, False)  # content moves down by 4 rows, zeros enter at the top
    assert torch.equal(shifted[:, 4:], image[:, :-4]) and shifted[:, :4].sum() == 0


def test_crop_flip_rejects_bad_arguments():
    with pytest.raises(ValueError, match="must lie in"):
        crop_flip(torch.rand(3, 8, 8), 2, 5, 0, False)
    with pytest.raises(ValueError, match=r"one \(C, H, W\) image"):
        crop_flip(torch.rand(2, 3, 8, 8), 2, 0, 0, False)


def test_normalize_uint8_and_float():
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    image = torch.randint(0, 256, (3, 5, 7), dtype=torch.uint8)
    out = Normalize(mean, std)(image)
    expected = (image.double().numpy() / 255 - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.from_numpy(expected).float(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(Normalize(mean, std)(image.float() / 255), out)
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize(mean, (0.2, 0.0, 0.3))
