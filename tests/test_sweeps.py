"""Tests of ``minisnu sweep``: the sweep file's checks, sweeps on local workers and on a Dask
cluster, a killed sweep going on, the pruner, and the report.

The sweeps train tiny JSB runs (6/3/3 chorales of a few steps, 8 units): a run of a few
epochs takes well under a second, most of a sweep's time is its workers starting.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import write_jsb

from minisnu.cli import main
from minisnu.core.errors import OptionError, RunError
from minisnu.sweeps import SweepFolder, from_fields, load, report, run_sweep, start_folder
from minisnu.sweeps.study import open_study, optuna, sqlite_url, storage
from minisnu.training.run_folder import RunFolder

pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def jsb_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "jsb.json"
    write_jsb(path, np.random.default_rng(0))
    return path


def sweep_file(folder: Path, jsb: Path, *, sweep: str = "", options: str = "", search: str = "") -> Path:
    """A sweep file over tiny JSB runs (data, 8 units, 3 epochs, --quick) with the given extra lines."""
    path = folder / "sweep.toml"
    path.write_text(f'[sweep]\ntask = "jsb"\n{sweep}\n\n[options]\ndata = "{jsb}"\nhidden = "8"\n'
                    f'epochs = 3\nquick = true\n{options}\n\n[search]\n{search}\n')
    return path


def finished_run(folder: Path, epochs: int) -> dict:
    """A trial's run folder holds a whole run of ``epochs``; its metrics.json."""
    assert {"checkpoint.npz", "best.npz", "metrics.json", "metrics.csv"} <= {p.name for p in folder.iterdir()}
    metrics = json.loads((folder / "metrics.json").read_text())
    assert len(metrics["epochs"]) == epochs
    return metrics


def study_of(folder: Path):
    sweep, url, name = SweepFolder(folder).read()
    return optuna().load_study(study_name=name, storage=storage(url)), sweep


# -- the sweep file ---------------------------------------------------------------------------


