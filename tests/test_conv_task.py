"""The convolutional SNU models of the image task, and its elastic distortions."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from minisnu.cli import main
from minisnu.core.errors import OptionError
from minisnu.data.augment import elastic, scaled_defaults
from minisnu.data.errors import MissingPackageError
from minisnu.layers.sequential import Sequential
from minisnu.tasks import get_task, resolve_options

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

# the 8×8 digits, 256 images per split, tiny channels: about a second per run
SMALL = ("--dataset", "digits", "--quick", "--channels", "2,3", "--hidden", "8", "--batch-size", "64",
         "--steps", "6", "--no-progress")


def train(out, *extra) -> int:
    return main(["train", "mnist", "--out", str(out), *SMALL, *extra])


def params(path):
    return Sequential.load(path).params


@pytest.mark.parametrize("model", ["conv-snu", "conv-ssnu"])
def test_a_conv_model_trains_and_eval_reproduces_the_test_metric(tmp_path, capsys, model):
    out = tmp_path / "run"
    assert train(out, "--model", model, "--epochs", "1", "--test-steps", "9") == 0
    assert "best validation accuracy" in capsys.readouterr().out
    net = Sequential.load(out / "checkpoint.npz")
    assert [type(layer).__name__ for layer in net.layers] == [
        "ConvSNU", "MaxPool2d", "ConvSNU", "Flatten", "SNU", "SNU", "Readout"]
    assert net[0].params["W"].shape == (2, 1, 3, 3) and net[2].params["W"].shape == (3, 2, 3, 3)
    assert net[4].n_in == 3 * 4 * 4 and net[0].soft == (model == "conv-ssnu")
    best = json.loads((out / "metrics.json").read_text())["best"]
    assert main(["eval", str(out)]) == 0
    result = json.loads((out / "eval-test.json").read_text())
    assert result["accuracy"] == best["test_accuracy"]


def test_pool_avg_pools_by_the_mean_and_the_first_layer_computes_no_input_gradient(tmp_path):
    out = tmp_path / "run"
    assert train(out, "--model", "conv-snu", "--epochs", "1", "--pool", "avg") == 0
    options = json.loads((out / "metrics.json").read_text())["options"]
    assert options["pool"] == "avg"
    task = get_task("mnist")
    data = task.load_data(task.locate_data(options), options)
    net = task.build_model(options, data, np.random.default_rng(0))
    assert type(net[1]).__name__ == "AvgPool2d" and not net[0].input_gradient
    assert all(getattr(layer, "input_gradient", True) for layer in net.layers[1:])
    with pytest.raises(OptionError, match="--pool applies to --model conv-snu or conv-ssnu"):
        resolve_options(task, {"model": "snu", "pool": "avg"})


@pytest.mark.parametrize("extra", [(), ("--augment", "elastic")], ids=["plain", "elastic"])
def test_resume_equals_the_uninterrupted_run_bit_for_bit(tmp_path, extra):
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    assert train(whole, "--model", "conv-snu", "--epochs", "2", *extra) == 0
    assert train(halves, "--model", "conv-snu", "--epochs", "1", *extra) == 0
    assert main(["train", "mnist", "--out", str(halves), "--epochs", "2", "--resume",
                 "--no-progress"]) == 0
    for name in ("checkpoint.npz", "best.npz"):
        a, b = params(whole / name), params(halves / name)
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")


def test_elastic_augmentation_changes_the_training(tmp_path):
    plain, distorted = tmp_path / "plain", tmp_path / "distorted"
    assert train(plain, "--model", "conv-snu", "--epochs", "1") == 0
    assert train(distorted, "--model", "conv-snu", "--epochs", "1", "--augment", "elastic") == 0
    a, b = params(plain / "checkpoint.npz"), params(distorted / "checkpoint.npz")
    assert any(not np.array_equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize("args, message", [
    (("--model", "snu", "--channels", "2,3"), "--channels applies to --model conv-snu or conv-ssnu"),
    (("--model", "conv-snu", "--recurrent"), "--recurrent applies to --model snu or ssnu"),
    (("--model", "conv-snu", "--test-steps", "0"), "--test-steps"),
    (("--model", "conv-snu", "--augment", "warp"), "--augment"),
    (("--model", "conv-snu", "--elastic-sigma", "0"), "--elastic-sigma"),
    (("--model", "conv-snu", "--elastic-alpha", "-1"), "--elastic-alpha"),
    (("--model", "conv-snu", "--elastic-alpha", "20"),
     "--elastic-alpha applies with --augment elastic only, not with --augment none"),
])
def test_bad_options_are_one_line_errors(tmp_path, capsys, args, message):
    try:  # argparse exits; the checks of the option values return 2
        code = train(tmp_path / "run", *args)
    except SystemExit as exit_info:
        code = exit_info.code
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("minisnu train")


def test_three_channel_counts_are_refused_before_the_run_folder_is_made(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:      # by the parser, as any bad value
        train(tmp_path / "run", "--model", "conv-snu", "--channels", "2,3,4")
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--channels: takes 2 sizes separated by commas, got 3: 2,3,4" in err[-1]
    assert not (tmp_path / "run").exists()
    with pytest.raises(OptionError, match="--channels takes 2 sizes"):
        resolve_options(get_task("mnist"), {"model": "conv-snu", "channels": [8]})


def test_training_batches_use_steps_and_evaluation_test_steps_as_images():
    task = get_task("mnist")
    options = resolve_options(task, {"model": "conv-snu", "dataset": "digits", "limit": 20,
                                     "steps": 5, "test_steps": 11, "batch_size": 8})
    data = task.load_data(task.locate_data(options), options)
    rng = np.random.default_rng(0)
    train_batch = next(task.batches(data, "train", options, rng))
    test_batch = next(task.batches(data, "test", options, rng))
    assert train_batch.x.shape == (5, 8, 1, 8, 8) and test_batch.x.shape == (11, 8, 1, 8, 8)
    flat = resolve_options(task, {"model": "snu", "dataset": "digits", "limit": 20, "steps": 5})
    assert next(task.batches(data, "test", flat, rng)).x.shape == (5, 20, 64)  # default: --steps


# ---------------------------------------------------------------------------
# the distortion itself


def images(seed=0, shape=(5, 12, 12)):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_elastic_is_seeded_and_keeps_shape_dtype_and_range():
    x = images()
    a = elastic(x, 9.0, 1.5, np.random.default_rng(7))
    b = elastic(x, 9.0, 1.5, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min() >= 0 and a.max() <= x.max()
    assert not np.array_equal(a, elastic(x, 9.0, 1.5, np.random.default_rng(8)))


def test_elastic_is_the_identity_at_alpha_zero_and_changes_images_otherwise():
    x = images(1)
    np.testing.assert_array_equal(elastic(x, 0.0, 4.0, np.random.default_rng(0)), x)
    moved = elastic(x, 34.0, 4.0, np.random.default_rng(0))
    assert all(not np.array_equal(moved[i], x[i]) for i in range(len(x)))


def test_elastic_defaults_are_simards_at_28_pixels():
    assert scaled_defaults(28) == (34.0, 4.0)
    alpha, sigma = scaled_defaults(8)
    assert alpha == pytest.approx(34 * 8 / 28) and sigma == pytest.approx(4 * 8 / 28)


def test_elastic_without_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(MissingPackageError, match=r'pip install "minisnu\[augment\]"'):
        elastic(images(), 1.0, 1.0, np.random.default_rng(0))
