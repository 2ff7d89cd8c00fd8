r"""Elastic distortions of images (Simard, Steinkraus & Platt, ICDAR 2003), seeded.

For an image I of H×W pixels, two fields of independent uniform draws
:math:`U_x, U_y \sim U(-1, 1)` (one per pixel) are smoothed by a Gaussian of standard
deviation σ pixels and scaled by α:

.. math::

    Δx = α · (G_σ * U_x), \qquad Δy = α · (G_σ * U_y)

(``*`` the convolution, zero outside the image), and the distorted image reads
I at the displaced points, by bilinear interpolation, 0 outside the image:

.. math::

    I'(i, j) = I(i + Δy(i, j), j + Δx(i, j)).

A small σ gives a random field (noise); a large σ an almost uniform shift; in
between, the smooth local warps of handwriting. Simard et al. used σ = 4 and
α = 34 on 28×28 MNIST digits (:data:`SIGMA`, :data:`ALPHA`;
:func:`scaled_defaults` scales both with the side of smaller images). Bilinear
interpolation is a convex combination of pixels (and 0), so the values stay in
the range of the input and its 0; at α = 0 every point falls on a pixel and
the image is returned unchanged.

The smoothing and interpolation are scipy.ndimage's (``gaussian_filter``,
``map_coordinates``); scipy is the optional extra ``minisnu[augment]``.
"""

from __future__ import annotations

import numpy as np

from .errors import MissingPackageError

#: σ, Simard et al.'s smoothing, in pixels of a 28×28 image.
SIGMA = 4.0
#: α, their scale of the displacements, in pixels of a 28×28 image.
ALPHA = 34.0
#: The side of the images :data:`SIGMA` and :data:`ALPHA` are for.
SIMARD_SIDE = 28


def scaled_defaults(side: int) -> tuple[float, float]:
    """(α, σ) for images of ``side`` pixels: Simard's (34, 4) at 28, in proportion otherwise."""
    scale = side / SIMARD_SIDE
    return ALPHA * scale, SIGMA * scale


def elastic(images: np.ndarray, alpha: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Elastic distortions of a batch of images (B, H, W), a new array of the same shape and dtype.

    Draws the fields U (B, 2, H, W) from ``rng`` (the same draws for every α,
    so a seed gives the same images); σ > 0, α ≥ 0 in pixels.
    """
    try:
        from scipy import ndimage
    except ImportError:
        raise MissingPackageError('--augment elastic needs the optional package scipy: '
                                  'pip install "minisnu[augment]"') from None
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be (B, H, W), got shape {images.shape}")
    B, H, W = images.shape
    fields = rng.uniform(-1.0, 1.0, size=(B, 2, H, W))
    # smoothed over the two image axes only, each field and image on its own
    shifts = alpha * ndimage.gaussian_filter(fields, sigma=(0, 0, sigma, sigma), mode="constant", cval=0.0)
    rows, cols = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    out = np.empty_like(images)
    for b in range(B):
        points = np.stack([rows + shifts[b, 1], cols + shifts[b, 0]])
        out[b] = ndimage.map_coordinates(images[b], points, order=1, mode="constant", cval=0.0)
    return out