@pytest.mark.parametrize("sweep, options, search, message", [
    ("trials = 2", "", "learning_rate = { low = 0.001, high = 0.1 }",
     "[search] learning_rate: the task has no such option"),
    ("trials = 2", "", "lr = { low = 0.1, high = 0.001 }",
     "[search] lr: empty range, low 0.1 is not below high 0.001"),
    ("trials = 2", "", "lr = { low = 0.01, high = 0.01 }", "empty range"),
    ('trials = 2\ndirection = "maximize"', "", "lr = { low = 0.001, high = 0.1 }",
     "[sweep] direction 'maximize': nll is lower when better, so the sweep must minimize it"),
    ('trials = 2\nmetric = "accuracy"', "", "lr = { low = 0.001, high = 0.1 }",
     "[sweep] metric 'accuracy': the jsb task's validation metric is 'nll'"),
    ("trials = 2", "", "dropout = { low = 0.0, high = 0.5, log = true }", "a log scale needs low > 0"),
    ("trials = 2", "", "lr = { low = -1.0, high = 0.1 }", "[search] lr low: --lr must be > 0, got -1.0"),
    ("trials = 2", "", 'model = { choices = ["snu", "transformer"] }', "--model must be one of"),
    ("trials = 2", "", "model = { choices = [] }", "choices must be a non-empty list"),
    ("trials = 2", "", 'model = { low = 1, high = 2 }', "--model takes no range"),
    ('sampler = "grid"', "", "lr = { low = 0.001, high = 0.1 }", "a grid has no ranges"),
    ('sampler = "grid"\ntrials = 3', "", 'model = { choices = ["snu", "ssnu"] }', "the grid has 2 settings"),
    ("", "", "lr = { low = 0.001, high = 0.1 }", "[sweep] trials is missing"),
    ("trials = 2", "seed = 3", "",
     "[options] seed: set by the sweep itself (give the seeds as [sweep] seeds)"),
    ("trials = 2", "lr = 0.01", "lr = { low = 0.001, high = 0.1 }", "lr is in both [options] and [search]"),
    ("seeds = [0, 0]", "", "", "[sweep] seeds repeat a seed"),
    ("seeds = 0", "", "", "[sweep] seeds must be a positive integer"),
    ('pruner = "patience"', "", "", "[sweep] pruner 'patience': choose one of median, halving, none"),
    ("trials = 2", "", 'model = { choices = ["snu", "rnn"] }\nsurrogate = { choices = ["tanh"] }',
     "--surrogate applies to --model snu only, not to --model rnn"),
    ("trial = 2", "", "", "[sweep] has no field trial"),
])
def test_bad_sweep_files_are_one_line_errors(tmp_path, jsb_file, sweep, options, search, message):
    path = sweep_file(tmp_path, jsb_file, sweep=sweep, options=options, search=search)
    with pytest.raises(OptionError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 1     # the command: one line
    assert not (tmp_path / "out").exists()                                   # nothing started


def test_not_a_sweep_file(tmp_path):
    with pytest.raises(OptionError, match="no such sweep file"):
        load(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[sweep\n")
    with pytest.raises(OptionError, match="not a TOML file"):
        load(tmp_path / "bad.toml")
    (tmp_path / "extra.toml").write_text('[sweep]\ntask = "jsb"\n[runs]\n')
    with pytest.raises(OptionError, match="unknown table"):
        load(tmp_path / "extra.toml")


def test_values_as_on_the_command_line_or_typed(tmp_path, jsb_file):
    """hidden = "8" and hidden = [8] are the same; a sweep survives its folder's JSON."""
    path = sweep_file(tmp_path, jsb_file, sweep="trials = 4\nseeds = 2",
                      search='lr = { low = 1e-3, high = 0.1, log = true }\n'
                             'hidden = { choices = ["8", [4, 4]] }\n'
                             'dropout = { low = 0, high = 0.5, step = 0.1 }',
                      options="lr_decay = 0.9").read_text().replace('hidden = "8"\n', "", 1)
    (tmp_path / "s.toml").write_text(path)
    sweep = load(tmp_path / "s.toml")
    assert sweep.seeds == (0, 1) and sweep.trials == 4 and sweep.runs == 8
    assert sweep.options["lr_decay"] == 0.9 and sweep.options["quick"] is True
    by_name = {p.name: p for p in sweep.search}
    assert by_name["hidden"].choices == ([8], [4, 4]) and by_name["hidden"].grid() == ["8", "4,4"]
    assert by_name["dropout"].low == 0.0 and by_name["dropout"].step == 0.1
    assert type(sweep).from_json(json.loads(json.dumps(sweep.to_json()))) == sweep


def test_the_command_line_describes_the_same_sweep(tmp_path, jsb_file, monkeypatch):
    path = sweep_file(tmp_path, jsb_file, sweep="trials = 3\nseeds = [1, 2]",
                      search='lr = { low = 1e-3, high = 0.1, log = true }\n'
                             'model = { choices = ["snu", "ssnu"] }')
    seen = []
    monkeypatch.setattr("minisnu.sweeps.start_folder", lambda sweep, *args: seen.append(sweep) or 1 / 0)
    for argv in (["sweep", str(path)],
                 ["sweep", "--task", "jsb", "--set", f"data={jsb_file}", "--set", "hidden=8", "--set",
                  "epochs=3", "--set", "quick=true", "--range", "lr", "1e-3", "0.1", "log",
                  "--choices", "model", "snu", "ssnu", "--seeds", "1", "2", "--trials", "3"]):
        with pytest.raises(ZeroDivisionError):
            main(argv)
    assert seen[0] == seen[1]


# -- sweeps -----------------------------------------------------------------------------------


def check_sweep(out: Path, runs: int, epochs: int = 3) -> list[dict]:
    """Every trial of the sweep in ``out`` finished, each in a complete run folder of its options."""
    study, sweep = study_of(out)
    trials = study.get_trials()
    assert len(trials) == runs and all(t.state.name == "COMPLETE" for t in trials)
    for t in trials:
        metrics = finished_run(Path(t.user_attrs["folder"]), epochs)
        assert metrics["options"]["seed"] == t.user_attrs["seed"]
        assert metrics["options"]["lr"] == pytest.approx(t.params["lr"])
        assert t.value == metrics["best"]["valid_nll"] and t.user_attrs["test"] == metrics["best"]["test_nll"]
        assert Path(t.user_attrs["folder"]).parent == out / "runs"
    settings = {}
    for t in trials:
        settings.setdefault(t.params["lr"], []).append(t.user_attrs["seed"])
    assert all(sorted(seeds) == list(sweep.seeds) for seeds in settings.values())
    rows = (out / "trials.csv").read_text().splitlines()
    assert rows[0].startswith("trial,state,lr,seed,valid_nll,test_nll") and len(rows) == runs + 1
    return trials


def test_a_sweep_on_two_local_workers(tmp_path, jsb_file, capsys):
    """4 runs (2 settings × 2 seeds) on 2 worker processes; each trial an ordinary run folder
    that `minisnu eval` reads; the report and its figures."""
    path = sweep_file(tmp_path, jsb_file, sweep="trials = 2\nseeds = 2",
                      search="lr = { low = 1e-3, high = 0.1, log = true }")
    out = tmp_path / "sw"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "2"]) == 0
    trials = check_sweep(out, 4)
    printed = capsys.readouterr().out
    assert "2 setting(s) × 2 seed(s) = 4 runs" in printed
    assert "4 of 4 runs finished. Best setting: lr" in printed
    files = {p.name for p in out.iterdir()}
    assert {"history.png", "options.png", "trials.csv", "study.db", "sweep.json"} <= files
    assert main(["eval", trials[0].user_attrs["folder"]]) == 0
    assert main(["sweep", str(path), "--out", str(out)]) == 1      # a second sweep into it: refused
    assert "already holds a sweep: continue it with --resume" in capsys.readouterr().err
    assert main(["sweep", "--report", str(out)]) == 0
    assert "4 of 4 runs finished" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:DaskStorage is experimental")
def test_a_sweep_on_a_dask_cluster(tmp_path, jsb_file):
    """The same on a Dask LocalCluster of 2 worker processes, the study kept in the scheduler."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("optuna_integration")
    path = sweep_file(tmp_path, jsb_file, sweep="trials = 2\nseeds = 2",
                      search="lr = { low = 1e-3, high = 0.1, log = true }")
    out = tmp_path / "sw"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert main(["sweep", str(path), "--out", str(out), "--dask", cluster.scheduler_address]) == 0
    check_sweep(out, 4)


def test_seeds_alone_give_mean_and_std(tmp_path, jsb_file, capsys):
    """No search: one setting, one run per seed, and the mean ± std a results table needs."""
    path = sweep_file(tmp_path, jsb_file, sweep="seeds = [0, 1, 2]")
    out = tmp_path / "sw"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "2"]) == 0
    study, sweep = study_of(out)
    values = [t.value for t in study.get_trials()]
    assert sorted(t.user_attrs["seed"] for t in study.get_trials()) == [0, 1, 2]
    best = report.settings(report.trials_table(study, sweep), sweep)[0]
    assert best["runs"] == 3 and best["valid_mean"] == pytest.approx(np.mean(values))
    assert best["valid_std"] == pytest.approx(np.std(values, ddof=1))
    assert f"valid nll {np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}" in capsys.readouterr().out


def test_a_killed_sweep_goes_on_without_repeating_finished_runs(tmp_path, jsb_file):
    """Killed (with its workers) while its second run trains: --resume keeps the first run as it
    was, takes the second up from its last saved epoch, and runs the rest; the runs end as an
    uninterrupted sweep's do."""
    grid = ('sampler = "grid"\nseeds = 2', "epochs = 12",
            "lr = { choices = [0.003, 0.03] }")
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    path = sweep_file(tmp_path, jsb_file, sweep=grid[0], search=grid[2]).read_text().replace(
        "epochs = 3", grid[1])
    (tmp_path / "s.toml").write_text(path)
    command = [sys.executable, "-m", "minisnu", "sweep", str(tmp_path / "s.toml"), "--out", str(killed)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    second = killed / "runs" / "killed-trial0001-seed1" / "checkpoint.npz"
    deadline = time.monotonic() + 120
    while not second.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)          # the driver and its worker, mid-run
    process.wait()
    first = killed / "runs" / "killed-trial0000-seed0" / "metrics.json"
    before = first.read_text()
    assert 1 <= RunFolder(second.parent).saved_epoch() < 12, "the kill came too late to test a resume"

    assert main(["sweep", "--resume", str(killed)]) == 0
    assert first.read_text() == before                           # finished: not run again
    trials = check_sweep(killed, 4, epochs=12)
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]      # no run drawn twice

    assert main(["sweep", str(tmp_path / "s.toml"), "--out", str(whole)]) == 0
    def curves(out):
        study, _ = study_of(out)
        return {(t.params["lr"], t.user_attrs["seed"]): [
            {k: v for k, v in row.items() if not k.endswith("seconds")}
            for row in json.loads((Path(t.user_attrs["folder"]) / "metrics.json").read_text())["epochs"]]
            for t in study.get_trials()}
    assert curves(killed) == curves(whole)                       # bit for bit, the resumed run too


