"""The assessment driver: plan, search every pattern at once, validate, write the run directory.

The steps are in their own modules (:mod:`~jaxplaus.assess.plan`, :mod:`~jaxplaus.assess.objective`,
:mod:`~jaxplaus.assess.validation`, :mod:`~jaxplaus.assess.records`); this module strings them
together and keeps the run directory (checkpoint after each chunk, results at the end) and the
progress reports. ``docs/assessment.md`` says what an assessment does and why, with measurements.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from jaxplaus import results as _results
from jaxplaus import search as S
from jaxplaus.assess.config import PHYSIOLOGICAL, Settings, box, upgraded
from jaxplaus.assess.objective import SearchObjectives, search_objectives
from jaxplaus.assess.checks import int_at_least
from jaxplaus.assess.plan import Plan, plan
from jaxplaus.assess.plausibility import needed, reference_robustness, winner_figures
from jaxplaus.assess.records import Assessment, PatternResult, Progress, history_steps, load, versions
from jaxplaus.assess.validation import (
    Validator,
    best_lanes,
    check_validators,
    choose,
    finite_or_none,
    first_verdicts,
    robustness,
    run_validators,
    zero_judge,
)

DEFAULT_CHUNK = 20  # generations per compiled call: progress and a checkpoint after each


@dataclasses.dataclass
class _Clock:
    """Search time across sessions (resumes) and when each pattern was first solved (-1: not yet)."""

    before: float  # search seconds of earlier sessions
    sessions: int
    solved_at: np.ndarray  # [P] search seconds at the chunk end that first saw loss 0
    t0: float = dataclasses.field(default_factory=time.perf_counter)

    def search_s(self) -> float:
        return self.before + (time.perf_counter() - self.t0)

    def meta(self) -> dict[str, Any]:
        return {"search_s": self.search_s(), "solved_at_s": self.solved_at, "sessions": self.sessions}


def assess(
    model=None,
    patterns: Sequence[str] | str | None = None,
    *,
    settings: Settings | None = None,
    out=None,
    resume: bool = False,
    chunk: int | None = None,
    progress: Callable[[Progress], Any] | None = None,
    validators: Sequence[Validator] | None = None,
    devices: int | None = None,
    **options,
) -> Assessment:
    """Assess how many of Izhikevich's firing patterns ``model`` can reproduce.

    Searches all patterns at once (:func:`jaxplaus.search.run_search`, the patterns as tasks),
    validates each pattern's winner in float64 with the strict validator (a pattern passes only
    if that passes), measures its robustness and writes the run directory. ``docs/assessment.md``
    explains each step and each option.

    Args:
        model: a registered model name or a :class:`~jaxplaus.models.Model` (default: the
            settings' model, ``izhikevich2004``).
        patterns: pattern names or letters (None: all 20).
        settings: a :class:`~jaxplaus.assess.config.Settings`; ``options``, its field names
            (``budget``, ``restarts``, ``seed``, ...; ``docs/assessment.md``), replace its fields.
        out: a run directory to write (``results.json``, ``summary.csv``, ``settings.json``,
            ``checkpoint.npz``); None writes nothing. Without ``resume`` it must not exist or be empty.
        resume: continue the interrupted run in ``out`` from its last checkpoint (the settings
            must equal the run's; the result equals an uninterrupted run's). A finished run is
            loaded and returned as it is.
        chunk: generations per compiled call (progress and a checkpoint after each); default
            :data:`DEFAULT_CHUNK`. It does not change the result (unless ``share > 0``).
        progress: called with a :class:`Progress` after each chunk and each validation.
        validators: extra validations of each pattern's chosen point (:class:`Validator`). A
            pattern then passes only if the float64 validation AND every validator pass; their
            names go into the settings (a resume must ask for the same ones).
        devices: how many devices the search's batch is split over (None: every device of every
            process; with ``jax.distributed.initialize`` called, a multiple of the process count,
            each process giving the same number). A run-time choice: the profile and winners
            equal a one-device run's (``docs/scaling.md`` says how exactly), and a run may be
            resumed on another number. With several processes, every process calls ``assess``
            with the same arguments; only process 0 writes ``out`` and reports progress, and
            every process returns the same assessment.

    Raises:
        ValueError / TypeError: for any bad argument, the sizes the run would allocate included
            (before anything is written or searched);
        :class:`jaxplaus.results.RunDirectoryError` (a ValueError) when ``out`` cannot be used, or
            its checkpoint belongs to other settings or library versions (its fingerprint);
        :class:`jaxplaus.errors.DamagedFileError` (a ValueError) when a file of ``out`` is damaged;
        :class:`jaxplaus.errors.RunLockedError` when another process is writing ``out`` (it is
            locked while this call writes it);
        OSError: when a file cannot be written (disk full, read-only); the files written before
            stay intact, and a resume continues from them.
    """
    t_start, started = time.perf_counter(), _now()
    given = {k: v for k, v in (("model", model), ("patterns", patterns)) if v is not None}
    p = plan(settings, **given, **options)
    chunk = DEFAULT_CHUNK if chunk is None else int_at_least("chunk", chunk, 1)
    validators = check_validators(validators, p.model)
    placement = S.placement(devices)
    if validators:
        p = dataclasses.replace(p, record={**p.record, "validators": [v.name for v in validators]})
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be True or False, got {resume!r}")
    if resume and out is None:
        raise ValueError("resume=True needs the run directory to resume (out=...)")
    lead = S.is_lead()
    run_dir = None if out is None or not lead else _results.RunDirectory(out)  # process 0 alone writes
    progress = progress if lead else None
    # ---- everything is checked: from here on, the run directory is written, by this process alone
    with _opened(run_dir, p.record, resume) as status:
        if status == "complete":
            return _finished(run_dir, p, progress)
        return _run(p, run_dir, status, chunk, progress, validators, t_start, started, placement)


STATUSES = ("new", "resume", "complete", "error")  # of the run directory, as processes agree on it


def _agreed(status: str) -> str:
    """Process 0's ``status`` (of :data:`STATUSES`), in every process."""
    return STATUSES[int(S.broadcast(np.asarray(STATUSES.index(status), np.int32)))]


