"""`minisnu drift` and `minisnu robustness` end to end, in their quick settings, on a tiny JSB file."""

import json

import numpy as np
import pytest

from minisnu.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def jsb_file(tmp_path_factory):
    """A JSB-structured JSON file: 6/3/3 chorales of 8-13 steps of up to 4 MIDI notes."""
    rng = np.random.default_rng(0)

    def chorale():
        return [sorted(int(n) for n in rng.choice(np.arange(48, 80), rng.integers(1, 5), replace=False))
                for _ in range(rng.integers(8, 14))]

    path = tmp_path_factory.mktemp("data") / "jsb.json"
    path.write_text(json.dumps({split: [chorale() for _ in range(n)]
                                for split, n in {"train": 6, "valid": 3, "test": 3}.items()}))
    return path


def run(command, jsb_file, folder, *extra):
    return main([command, "--quick", "--data", str(jsb_file), "--out", str(folder / "run"),
                 "--figures", str(folder / "figures"), *extra])


def read_metrics(folder):
    return json.loads((folder / "run" / "metrics.json").read_text())


def assert_png(path):
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_drift_quick_writes_metrics_and_figure(jsb_file, tmp_path, capsys):
    assert run("drift", jsb_file, tmp_path, "--model", "ssnu") == 0
    metrics = read_metrics(tmp_path)
    assert {"options", "time_labels", "times_s", "software_nll", "nll", "summary",
            "wall_time_s"} <= metrics.keys()
    assert metrics["options"]["model"] == "ssnu" and metrics["options"]["seeds"] == [0, 1]
    assert metrics["time_labels"][0] == "1 s" and metrics["time_labels"][-1] == "1 year"
    for case in ("uncompensated", "compensated"):
        assert np.asarray(metrics["nll"][case]).shape == (2, len(metrics["times_s"]))
        assert np.all(np.isfinite(metrics["nll"][case]))
    assert_png(tmp_path / "figures" / "drift_ssnu.png")
    assert "compensated" in capsys.readouterr().out


def test_robustness_quick_writes_metrics_figure_and_reuses_networks(jsb_file, tmp_path, capsys):
    assert run("robustness", jsb_file, tmp_path) == 0
    metrics = read_metrics(tmp_path)
    assert {"options", "models", "levels", "degradation", "summary", "wall_time_s"} <= metrics.keys()
    assert list(metrics["models"]) == ["snu", "lstm"]
    o = metrics["options"]
    for model, m in metrics["models"].items():
        assert m["n_devices"] == 2 * m["n_weights"]
        assert np.asarray(m["nll"]["bits"]).shape == (len(o["seeds"]), len(o["bits"]), 1)
        assert np.asarray(m["nll"]["noise"]).shape == (len(o["seeds"]), len(o["noise"]), o["draws"])
        assert np.asarray(m["nll"]["pcm"]).shape == (len(o["seeds"]), len(o["pcm_times_s"]), o["draws"])
        # Noise level 0 is the software network itself: no degradation.
        assert metrics["degradation"]["noise"][model]["mean"][o["noise"].index(0.0)] == 0.0
    assert metrics["summary"]["bits"]["least_degraded"] in ("snu", "lstm")
    assert_png(tmp_path / "figures" / "robustness.png")
    assert "degrades least" in capsys.readouterr().out

    assert run("robustness", jsb_file, tmp_path) == 0             # the same options: no training
    again = read_metrics(tmp_path)
    assert all(all(m["reused"]) for m in again["models"].values())
    assert again["models"]["snu"]["software_nll"] == metrics["models"]["snu"]["software_nll"]
    assert "loaded" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["robustness", "--bits", "1"], "--bits: must be >= 2"),
    (["robustness", "--models", "snu", "transformer"],
     "--models: must be one of snu, ssnu, rnn, lstm, gru, got 'transformer'"),
    (["drift", "--model", "transformer"],
     "--model: must be one of snu, ssnu, rnn, lstm, gru, got 'transformer'"),
    (["drift", "--epochs", "0"], "--epochs: must be >= 1, got 0"),
    (["robustness", "--seeds", "-1"], "--seeds: must be >= 0, got -1"),
])
def test_malformed_options_exit_with_status_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command, extra, message", [
    ("drift", ["--seeds", "0", "0"], "--seeds values must be distinct, got [0, 0]"),
    ("robustness", ["--models", "snu", "snu"], "--models values must be distinct"),
])
def test_bad_values_exit_with_status_1(command, extra, message, jsb_file, tmp_path, capsys):
    assert run(command, jsb_file, tmp_path, *extra) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"minisnu {command}: error: ") and message in err


def test_a_missing_data_file_is_one_line_with_status_1(tmp_path, capsys):
    assert run("drift", tmp_path / "nothing.json", tmp_path) == 1
    assert "no JSB chorales file at" in capsys.readouterr().err
