"""The command line: list, simulate, assess (bad input, a killed run resumed, a failing pattern).

The kill-and-resume test runs the CLI in subprocesses (sharing this session's compilation
cache) on lif, whose search of tonic_bursting never succeeds, so the run lasts long enough to be
killed after its first checkpoint.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import pytest

from jaxplaus import cli
from jaxplaus import results as R

CACHE = jax.config.jax_compilation_cache_dir
ROOT = Path(__file__).resolve().parent.parent

# tonic spiking is solved in its first generation, tonic bursting never: the killed run (a checkpoint
# after every generation) has 49 generations left when its first checkpoint appears
GENERATIONS = 50
BUDGET = 16 * 2 * GENERATIONS  # population 16 x 2 restart lanes per generation
LIF_ARGS = [
    "assess", "--model", "lif", "--patterns", "tonic_spiking", "tonic_bursting", "--budget", str(BUDGET),
    "--restarts", "2", "--seed", "3", "--robustness-copies", "8",
]


@pytest.fixture(autouse=True)
def _same_cache(monkeypatch):
    # cli.main() points JAX's persistent cache at $JAXPLAUS_CACHE_DIR: keep this session's
    monkeypatch.setenv("JAXPLAUS_CACHE_DIR", str(CACHE))


def _env():
    env = dict(os.environ, JAXPLAUS_CACHE_DIR=str(CACHE))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cli(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "jaxplaus.cli", *args], env=_env(), cwd=ROOT, **kw)


# ----------------------------------------------------------------------------- list, simulate


@pytest.mark.parametrize("what, expect", [("models", "izhikevich2004"), ("patterns", "tonic_spiking"),
                                          ("strategies", "cma_es")])
def test_list(capsys, what, expect):
    assert cli.main(["list", what]) == 0
    assert expect in capsys.readouterr().out


def test_simulate_shows_the_verdict(capsys):
    assert cli.main(["simulate", "--model", "izhikevich2004", "--pattern", "tonic_spiking"]) == 0
    out = capsys.readouterr().out
    assert "spikes" in out and "verdict: PASSED" in out
    # parameters pasted from results.json may carry the gain
    params = json.dumps({"gain": 0.01})
    assert cli.main(["simulate", "--model", "izhikevich2004", "--pattern", "A", "--params", params]) == 0
    out = capsys.readouterr().out
    assert "gain 0.01" in out and "verdict: failed" in out and "  - " in out


def test_simulate_bad_params(capsys):
    assert cli.main(["simulate", "--model", "lif", "--pattern", "A", "--params", '{"zz": 1}']) == 2
    assert "unknown parameters ['zz']" in capsys.readouterr().err
    assert cli.main(["simulate", "--model", "lif", "--pattern", "A", "--params", "{oops"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


# ----------------------------------------------------------------------------- assess: bad input


@pytest.mark.parametrize(
    "args, match",
    [
        (["--model", "hodgkin"], "Unknown model 'hodgkin'; known models:"),
        (["--strategy", "sgd"], "Unknown strategy 'sgd'; known strategies: cma_es"),
        (["--budget", "0"], "budget .*must be an int >= 1, got 0"),
        (["--budget", "-7"], "budget .*must be an int >= 1, got -7"),
        (["--budget", "8"], "budget 8 is less than one generation"),
        (["--patterns", "tonic_spiking", "moonwalk"], "Unknown pattern 'moonwalk'; known patterns:"),
        (["--model", "lif", "--fixed", "a=0.1"], "unknown parameter 'a' for model 'lif'; known:"),
        (["--fixed", "tau"], "--fixed: expected NAME=VALUE, got 'tau'"),
        (["--fixed", "tau=fast"], "--fixed tau: expected a number, got 'fast'"),
        (["--bounds", "a=1"], "--bounds a: expected two numbers LO,HI"),
        (["--bounds", "a=0.5,0.1"], r"bounds\['a'\]: need lo < hi"),
        (["--gain", "5", "1"], "gain: need lo < hi"),
        (["--resume"], "--resume needs --out"),
    ],
)
def test_assess_bad_input_exits_nonzero_and_writes_nothing(capsys, tmp_path, monkeypatch, args, match):
    import re

    monkeypatch.chdir(tmp_path)  # the default run directory would be runs/... here
    out = tmp_path / "run"
    argv = ["assess", *args] + ([] if "--resume" in args else ["--out", str(out)])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxplaus: error: ") and re.search(match, err), err
    assert sorted(os.listdir(tmp_path)) == []


def test_argparse_rejects_non_integers(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["assess", "--budget", "lots"])
    assert e.value.code == 2 and "invalid int value: 'lots'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- assess: kill and resume


@pytest.fixture(scope="module")
def lif_runs(tmp_path_factory):
    """An uninterrupted CLI run, and one killed after its first checkpoint then resumed."""
    base = tmp_path_factory.mktemp("cli")
    full, killed = base / "full", base / "killed"
    # the uninterrupted run first: it compiles the programs the killed run then reads from the cache
    uninterrupted = _cli([*LIF_ARGS, "--out", str(full), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = uninterrupted.communicate(timeout=300)
    assert uninterrupted.returncode == 0, err.decode()
    # the killed run checkpoints after every generation; chunking does not change the result
    proc = _cli([*LIF_ARGS, "--out", str(killed), "--chunk", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not (killed / R.CHECKPOINT).is_file():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    interrupted_at = int(R.RunDirectory(killed).read_checkpoint()[0][".generation"])
    was_complete = (killed / R.RESULTS).exists()
    # resume with no other options: they come from the run's settings.json
    resumed = _cli(["assess", "--out", str(killed), "--resume"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rout, rerr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, rerr.decode()
    return dict(full=full, killed=killed, interrupted_at=interrupted_at, was_complete=was_complete,
                table=out.decode(), resumed_out=rout.decode(), resumed_err=rerr.decode())


def test_a_killed_run_resumes_to_the_uninterrupted_result(lif_runs):
    assert not lif_runs["was_complete"] and lif_runs["interrupted_at"] < GENERATIONS
    full = R.read_results(lif_runs["full"])
    resumed = R.read_results(lif_runs["killed"])
    assert resumed["timing"]["sessions"] == 2 and full["timing"]["sessions"] == 1
    assert R.strip_timings(resumed) == R.strip_timings(full)
    assert R.read_summary(lif_runs["killed"])[0].keys() == R.read_summary(lif_runs["full"])[0].keys()
    assert "resuming lif" in lif_runs["resumed_err"] and "search [" in lif_runs["resumed_err"]


def test_lif_cannot_burst_and_says_why(lif_runs):
    d = R.read_results(lif_runs["full"])
    by_name = {p["name"]: p for p in d["patterns"]}
    burst = by_name["tonic_bursting"]
    assert not burst["passed"] and burst["loss"] > 0 and burst["robustness"] is not None
    assert burst["failed"] and all(isinstance(s, str) and " " in s for s in burst["failed"])
    assert "tonic_bursting" not in d["profile"]
    # never solved: its whole budget, and the lanes the solved pattern handed over (2 patterns' budgets at most)
    assert BUDGET < burst["evaluations"] <= 2 * BUDGET
    assert sum(p["evaluations"] for p in d["patterns"]) <= 2 * BUDGET
    table = lif_runs["table"]
    assert "tonic_bursting" in table and "NO" in table and "patterns passed" in table
    assert "tonic_bursting: " + burst["failed"][0] in table


def test_resume_refuses_other_settings_from_the_cli(lif_runs, capsys):
    assert cli.main(["assess", "--out", str(lif_runs["full"]), "--resume", "--seed", "4"]) == 2
    assert "'seed': the run directory has 3, this call asks for 4" in capsys.readouterr().err
    assert cli.main(["assess", "--out", str(lif_runs["full"]), "--resume", "--model", "adex"]) == 2
    assert "'model': the run directory has 'lif'" in capsys.readouterr().err
    assert cli.main(["assess", "--out", str(lif_runs["full"]), "--model", "lif"]) == 2
    assert "already holds a run" in capsys.readouterr().err
