"""What an assessment returns and writes: :class:`PatternResult` per pattern, the :class:`Assessment`.

Both are plain data (``to_dict``/``from_dict``); ``results.json`` is ``Assessment.to_dict()``
(with ``schema_version``), ``summary.csv`` its :meth:`Assessment.csv_rows`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import platform
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from jaxplaus import results as _results
from jaxplaus import search as S
from jaxplaus.assess.plausibility import PLAUSIBLE, ROBUST_ENOUGH, counts_as_plausible, row_kind
from jaxplaus.patterns.protocol import GROUPS


def versions() -> dict[str, str]:
    """The versions of the libraries a result depends on."""
    out = {}
    for pkg in ("jaxplaus", "jax", "jaxlib", "evosax", "numpy", "optax"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "unknown"
    out["python"] = platform.python_version()
    return out


class Progress(NamedTuple):
    """What a ``progress`` callback of :func:`assess` receives.

    Attributes:
        phase: ``"search"`` (after each chunk of generations), ``"validate"`` (after each
            pattern's float64 validation) or ``"done"``.
        generations_done, generations: of the search.
        patterns: the pattern names; best_loss: ``[P]`` each pattern's best search loss
            so far (inf where none yet); solved: how many have reached loss 0.
        validated: patterns validated so far; passed: how many of them passed.
        elapsed_s: seconds since the call started (search time of earlier sessions included).
    """

    phase: str
    generations_done: int
    generations: int
    patterns: tuple[str, ...]
    best_loss: tuple[float, ...]
    solved: int
    validated: int
    passed: int
    elapsed_s: float


def _opt_float(x) -> float | None:
    return None if x is None else float(x)


@dataclasses.dataclass(frozen=True)
class PatternResult:
    """The outcome for one pattern.

    Attributes:
        name, letter, group: the pattern.
        passed: the float64 validation of ``params`` passed (the only definition of a pass).
        loss: the float64 validation loss of ``params`` (0 exactly when passed; ``None`` if
            not finite).
        search_loss: the best loss the search found (over all restart lanes; in the search's dtype).
        params: the validated parameters, every model parameter (fixed ones too) and ``"gain"``.
        failed: the failed criteria in words (empty when passed).
        finite: the float64 dynamics stayed finite.
        features: the validator's feature values.
        robustness: share of the perturbed copies of ``params`` that still pass (None if
            ``robustness_copies`` was 0).
        evaluations: objective evaluations the search spent on this pattern (all lanes).
        evaluations_to_solve: evaluations spent when a lane first reached search loss 0, or None.
        restarts: in-place restarts of its lanes (restart rule of :func:`~jaxplaus.search.run_search`).
        lane: the restart lane whose best point was validated; lanes_checked: how many lanes'
            bests were validated (more than 1 only when the search and the validator disagree).
        history: the best search loss over the pattern's lanes against evaluations spent, as a
            step function: ``{"evaluations": [...], "best_loss": [...]}`` lists the points where
            the best loss changed (and the last generation run); ``None`` = no finite loss yet.
        timing: ``search_s`` (search time, from the start of the search, when the pattern stopped
            spending evaluations: solved, or the budget spent; measured at chunk ends) and
            ``validation_s``.
        validations: the verdicts of the extra validators (``assess(validators=...)``) on ``params``,
            ``name -> {"passed", "failed", "loss", "finite"}``; empty when none were asked for (and in
            results written before validators existed). ``passed`` is then the float64 verdict AND
            every one of these; ``failed`` also lists, prefixed with its name, what a validator
            found missing when the float64 validation passed (``loss`` stays the float64 loss).
        plausibility: the winner's plausibility figures, read from the float64 verdict's features
            (:func:`jaxplaus.assess.plausibility.winner_figures`: ``peak_rate_hz``, ``isi_min_ms``,
            ``time_base``, ``v_rest``, ``v_above_rest``, ``v_below_rest``, ``below_share``,
            ``inside_physiological``); empty in results written before they existed.
    """

    name: str
    letter: str
    group: str
    passed: bool
    loss: float | None
    search_loss: float | None
    params: dict[str, float]
    failed: tuple[str, ...]
    finite: bool
    features: dict[str, Any]
    robustness: float | None
    evaluations: int
    evaluations_to_solve: int | None
    restarts: int
    lane: int
    lanes_checked: int
    history: dict[str, list]
    timing: dict[str, float]
    validations: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    plausibility: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _results.plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PatternResult:
        d = dict(d)
        d["failed"] = tuple(d["failed"])
        d["params"] = {k: float(v) for k, v in d["params"].items()}
        for k in ("loss", "search_loss", "robustness"):
            d[k] = _opt_float(d[k])
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def time_s(self) -> float:
        """Search time when the pattern stopped spending, plus its validation time."""
        return float(self.timing.get("search_s", 0.0)) + float(self.timing.get("validation_s", 0.0))


@dataclasses.dataclass(frozen=True)
class Assessment:
    """A model's assessment: per-pattern results, profile and score, and how it was made.

    Attributes:
        model: the model's name.
        patterns: a :class:`PatternResult` per assessed pattern, in Figure 1's order.
        settings: everything that determined the result (model, patterns, strategy, budget,
            population, restarts, generations, seed, the search space, warm-up, precisions,
            robustness settings).
        versions: library versions (jaxplaus, jax, jaxlib, evosax, numpy, optax, python).
        search: ``generations_run`` and ``evaluations`` (all patterns); ``candidates_simulated``
            (evaluations, their jittered copies not counted, plus the frozen lanes of solved
            patterns still in the vmapped batch) and ``neuron_steps`` (every sample the
            candidates simulated: jittered copies, protocol and control runs, each its pattern's
            own length).
        timing: ``wall_s`` (the last session), ``search_s`` and ``validation_s`` (over all
            sessions), ``neuron_steps_per_s`` (``search.neuron_steps`` over ``search_s``,
            compilation included), ``sessions`` (1 + resumes), ``started``/``finished`` (ISO times),
            ``devices`` and ``processes`` (the last session's; ``docs/scaling.md``).
        run_dir: where it was written (None if not written); not part of the saved data.
    """

    model: str
    patterns: tuple[PatternResult, ...]
    settings: dict[str, Any]
    versions: dict[str, str]
    search: dict[str, Any]
    timing: dict[str, Any]
    run_dir: str | None = None

    @property
    def profile(self) -> tuple[str, ...]:
        """The names of the patterns passed (float64-validated)."""
        return tuple(p.name for p in self.patterns if p.passed)

    @property
    def score(self) -> tuple[int, int]:
        """``(passed, assessed)``."""
        return sum(p.passed for p in self.patterns), len(self.patterns)

    @property
    def group_scores(self) -> dict[str, tuple[int, int]]:
        """``group -> (passed, assessed)`` for the input groups present (DC, ramp, pulse, inhibitory)."""
        out = {}
        for g in GROUPS:
            ps = [p for p in self.patterns if p.group == g]
            if ps:
                out[g] = (sum(p.passed for p in ps), len(ps))
        return out

    def __getitem__(self, name: str) -> PatternResult:
        for p in self.patterns:
            if name in (p.name, p.letter):
                return p
        raise KeyError(f"{name!r} was not assessed; assessed: {[p.name for p in self.patterns]}")

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` content (plain, strict-JSON data)."""
        passed, assessed = self.score
        return _results.plain(
            {
                "schema_version": _results.SCHEMA_VERSION,
                "kind": "jaxplaus.assessment",
                "model": self.model,
                "profile": list(self.profile),
                "score": {
                    "passed": passed,
                    "assessed": assessed,
                    "by_group": {g: {"passed": a, "assessed": b} for g, (a, b) in self.group_scores.items()},
                },
                "settings": self.settings,
                "versions": self.versions,
                "search": self.search,
                "patterns": [p.to_dict() for p in self.patterns],
                "timing": self.timing,
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], run_dir: str | None = None) -> Assessment:
        """Rebuild from ``results.json`` data (plain data only; nothing is executed)."""
        if d.get("schema_version") != _results.SCHEMA_VERSION:
            raise ValueError(
                f"results have schema_version {d.get('schema_version')!r}; "
                f"this jaxplaus reads {_results.SCHEMA_VERSION}"
            )
        return cls(
            model=d["model"],
            patterns=tuple(PatternResult.from_dict(p) for p in d["patterns"]),
            settings=d["settings"],
            versions=d["versions"],
            search=d["search"],
            timing=d["timing"],
            run_dir=run_dir,
        )

    def csv_rows(self) -> list[dict[str, Any]]:
        rows = []
        for p in self.patterns:
            row = {
                "pattern": p.name,
                "letter": p.letter,
                "group": p.group,
                "passed": p.passed,
                "loss": p.loss,
                "search_loss": p.search_loss,
                "robustness": p.robustness,
                "evaluations": p.evaluations,
                "evaluations_to_solve": p.evaluations_to_solve,
                "restarts": p.restarts,
                "time_s": round(p.time_s, 3),
                "failed": "; ".join(p.failed),
            }
            row.update(p.params)
            rows.append(row)
        return rows

    def csv_columns(self) -> tuple[str, ...]:
        params = list(self.patterns[0].params) if self.patterns else []
        return tuple(_results.CSV_COLUMNS) + tuple(params)

    def table(self, failures: bool = True) -> str:
        """A plain-text table: pattern, group, passed, loss, robustness, evaluations, time; then
        the profile and score (and, with ``failures``, the failed criteria)."""
        head = (
            f"{'':2} {'pattern':30s} {'group':10s} {'passed':6s} {'loss':>9s} {'robust':>6s} {'evals':>8s} "
            f"{'time(s)':>8s}"
        )
        lines = [head, "-" * len(head)]
        for p in self.patterns:
            loss = "nan" if p.loss is None else f"{p.loss:.3g}"
            rob = "-" if p.robustness is None else f"{p.robustness:.2f}"
            lines.append(
                f"{p.letter:2} {p.name:30s} {p.group:10s} {'yes' if p.passed else 'NO':6s} {loss:>9s} {rob:>6s} "
                f"{p.evaluations:8d} {p.time_s:8.1f}"
            )
        passed, assessed = self.score
        groups = ", ".join(f"{g} {a}/{b}" for g, (a, b) in self.group_scores.items())
        lines.append("-" * len(head))
        lines.append(f"{self.model}: {passed}/{assessed} patterns passed ({groups})")
        if row_kind(self.to_dict()) == PLAUSIBLE:
            robust = sum(counts_as_plausible(p.to_dict()) for p in self.patterns)
            lines.append(f"  in the physiological box; plausible (passed, robustness >= {ROBUST_ENOUGH:g} or "
                         f"figure1.m's own where lower): {robust}/{assessed}")
        if failures:
            for p in self.patterns:
                if not p.passed:
                    lines.append(f"  {p.name}: " + "; ".join(p.failed))
        return "\n".join(lines)


def load(path) -> Assessment:
    """The :class:`Assessment` stored in a run directory (or its ``results.json``)."""
    return Assessment.from_dict(_results.read_results(path), run_dir=str(path))


def loss_steps(spent, best) -> dict[str, list]:
    """The best loss against evaluations spent (``spent [G]``, ``best [G]``) as a step function:
    the points where it changed, the first zero, and the last generation (None: not finite)."""
    evals, losses, last = [], [], object()
    for g, b in enumerate(np.asarray(best, np.float64)):
        value = float(b) if math.isfinite(b) else None
        if value != last or b <= 0 or g == len(best) - 1:
            evals.append(int(spent[g]))
            losses.append(value)
            last = value
        if b <= 0:
            break
    return {"evaluations": evals, "best_loss": losses}


def history_steps(result: S.SearchResult, t: int) -> dict[str, list]:
    """The best search loss over pattern ``t``'s lanes against evaluations, as :func:`loss_steps`."""
    best = np.min(np.asarray(result.history[t], np.float64), axis=0)[: result.generations]
    return loss_steps(result.task_evaluations[t], best)


__all__ = ["Assessment", "PatternResult", "Progress", "history_steps", "load", "loss_steps", "versions"]