@contextlib.contextmanager
def _opened(run_dir, record, resume: bool):
    """The run directory's status (:meth:`~jaxplaus.results.RunDirectory.prepare`), agreed by
    every process: checked, then, unless the run is complete, checked again while this process
    holds the directory's lock (the directory created first). Without a directory (none asked
    for, or a process other than 0), process 0's status; ``"new"`` with one process and none."""
    if run_dir is None:
        status = _agreed("new")
        if status == "error":
            raise _results.RunDirectoryError("process 0 refused the run directory (its error says why)")
        yield status
        return
    with contextlib.ExitStack() as stack:
        try:
            status = run_dir.prepare(record, resume, upgrade=upgraded)
            if status != "complete":
                run_dir.path.mkdir(parents=True, exist_ok=True)
                stack.enter_context(run_dir.locked())
                status = run_dir.prepare(record, resume, upgrade=upgraded)  # another process may have finished it
        except BaseException:
            _agreed("error")
            raise
        yield _agreed(status)


def _run(p: Plan, run_dir, status: str, chunk: int, progress, validators: tuple, t_start: float, started: str,
         placement):
    """Search, validate and write: the assessment of a checked plan (``status`` "new" or "resume")."""
    fingerprint = _results.fingerprint(p.record, versions())
    initial, clock = _open(run_dir, status, p, fingerprint)
    report = _Reporter(p, progress, t_start, clock)
    objectives = _objectives(p)
    result = _search(p, objectives, run_dir, initial, clock, chunk, report, fingerprint, placement)
    search_s = clock.search_s() if report.chunks else clock.before
    outcomes, validation_s = _validate(p, result, validators, report)
    needs = _robustness_needed(p)
    search = _search_record(result, objectives)
    assessment = Assessment(
        model=p.model.name,
        patterns=tuple(_pattern_result(p, t, result, o, clock.solved_at[t], search_s, needs[t])
                       for t, o in enumerate(outcomes)),
        settings=p.record,
        versions=versions(),
        search=search,
        timing={"wall_s": round(time.perf_counter() - t_start, 3), "search_s": round(search_s, 3),
                "neuron_steps_per_s": round(search["neuron_steps"] / search_s) if search_s > 0 else None,
                "validation_s": round(validation_s, 3), "sessions": clock.sessions, "started": started,
                "finished": _now(), "devices": placement.size, "processes": jax.process_count()},
        run_dir=None if run_dir is None else str(run_dir.path),
    )
    if run_dir is not None:
        run_dir.write_results(assessment.to_dict(), assessment.csv_rows(), assessment.csv_columns())
    report("done", result.generations, result.best_loss, len(p.patterns), assessment.score[0])
    return assessment


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclasses.dataclass
class _Reporter:
    """Sends :class:`Progress` to the caller's callback (if any)."""

    p: Plan
    callback: Callable[[Progress], Any] | None
    t_start: float
    clock: _Clock
    chunks: int = 0

    def __call__(self, phase: str, done: int, best_loss, validated: int = 0, passed: int = 0) -> None:
        if self.callback is None:
            return
        best = np.asarray(best_loss, np.float64)
        names = tuple(x.name for x in self.p.patterns)
        elapsed = time.perf_counter() - self.t_start + self.clock.before
        self.callback(Progress(phase, int(done), self.p.generations, names, tuple(best.tolist()),
                               int(np.sum(best <= 0)), validated, passed, elapsed))


