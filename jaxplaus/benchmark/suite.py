"""The benchmark driver: every (strategy, seed) search, resumable, written atomically.

A benchmark directory holds ``settings.json`` (the checked settings and the library versions),
one ``searches/<strategy>-seed<k>.json`` per finished (strategy, seed) search (written atomically
as it ends), and at the end ``runs.json`` / ``runs.csv`` (every run) and ``summary.json`` (aRT,
success rates; :mod:`~jaxplaus.benchmark.tables`). A resumed benchmark (same settings) loads the
searches already written and runs the others: an interruption loses at most the search under way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jaxplaus import files
from jaxplaus.assess.records import versions
from jaxplaus.benchmark import tables
from jaxplaus.benchmark.config import BenchmarkSettings, checked
from jaxplaus.benchmark.runs import ROW_COLUMNS, search_runs
from jaxplaus.results import RunDirectoryError, settings_differences

SETTINGS, SEARCHES, RUNS_JSON, RUNS_CSV, SUMMARY = "settings.json", "searches", "runs.json", "runs.csv", "summary.json"


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A finished benchmark: its settings (plain data), every run (rows of
    :data:`~jaxplaus.benchmark.runs.ROW_COLUMNS` plus ``history``), the searches' timings
    (``"<strategy>-seed<k>" -> {search_s, validation_s, wall_s}``), its directory."""

    settings: dict[str, Any]
    runs: list[dict[str, Any]]
    timings: dict[str, dict[str, float]]
    out: str | None

    def summary(self) -> dict[str, Any]:
        """aRT per pattern and strategy, success rates with Wilson intervals (:func:`tables.summary`)."""
        return tables.summary(self.runs, self.settings["strategies"])


def _search_file(out: Path, strategy: str, seed: int) -> Path:
    return out / SEARCHES / f"{strategy}-seed{seed}.json"


def _prepare(out: Path, record: dict, resume: bool) -> None:
    """Check that ``out`` can take this benchmark: new (absent or empty), or, with ``resume``,
    one with the same settings."""
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"{str(out)!r} is a file, not a benchmark directory")
    present = out.is_dir() and any(p.name != files.LOCK for p in out.iterdir())
    if not present:
        return
    if not resume:
        raise RunDirectoryError(f"{str(out)!r} is not empty: pass resume=True (--resume) to continue its benchmark, "
                                "or choose another directory")
    if not (out / SETTINGS).is_file():
        raise RunDirectoryError(f"{str(out)!r} is not a benchmark directory (no {SETTINGS})")
    saved = files.read_json(out / SETTINGS).get("settings", {})
    diff = settings_differences(saved, record)
    if diff:
        raise RunDirectoryError(f"{str(out)!r} holds a benchmark with other settings: {'; '.join(diff)}")


def _search(out: Path | None, s: BenchmarkSettings, strategy: str, seed: int, record: dict) -> dict:
    """One (strategy, seed) search: read back if ``out`` has it (same settings), else run and written."""
    path = None if out is None else _search_file(out, strategy, seed)
    if path is not None and path.is_file():
        data = files.read_json(path)
        if data.get("settings") != record:
            raise RunDirectoryError(f"{str(path)!r} was written with other settings; move it away to rerun it")
        return data
    data = search_runs(s, strategy, seed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_json(path, {**data, "settings": record})
    return data


def benchmark(
    settings: BenchmarkSettings | None = None, *, out: str | os.PathLike | None = None, resume: bool = False,
    progress: Callable[[str], Any] | None = None, **options,
) -> Benchmark:
    """Benchmark strategies on a model's firing patterns (COCO-style: runtimes to a validated pass).

    Runs every (strategy, seed) search of ``settings`` (:class:`BenchmarkSettings`; ``options``
    replace its fields), each over every pattern at once, validates every pattern's winner in
    float64 and records each run's runtime (evaluations and seconds to its first validated pass,
    censored when none) and its best-loss history.

    Args:
        out: the benchmark directory (see the module docstring); None writes nothing.
        resume: continue the benchmark in ``out`` (same settings), running only the missing searches.
        progress: called with a line of text after each search.

    Raises:
        TypeError / ValueError: a bad option (before anything runs or is written);
        :class:`~jaxplaus.results.RunDirectoryError`: ``out`` cannot be used as asked;
        :class:`~jaxplaus.benchmark.optuna_strategies.OptunaMissingError`: Optuna asked for, not installed;
        :class:`~jaxplaus.errors.RunLockedError`: another process is writing ``out``.
    """
    s = checked(settings, **options)
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be True or False, got {resume!r}")
    record = s.record()
    path = None if out is None else Path(out)
    if path is not None:
        _prepare(path, record, resume)
        path.mkdir(parents=True, exist_ok=True)
    with (files.locked(path) if path is not None else contextlib.nullcontext()):
        if path is not None and not (path / SETTINGS).is_file():
            files.write_json(path / SETTINGS, {"settings": record, "versions": versions()})
        runs, timings = [], {}
        for strategy in s.strategies:
            for seed in range(s.first_seed, s.first_seed + s.seeds):
                data = _search(path, s, strategy, seed, record)
                runs.extend(data["runs"])
                timings[f"{strategy}-seed{seed}"] = data["timing"]
                if progress is not None:
                    solved = sum(r["solved"] for r in data["runs"])
                    progress(f"{strategy} seed {seed}: {solved}/{len(data['runs'])} patterns passed, "
                             f"search {data['timing']['search_s']:.1f} s")
        result = Benchmark(record, runs, timings, None if path is None else str(path))
        if path is not None:
            _write_tables(path, result)
    return result


def _write_tables(path: Path, result: Benchmark) -> None:
    files.write_json(path / RUNS_JSON, {"settings": result.settings, "runs": result.runs, "timings": result.timings})
    files.write_atomic(path / RUNS_CSV, files.csv_text(result.runs, ROW_COLUMNS))
    files.write_json(path / SUMMARY, result.summary())


def load(out: str | os.PathLike) -> Benchmark:
    """A finished benchmark from its directory (``runs.json``)."""
    path = Path(out)
    if not (path / RUNS_JSON).is_file():
        raise RunDirectoryError(f"{str(path)!r} holds no finished benchmark (no {RUNS_JSON}); run or resume it first")
    data = files.read_json(path / RUNS_JSON)
    return Benchmark(data["settings"], data["runs"], data["timings"], str(path))


__all__ = ["Benchmark", "benchmark", "load"]