def test_a_resumed_sweep_takes_a_new_number_of_trials(tmp_path, jsb_file, capsys):
    """--resume DIR --trials N draws more settings (and keeps N in sweep.json), not the ones it
    drew before the resume again; fewer than it has started, another sweep option beside
    --resume, or a grid too small are one-line errors."""
    path = sweep_file(tmp_path, jsb_file, sweep="trials = 2",
                      search="lr = { low = 1e-3, high = 0.1, log = true }")
    out = tmp_path / "sw"
    assert main(["sweep", str(path), "--out", str(out)]) == 0
    assert main(["sweep", "--resume", str(out), "--trials", "3"]) == 0
    assert "3 setting(s) × 1 seed(s) = 3 runs" in capsys.readouterr().out
    study, sweep = study_of(out)
    assert sweep.trials == 3 and [t.state.name for t in study.get_trials()] == ["COMPLETE"] * 3
    assert len({t.params["lr"] for t in study.get_trials()}) == 3
    assert main(["sweep", "--resume", str(out), "--trials", "2"]) == 1
    assert capsys.readouterr().err.strip().endswith(f"--trials 2: the sweep in {out} has already "
                                                    "started 3 setting(s)")
    assert main(["sweep", "--resume", str(out), "--seeds", "0", "1"]) == 1
    assert "--resume goes on with the sweep as it was (or with a new --trials)" in capsys.readouterr().err
    assert study_of(out)[1].trials == 3
    grid = sweep_file(tmp_path, jsb_file, sweep='sampler = "grid"\ntrials = 1',
                      search="lr = { choices = [0.01, 0.02] }")
    assert main(["sweep", str(grid), "--out", str(tmp_path / "grid")]) == 0
    assert main(["sweep", "--resume", str(tmp_path / "grid"), "--trials", "3"]) == 1
    assert "--trials 3: the grid of" in capsys.readouterr().err
    assert main(["sweep", "--resume", str(tmp_path / "grid"), "--trials", "2"]) == 0
    assert len(study_of(tmp_path / "grid")[0].get_trials()) == 2


