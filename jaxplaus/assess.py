"""The assessment: search every pattern, validate the winners, score the model.

``assess(model)`` asks, for each of Izhikevich's 20 firing patterns (or a chosen subset), whether
some setting of the model's parameters and of an input gain reproduces it:

1. **Search** (float64 by default, on the device). One :func:`jaxplaus.search.run_search` call minimises
   the suite loss (:func:`jaxplaus.patterns.suite.suite_loss`) for all patterns at once: the
   patterns are the search's tasks and, with the restart lanes, run inside ``vmap``; the
   generations run inside ``lax.fori_loop`` in chunks. Between chunks (only there) Python writes
   a checkpoint and reports progress. A pattern's lanes stop once one reaches loss 0.
2. **Validation** (float64). For each pattern, the best point of the search is simulated again,
   alone, in double precision and judged by the strict validator (:meth:`Pattern.check
   <jaxplaus.patterns.base.Pattern.check>`: full traces, the control run, every criterion). If
   it fails there although its search loss was 0, the next restart lane's best with search loss
   0 is tried (lanes in order of their loss). **A pattern passes only if this float64
   validation passes**; a failed pattern reports its failed criteria in words. Optional extra
   ``validators`` (:class:`Validator`; e.g. ``norse_bridge.norse_validator()``, the winner
   re-simulated in Norse) judge the chosen point as well, and the pattern then passes only if
   every one of them passes too; each verdict is kept per pattern.

   **Chaos and jitter.** The search stops at the first point with loss 0. Where the dynamics
   are chaotic (for izhikevich2004: large steps ``tau`` with negative ``b``), a loss of 0 can
   be an accident of rounding: there the loss changes under relative perturbations of 1e-15,
   and 2-10% of random nearby points "pass". Without a guard the search finds such points
   first, freezes the pattern, and the float64 validation then rejects them (measured: the
   default assessment of izhikevich2004 reached search loss 0 on 19 of 20 patterns, but only
   14 (float32 search) or 15 (float64 search) passed validation). So by default a candidate's
   search loss is the WORST of its loss and that of two copies moved by ``x (1 + jitter s)``
   and ``x (1 - jitter s)``, ``s`` a fixed direction of alternating signs (+1, -1, +1, ...)
   over the searched dimensions, ``jitter = 1e-4``: an accidental pass no longer scores 0.
   With it, every pattern the default search solved also passed validation (16 of 20 in a
   third of the time). The three copies are one simulation batch; a candidate still counts as
   one evaluation of the budget. ``jitter=0`` turns this off.

   The search runs in float64 by default (about 25% slower than float32 on CPU), so that it
   optimises the function the validator judges; ``dtype="float32"`` is available.

3. **Robustness**. ``robustness_n`` perturbed copies of the validated point: every *searched*
   dimension (model parameters and the gain, unless fixed; fixed values are held) is multiplied
   by ``1 + s * robustness_delta`` with an independent random sign ``s = +-1`` per copy and
   dimension (the corners of the +-1% box by default). The copies are evaluated in one batched
   float64 call of the suite loss (the same criteria as the validator; loss 0 = passes). The
   robustness figure is the share of copies that pass. The signs come from
   ``numpy.random.default_rng([seed, crc32(pattern name)])``: reproducible, and independent of
   which other patterns are assessed.

**Budget**: the number of objective evaluations per pattern (one evaluation = one candidate
judged on one pattern's protocol and its control run; with ``jitter`` that takes three
simulations of each), an upper bound. The search runs
``generations = budget // (population_size * restarts)`` generations of ``restarts`` lanes of
``population_size`` candidates for every pattern; a pattern solved early stops spending.

**Defaults**: model ``izhikevich2004`` (the reference model: it should reach most of 20/20),
``cma_es``, budget 12,800 (16 candidates x 4 restarts x 200 generations for a model with the
default population of 16, as all shipped models have), seed 0, float64 search with jitter
1e-4, half the lanes core lanes (below). On the 2-core CPU this was developed on, the default
assessment takes about 60 to 80 seconds (compilation cached) and passes 16 of 20 patterns;
204,800 evaluations with 16 lanes pass all 20 (about 2.5 minutes: solved patterns leave the
simulated batch).

**Shared restarts** (``share``, off by default): a restart lane may start at another
pattern's solution instead of a uniformly random point (:func:`jaxplaus.search.run_search`).
It helps where patterns share a mechanism (tested on a synthetic pair); on izhikevich2004 it
did not move the profile (measured before the refractory and burst-contrast criteria: 16/20
with ``share=0.5`` against 17/20 without at the default budget, 18/20 both at 51,200 with 8
lanes; inhibition-induced bursting stays out of reach even when every restart starts at the
inhibition-induced spiking solution, also re-measured at 204,800 with 16 lanes; the core lanes
below are what found it), so it is an option.

**Core lanes** (``core_lanes``): a model may name the parameters of its canonical form
(:attr:`Model.core <jaxplaus.models.Model>`: Izhikevich's ``a, b, c, d`` and the step for both
Izhikevich models). By default half of each pattern's restart lanes (the last ones) then search
only those, with the model's other searched parameters held at their defaults (``mn`` 5,
``bias`` 140, ...) and the input gain at 1, the protocol's own units; the other half search
everything. A pattern that lives in a thin slab of the full space can be a broad region of the
core one. Inhibition-induced bursting is the case in point (izhikevich2004, 204,800 evaluations
x 16 lanes, T alone): from random starts in all 8 dimensions no seed of 4 found it (nor 819,200
x 32 lanes), while the 5 core dimensions found it with 2 seeds of 2 (69,120 and 132,608
evaluations); with half the lanes core, seed 0 found it at 20,992. The price is half the
full-space lanes for patterns that need the other parameters (accommodation needs ``mn`` about 8).
``core_lanes=0`` turns this off; ``settings.json`` records the lanes and the held values, and
a result's ``lane`` says which lane won (core lanes are the last ``core_lanes``).

**Gain**: protocol currents are in Izhikevich's units (up to 80). The gain is searched on a log
scale within per-model default bounds (:data:`GAIN_BOUNDS`; unlisted models get
:data:`FALLBACK_GAIN_BOUNDS`); pass ``gain=(lo, hi)`` to override, or ``fixed={"gain": 1.0}``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import math
import platform
import time
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from jaxplaus import models as _models
from jaxplaus import patterns as _patterns
from jaxplaus import results as _results
from jaxplaus import search as S
from jaxplaus.patterns.base import DEFAULT_WARMUP
from jaxplaus.patterns.protocol import GROUPS

DEFAULT_MODEL = "izhikevich2004"
DEFAULT_STRATEGY = "cma_es"
DEFAULT_BUDGET = 12_800  # evaluations per pattern
DEFAULT_RESTARTS = 4
DEFAULT_CHUNK = 20  # generations per compiled call: progress and a checkpoint after each
DEFAULT_ROBUSTNESS_N = 32
DEFAULT_ROBUSTNESS_DELTA = 0.01
DEFAULT_JITTER = 1e-4  # relative move of the two jittered copies of each candidate in the search
DEFAULT_SHARE = 0.0  # probability that a lane restart starts at another pattern's solution (off: see assess)
DEFAULT_CORE_LANES = None  # None: half the restart lanes search the model's core parameters, if it declares them
SEARCH_DTYPE = "float64"  # default precision of the search (see the module docstring)
VALIDATION_DTYPE = "float64"

# Default input-gain bounds (searched on a log scale). Protocol currents are in Izhikevich units
# (up to ~80). The Izhikevich models take them as they are (gain ~1). Norse's LIF and AdEx fire
# for a constant input above ~0.2 (v_th 1, tau_syn_inv 200; the synaptic current integrates the
# input, i ~ x / (dt tau_syn_inv)), so across their parameter ranges the right gain runs from
# ~1e-4 (an 80-unit step) to a few (a 0.5-unit step).
GAIN_BOUNDS: dict[str, tuple[float, float]] = {
    "izhikevich2004": (0.1, 10.0),
    "izhikevich2004_accommodation": (0.1, 10.0),
    "izhikevich": (0.1, 10.0),
    "lif": (1e-4, 10.0),
    "adex": (1e-4, 10.0),
}
FALLBACK_GAIN_BOUNDS = (1e-4, 1e2)  # any other model (n2d2 included): wide, log scale

PERTURBATION = (
    "each searched dimension x (1 + s * delta), s = +-1 with equal odds, independently per copy and dimension"
)


def default_gain_bounds(model) -> tuple[float, float]:
    """The default ``(lo, hi)`` of the input gain for ``model`` (a name or a Model): its entry in
    :data:`GAIN_BOUNDS`, else the model's own ``gain_bounds`` attribute if it has one (e.g. a
    ``norse_bridge.NorseModel``), else :data:`FALLBACK_GAIN_BOUNDS`."""
    model = _models.get(model)
    own = getattr(model, "gain_bounds", None)
    return GAIN_BOUNDS.get(model.name, tuple(own) if own is not None else FALLBACK_GAIN_BOUNDS)


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


# ============================================================================ the result types


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


class Validator(Protocol):
    """An extra validation of each pattern's winner (``assess(..., validators=[...])``), for
    example ``norse_bridge.norse_validator()``: the winner simulated again by another engine.

    Attributes:
        name: a short identifier, the key in :attr:`PatternResult.validations` and in the
            settings (unique; not ``"float64"``, the built-in validation).

    ``validator(model, pattern, params, gain, *, warmup) -> Verdict`` judges ONE candidate:
    ``params`` the model's parameters (Python floats), ``gain`` its input gain, on ``pattern``'s
    protocol after ``warmup`` samples and on its control run; it returns a
    :class:`~jaxplaus.patterns.base.Verdict` (e.g. from :meth:`Pattern.validate
    <jaxplaus.patterns.base.Pattern.validate>` of its own traces). An optional
    ``check(model)`` raises a ValueError when the model cannot be validated this way; it is
    called before anything runs or is written.
    """

    name: str

    def __call__(self, model, pattern, params: dict[str, float], gain: float, *, warmup: int): ...


def _check_validators(validators, model) -> tuple:
    """``validators`` as a tuple, each checked (name, callable, ``check(model)``)."""
    if validators is None:
        return ()
    if not isinstance(validators, list | tuple):
        raise TypeError(f"validators must be a list of validators, got {type(validators).__name__}")
    names = []
    for v in validators:
        name = getattr(v, "name", None)
        if not callable(v) or not isinstance(name, str) or not name.isidentifier() or name == "float64":
            raise TypeError(
                f"each validator must be callable (model, pattern, params, gain, *, warmup) -> Verdict with a "
                f"'name' identifier other than 'float64'; got {v!r} (name {name!r})"
            )
        if name in names:
            raise ValueError(f"validators: {name!r} given more than once")
        names.append(name)
        check = getattr(v, "check", None)
        if callable(check):
            check(model)
    return tuple(validators)


def _run_validators(validators: tuple, p: _Plan, pattern, params: Mapping[str, float]) -> dict[str, dict]:
    """Each extra validator's verdict on one pattern's chosen point (a validator that raises fails)."""
    out = {}
    model_params, gain = _split(params)
    for v in validators:
        try:
            verdict = v(p.model, pattern, dict(model_params), float(gain), warmup=p.warmup)
            out[v.name] = {
                "passed": bool(verdict.passed),
                "failed": [str(f) for f in verdict.failed],
                "loss": _finite_or_none(verdict.loss),
                "finite": bool(verdict.finite),
            }
        except Exception as err:  # noqa: BLE001 - recorded as a failed validation, and said
            warnings.warn(f"validator {v.name!r} failed on {pattern.name}: {type(err).__name__}: {err}", stacklevel=3)
            out[v.name] = {
                "passed": False, "failed": [f"the validator raised {type(err).__name__}: {err}"], "loss": None,
                "finite": False,
            }
    return out


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
            ``robustness_n`` was 0).
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
        search: ``generations_run`` and ``evaluations`` (all patterns).
        timing: ``wall_s`` (the last session), ``search_s`` and ``validation_s`` (over all
            sessions), ``sessions`` (1 + resumes), ``started``/``finished`` (ISO times).
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
        if failures:
            for p in self.patterns:
                if not p.passed:
                    lines.append(f"  {p.name}: " + "; ".join(p.failed))
        return "\n".join(lines)


def load(path) -> Assessment:
    """The :class:`Assessment` stored in a run directory (or its ``results.json``)."""
    return Assessment.from_dict(_results.read_results(path), run_dir=str(path))


# ============================================================================ input checks


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _resolve_patterns(patterns) -> tuple:
    if isinstance(patterns, str) and "," in patterns:
        patterns = [s.strip() for s in patterns.split(",") if s.strip()]
    pats = _patterns.resolve(patterns)
    names = [p.name for p in pats]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"patterns: {twice} given more than once")
    # Figure 1's order, whatever order they were given in
    order = {n: i for i, n in enumerate(_patterns.names())}
    return tuple(sorted(pats, key=lambda p: order.get(p.name, len(order))))


@dataclasses.dataclass(frozen=True)
class _Plan:
    model: Any
    patterns: tuple
    space: S.SearchSpace
    strategy: str
    population_size: int
    restarts: int
    generations: int
    seed: int
    warmup: int
    robustness_n: int
    robustness_delta: float
    dtype: str
    jitter: float
    share: float
    core_lanes: int
    pins: dict
    settings: dict


def plan(
    model=DEFAULT_MODEL,
    patterns=None,
    strategy=DEFAULT_STRATEGY,
    budget=DEFAULT_BUDGET,
    restarts=DEFAULT_RESTARTS,
    seed=0,
    bounds=None,
    fixed=None,
    gain=None,
    population_size=None,
    warmup=DEFAULT_WARMUP,
    robustness_n=DEFAULT_ROBUSTNESS_N,
    robustness_delta=DEFAULT_ROBUSTNESS_DELTA,
    dtype=SEARCH_DTYPE,
    jitter=DEFAULT_JITTER,
    share=DEFAULT_SHARE,
    core_lanes=DEFAULT_CORE_LANES,
) -> _Plan:
    """Check every argument of :func:`assess` and resolve the settings, computing nothing.

    Raises:
        ValueError / TypeError: naming the bad value and what is allowed.
    """
    model = _models.get(model)
    pats = _resolve_patterns(patterns)
    strategy = S.get_strategy(strategy)
    if strategy is not S.STRATEGIES.get(strategy.name):
        raise ValueError(f"strategy: pass a registered strategy name, one of {', '.join(S.STRATEGIES)}")
    if gain is None:
        gain = default_gain_bounds(model)
    space = S.search_space(model, bounds=bounds, fixed=fixed, gain=gain)
    if S.GAIN not in space.order:  # pragma: no cover - assess always has a gain
        raise ValueError("assess needs an input gain")
    restarts = _int("restarts", restarts, 1)
    if population_size is None:
        population_size = S.default_population_size(space.num_dims)
    population_size = _int("population_size", population_size, 1)
    strategy.check(population_size, space.num_dims)
    budget = _int("budget (evaluations per pattern)", budget, 1)
    per_generation = population_size * restarts
    generations = budget // per_generation
    if generations < 1:
        raise ValueError(
            f"budget {budget} is less than one generation: population_size x restarts = {population_size} x "
            f"{restarts} = {per_generation} evaluations per pattern per generation; give a budget >= {per_generation}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}")
    warmup = _int("warmup", warmup, 1)
    robustness_n = _int("robustness_n", robustness_n, 0)
    try:
        delta = float(robustness_delta)
    except (TypeError, ValueError):
        raise TypeError(f"robustness_delta must be a number in (0, 1), got {robustness_delta!r}") from None
    if not (math.isfinite(delta) and 0 < delta < 1):
        raise ValueError(f"robustness_delta must be a number in (0, 1), got {robustness_delta!r}")
    try:
        jitter = float(jitter)
    except (TypeError, ValueError):
        raise TypeError(f"jitter must be a number in [0, 0.1], got {jitter!r}") from None
    if not (math.isfinite(jitter) and 0 <= jitter <= 0.1):
        raise ValueError(f"jitter must be a number in [0, 0.1] (0: off), got {jitter!r}")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise ValueError(f"share must be a probability in [0, 1] (0: every restart uniformly random), got {share!r}")
    share = float(share)
    core_lanes, pins = _core_lanes(model, space, core_lanes, restarts)
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype (the search's precision) must be 'float32' or 'float64', got {dtype!r}")
    # the search's own checks (strategy and population, dtype, ...) without compiling anything
    S.init_state(
        space, strategy, population_size=population_size, generations=generations, restarts=restarts,
        n_tasks=len(pats), seed=int(seed), dtype=dtype,
    )
    fixed_space = dict(space.fixed)
    settings = {
        "model": model.name,
        "patterns": [p.name for p in pats],
        "strategy": strategy.name,
        "budget": budget,
        "budget_unit": "objective evaluations per pattern (upper bound)",
        "population_size": population_size,
        "restarts": restarts,
        "generations": generations,
        "seed": int(seed),
        "space": {
            "names": list(space.names),
            "lo": list(space.lo),
            "hi": list(space.hi),
            "log": list(space.log),
            "symlog": list(space.symlog),
            "fixed": fixed_space,
        },
        "gain": None if S.GAIN in fixed_space else [float(g) for g in gain],
        "warmup": warmup,
        "search_dtype": dtype,
        "jitter": jitter,
        "share": share,
        "core_lanes": core_lanes,
        "core_pins": pins,
        "validation_dtype": VALIDATION_DTYPE,
        "robustness": {"copies": robustness_n, "delta": delta, "perturbation": PERTURBATION},
    }
    return _Plan(
        model, pats, space, strategy.name, population_size, restarts, generations, int(seed), warmup,
        robustness_n, delta, dtype, jitter, share, core_lanes, pins, _results.plain(settings),
    )


def _core_lanes(model, space, core_lanes, restarts: int) -> tuple[int, dict]:
    """``(lanes, pins)``: how many restart lanes search the model's core parameters, and the
    values the other searched dimensions are held at there (defaults, the gain at 1, each
    within its searched bounds)."""
    # the held value is the default (the gain: 1) moved into the searched bounds, so that
    # settings.json records the value the core lanes actually use
    pins = {
        n: min(max(1.0 if n == S.GAIN else float(model.parameters[n].default), lo), hi)
        for n, lo, hi in zip(space.names, space.lo, space.hi)
        if n not in model.core
    }
    if not model.core or not pins or len(pins) == space.num_dims:
        if core_lanes not in (None, 0):
            raise ValueError(
                f"core_lanes: model {model.name!r} has no core parameters to search on their own here "
                f"(its core: {list(model.core)}; searched: {list(space.names)}); pass 0 or None"
            )
        return 0, {}
    if core_lanes is None:
        core_lanes = restarts // 2
    if isinstance(core_lanes, bool) or not isinstance(core_lanes, int | np.integer) or not 0 <= core_lanes <= restarts:
        raise ValueError(f"core_lanes must be an int in [0, restarts={restarts}], got {core_lanes!r}")
    return int(core_lanes), (pins if core_lanes else {})


# ============================================================================ compiled pieces


@functools.lru_cache(maxsize=16)
def _objective(model, patterns: tuple, warmup: int):
    """The suite loss, cached so repeated assessments reuse the search's compiled program."""
    from jaxplaus.patterns.suite import suite_loss

    return suite_loss(model, patterns, warmup)


