"""What the feature families of `vision-ext features` share: the input image and drawing."""
from dataclasses import dataclass

import numpy as np


@dataclass
class Image:
    """IMAGE as read once: `bgr` is HxWx3 uint8 (OpenCV's order), `gray` its HxW uint8 grey version."""
    bgr: np.ndarray
    gray: np.ndarray

    @property
    def height(self):
        return self.gray.shape[0]

    @property
    def width(self):
        return self.gray.shape[1]

    def gray_tensor(self, device):
        import torch

        return torch.from_numpy(self.gray).to(device)

    def rgb_tensor(self, device):
        """3xHxW uint8 in RGB order."""
        import torch

        return torch.from_numpy(np.ascontiguousarray(self.bgr[..., ::-1].transpose(2, 0, 1))).to(device)


def draw_points(gray, points, radius=3):
    """Red circles at (x, y) points on a BGR copy of a grey image."""
    import cv2

    canvas = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    for x, y in points:
        cv2.circle(canvas, (int(x), int(y)), radius, (0, 0, 255), 1, lineType=cv2.LINE_AA)
    return canvas
