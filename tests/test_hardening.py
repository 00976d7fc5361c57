"""The command line as a harsh user meets it (issue "Hardening and polish").

Every failure is one line on stderr that names the value or file and what to do, exit status 2
for bad input and 1 when the machine refuses, no traceback, and nothing half-written: files
written before are byte-identical afterwards. Most cases run no search; the disk-full cases and
the report share one small finished run (test_cli.py's LIF run, without robustness).
"""

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxplaus import __version__, cli, files
from jaxplaus import results as R
from jaxplaus import search as S
from jaxplaus.assess import plan, versions
from jaxplaus.assess import run as run_module
from test_cli import LIF_ARGS

ROOT = Path(__file__).resolve().parent.parent
# test_cli.py's LIF run (the suite runs that file first in this process group): its compiled
# programs come from the persistent compilation cache (with --robustness-copies 0 added, none)
TINY = LIF_ARGS[1:]
QUIET = ["--quiet", "--no-report", "--robustness-copies", "0"]


@pytest.fixture(autouse=True)
def _same_cache(monkeypatch):
    monkeypatch.setenv("JAXPLAUS_CACHE_DIR", str(jax.config.jax_compilation_cache_dir))


def _fails(capsys, argv, code: int, *needles: str) -> str:
    """Run the CLI; assert the exit status and a one-line error holding every needle."""
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("jaxplaus: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir())}


def _started_run(path: Path, **options) -> Path:
    """A run directory as a new run leaves it before its first checkpoint: settings.json only."""
    p = plan(patterns=["A"], budget=64, restarts=1, **options)
    R.RunDirectory(path).start(p.record, versions())
    return path


def _disk_full_at(monkeypatch, name: str) -> None:
    """Writes of file ``name`` fail as on a full disk (ENOSPC at fsync); other files are written."""
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(f".{name}."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)


# ----------------------------------------------------------------------------- 2. options checked before the search


@pytest.mark.parametrize("args, needles", [
    (["--fixed", "gain=-1"], ["fixed['gain']", "must be > 0", "got -1"]),
    (["--fixed", "tau=0"], ["fixed['tau']", "must be > 0"]),
    (["--robustness-copies", "10000000000"], ["robustness batch", "10,000,000,001", "lower robustness_copies"]),
    (["--budget", "100000000000"], ["loss history", "over the limit", "lower budget"]),
    (["--restarts", "2000", "--population-size", "1000", "--budget", "2000000", "--full-loss", "every"],
     ["search's batch", "1 x 2000 x 1000 x 3 = 6,000,000", "lower restarts or population_size"]),
    (["--restarts", "5000", "--population-size", "1000", "--budget", "5000000"],
     ["search's batch", "1 x 5000 x 1000 x 1 = 5,000,000", "lower restarts or population_size"]),
    (["--warmup", "100000000"], ["warmup must be an int in [1, 100000]", "100000000"]),
])
def test_every_option_is_checked_before_anything_is_written(capsys, tmp_path, monkeypatch, args, needles):
    monkeypatch.chdir(tmp_path)
    _fails(capsys, ["assess", "--patterns", "A", *args, "--out", str(tmp_path / "run")], 2, *needles)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- 1. the machine refuses


def test_an_output_that_cannot_be_created_is_an_environment_failure(capsys, tmp_path):
    _fails(capsys, ["assess", *TINY, *QUIET, "--out", "/proc/jaxplaus-x"], 1, "'/proc/jaxplaus-x'",
           "No such file or directory", "choose another location")
    assert not os.path.exists("/proc/jaxplaus-x")


def test_a_read_only_output_is_an_environment_failure(capsys, tmp_path, monkeypatch):
    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(os, "mkdir", read_only)
    _fails(capsys, ["assess", *TINY, *QUIET, "--out", str(tmp_path / "run")], 1, "Read-only file system",
           "choose a writable location", str(tmp_path / "run"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("error, words", [
    (MemoryError(), "out of memory"),
    (RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 99857989632 bytes.\nmore"), "out of memory"),
    (OSError(errno.EACCES, "Permission denied", "/x/y"), "'/x/y': Permission denied; no permission"),
])
def test_memory_and_os_failures_exit_1_in_one_line(error, words):
    code, message = cli._failure(error)
    assert code == 1 and words in message and "\n" not in message


def test_a_bug_is_not_disguised():
    assert cli._failure(KeyError("x")) is None  # its traceback shows


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny finished run (report included) and its files' bytes."""
    out = tmp_path_factory.mktemp("hardening") / "run"
    assert cli.main(["assess", *TINY, "--quiet", "--robustness-copies", "0", "--out", str(out)]) == 0
    return out, _snapshot(out)


def test_disk_full_at_the_settings_leaves_an_empty_directory_to_start_again(capsys, tmp_path, monkeypatch):
    out = tmp_path / "run"
    _disk_full_at(monkeypatch, R.SETTINGS)
    _fails(capsys, ["assess", *TINY, *QUIET, "--out", str(out)], 1, "settings.json", "No space left on device",
           "then run the command again")
    assert os.listdir(out) == []  # no settings, no temporary file, no lock file: a new run may start here


def test_disk_full_at_a_checkpoint_keeps_the_settings_and_says_resume(capsys, tmp_path, monkeypatch):
    out = tmp_path / "run"
    _disk_full_at(monkeypatch, R.CHECKPOINT)
    _fails(capsys, ["assess", *TINY, *QUIET, "--out", str(out)], 1, "checkpoint.npz", "No space left on device",
           "free some space", f"jaxplaus assess --out {out} --resume")
    assert sorted(os.listdir(out)) == [R.SETTINGS]  # no temporary file, no lock file left
    assert R.RunDirectory(out).read_settings()["settings"]["patterns"] == ["tonic_spiking", "tonic_bursting"]


def test_disk_full_at_the_results_loses_nothing_and_resume_finishes(capsys, tmp_path, monkeypatch, finished):
    run, files_before = finished
    out = tmp_path / "run"
    shutil.copytree(run, out)
    for name in (R.RESULTS, R.SUMMARY, "report.html"):
        (out / name).unlink()
    kept = _snapshot(out)  # settings.json and checkpoint.npz of the finished search
    with monkeypatch.context() as m:
        _disk_full_at(m, R.RESULTS)
        _fails(capsys, ["assess", "--out", str(out), "--resume", "--quiet", "--no-report"], 1, "results.json",
               "free some space", "--resume")
    assert {k: v for k, v in _snapshot(out).items() if k in kept} == kept and not (out / R.RESULTS).exists()
    assert cli.main(["assess", "--out", str(out), "--resume", "--quiet", "--no-report"]) == 0
    assert R.strip_timings(R.read_results(out)) == R.strip_timings(json.loads(files_before[R.RESULTS]))


# ----------------------------------------------------------------------------- 3. damaged run-directory files


def _checkpoint_arrays(**options) -> dict:
    p = plan(patterns=["A"], budget=64, restarts=1, **options)
    state = S.init_state(p.space, p.settings.strategy, population_size=p.settings.population_size,
                         generations=p.generations, restarts=1, n_tasks=1, seed=p.settings.seed)
    return S.state_to_arrays(state)


def _npz(arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


NAN_FILLED = {k: np.full_like(v, np.nan) if v.dtype.kind == "f" else v for k, v in _checkpoint_arrays().items()}
DAMAGED_CHECKPOINTS = {
    "empty": (b"", "not a readable npz archive"),
    "truncated": (_npz(_checkpoint_arrays())[:300], "not a readable npz archive"),
    "random bytes": (bytes(range(256)) * 4, "pickled data or Python objects, which jaxplaus never loads"),
    "objects": (_npz({"x": np.array([{"a": 1}], dtype=object)}), "pickled data or Python objects"),
    "one array": (_npy(np.zeros(2)), "not a readable npz archive"),
    "NaN-filled, no digest": (_npz(NAN_FILLED), "do not match its digest"),
}


@pytest.mark.parametrize("case", list(DAMAGED_CHECKPOINTS))
def test_a_damaged_checkpoint_is_named_and_left_as_it_is(capsys, tmp_path, case):
    data, words = DAMAGED_CHECKPOINTS[case]
    out = _started_run(tmp_path / "run")
    (out / R.CHECKPOINT).write_bytes(data)
    before = _snapshot(out)
    err = _fails(capsys, ["assess", "--out", str(out), "--resume", "--quiet"], 2, "checkpoint.npz", words,
                 "delete it and resume")
    assert "allow_pickle" not in err
    assert _snapshot(out) == before


def test_another_runs_checkpoint_is_refused(capsys, tmp_path):
    out = _started_run(tmp_path / "run")
    other = plan(patterns=["A"], budget=64, restarts=1, seed=1)  # the same shapes, another seed
    R.RunDirectory(out).write_checkpoint(_checkpoint_arrays(seed=1), {}, R.fingerprint(other.record, versions()))
    before = _snapshot(out)
    _fails(capsys, ["assess", "--out", str(out), "--resume", "--quiet"], 2, "checkpoint.npz",
           "written for other settings or library versions", "delete it and resume")
    assert _snapshot(out) == before


def test_a_checkpoint_of_other_library_versions_is_refused_naming_them(capsys, tmp_path, monkeypatch):
    out = _started_run(tmp_path / "run")
    mine = plan(patterns=["A"], budget=64, restarts=1)
    R.RunDirectory(out).write_checkpoint(_checkpoint_arrays(), {}, R.fingerprint(mine.record, versions()))
    monkeypatch.setattr(run_module, "versions", lambda: dict(versions(), jax="99.0"))
    _fails(capsys, ["assess", "--out", str(out), "--resume", "--quiet"], 2, "versions changed since", "'jax'",
           "99.0")


def test_a_truncated_settings_file_is_named(capsys, tmp_path):
    out = _started_run(tmp_path / "run")
    (out / R.SETTINGS).write_bytes((out / R.SETTINGS).read_bytes()[:100])
    before = _snapshot(out)
    _fails(capsys, ["assess", "--out", str(out), "--resume"], 2, "settings.json' is damaged: not valid JSON")
    assert _snapshot(out) == before


@pytest.mark.parametrize("damage, words", [
    (lambda text: text[: len(text) // 2], "results.json' is damaged: not valid JSON"),
    (lambda text: text.replace('"score"', '"scores"'), "results.json' is damaged: it lacks score"),
    (lambda text: text.replace('"letter"', '"letters"'), "it lacks patterns[0].letter"),
])
def test_report_names_a_damaged_results_file(capsys, tmp_path, finished, damage, words):
    run, files_before = finished
    out = tmp_path / "run"
    shutil.copytree(run, out)
    (out / R.RESULTS).write_text(damage(files_before[R.RESULTS].decode()))
    before = _snapshot(out)
    _fails(capsys, ["report", str(out)], 2, words)
    assert _snapshot(out) == before


# ----------------------------------------------------------------------------- 4. atomic files, one mode


def test_every_file_of_a_run_has_the_same_mode(finished):
    run, files_before = finished
    assert sorted(files_before) == sorted([R.SETTINGS, R.CHECKPOINT, R.SUMMARY, R.RESULTS, "report.html"])
    modes = {name: (run / name).stat().st_mode & 0o777 for name in files_before}
    assert set(modes.values()) == {files.file_mode()}, modes


def test_a_report_that_cannot_be_written_leaves_the_old_one(capsys, tmp_path, monkeypatch, finished):
    run, _ = finished
    out = tmp_path / "run"
    shutil.copytree(run, out)
    before = _snapshot(out)
    _disk_full_at(monkeypatch, "report.html")
    _fails(capsys, ["report", str(out)], 1, "report.html", "No space left on device", "free some space")
    assert _snapshot(out) == before


# ----------------------------------------------------------------------------- 6. one writer at a time

HOLDER = """
import sys, time
from jaxplaus import files
with files.locked(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_refused_naming_the_holder_and_a_crash_releases_the_lock(capsys, tmp_path):
    out = _started_run(tmp_path / "run")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, env=env)
    try:
        assert holder.stdout.readline() == b"locked\n"
        before = _snapshot(out)
        _fails(capsys, ["assess", "--out", str(out), "--resume", "--quiet"], 1, str(out),
               f"in use by another jaxplaus process (pid {holder.pid})")
        assert _snapshot(out) == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with files.locked(out) as lock:  # the kernel released the dead holder's lock
        assert lock.read_text() == f"{os.getpid()}\n"
    assert not (out / files.LOCK).exists()  # removed on release


# ----------------------------------------------------------------------------- 7. simulate


@pytest.mark.parametrize("params, needles", [
    ('{"a": NaN}', ["--params 'a' must be a finite number, got NaN"]),
    ('{"a": Infinity}', ["--params 'a' must be a finite number, got Infinity"]),
    ('{"a": "0.02"}', ["--params 'a' must be a finite number, got \"0.02\""]),
    ('{"a": null}', ["--params 'a' must be a finite number, got null"]),
    ('{"a": [0.02]}', ["--params 'a' must be a finite number, got [0.02]"]),
    ('{"a": true}', ["--params 'a' must be a finite number, got true"]),
    ('{"gain": -1}', ["--params 'gain' must be > 0, got -1"]),
])
def test_simulate_names_a_bad_parameter(capsys, params, needles):
    _fails(capsys, ["simulate", "--model", "izhikevich2004", "--pattern", "A", "--params", params], 2, *needles)


@pytest.mark.parametrize("args, needles", [
    (["--warmup", "100000000"], ["--warmup must be an int in [0, 100000], got 100000000"]),
    (["--warmup", "-1"], ["--warmup must be an int in [0, 100000], got -1"]),
    (["--gain", "0"], ["--gain must be > 0, got 0"]),
    (["--gain", "nan"], ["--gain must be a finite number, got NaN"]),
])
def test_simulate_bounds_its_options(capsys, args, needles):
    _fails(capsys, ["simulate", "--model", "izhikevich2004", "--pattern", "A", *args], 2, *needles)


# ----------------------------------------------------------------------------- 8. polish


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == f"jaxplaus {__version__}\n"


def test_the_license_is_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"  # a table here makes setuptools print a deprecation wall


def test_the_report_tables_scroll_instead_of_overflowing(finished):
    run, _ = finished
    html = (run / "report.html").read_text()
    assert ".scroll { overflow-x: auto" in html
    assert html.count("<div class='scroll'><table>") == 3  # the profile, plausibility and patterns tables