@functools.lru_cache(maxsize=16)
def _search_objective(model, patterns: tuple, warmup: int, space: S.SearchSpace, jitter: float):
    """The search's objective: with ``jitter > 0``, the worst of the suite loss at a candidate
    and at two copies moved by ``x (1 +- jitter)`` along a fixed direction of alternating signs
    over the searched dimensions (one simulation batch of ``3 x pop``)."""
    import jax.numpy as jnp

    loss = _objective(model, patterns, warmup)
    if jitter == 0:
        return loss
    signs = {name: (1.0 if i % 2 == 0 else -1.0) for i, name in enumerate(space.names)}

    def robust(params, task):
        pop = jnp.shape(params[space.order[0]])[0]
        stacked = {}
        for k, v in params.items():
            if k in signs:
                d = v * (jitter * signs[k])
                stacked[k] = jnp.concatenate([v, v + d, v - d])
            else:
                stacked[k] = jnp.concatenate([v, v, v])
        out = loss(stacked, task)
        return jnp.max(out.reshape(3, pop), axis=0)

    return robust


@functools.lru_cache(maxsize=16)
def _batched_loss(model, patterns: tuple, warmup: int):
    """``(params {name: [P, n]}, tasks [P]) -> [P, n]`` losses, compiled once per pattern set."""
    import jax

    return jax.jit(jax.vmap(_objective(model, patterns, warmup)))


