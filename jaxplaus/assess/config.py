"""The options of an assessment: one frozen object with its defaults.

:class:`Settings` declares every option that determines an assessment's result, once: its
default, its help text, how the command line spells and parses it, how ``settings.json``
records it and what a run recorded before the option existed implicitly used. The command line's
``assess`` options are made from these fields (:func:`add_arguments`, :func:`given_options`),
``settings.json`` is made from the resolved settings (:func:`jaxplaus.assess.plan.plan`) and
read back with :func:`from_record`. Adding an option is one field here plus its use.

Run-time choices that do not change the result (the run directory, resume, chunking,
progress, extra validators, the devices) are arguments of :func:`jaxplaus.assess.assess`, not settings.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from jaxplaus.assess import checks
from jaxplaus.patterns.base import DEFAULT_WARMUP, MAX_WARMUP

SEARCH_DTYPES = ("float32", "float64")
FULL_LOSS_SCOPES = ("every", "zeros")
WIDE, PHYSIOLOGICAL = "wide", "physiological"
BOXES = (WIDE, PHYSIOLOGICAL)  # the words `bounds` takes: the model's search bounds, or its physiological box


def _option(default, help: str, *, cli: Mapping[str, Any] | None = None, parse: Callable | None = None,
            check: checks.Check | None = None, record: str | None = "plain", legacy=dataclasses.MISSING,
            recorded: Callable | None = None):
    """A :class:`Settings` field.

    Args:
        default: the value when the option is not given (None: resolved from the model).
        help: one line for ``--help``.
        cli: extra ``argparse.add_argument`` keywords (type, nargs, metavar, choices).
        parse: turns the parsed command-line value into the option's value.
        check: ``(name, value) -> value``, the option's own check (:mod:`~jaxplaus.assess.checks`);
            options checked together with others (budget, restarts, ...) are checked by the plan.
        record: how ``settings.json`` records it: ``"plain"`` (under its own name), ``None``
            (recorded through another entry, e.g. the search space), or ``"group.key"``.
        legacy: the value a run recorded before this option existed implicitly used (none: such
            a run cannot be read back, e.g. a new option whose default is resolved from the model
            must name the value older runs had).
        recorded: the recorded form of the resolved value, when it is not the value itself
            (:func:`from_record` then restores the value).
    """
    meta = {"help": help, "cli": dict(cli or {}), "parse": parse, "check": check, "record": record, "legacy": legacy,
            "recorded": recorded}
    return dataclasses.field(default=default, metadata=meta)


def _assignments(items, what: str, pair: bool) -> dict:
    """``NAME=VALUE`` (or ``NAME=LO,HI`` when ``pair``) items as a dict, with clear errors."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--{what}: expected {'NAME=LO,HI' if pair else 'NAME=VALUE'}, got {item!r}")
        if name in out:
            raise ValueError(f"--{what}: {name!r} given more than once")
        try:
            out[name] = tuple(float(v) for v in value.split(",")) if pair else float(value)
            if pair and len(out[name]) != 2:
                raise ValueError
        except ValueError:
            form = "two numbers LO,HI" if pair else "a number"
            raise ValueError(f"--{what} {name}: expected {form}, got {value!r}") from None
    return out


def _bounds(items) -> str | dict:
    """``--bounds``: one word of :data:`BOXES` alone, or ``NAME=LO,HI`` pairs."""
    words = [item.strip() for item in items if "=" not in item]
    if not words:
        return _assignments(items, "bounds", pair=True)
    if len(items) == 1 and words[0] in BOXES:
        return words[0]
    raise ValueError(f"--bounds: expected {' or '.join(map(repr, BOXES))} alone, or NAME=LO,HI pairs; got "
                     f"{' '.join(items)!r}")


def check_bounds(name: str, value):
    """``bounds`` is None (the model's search bounds), a word of :data:`BOXES`, or a mapping
    ``name -> (lo, hi)`` (whose entries the search space checks)."""
    if value is None or isinstance(value, Mapping) or (isinstance(value, str) and value in BOXES):
        return value
    raise ValueError(f"{name} must be {' or '.join(map(repr, BOXES))}, or a mapping NAME -> (LO, HI) narrowing the "
                     f"model's search bounds; got {value!r}")


def box(bounds) -> str:
    """The box a ``bounds`` value starts from: ``"physiological"`` (the model's physiological
    box) or ``"wide"`` (the model's own search bounds, None or a mapping narrowing them)."""
    return PHYSIOLOGICAL if bounds == PHYSIOLOGICAL else WIDE