def _finished(run_dir, p: Plan, progress) -> Assessment:
    """A finished run with these settings: loaded as it is (by process 0, and shared)."""
    done = _shared(load(run_dir.path) if run_dir is not None else None)
    if progress is not None:
        losses = [x.search_loss if x.search_loss is not None else math.inf for x in done.patterns]
        reporter = _Reporter(p, progress, time.perf_counter(), _Clock(0.0, 0, np.zeros(0)))
        reporter("done", p.generations, losses, len(done.patterns), done.score[0])
    return done


def _shared(done: Assessment | None) -> Assessment:
    """Process 0's ``done`` in every process (its ``results.json`` data sent as bytes)."""
    if jax.process_count() == 1:
        return done
    data = np.frombuffer(json.dumps(done.to_dict()).encode(), np.uint8) if done is not None else np.zeros(0, np.uint8)
    size = int(S.broadcast(np.asarray(data.size, np.int64)))
    data = S.broadcast(np.resize(data, size) if data.size != size else data)
    return done if done is not None else Assessment.from_dict(json.loads(bytes(data).decode()))


def _open(run_dir, status: str, p: Plan, fingerprint: str):
    """``(initial search state arrays or None, clock)``: a new run's settings written, or a resumed
    run's checkpoint read (refused unless it carries this run's ``fingerprint``)."""
    n_pat = len(p.patterns)
    initial, meta = None, {}
    if status == "new" and run_dir is not None:
        run_dir.start(p.record, versions())
    elif status == "resume" and run_dir is not None:  # another process gets process 0's state from the search
        try:
            ck = run_dir.read_checkpoint(fingerprint)
        except _results.RunDirectoryError as err:
            saved = run_dir.read_settings().get("versions", {})
            changed = {k: [saved.get(k), v] for k, v in versions().items() if saved.get(k) != v}
            raise _results.RunDirectoryError(f"{err} (versions changed since: {changed})") if changed else err
        if ck is not None:
            initial, meta = ck
    solved_at = np.asarray(meta.get("solved_at_s", np.full(n_pat, -1.0)), np.float64).copy()
    if solved_at.shape != (n_pat,):
        raise _results.RunDirectoryError(f"The checkpoint in {str(run_dir.path)!r} does not match its settings")
    return initial, _Clock(float(meta.get("search_s", 0.0)), int(meta.get("sessions", 0)) + 1, solved_at)


def _search(
    p: Plan, objectives: SearchObjectives, run_dir, initial, clock: _Clock, chunk: int, report: _Reporter,
    fingerprint: str, placement,
) -> S.SearchResult:
    """The search of every pattern at once; a checkpoint (with the run's ``fingerprint``) and a
    progress report after each chunk."""

    def on_chunk(state, done):
        report.chunks += 1
        best = np.asarray(state.lanes.best_loss).min(axis=1)
        now = clock.search_s()
        clock.solved_at[best > 0] = -1  # a zero the float64 judge rejected is no solution
        clock.solved_at[(best <= 0) & (clock.solved_at < 0)] = now
        if run_dir is not None:
            run_dir.write_checkpoint(S.state_to_arrays(state), clock.meta(), fingerprint)
        report("search", done, best)

    s = p.settings
    return S.run_search(
        objectives.objective, p.space, s.strategy,
        population_size=s.population_size, generations=p.generations, restarts=s.restarts, n_tasks=len(p.patterns),
        seed=s.seed, chunk=chunk, on_chunk=on_chunk, initial_state=initial, dtype=s.search_dtype, share=s.share,
        pin=p.pins, pinned_lanes=s.core_lanes, rebatch_every=s.rebatch_every, lane_pool=s.lane_pool,
        confirm_jitter=objectives.confirm_jitter, confirm_objective=objectives.confirming, accept=zero_judge(p),
        devices=placement,
    )


def _objectives(p: Plan) -> SearchObjectives:
    """The search's objectives (:func:`~jaxplaus.assess.objective.search_objectives`)."""
    s = p.settings
    return search_objectives(p.model, p.patterns, s.warmup, p.space, s.jitter, s.lagged_features, s.full_loss,
                             p.generations)