# ============================================================================ the assessment


def assess(
    model=DEFAULT_MODEL,
    patterns: Sequence[str] | str | None = None,
    strategy: str = DEFAULT_STRATEGY,
    budget: int = DEFAULT_BUDGET,
    restarts: int = DEFAULT_RESTARTS,
    seed: int = 0,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | None = None,
    gain: tuple[float, float] | None = None,
    *,
    population_size: int | None = None,
    warmup: int = DEFAULT_WARMUP,
    robustness_n: int = DEFAULT_ROBUSTNESS_N,
    robustness_delta: float = DEFAULT_ROBUSTNESS_DELTA,
    dtype: str = SEARCH_DTYPE,
    jitter: float = DEFAULT_JITTER,
    share: float = DEFAULT_SHARE,
    core_lanes: int | None = DEFAULT_CORE_LANES,
    out=None,
    resume: bool = False,
    chunk: int | None = None,
    progress: Callable[[Progress], Any] | None = None,
    validators: Sequence[Validator] | None = None,
) -> Assessment:
    """Assess how many of Izhikevich's firing patterns ``model`` can reproduce.

    See the module docstring for what happens (search, float64 validation, robustness).

    Args:
        model: a registered model name or a :class:`~jaxplaus.models.Model`.
        patterns: pattern names or letters (None: all 20).
        strategy: an evosax strategy by name (:data:`jaxplaus.search.STRATEGIES`).
        budget: objective evaluations per pattern (an upper bound; see the module docstring).
        restarts: independent restart lanes per pattern (each also restarts in place when it
            converges or stalls).
        seed: the random seed; the same seed and settings give the same result.
        bounds: ``name -> (lo, hi)`` narrowing (or widening) a parameter's search bounds.
        fixed: ``name -> value`` pinning parameters (``"gain"`` too).
        gain: ``(lo, hi)`` of the input gain (log scale); default :func:`default_gain_bounds`.
        population_size: candidates per lane and generation (default: the search's default).
        warmup: samples of each protocol's first input held before it starts.
        robustness_n: perturbed copies per pattern (0: no robustness figure).
        robustness_delta: their relative perturbation.
        dtype: the search's precision, ``"float64"`` (default) or ``"float32"``; validation and
            robustness are always float64.
        jitter: a candidate's search loss is the worst of its loss and that of two copies moved
            by ``x (1 +- jitter)`` (see the module docstring); 0 turns this off.
        share: the probability that a restart lane starts at another pattern's solution rather
            than at a uniformly random point (:func:`jaxplaus.search.run_search`; see the module
            docstring); 0 makes every start uniformly random.
        core_lanes: how many of each pattern's ``restarts`` lanes search only the model's core
            parameters (:attr:`Model.core <jaxplaus.models.Model>`; see the module docstring),
            the other searched parameters held at their defaults and the gain at 1. None: half
            the lanes (rounded down) for a model with a core, 0 for one without.
        out: a run directory to write (``results.json``, ``summary.csv``, ``settings.json``,
            ``checkpoint.npz``); None writes nothing. Without ``resume`` it must not exist or
            be empty.
        resume: continue the interrupted run in ``out`` from its last checkpoint (the settings
            must equal the run's; the result equals an uninterrupted run's). A finished run is
            loaded and returned as it is.
        chunk: generations per compiled call (progress and a checkpoint after each); default
            :data:`DEFAULT_CHUNK`. It does not change the result (unless ``share > 0``).
        progress: called with a :class:`Progress` after each chunk and each validation.
        validators: extra validations of each pattern's chosen point (:class:`Validator`, e.g.
            ``norse_bridge.norse_validator()``: the winner re-simulated in Norse, torch float64). A
            pattern then passes only if the float64 validation AND every validator pass; each
            verdict is kept in :attr:`PatternResult.validations`. Their names go into the
            settings (a resume must ask for the same ones); robustness stays float64 only.

    Returns:
        An :class:`Assessment`.

    Raises:
        ValueError / TypeError: for any bad argument (before anything is written);
        :class:`jaxplaus.results.RunDirectoryError` (a ValueError) when ``out`` cannot be used.
    """
    t_start = time.perf_counter()
    started = _now()
    p = plan(
        model, patterns, strategy, budget, restarts, seed, bounds, fixed, gain, population_size, warmup,
        robustness_n, robustness_delta, dtype, jitter, share, core_lanes,
    )
    chunk = DEFAULT_CHUNK if chunk is None else _int("chunk", chunk, 1)
    validators = _check_validators(validators, p.model)
    if validators:
        p = dataclasses.replace(p, settings={**p.settings, "validators": [v.name for v in validators]})
    if resume and out is None:
        raise ValueError("resume=True needs the run directory to resume (out=...)")
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be True or False, got {resume!r}")
    vers = versions()
    run_dir = None if out is None else _results.RunDirectory(out)
    status = "new" if run_dir is None else run_dir.prepare(p.settings, resume)
    if status == "complete":
        done = load(run_dir.path)
        if progress is not None:
            n = len(done.patterns)
            losses = tuple(x.search_loss if x.search_loss is not None else math.inf for x in done.patterns)
            progress(Progress("done", p.generations, p.generations, tuple(p.settings["patterns"]), losses,
                              sum(x <= 0 for x in losses), n, done.score[0], 0.0))
        return done

    # ---- everything is checked: from here on, the run directory is written
    initial, meta = None, {}
    if status == "new":
        if run_dir is not None:
            run_dir.start(p.settings, vers)
    else:
        saved = run_dir.read_settings().get("versions", {})
        changed = {k: (saved.get(k), v) for k, v in vers.items() if saved.get(k) != v}
        if changed:
            warnings.warn(
                f"Resuming {str(run_dir.path)!r} with other library versions ({changed}): the result may differ "
                "from an uninterrupted run's",
                stacklevel=2,
            )
        ck = run_dir.read_checkpoint()
        if ck is not None:
            initial, meta = ck

    n_pat = len(p.patterns)
    names = tuple(x.name for x in p.patterns)
    search_before = float(meta.get("search_s", 0.0))
    ran = []
    sessions = int(meta.get("sessions", 0)) + 1
    solved_at = np.asarray(meta.get("solved_at_s", np.full(n_pat, -1.0)), np.float64).copy()
    if solved_at.shape != (n_pat,):
        raise _results.RunDirectoryError(f"The checkpoint in {str(run_dir.path)!r} does not match its settings")
    t_search = time.perf_counter()

    def search_elapsed() -> float:
        return search_before + (time.perf_counter() - t_search)

    def on_chunk(state, done):
        ran.append(done)
        best = np.asarray(state.best_loss).min(axis=1)
        now = search_elapsed()
        newly = (best <= 0) & (solved_at < 0)
        solved_at[newly] = now
        if run_dir is not None:
            run_dir.write_checkpoint(
                S.state_to_arrays(state), {"search_s": now, "solved_at_s": solved_at, "sessions": sessions}
            )
        if progress is not None:
            progress(Progress("search", int(done), p.generations, names, tuple(float(b) for b in best),
                              int(np.sum(best <= 0)), 0, 0, time.perf_counter() - t_start + search_before))

    result = S.run_search(
        _search_objective(p.model, p.patterns, p.warmup, p.space, p.jitter),
        p.space,
        p.strategy,
        population_size=p.population_size,
        generations=p.generations,
        restarts=p.restarts,
        n_tasks=n_pat,
        seed=p.seed,
        chunk=chunk,
        on_chunk=on_chunk,
        initial_state=initial,
        dtype=p.dtype,
        share=p.share,
        pin=p.pins,
        pinned_lanes=p.core_lanes,
    )
    search_s = search_elapsed() if ran else search_before

    # ---- validation (float64) and robustness
    patterns_out = []
    validated = []
    n_passed = 0
    validation_s = 0.0
    for t, pat in enumerate(p.patterns):
        t0 = time.perf_counter()
        chosen, checked = _validate(p, pat, result, t)
        extra = _run_validators(validators, p, pat, chosen[1])
        validated.append(chosen)
        dt = time.perf_counter() - t0
        validation_s += dt
        n_passed += bool(chosen[2].passed) and all(v["passed"] for v in extra.values())
        if progress is not None:
            best = np.asarray(result.best_loss, np.float64)
            progress(Progress("validate", result.generations, p.generations, names, tuple(best.tolist()),
                              int(np.sum(best <= 0)), t + 1, n_passed, time.perf_counter() - t_start + search_before))
        patterns_out.append((chosen, checked, dt, extra))
    t0 = time.perf_counter()
    robust = _robustness(p, [c[1] for c in validated], [c[2].passed for c in validated])
    validation_s += time.perf_counter() - t0

    pattern_results = []
    for t, (pat, ((lane, params, verdict), checked, dt, extra)) in enumerate(zip(p.patterns, patterns_out)):
        stop = solved_at[t] if solved_at[t] >= 0 else search_s
        failed = tuple(verdict.failed)
        if verdict.passed:  # what an extra validator found missing (a float64 failure says it already)
            failed += tuple(f"{name}: {f}" for name, v in extra.items() for f in v["failed"])
        zero = int(result.task_zero_evaluations[t])
        pattern_results.append(
            PatternResult(
                name=pat.name,
                letter=pat.letter,
                group=pat.group,
                passed=bool(verdict.passed) and all(v["passed"] for v in extra.values()),
                loss=float(verdict.loss) if math.isfinite(verdict.loss) else None,
                search_loss=_finite_or_none(result.best_loss[t]),
                params=params,
                failed=failed,
                finite=bool(verdict.finite),
                features=_results.plain(verdict.features),
                robustness=robust[t],
                evaluations=int(np.sum(result.evaluations[t])),
                evaluations_to_solve=zero if zero >= 0 else None,
                restarts=int(np.sum(result.restarts_done[t])),
                lane=int(lane),
                lanes_checked=checked,
                history=_history(result, t),
                timing={"search_s": round(float(stop), 3), "validation_s": round(dt, 3)},
                validations=extra,
            )
        )

    assessment = Assessment(
        model=p.model.name,
        patterns=tuple(pattern_results),
        settings=p.settings,
        versions=vers,
        search={
            "generations_run": int(result.generations),
            "evaluations": int(np.sum(result.evaluations)),
        },
        timing={
            "wall_s": round(time.perf_counter() - t_start, 3),
            "search_s": round(search_s, 3),
            "validation_s": round(validation_s, 3),
            "sessions": sessions,
            "started": started,
            "finished": _now(),
        },
        run_dir=None if run_dir is None else str(run_dir.path),
    )
    if run_dir is not None:
        run_dir.write_results(assessment.to_dict(), assessment.csv_rows(), assessment.csv_columns())
    if progress is not None:
        best = np.asarray(result.best_loss, np.float64)
        progress(Progress("done", result.generations, p.generations, names, tuple(best.tolist()),
                          int(np.sum(best <= 0)), n_pat, n_passed, time.perf_counter() - t_start + search_before))
    return assessment


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _finite_or_none(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _physical(space: S.SearchSpace, z, dtype: str) -> dict[str, float]:
    """Physical values (Python floats, exact in the search's ``dtype``) of a cube point."""
    import jax.numpy as jnp

    from jaxplaus._precision import precision

    with precision(dtype) as dt:
        return {k: float(v) for k, v in S.to_physical(space, jnp.asarray(z, dt)).items()}


def _split(params: Mapping[str, float]) -> tuple[dict[str, float], float]:
    params = dict(params)
    gain = params.pop(S.GAIN)
    return params, gain


def _validate(p: _Plan, pattern, result: S.SearchResult, t: int):
    """The float64 verdict on pattern ``t``'s best point; more lanes if the search and the validator disagree.

    Returns ``((lane, params, verdict), lanes_checked)``.
    """
    lane_loss = np.asarray(result.lane_best_loss[t], np.float64)
    order = np.argsort(np.where(np.isfinite(lane_loss), lane_loss, np.inf), kind="stable")
    first = None
    checked = 0
    for k, lane in enumerate(order):
        if k > 0 and not lane_loss[lane] <= 0:
            break
        params = _physical(p.space, result.lane_best_z[t, lane], p.dtype)
        model_params, gain = _split(params)
        verdict = pattern.check(p.model, model_params, gain, warmup=p.warmup, dtype=VALIDATION_DTYPE)
        checked += 1
        if first is None:
            first = (int(lane), params, verdict)
        if verdict.passed:
            return (int(lane), params, verdict), checked
    return first, checked


def _perturbed(p: _Plan, name: str, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    """``robustness_n + 1`` float64 copies of ``params`` (copy 0 unperturbed): see the module docstring."""
    n = p.robustness_n
    rng = np.random.default_rng([p.seed, zlib.crc32(name.encode())])
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n, p.space.num_dims))
    out = {}
    for k in p.space.order:
        base = float(params[k])
        col = np.full(n + 1, base)
        if k in p.space.names:
            col[1:] = base * (1.0 + p.robustness_delta * signs[:, p.space.names.index(k)])
        out[k] = col
    return out