def _names(items) -> tuple[str, ...]:
    out = tuple(s.strip() for item in items for s in item.split(",") if s.strip())
    if not out:
        raise ValueError("--patterns: no pattern names given")
    return out


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that determines an assessment's result, with its default.

    ``None`` means "resolved from the model": the resolved settings (``plan(...).settings``)
    hold the values actually used. See :func:`jaxplaus.assess.assess` for what each does.
    """

    model: Any = _option("izhikevich2004", "a registered model (see `jaxplaus list models`), or a Model")
    patterns: tuple[str, ...] | None = _option(
        None, "pattern names or letters A-T (default: all 20)", cli={"nargs": "+", "metavar": "P"}, parse=_names
    )
    strategy: str = _option("cma_es", "evosax strategy (see `jaxplaus list strategies`)")
    budget: int = _option(
        102_400, "objective evaluations per pattern on average (patterns x budget in all, an upper bound)",
        cli={"type": int},
    )
    restarts: int = _option(8, "independent restart lanes per pattern at first", cli={"type": int})
    population_size: int | None = _option(
        None, "candidates per lane and generation (default: the strategy's for the search's dimensions)",
        cli={"type": int},
    )
    seed: int = _option(0, "random seed", cli={"type": int}, check=checks.seed)
    gain: tuple[float, float] | None = _option(
        None, "input-gain bounds, log scale (default: the model's gain_bounds)",
        cli={"nargs": 2, "type": float, "metavar": ("LO", "HI")}, parse=tuple,
    )
    fixed: Mapping[str, float] | None = _option(
        None, "pin parameters (the gain too)", cli={"nargs": "+", "metavar": "NAME=VALUE"},
        parse=lambda items: _assignments(items, "fixed", pair=False), record=None,
    )
    bounds: Mapping[str, tuple[float, float]] | str | None = _option(
        None, "the search box: 'wide' (the model's search bounds), 'physiological' (the model's physiological box, "
        "docs/plausibility.md), or NAME=LO,HI pairs narrowing the model's search bounds",
        cli={"nargs": "+", "metavar": "BOX|NAME=LO,HI"}, parse=_bounds, check=check_bounds, recorded=box,
        legacy=WIDE,
    )
    warmup: int = _option(
        DEFAULT_WARMUP, "samples of the first input held before each protocol", cli={"type": int},
        check=checks.int_in(1, MAX_WARMUP),
    )
    robustness_copies: int = _option(
        32, "perturbed copies per pattern for the robustness figure (0: none)", cli={"type": int},
        check=checks.at_least(0), record="robustness.copies",
    )
    robustness_delta: float = _option(
        0.01, "relative perturbation of the robustness copies", cli={"type": float},
        check=checks.number_in(0, 1, open_interval=True), record="robustness.delta",
    )
    search_dtype: str = _option(
        "float32", "precision of the search (validation is always float64)", cli={"choices": SEARCH_DTYPES},
        check=checks.one_of(SEARCH_DTYPES, " (the search's precision)"),
    )
    jitter: float = _option(
        1e-4, "score each candidate by its worst of 3 copies moved by x(1 +- jitter) (0: off)", cli={"type": float},
        check=checks.number_in(0, 0.1, note=" (0: off)"),
    )
    share: float = _option(
        0.0, "probability that a restart starts at another pattern's solution (0: always uniform)",
        cli={"type": float}, check=checks.number_in(0, 1, note=" (0: every restart uniformly random)"), legacy=0.0,
    )
    rebatch_every: int = _option(
        20, "the most generations between the settings of the simulated batch (a solved pattern leaves it after "
        "the generation that solved it)", cli={"type": int}, check=checks.at_least(1), legacy=20,
    )
    full_loss: str = _option(
        "zeros", "'every': each candidate scores the complete loss (protocol and control runs) at its worst of 3 "
        "jittered copies (6 simulations); 'zeros': each is screened by its protocol run alone (1 simulation) and a "
        "loss of 0 counts only if the complete loss of the point and of its 2 jittered copies is 0 too",
        cli={"choices": FULL_LOSS_SCOPES}, check=checks.one_of(FULL_LOSS_SCOPES), legacy="every",
    )
    lagged_features: bool = _option(
        True, "compute the pattern features one sample behind the step (--no-lagged-features: in step): about "
        "twice as fast; chaotic candidates may round differently", cli={"action": argparse.BooleanOptionalAction},
        check=checks.boolean, legacy=False,
    )
    core_lanes: int | None = _option(
        None, "restart lanes per pattern searching only the model's core parameters, the rest at their defaults "
        "and the gain at 1 (default: half the lanes for a model with a core)", cli={"type": int}, legacy=0,
    )
    lane_pool: int | None = _option(
        None, "a pattern's lanes may grow to restarts x LANE_POOL as solved patterns hand theirs over, so every "
        "generation simulates patterns x restarts lanes (default: the number of patterns; 1: no hand-over)",
        cli={"type": int}, legacy=1,
    )


OPTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Settings))


def settings(base: Settings | None = None, **options) -> Settings:
    """``base`` (default: the defaults) with ``options`` replaced; an unknown name is a TypeError
    that lists the known ones."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"unknown assessment options {unknown}; the options are {list(OPTIONS)}")
    return dataclasses.replace(base or Settings(), **options)


