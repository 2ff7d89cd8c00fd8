"""The memory layout of images: channel-last, as the convolution and pooling kernels read them.

A ``ConvSNU`` computes its units in the order (t, batch, i, j, channel), the rows and
columns of its matrix product, so its (T, B, C, H, W) output is a transposed view of
channel-last memory. The pooling layers read and write that layout too, and each
kernel gets its images as a C-contiguous (N, H, W, C) array: the channel, innermost,
is one contiguous run that a loop copies or compares in order.
"""

from __future__ import annotations

import numpy as np


def channels_last(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images as the (N, H, W, C) array the kernels read: a view when their memory
    is already ordered that way (a ConvSNU's or a pooling's output), else a copy."""
    return np.ascontiguousarray(images.transpose(0, 2, 3, 1))