def test_the_pruner_stops_a_run_worse_than_the_median(tmp_path, jsb_file):
    """A finished trial that reached NLL 0.1 at every epoch makes the median; the sweep's own run
    (NLL far above it at epoch 1) is stopped after that epoch, which its folder keeps."""
    sweep = from_fields({"task": "jsb", "pruner": {"kind": "median", "startup_trials": 1,
                                                   "warmup_epochs": 0}},
                        {"data": str(jsb_file), "hidden": "8", "epochs": 5, "quick": True}, {})
    out = tmp_path / "sw"
    start_folder(sweep, out)
    study = open_study(sweep, "sw", storage(sqlite_url(out)))
    good = dict.fromkeys(range(1, 6), 0.1)                 # epoch -> validation NLL
    study.add_trial(optuna().trial.create_trial(value=0.1, intermediate_values=good))
    rows = run_sweep(out)
    assert [row["state"] for row in rows] == ["complete", "pruned"]
    pruned = rows[1]
    assert pruned["epochs"] == 1 and finished_run(Path(pruned["folder"]), 1)["epochs"][0]["epoch"] == 1


def test_a_sweep_folder_is_refused_when_busy_or_foreign(tmp_path, jsb_file):
    path = sweep_file(tmp_path, jsb_file, sweep="seeds = 1")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="is not an empty folder"):
        start_folder(load(path), tmp_path / "taken")
    with pytest.raises(RunError, match="holds no sweep"):
        run_sweep(tmp_path / "taken")
    folder = start_folder(load(path), tmp_path / "sw")
    with folder.lock(), pytest.raises(RunError, match="in use by another sweep"):
        run_sweep(folder.path)
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_settings_group_the_seeds_of_a_setting(tmp_path, jsb_file):
    sweep = from_fields({"task": "jsb", "trials": 2, "seeds": 2}, {"data": str(jsb_file)},
                        {"lr": {"choices": [0.01, 0.02]}})
    row = {"state": "complete", "test": None}
    rows = [row | {"lr": 0.01, "seed": 0, "valid": 9.0}, row | {"lr": 0.01, "seed": 1, "valid": 10.0},
            row | {"lr": 0.02, "seed": 0, "valid": 8.0}, row | {"lr": 0.02, "seed": 1, "valid": 8.5},
            row | {"lr": 0.02, "seed": 2, "valid": 1.0, "state": "pruned"}]
    best, other = report.settings(rows, sweep)
    assert (best["lr"], best["runs"], best["valid_mean"]) == (0.02, 2, 8.25)
    assert best["valid_std"] == pytest.approx(np.std([8.0, 8.5], ddof=1))
    assert other["valid_mean"] == 9.5