def _search_record(result: S.SearchResult, objectives: SearchObjectives) -> dict[str, Any]:
    """What the search did: generations, evaluations, and the candidates and neuron-steps it
    simulated (frozen lanes of solved patterns still in the batch included)."""
    per_task = np.sum(result.simulated, axis=1)
    return {
        "generations_run": int(result.generations),
        "evaluations": int(np.sum(result.evaluations)),
        "candidates_simulated": int(np.sum(per_task)),
        "neuron_steps": int(per_task @ objectives.samples_per_candidate()),
    }


@dataclasses.dataclass(frozen=True)
class _Outcome:
    """One pattern's validation: the chosen lane, its point, the float64 verdict, the extra
    validators' verdicts, how many lanes were checked, the robustness, the seconds it took."""

    lane: int
    params: dict
    verdict: Any
    extra: dict
    lanes_checked: int
    robustness: float | None
    seconds: float

    @property
    def passed(self) -> bool:
        return bool(self.verdict.passed) and all(v["passed"] for v in self.extra.values())


def _validate(p: Plan, result: S.SearchResult, validators: tuple, report: _Reporter) -> tuple[list[_Outcome], float]:
    """Every pattern's winner validated (float64, all patterns' best points at once; then more
    lanes one by one where the search and the validator disagree, then the extra validators),
    then robustness."""
    t0 = time.perf_counter()
    lanes, points = best_lanes(p, result)
    firsts = first_verdicts(p, points)
    batched_s = (time.perf_counter() - t0) / len(p.patterns)
    outcomes, n_passed = [], 0
    for t, pattern in enumerate(p.patterns):
        t0 = time.perf_counter()
        first = (int(lanes[t]), points[t], firsts[t])
        (lane, params, verdict), checked = choose(p, pattern, result.lane_best_loss[t], result.lane_best_z[t], first)
        extra = run_validators(validators, p, pattern, params)
        outcomes.append(_Outcome(lane, params, verdict, extra, checked, None, batched_s + time.perf_counter() - t0))
        n_passed += outcomes[-1].passed
        report("validate", result.generations, result.best_loss, t + 1, n_passed)
    t0 = time.perf_counter()
    robust = robustness(p, [o.params for o in outcomes], [o.verdict.passed for o in outcomes])
    validation_s = sum(o.seconds for o in outcomes) + time.perf_counter() - t0
    return [dataclasses.replace(o, robustness=r) for o, r in zip(outcomes, robust)], validation_s


def _robustness_needed(p: Plan) -> list[float | None]:
    """``[P]`` the robustness a plausible pass needs (a physiological run with robustness copies;
    :func:`jaxplaus.assess.plausibility.needed`), else None."""
    s = p.settings
    if box(s.bounds) != PHYSIOLOGICAL or s.robustness_copies == 0:
        return [None] * len(p.patterns)
    reference = reference_robustness(p.patterns, s.warmup, s.robustness_copies, s.robustness_delta, s.seed)
    return [needed(r) for r in reference]


def _pattern_result(p: Plan, t: int, result: S.SearchResult, o: _Outcome, solved_at: float, search_s: float,
                    robustness_needed: float | None):
    pattern, verdict = p.patterns[t], o.verdict
    failed = tuple(verdict.failed)
    if verdict.passed:  # what an extra validator found missing (a float64 failure says it already)
        failed += tuple(f"{name}: {f}" for name, v in o.extra.items() for f in v["failed"])
    zero = int(result.task_zero_evaluations[t])
    return PatternResult(
        name=pattern.name, letter=pattern.letter, group=pattern.group, passed=o.passed,
        loss=float(verdict.loss) if math.isfinite(verdict.loss) else None,
        search_loss=finite_or_none(result.best_loss[t]), params=o.params, failed=failed,
        finite=bool(verdict.finite), features=_results.plain(verdict.features), robustness=o.robustness,
        evaluations=int(np.sum(result.evaluations[t])), evaluations_to_solve=zero if zero >= 0 else None,
        restarts=int(np.sum(result.restarts_done[t])), lane=o.lane, lanes_checked=o.lanes_checked,
        history=history_steps(result, t),
        timing={"search_s": round(float(solved_at if solved_at >= 0 else search_s), 3),
                "validation_s": round(o.seconds, 3)},
        validations=o.extra,
        plausibility=_results.plain({
            **winner_figures(p.model, pattern, o.params, verdict.features),
            **({} if robustness_needed is None else {"robustness_needed": robustness_needed}),
        }),
    )


__all__ = ["DEFAULT_CHUNK", "assess"]
