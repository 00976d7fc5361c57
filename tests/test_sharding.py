"""An assessment split over devices and processes equals the one-device run (docs/scaling.md).

Each run is a subprocess (the device count must be set before jax is imported): this file run
as a script with one JSON argument is the worker. The runs are tiny (izhikevich2004, patterns A
and B, budget 256, 2 restart lanes, 2 robustness copies) and share this session's compilation
cache. Compared: ``results.json`` without its timings (the profile, every pattern's winner,
its verdict, robustness, history and evaluations), which must be equal to the bit.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = dict(model="izhikevich2004", patterns=["A", "B"], budget=256, restarts=2, robustness_copies=2, seed=0)
TIMEOUT = 300


def _worker(job: dict) -> None:
    """Run one assessment as ``job`` says and print its results (without timings) as JSON.

    job: ``devices`` (forced XLA CPU devices of this process), ``use`` (``assess(devices=)``),
    ``process`` (``[coordinator, count, id]`` for jax.distributed, or absent), ``out``, ``resume``,
    ``stop_after`` (raise KeyboardInterrupt after that many search chunks), ``chunk``, ``cache``.
    """
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={job['devices']}"
    import jax

    jax.config.update("jax_compilation_cache_dir", job["cache"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    if job.get("process"):
        address, count, pid = job["process"]
        jax.distributed.initialize(address, num_processes=count, process_id=pid)
    import jaxplaus as jp
    from jaxplaus.files import strip_timings

    seen = []

    def stop(pr):
        seen.append(pr.phase)
        if seen.count("search") >= job.get("stop_after", 10**9):
            raise KeyboardInterrupt

    try:
        a = jp.assess(**OPTIONS, out=job.get("out"), resume=job.get("resume", False), devices=job.get("use"),
                      chunk=job.get("chunk"), progress=stop)
    except KeyboardInterrupt:
        print(json.dumps({"interrupted": True}))
        return
    d = strip_timings(a.to_dict())
    print(json.dumps({"results": d, "devices": a.timing.get("devices"), "processes": jax.process_count()}))


def _start(job: dict) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("XLA_FLAGS", None)
    return subprocess.Popen([sys.executable, __file__, json.dumps(job)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cache():
    import jax

    return jax.config.jax_compilation_cache_dir or str(ROOT / ".jax_cache")


@pytest.fixture(scope="module")
def runs(cache, tmp_path_factory):
    """The single-process runs, started together (two cores): one device; 4 devices; and a run
    on 2 of 4 devices (``devices=2``) interrupted after its first chunk (for the resume, whose
    result must equal the one-device run's)."""
    out = tmp_path_factory.mktemp("sharding") / "run"
    jobs = {"one": dict(devices=1), "four": dict(devices=4),
            "interrupted": dict(devices=4, use=2, out=str(out), chunk=4, stop_after=1)}
    procs = {k: _start(dict(job, cache=cache)) for k, job in jobs.items()}
    return {k: _finish(p) for k, p in procs.items()} | {"out": out}


def test_an_assessment_over_host_devices_equals_one_device(runs):
    run, one = runs["four"], runs["one"]
    assert run["devices"] == 4 and one["devices"] == 1
    assert run["results"]["profile"] == one["results"]["profile"]
    assert run["results"] == one["results"]  # winners, verdicts, histories: bit for bit


def test_two_processes_resume_a_run_and_equal_one_process(cache, runs):
    """The run interrupted after its first chunk (one process, 2 of its 4 devices) is resumed by
    two jax.distributed processes on localhost (one device each): process 0 alone writes, both
    return the one-process result."""
    out = runs["out"]
    assert runs["interrupted"] == {"interrupted": True} and (out / "checkpoint.npz").is_file()
    address = f"127.0.0.1:{_free_port()}"
    procs = [_start(dict(devices=1, cache=cache, out=str(out), resume=True, chunk=4, process=[address, 2, pid]))
             for pid in (0, 1)]
    resumed = [_finish(p) for p in procs]
    assert [r["processes"] for r in resumed] == [2, 2] and [r["devices"] for r in resumed] == [2, 2]
    for run in resumed:
        assert run["results"] == runs["one"]["results"]
    written = json.loads((out / "results.json").read_text())
    assert written["timing"]["processes"] == 2 and written["timing"]["sessions"] == 2


def test_devices_is_checked(tmp_path, capsys, monkeypatch, cache):
    from jaxplaus import cli

    monkeypatch.setenv("JAXPLAUS_CACHE_DIR", cache)  # cli.main() points JAX's cache there: keep this session's
    from jaxplaus import search as S

    for bad in (0, -1, 2.0, True, 10**6):
        with pytest.raises(ValueError, match="devices"):
            S.placement(bad)
    assert S.placement(1).size == 1
    out = tmp_path / "run"
    assert cli.main(["assess", "--patterns", "A", "--budget", "256", "--devices", "0", "--out", str(out)]) == 2
    assert "devices" in capsys.readouterr().err and not out.exists()


if __name__ == "__main__":
    _worker(json.loads(sys.argv[1]))
