"""``minisnu correlations`` end to end, and the measures it reports (the AUC, the groups' neurons)."""

import json

import numpy as np
import pytest
from helpers import PNG_SIGNATURE
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.cli import main
from minisnu.core.errors import InputError
from minisnu.experiments.correlations import assign_groups, roc_auc


def test_auc_of_clear_cases():
    positive = np.array([1, 1, 0, 0, 0], bool)
    assert roc_auc([5, 4, 3, 2, 1], positive) == 1.0           # every positive above every negative
    assert roc_auc([1, 2, 3, 4, 5], positive) == 0.0
    assert roc_auc([1, 1, 1, 1, 1], positive) == 0.5           # all tied: half
    assert roc_auc([3, 1, 2, 0, 2], positive) == pytest.approx(4 / 6)     # 3 > 2, 0, 2; 1 > 0
    assert roc_auc([3, 2, 2, 0, 1], positive) == pytest.approx(5.5 / 6)   # 3 > all; 2 > 0, 1; 2 = 2: ½


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 60))
def test_auc_is_the_mann_whitney_statistic(seed, n):
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, n).astype(float)                # many ties
    positive = rng.random(n) < 0.4
    if positive.all() or not positive.any():
        positive[0] = not positive[0]
    u = scipy_stats.mannwhitneyu(scores[positive], scores[~positive]).statistic
    assert roc_auc(scores, positive) == pytest.approx(u / (positive.sum() * (~positive).sum()), abs=1e-12)


def test_auc_refuses_one_class():
    with pytest.raises(InputError, match="positives and negatives"):
        roc_auc([1.0, 2.0], [True, True])


def test_each_group_gets_the_distinct_neuron_that_holds_it():
    group = np.array([0, 0, 1, 1, 2, 2, -1, -1])
    weights = np.zeros((3, 8))
    weights[2, group == 0] = 5       # neuron 2 holds group 0, neuron 0 group 1, neuron 1 group 2
    weights[0, group == 1] = 5
    weights[1, group == 2] = 5
    neurons, aucs = assign_groups(weights, group)
    assert neurons == [2, 0, 1] and aucs == [1.0, 1.0, 1.0]
    weights[1] = weights[2]          # neuron 1 now holds group 0 too, and not group 2
    neurons, aucs = assign_groups(weights, group)
    assert sorted(neurons) == [0, 1, 2] and min(aucs) < 0.95


def test_quick_run_writes_metrics_weights_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["correlations", "--quick", "--out", str(out), "--figures", str(tmp_path)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    single = metrics["single"]["summary"]
    assert set(single) == {"pcm", "ideal"} and single["pcm"]["auc"]["0.5"]["mean"] > 0.95
    groups = metrics["groups"]["summary"]
    assert set(groups) == {"pcm-level", "pcm-wta", "ideal-level", "ideal-wta"}
    assert all(run["neuron_pulses"] > 0 for run in metrics["groups"]["runs"])
    with np.load(out / "weights.npz", allow_pickle=False) as weights:
        assert weights["final_weights"].shape == (3, 1000)          # the level-tuned PCM network
        np.testing.assert_array_equal(weights["groups"], [0] * 50 + [1] * 100 + [2] * 200 + [-1] * 650)
        assert weights["final_weights"].min() > 0                  # conductances, µS
    assert len(list(out.glob("weights-*.npz"))) == 2 + 4
    assert (tmp_path / "correlations.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "lowest c detected" in capsys.readouterr().out


def test_same_seed_same_numbers(tmp_path):
    runs = []
    for name in ("a", "b"):
        argv = ["correlations", "--quick", "--setting", "single", "--devices", "pcm",
                "--out", str(tmp_path / name), "--figures", str(tmp_path / name)]
        assert main(argv) == 0
        runs.append(json.loads((tmp_path / name / "metrics.json").read_text())["single"]["runs"])
    assert runs[0] == runs[1]


@pytest.mark.parametrize("argv, message", [
    (["--c", "1.5"], "argument --c: must be in [0, 1], got 1.5"),
    (["--c", "-0.1"], "argument --c: must be in [0, 1], got -0.1"),
    (["--rate", "1"], "argument --rate: must be in (0, 1), got 1.0"),
    (["--setting", "all"], "argument --setting: must be one of single, groups, got 'all'"),
    (["--devices", "memristor"], "argument --devices: must be one of pcm, ideal"),
    (["--correlation", "0.5"], "unrecognized arguments: --correlation"),
])
def test_a_bad_option_is_named_before_any_work(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["correlations", "--quick", "--out", str(tmp_path / "run"), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, message", [
    (["--group-sizes", "500", "600"], "--group-sizes 500 600 hold more inputs than --inputs 1000"),
    (["--group-sizes", "10", "10", "10", "10", "10"], "at most 4 groups"),
    (["--group-sizes", "10", "10", "10", "--group-c", "0.5", "0.4"], "--group-c gives 2 correlations for 3"),
])
def test_groups_that_do_not_fit_are_one_line(tmp_path, capsys, argv, message):
    assert main(["correlations", "--quick", "--out", str(tmp_path / "run"), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minisnu correlations: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()
