"""The gradient checker itself: it passes correct gradients and catches wrong ones."""

import numpy as np
import pytest

import minisnu as ms
from minisnu import gradcheck


class Cube(ms.Layer):
    """y = x³ ⊙ w: a tiny layer whose backward can be made wrong on purpose."""

    def __init__(self, n, error=0.0, rng=0):
        super().__init__()
        self.add_param("w", np.random.default_rng(rng).standard_normal(n))
        self.error = error

    def forward(self, x):
        self.x = x
        return x**3 * self.params["w"]

    def backward(self, dy):
        self.grads["w"] += (dy * self.x**3).sum(axis=(0, 1)) * (1 + self.error)
        return dy * 3 * self.x**2 * self.params["w"]


def test_a_correct_gradient_passes():
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    report = gradcheck.check_layer(Cube(5), x)
    assert report.worst < 1e-8
    assert set(report.errors) == {"w", "x"} and report.checked == {"w": 5, "x": 60}


@pytest.mark.parametrize("error", [1e-4, -1e-3, 1.0])
def test_a_slightly_wrong_gradient_fails(error):
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    report = gradcheck.check_layer(Cube(5, error=error), x)
    assert report.errors["w"] > 1e-6 and report.errors["x"] < 1e-8
    assert not report.passed(1e-6)
    assert "w" in str(report)


def test_max_entries_samples_a_subset():
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    report = gradcheck.check_layer(Cube(5), x, max_entries=7)
    assert report.checked == {"w": 5, "x": 7}


def test_float32_is_refused():
    layer = ms.SNU(2, 3, soft=True)                      # float32 by default
    with pytest.raises(TypeError, match="gradient checks need float64"):
        gradcheck.check_layer(layer, np.zeros((2, 1, 2), np.float32))


def test_random_layers_get_the_same_draws_in_every_pass():
    """Dropout draws a new mask per forward pass; the check replays its generator."""
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    assert gradcheck.check_layer(ms.Dropout(0.5, rng=1), x).worst < 1e-8


def test_check_loss_and_relative_error():
    logits = np.random.default_rng(0).standard_normal((4, 3))
    report = gradcheck.check_loss(ms.losses.softmax_cross_entropy, logits, np.array([0, 2, 1, 1]))
    assert report.worst < 1e-7
    np.testing.assert_allclose(gradcheck.relative_error(np.array([1.0, 0.0]), np.array([1.1, 0.0])),
                               [0.1 / 2.1, 0.0])