def test_the_readmes_sweep_file_is_valid(tmp_path):
    """The README's example sweep file is checked like any other (hidden = [150, 300]: one layer each)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.toml").write_text(example)
    sweep = load(tmp_path / "example.toml")
    assert [p.name for p in sweep.search] == ["lr", "hidden", "dropout"] and sweep.runs == 60
    assert sweep.search[1].choices == ([150], [300])


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "sweeps").glob("*.toml")),
                         ids=lambda path: path.name)
def test_the_sweep_files_of_results_are_valid(path):
    """The sweeps RESULTS.md reports (sweeps/*.toml) are checked like any other."""
    sweep = load(path)
    assert sweep.search and sweep.trials >= 1


def test_sigterm_stops_the_sweep_and_its_workers(tmp_path, jsb_file):
    """SIGTERM to the driver alone (a job scheduler's stop) ends it as Ctrl-C does: exit status
    130, the advice to resume, and no worker left training (their run folders are free)."""
    path = sweep_file(tmp_path, jsb_file, sweep="seeds = [0, 1]").read_text().replace(
        "epochs = 3", "epochs = 400")
    (tmp_path / "s.toml").write_text(path)
    out = tmp_path / "sw"
    process = subprocess.Popen([sys.executable, "-m", "minisnu", "sweep", str(tmp_path / "s.toml"),
                                "--out", str(out), "--jobs", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    runs = [out / "runs" / f"sw-trial000{n}-seed{n}" for n in (0, 1)]
    deadline = time.monotonic() + 120
    while not all((run / "checkpoint.npz").exists() for run in runs) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and f"go on with minisnu sweep --resume {out}" in err
    assert "leaked" not in err, err                     # the stopped workers were cleaned up
    for run in runs:                   # each worker was stopped: its run's lock is free
        with RunFolder(run).lock():
            assert 1 <= RunFolder(run).saved_epoch() < 400


def test_a_study_in_a_database_the_user_names(tmp_path, jsb_file):
    """--storage URL keeps the study there (here another SQLite file standing in for PostgreSQL),
    not in the sweep folder; --report and --resume find it through sweep.json."""
    path = sweep_file(tmp_path, jsb_file, sweep="seeds = [0, 1]")
    out, url = tmp_path / "sw", f"sqlite:///{tmp_path / 'shared.db'}"
    assert main(["sweep", str(path), "--out", str(out), "--storage", url, "--jobs", "2"]) == 0
    assert not (out / "study.db").exists() and (tmp_path / "shared.db").is_file()
    study = optuna().load_study(study_name="sw", storage=storage(url))
    assert [t.state.name for t in study.get_trials()] == ["COMPLETE", "COMPLETE"]
    assert main(["sweep", "--resume", str(out)]) == 0          # nothing left to run
    assert len(study.get_trials()) == 2


def test_a_sweep_of_the_in_memory_experiment(tmp_path, jsb_file):
    """`--task pcm-train`: each trial trains one model's twins for one seed (quick: 2 epochs) and is
    scored by the in-memory network's last validation NLL; its folder holds the run's numbers."""
    out = tmp_path / "sw"
    assert main(["sweep", "--task", "pcm-train", "--set", f"data={jsb_file}", "--set", "quick=true",
                 "--choices", "beta", "5", "8", "--sampler", "grid", "--seeds", "0", "1",
                 "--jobs", "2", "--out", str(out)]) == 0
    study, sweep = study_of(out)
    assert sweep.metric == "nll" and sweep.direction == "minimize"
    trials = study.get_trials()
    assert len(trials) == 4 and all(t.state.name == "COMPLETE" for t in trials)
    for t in trials:
        run = json.loads((Path(t.user_attrs["folder"]) / "metrics.json").read_text())
        assert run["options"]["seed"] == t.user_attrs["seed"] and run["options"]["beta"] == t.params["beta"]
        assert t.value == run["run"]["in_memory"]["valid"][-1] and len(run["run"]["in_memory"]["valid"]) == 2
    with pytest.raises(OptionError, match="figures: the task has no such option"):
        from_fields({"task": "pcm-train"}, {"figures": "elsewhere"}, {})
