"""The finite check every layer runs on its inputs, gradients and parameters: the compiled pass
over the bits agrees with ``np.isfinite(x).all()`` for every kind of float and layout."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.core.errors import InputError
from minisnu.core.validate import all_finite, check_finite

SPECIAL = [np.nan, -np.nan, np.inf, -np.inf]
# finite values whose bits come closest to a non-finite one: the largest float, the
# smallest subnormal, negative zero
EDGE = {np.float32: [np.finfo(np.float32).max, -np.finfo(np.float32).max, 1e-45, -0.0],
        np.float64: [np.finfo(np.float64).max, -np.finfo(np.float64).max, 5e-324, -0.0]}


@settings(max_examples=80, deadline=None)
@given(dtype=st.sampled_from([np.float32, np.float64]),
       shape=st.lists(st.integers(1, 7), min_size=1, max_size=3),
       n_bad=st.integers(0, 3), n_edge=st.integers(0, 3),
       layout=st.sampled_from(["C", "F", "strided"]), seed=st.integers(0, 2**16))
def test_the_compiled_check_is_the_elementwise_one(dtype, shape, n_bad, n_edge, layout, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 10.0 ** rng.integers(-30, 30)).astype(dtype)
    flat = x.reshape(-1)
    for value in rng.choice(EDGE[dtype], n_edge):
        flat[rng.integers(flat.size)] = value
    for value in rng.choice(SPECIAL, n_bad):
        flat[rng.integers(flat.size)] = value
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "strided":
        x = x[..., ::2]
    assert all_finite(x) == bool(np.isfinite(x).all())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_check_finite_names_the_array_and_counts_the_bad_values(dtype):
    x = np.zeros(10, dtype)
    check_finite("x", x)
    x[[2, 7]] = [np.nan, -np.inf]
    with pytest.raises(InputError, match=r"^weights contains 2 NaN or infinite value"):
        check_finite("weights", x)


def test_integer_and_empty_arrays_pass():
    check_finite("labels", np.arange(5))
    check_finite("mask", np.ones(3, bool))
    check_finite("nothing", np.zeros((0, 4), np.float32))