def updated(saved: Settings, given: Mapping[str, Any]) -> Settings:
    """A resumed run's settings: ``saved`` with the ``given`` options replaced. A parameter that
    ``given`` newly fixes drops the search bounds ``saved`` recorded for it."""
    given = dict(given)
    if given.get("fixed") is not None and "bounds" not in given and isinstance(saved.bounds, Mapping):
        given["bounds"] = {k: v for k, v in saved.bounds.items() if k not in given["fixed"]}
    return settings(saved, **given)


# ============================================================================ the command line


def add_arguments(parser) -> None:
    """One ``--option-name`` per :class:`Settings` field (default None: "not given")."""
    for f in dataclasses.fields(Settings):
        shown = "" if f.default is None else f" (default {f.default})"
        parser.add_argument(
            "--" + f.name.replace("_", "-"), dest=f.name, default=None, help=f.metadata["help"] + shown,
            **f.metadata["cli"],
        )


def given_options(args) -> dict[str, Any]:
    """The :class:`Settings` options given on the command line, parsed (absent ones left out)."""
    out = {}
    for f in dataclasses.fields(Settings):
        value = getattr(args, f.name, None)
        if value is not None:
            parse = f.metadata["parse"]
            out[f.name] = parse(value) if parse else value
    return out


# ============================================================================ settings.json


def to_record(resolved: Settings) -> dict[str, Any]:
    """The recorded form of resolved settings: each option under its name (or its group), the
    model by name; the entries the plan derives (search space, generations, ...) are added by it."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        kind, value = f.metadata["record"], getattr(resolved, f.name)
        if kind is None:
            continue
        if f.name == "model":
            value = value if isinstance(value, str) else value.name
        if f.metadata["recorded"] is not None:
            value = f.metadata["recorded"](value)
        if isinstance(value, tuple):
            value = list(value)
        group, _, key = kind.rpartition(".")
        (out.setdefault(group, {}) if group else out)[key if group else f.name] = value
    return out


RENAMED = {"jitter_scope": "full_loss"}  # recorded name -> the option's name now


def upgraded(record: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded settings dict with renamed options under their names now (:data:`RENAMED`) and
    every option recorded after it was written added at its ``legacy`` value: what the run
    used, so that a resume compares like with like."""
    out = {RENAMED.get(k, k): (dict(v) if isinstance(v, Mapping) else v) for k, v in record.items()}
    for f in dataclasses.fields(Settings):
        kind, legacy = f.metadata["record"], f.metadata["legacy"]
        if kind is None or legacy is dataclasses.MISSING:
            continue
        group, _, key = kind.rpartition(".")
        (out.setdefault(group, {}) if group else out).setdefault(key if group else f.name, legacy)
    return out


def from_record(record: Mapping[str, Any]) -> Settings:
    """The resolved :class:`Settings` of a run from its recorded settings (``settings.json``).

    Options recorded after the run was written take their ``legacy`` value (:func:`upgraded`);
    ``fixed`` and ``bounds`` come back from the recorded search space (bounds for every searched
    parameter), except that a physiological run's ``bounds`` stays ``"physiological"`` (its
    held parameters come back among ``fixed``, at the values the box holds them).
    """
    record = upgraded(record)
    values = {}
    for f in dataclasses.fields(Settings):
        kind = f.metadata["record"]
        if kind is None:
            continue
        group, _, key = kind.rpartition(".")
        value = record[group][key] if group else record[f.name]
        values[f.name] = tuple(value) if isinstance(value, list) else value
    space = record["space"]
    values["fixed"] = dict(space["fixed"])
    if values["bounds"] != PHYSIOLOGICAL:
        values["bounds"] = {n: (lo, hi) for n, lo, hi in zip(space["names"], space["lo"], space["hi"]) if n != "gain"}
    return Settings(**values)


__all__ = ["BOXES", "OPTIONS", "PHYSIOLOGICAL", "SEARCH_DTYPES", "Settings", "WIDE", "add_arguments", "box",
           "check_bounds", "from_record", "given_options", "settings", "to_record", "updated", "upgraded"]
