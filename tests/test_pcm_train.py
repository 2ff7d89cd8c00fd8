"""``minisnu pcm-train`` end to end on a tiny JSB file: the twins, the counters, the files."""

import json

import numpy as np
import pytest
from helpers import PNG_SIGNATURE, write_jsb

from minisnu.cli import main
from minisnu.core.options import resolve
from minisnu.experiments import pcm_train


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pcm-train")
    write_jsb(folder / "jsb.json", np.random.default_rng(0))
    status = main(["pcm-train", "--quick", "--data", str(folder / "jsb.json"), "--seeds", "0", "1",
                   "--out", str(folder / "run"), "--figures", str(folder / "figures")])
    return status, folder


def test_quick_run_writes_its_metrics_and_figure(quick_run):
    status, folder = quick_run
    assert status == 0
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert set(metrics["summary"]) == {"snu", "ssnu"}
    for runs in metrics["runs"].values():
        assert len(runs) == 2                                          # one per seed
        for run in runs:
            assert len(run["software"]["valid"]) == len(run["in_memory"]["valid"]) == 2
            assert np.isfinite(run["software"]["test"]) and np.isfinite(run["in_memory"]["test"])
    assert (folder / "figures" / "pcm_train.png").read_bytes().startswith(PNG_SIGNATURE)


def test_the_network_has_the_papers_52800_devices(quick_run):
    _, folder = quick_run
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    for runs in metrics["runs"].values():
        assert all(run["in_memory"]["devices"] == 52_800 for run in runs)


def test_the_counters_add_up(quick_run):
    """Every update asked for is in the pulses sent or still in the accumulators, and every
    pulse sent reached a device (device pulses = update pulses + programming and refreshes)."""
    _, folder = quick_run
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    for runs in metrics["runs"].values():
        for run in runs:
            counts = run["in_memory"]
            assert counts["bookkeeping_residual"] < 1e-9
            assert counts["set_pulses"] > 0
            assert counts["device_set_pulses"] >= counts["set_pulses"]


def test_same_seed_same_numbers(tmp_path):
    write_jsb(tmp_path / "jsb.json", np.random.default_rng(1))
    numbers = []
    for name in ("a", "b"):
        assert main(["pcm-train", "--quick", "--model", "snu", "--data", str(tmp_path / "jsb.json"),
                     "--out", str(tmp_path / name), "--figures", str(tmp_path / name)]) == 0
        run = json.loads((tmp_path / name / "metrics.json").read_text())["runs"]["snu"][0]
        numbers.append((run["software"]["valid"], run["in_memory"]["valid"], run["in_memory"]["set_pulses"]))
    assert numbers[0] == numbers[1]


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
    (["--beta", "-1"], "argument --beta: must be > 0, got -1.0"),
    (["--lr-decay", "1.5"], "argument --lr-decay: must be in (0, 1], got 1.5"),
    (["--model", "lstm"], "argument --model: must be one of snu, ssnu, got 'lstm'"),
])
def test_bad_options_are_named_before_any_work(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["pcm-train", "--quick", "--out", str(tmp_path), "--figures", str(tmp_path), *argv])
    assert exit_info.value.code == 2
    last_line = capsys.readouterr().err.splitlines()[-1]    # argparse prints the usage above it
    assert last_line.startswith("minisnu pcm-train: error: ") and message in last_line, last_line
    assert not (tmp_path / "metrics.json").exists()


def test_missing_data_is_one_line(tmp_path, capsys):
    assert main(["pcm-train", "--quick", "--out", str(tmp_path), "--figures", str(tmp_path),
                 "--data", "/nonexistent/jsb.json"]) == 1
    err = capsys.readouterr().err
    assert "no JSB chorales file" in err and err.count("\n") == 1


def test_device_options_follow_the_model():
    options = resolve(pcm_train.OPTIONS, {})
    assert "beta" not in pcm_train.device_options(options, "snu")              # the library default
    assert pcm_train.device_options(options, "ssnu")["beta"] == pcm_train.BETA["ssnu"]
    options = resolve(pcm_train.OPTIONS, {"beta": 7.0, "drift": False})
    assert pcm_train.device_options(options, "snu")["beta"] == 7.0
    assert pcm_train.device_options(options, "snu")["drift"] is False
