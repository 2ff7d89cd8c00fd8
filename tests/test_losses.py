"""Losses: gradients against finite differences, values against direct formulas."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, log_softmax

from minisnu import losses
from minisnu.training.gradcheck import check_loss

TOL = 1e-6
# A mean loss is O(1) while each gradient entry is O(1/size): with the default
# step 1e-6, the rounding error of the difference, ~1e-16 |L| / eps, nears 1e-6
# of the smaller entries. A step of 1e-5 cuts it tenfold; the truncation error,
# ~eps² times the third derivative, stays far below.
EPS = 1e-5
seeds = st.integers(0, 2**32 - 1)
quick = settings(max_examples=25, deadline=None)


def class_problem(seed, time_major):
    """Random logits (B, C) or (T, B, C), int targets and a mask with one True at least."""
    rng = np.random.default_rng(seed)
    lead = tuple(rng.integers(1, 5, size=2 if time_major else 1))
    n_classes = int(rng.integers(2, 7))
    logits = 3 * rng.standard_normal(lead + (n_classes,))
    targets = rng.integers(0, n_classes, size=lead)
    mask = rng.random(lead) < 0.6
    mask.flat[0] = True
    return logits, targets, mask


def binary_problem(seed):
    """Random logits (T, B, N), 0/1 targets as float and a time-step mask."""
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 5, size=3))
    logits = 3 * rng.standard_normal(shape)
    targets = (rng.random(shape) < 0.4).astype(np.float64)
    mask = rng.random(shape[:-1]) < 0.6
    mask.flat[0] = True
    return logits, targets, mask


# ---------------------------------------------------------------------------
# gradients


@quick
@given(seeds, st.booleans(), st.booleans())
def test_softmax_cross_entropy_gradient(seed, time_major, masked):
    logits, targets, mask = class_problem(seed, time_major)
    kwargs = {"mask": mask} if masked else {}
    report = check_loss(losses.softmax_cross_entropy, logits, targets, eps=EPS, **kwargs)
    assert report.worst < TOL, report


@quick
@given(seeds)
def test_lm_cross_entropy_gradient(seed):
    logits, targets, _ = class_problem(seed, time_major=True)
    assert check_loss(losses.lm_cross_entropy, logits, targets, eps=EPS).worst < TOL


@quick
@given(seeds)
def test_mse_gradient(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 5, size=rng.integers(1, 4)))
    output, target = rng.random(shape), rng.random(shape)
    assert check_loss(losses.mse, output, target, eps=EPS).worst < TOL


@quick
@given(seeds, st.booleans())
def test_bce_with_logits_gradient(seed, masked):
    logits, targets, mask = binary_problem(seed)
    kwargs = {"mask": mask} if masked else {}
    assert check_loss(losses.bce_with_logits, logits, targets, eps=EPS, **kwargs).worst < TOL


@quick
@given(seeds, st.booleans())
def test_bce_gradient(seed, masked):
    logits, targets, mask = binary_problem(seed)
    probs = 0.05 + 0.9 * expit(logits)  # well inside the clipping margins
    kwargs = {"mask": mask} if masked else {}
    assert check_loss(losses.bce, probs, targets, eps=EPS, **kwargs).worst < TOL


# ---------------------------------------------------------------------------
# values against direct formulas


@quick
@given(seeds, st.booleans())
def test_softmax_cross_entropy_value(seed, time_major):
    logits, targets, mask = class_problem(seed, time_major)
    logp = np.take_along_axis(log_softmax(logits, axis=-1), targets[..., None], -1)[..., 0]
    loss, grad = losses.softmax_cross_entropy(logits, targets)
    assert loss == pytest.approx(-logp.mean(), rel=1e-12)
    loss, grad = losses.softmax_cross_entropy(logits, targets, mask=mask)
    assert loss == pytest.approx(-logp[mask].mean(), rel=1e-12)
    assert np.all(grad[~mask] == 0)


def test_softmax_cross_entropy_gradient_formula():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    _, grad = losses.softmax_cross_entropy(logits, np.array([2, 0]))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (probs - np.eye(3)[[2, 0]]) / 2
    np.testing.assert_allclose(grad, expected, rtol=1e-13)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-15)


def test_mse_value():
    output = np.array([[0.2, 0.9], [0.5, 0.1]])
    onehot = np.array([[0, 1], [1, 0]])  # int targets are accepted
    loss, grad = losses.mse(output, onehot)
    assert loss == pytest.approx((0.04 + 0.01 + 0.25 + 0.01) / 4, rel=1e-13)
    np.testing.assert_allclose(grad, 2 * (output - onehot) / 4, rtol=1e-13)


@quick
@given(seeds)
def test_bce_values(seed):
    logits, targets, mask = binary_problem(seed)
    p = expit(logits)
    direct = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    assert losses.bce_with_logits(logits, targets)[0] == pytest.approx(direct.mean(), rel=1e-10)
    assert losses.bce(p, targets)[0] == pytest.approx(direct.mean(), rel=1e-6)
    per_step = direct.sum(axis=-1)
    assert losses.bce_with_logits(logits, targets, mask=mask)[0] == pytest.approx(
        per_step[mask].sum() / (mask.sum() * logits.shape[-1]), rel=1e-10
    )


@quick
@given(seeds, st.booleans())
def test_polyphonic_nll_sums_notes_and_averages_steps(seed, masked):
    logits, targets, mask = binary_problem(seed)
    p = expit(logits)
    per_step = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).sum(axis=-1)
    if masked:
        expected = per_step[mask].mean()
        got = losses.polyphonic_nll(logits, targets, mask=mask)
        got_p = losses.polyphonic_nll(p, targets, mask=mask, from_logits=False)
    else:
        expected = per_step.mean()
        got = losses.polyphonic_nll(logits, targets)
        got_p = losses.polyphonic_nll(p, targets, from_logits=False)
        n_notes = logits.shape[-1]
        assert got == pytest.approx(n_notes * losses.bce_with_logits(logits, targets)[0])
    assert got == pytest.approx(expected, rel=1e-10)
    assert got_p == pytest.approx(expected, rel=1e-6)


def test_bce_accepts_bool_and_int_targets():
    logits = np.array([[0.3, -1.2, 2.0]])
    as_float = np.array([[1.0, 0.0, 1.0]])
    loss, grad = losses.bce_with_logits(logits, as_float)
    for targets in (as_float.astype(bool), as_float.astype(np.int64)):
        loss2, grad2 = losses.bce_with_logits(logits, targets)
        assert loss2 == loss
        np.testing.assert_array_equal(grad2, grad)


def test_bce_gradient_is_zero_where_clipped():
    probs = np.array([0.0, 1e-9, 0.3, 1.0])
    targets = np.array([1, 1, 1, 0])
    loss, grad = losses.bce(probs, targets)
    assert np.isfinite(loss)
    assert loss == pytest.approx((3 * -np.log(1e-7) - np.log(0.3)) / 4, rel=1e-6)
    np.testing.assert_array_equal(grad[[0, 1, 3]], 0)
    assert grad[2] == pytest.approx(-1 / 0.3 / 4)


def test_perplexity_of_uniform_prediction_is_vocabulary_size():
    vocab = 7
    logits = np.zeros((5, 3, vocab))
    targets = np.random.default_rng(0).integers(0, vocab, size=(5, 3))
    loss, _ = losses.lm_cross_entropy(logits, targets)
    assert loss == pytest.approx(math.log(vocab))
    assert losses.perplexity(loss) == pytest.approx(vocab)
    assert losses.perplexity(0.0) == 1.0
    assert losses.perplexity(1e4) == math.inf


def test_accuracy():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]])
    targets = np.array([1, 1, 0])  # the tie goes to class 0
    assert losses.accuracy(logits, targets) == pytest.approx(2 / 3)
    mask = np.array([True, True, False])
    assert losses.accuracy(logits, targets, mask=mask) == pytest.approx(1 / 2)
    assert losses.accuracy(logits[None], targets[None]) == pytest.approx(2 / 3)


def test_float32_keeps_dtype():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 3, 5)).astype(np.float32)
    targets = rng.integers(0, 5, size=(4, 3))
    binary = rng.random((4, 3, 5)) < 0.5
    calls = [
        losses.softmax_cross_entropy(logits, targets),
        losses.mse(logits, binary),
        losses.bce_with_logits(logits, binary),
        losses.bce(expit(logits), binary),
    ]
    for loss, grad in calls:
        assert type(loss) is float
        assert grad.dtype == np.float32 and grad.shape == logits.shape


# ---------------------------------------------------------------------------
# stability


def test_huge_logits_are_stable():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
        loss, grad = losses.softmax_cross_entropy(logits, np.array([0, 0]))
        assert loss == pytest.approx((0 + 2000 + math.log(2)) / 2)
        assert np.all(np.isfinite(grad))
        loss, grad = losses.bce_with_logits(logits, np.array([[1, 1, 0], [0, 1, 1]]))
        assert loss == pytest.approx((1000 + math.log(2)) / 6)
        assert np.all(np.isfinite(grad))
        assert np.isfinite(losses.polyphonic_nll(logits, np.ones((2, 3))))


# ---------------------------------------------------------------------------
# masks


def test_masked_steps_are_ignored_whatever_they_hold():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((3, 2, 4))
    targets = rng.integers(0, 4, size=(3, 2))
    mask = np.array([[True, True], [True, False], [False, False]])
    padded = np.where(mask, targets, -1)  # padding outside [0, C) is allowed under the mask
    loss, grad = losses.softmax_cross_entropy(logits, padded, mask=mask)
    sub_loss, sub_grad = losses.softmax_cross_entropy(logits[mask][None], targets[mask][None])
    assert loss == pytest.approx(sub_loss, rel=1e-13)
    np.testing.assert_allclose(grad[mask], sub_grad[0], rtol=1e-13)

    binary = (rng.random((3, 2, 4)) < 0.5).astype(float)
    binary[~mask] = np.nan  # padding that is not 0/1, ignored too
    loss, grad = losses.bce_with_logits(logits, binary, mask=mask)
    sub_loss, sub_grad = losses.bce_with_logits(logits[mask], binary[mask])
    assert loss == pytest.approx(sub_loss, rel=1e-13)
    np.testing.assert_allclose(grad[mask], sub_grad, rtol=1e-13)
    assert np.all(grad[~mask] == 0)


# ---------------------------------------------------------------------------
# bad inputs


LOGITS = np.zeros((2, 3))
LABELS = np.array([0, 2])


@pytest.mark.parametrize(
    "logits, targets, kwargs, error, match",
    [
        (LOGITS, np.array([0, 1, 2]), {}, ValueError, r"targets must have shape \(2,\)"),
        (LOGITS, LABELS.astype(float), {}, TypeError, "integer class indices"),
        (LOGITS, np.array([0, 3]), {}, ValueError, r"in \[0, 3\), got values in \[0, 3\]"),
        (LOGITS, np.array([-1, 0]), {}, ValueError, r"in \[0, 3\)"),
        (np.array([[np.nan, 0, 0], [0, 0, 0]]), LABELS, {}, ValueError, "logits contains 1 NaN"),
        (LOGITS.astype(int), LABELS, {}, TypeError, "float32 or float64"),
        (np.zeros(3), LABELS, {}, ValueError, "logits must have 2 or 3 dimensions"),
        (np.zeros((0, 3)), LABELS[:0], {}, ValueError, "logits is empty"),
        (LOGITS, LABELS, {"mask": np.array([1, 1])}, TypeError, "mask must be a bool"),
        (LOGITS, LABELS, {"mask": np.array([True])}, ValueError, r"mask must have shape \(2,\)"),
        (LOGITS, LABELS, {"mask": np.array([False, False])}, ValueError, "selects no entry"),
        ([[0.0, 0.0, 0.0]], LABELS, {}, TypeError, "logits must be a numpy array"),
    ],
)
def test_softmax_cross_entropy_bad_inputs(logits, targets, kwargs, error, match):
    with pytest.raises(error, match=match):
        losses.softmax_cross_entropy(logits, targets, **kwargs)


@pytest.mark.parametrize(
    "fn, args, kwargs, error, match",
    [
        (losses.bce_with_logits, (np.zeros((2, 3)), np.full((2, 3), 0.5)), {}, ValueError, "0 or 1"),
        (losses.bce_with_logits, (np.zeros((2, 3)), np.full((2, 3), np.nan)), {}, ValueError, "0 or 1"),
        (losses.bce_with_logits, (np.zeros((2, 3)), np.zeros((3, 2))), {}, ValueError, "targets must have shape"),
        (losses.bce_with_logits, (np.zeros((2, 3)), np.zeros((2, 3))), {"mask": np.ones(3, bool)}, ValueError, r"mask must have shape \(2,\)"),
        (losses.bce, (np.full((2, 3), 1.5), np.zeros((2, 3))), {}, ValueError, r"probabilities in \[0, 1\]"),
        (losses.bce, (np.full((2, 3), 0.5), np.zeros((2, 3))), {"eps": 0.0}, ValueError, r"eps must be in \(0, 0.5\)"),
        (losses.polyphonic_nll, (np.full((2, 3), -0.5), np.zeros((2, 3))), {"from_logits": False}, ValueError, "probabilities"),
        (losses.polyphonic_nll, (np.zeros((2, 3)), np.full((2, 3), 2)), {}, ValueError, "0 or 1"),
        (losses.mse, (np.zeros((2, 3)), np.zeros((2, 2))), {}, ValueError, r"target must have shape \(2, 3\)"),
        (losses.mse, (np.zeros((2, 3)), np.full((2, 3), np.inf)), {}, ValueError, "target contains 6 NaN or infinite"),
        (losses.lm_cross_entropy, (np.zeros((2, 3)), np.zeros(2, int)), {}, ValueError, "logits must have 3 dimensions"),
        (losses.accuracy, (np.zeros((2, 3)), np.array([0, 5])), {}, ValueError, r"in \[0, 3\)"),
        (losses.perplexity, (-0.1,), {}, ValueError, "mean_ce must be a cross-entropy >= 0"),
        (losses.perplexity, (float("nan"),), {}, ValueError, "mean_ce"),
    ],
)
def test_bad_inputs(fn, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)