def _robustness(p: _Plan, params: list[Mapping[str, float]], passed: list[bool]) -> list[float | None]:
    """Share of perturbed copies passing, per pattern, from one batched float64 call."""
    if p.robustness_n == 0:
        return [None] * len(p.patterns)
    import jax.numpy as jnp

    from jaxplaus._precision import precision

    copies = [_perturbed(p, pat.name, prm) for pat, prm in zip(p.patterns, params)]
    stacked = {k: np.stack([c[k] for c in copies]) for k in p.space.order}  # [P, n + 1]
    fn = _batched_loss(p.model, p.patterns, p.warmup)
    with precision(VALIDATION_DTYPE) as dt:
        loss = fn({k: jnp.asarray(v, dt) for k, v in stacked.items()}, jnp.arange(len(p.patterns), dtype=jnp.int32))
        loss = np.asarray(loss, np.float64)
    ok = loss <= 0
    for pat, base_ok, ok0 in zip(p.patterns, passed, ok[:, 0]):
        if bool(base_ok) != bool(ok0):
            warnings.warn(
                f"{pat.name}: the strict validator says passed={bool(base_ok)} but the batched float64 loss of the "
                f"same point says {bool(ok0)} (the in-scan and trace features disagree)",
                stacklevel=3,
            )
    return [float(np.mean(row[1:])) for row in ok]


def _history(result: S.SearchResult, t: int) -> dict[str, list]:
    """The best search loss over pattern ``t``'s lanes vs evaluations, as a step function."""
    per_gen = result.population_size * result.history.shape[1]
    best = np.min(np.asarray(result.history[t], np.float64), axis=0)[: result.generations]
    evals, losses = [], []
    last = None
    for g, b in enumerate(best):
        value = float(b) if math.isfinite(b) else None
        final = b <= 0 or g == len(best) - 1
        if value != last or final:
            evals.append((g + 1) * per_gen)
            losses.append(value)
            last = value
        if b <= 0:
            break
    return {"evaluations": evals, "best_loss": losses}


__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_MODEL",
    "DEFAULT_RESTARTS",
    "DEFAULT_STRATEGY",
    "FALLBACK_GAIN_BOUNDS",
    "GAIN_BOUNDS",
    "Assessment",
    "PatternResult",
    "Progress",
    "Validator",
    "assess",
    "default_gain_bounds",
    "load",
    "plan",
    "versions",
]
