"""The model abstraction: a name, its parameters, an initial state and a pure step.

A jaxplaus model is a black box to everything downstream. The engine needs exactly four
things of it, and nothing about its equations:

- ``name``: how the registry and the results refer to it;
- ``parameters``: an ordered mapping ``name -> Parameter`` (default, search bounds, log scale);
- ``initial_state(params) -> state``: the state a simulation starts from, a pytree of scalars;
- ``step(params, state, x) -> (state, v, spike)``: one sample of the dynamics for ONE neuron.
  ``params`` is a dict of scalars, ``state`` the pytree above, ``x`` the scalar input of this
  sample; ``v`` is the scalar membrane voltage to report (in the model's own units) and
  ``spike`` a scalar that is nonzero (or ``True``) when the neuron fired on this sample.

Optionally, ``gain_bounds``: the ``(lo, hi)`` range (log scale) an assessment searches the input
gain in, by default :data:`DEFAULT_GAIN_BOUNDS`; protocol currents are in Izhikevich's units (up to
80), so a model whose input scale differs declares its own range here.

Optionally, ``core``: the names of the parameters of the model's canonical form (Izhikevich's
``a, b, c, d`` and step, say), which an assessment searches on their own in some restart lanes:
there every other parameter is held at its default and the input gain at 1 (the protocol's own
units; list ``"gain"`` in ``core`` to search it there too). See :func:`jaxplaus.assess`.

Optionally, ``physiology``: a :class:`Physiology`, the parameter ranges a biologically plausible
setting of the model lies in, with their source; ``assess(..., bounds="physiological")`` searches
inside them (``docs/plausibility.md``). And ``sample_ms(params)``: the model time, in ms, that one
sample covers (the step of an Izhikevich model, Norse's ``dt``), so that rates found on a
protocol's samples can be said in Hz of the model's own time; None for a model whose time has no
unit.

The step is written for a single neuron; the engine vmaps it over populations, so a step never
has to think about batch dimensions. It must be a pure JAX function.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

Params = dict[str, Any]
State = Any  # a pytree of scalars (shipped models use dicts)
StepFn = Callable[[Params, State, Any], tuple[State, Any, Any]]

DEFAULT_GAIN_BOUNDS = (1e-4, 1e2)  # a model that declares none: wide, on a log scale


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One model parameter: its default value and the bounds a search explores.

    Attributes:
        default: the value used when the parameter is not given.
        lo, hi: search bounds, ``lo < hi``. The default need not lie inside them.
        log: search on a log scale (then ``0 < lo``); right for rates and time constants.
        doc: what the parameter means, with units.
        symlog: when ``> 0``, search on the signed log scale ``asinh(value / symlog)``: linear
            within about ``+-symlog`` of 0, logarithmic beyond, on both sides. Right for a rate
            whose sign may flip (Izhikevich's ``a``): every decade of either sign gets a fair
            share of the search, where a linear scale would leave the small values a sliver.
    """

    default: float
    lo: float
    hi: float
    log: bool = False
    doc: str = ""
    symlog: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or not self.lo < self.hi:
            raise ValueError(f"Parameter bounds must be finite with lo < hi, got lo={self.lo}, hi={self.hi}")
        if self.log and self.lo <= 0:
            raise ValueError(f"A log-scale parameter needs lo > 0, got lo={self.lo}")
        if not (math.isfinite(self.symlog) and self.symlog >= 0) or (self.log and self.symlog):
            raise ValueError(f"symlog must be a finite width >= 0, and not combined with log; got symlog={self.symlog}")


@dataclasses.dataclass(frozen=True)
class Physiology:
    """The physiological box of a model: a range per parameter, and where the ranges come from.

    Attributes:
        ranges: ``name -> (lo, hi)`` with ``lo <= hi`` for EVERY parameter of the model (a model
            declares a whole box or none). ``lo == hi`` holds the parameter at that value (a
            normalisation, or a constant its source never varies); ``lo < hi`` is searched.
        source: the reference the ranges come from, in words (the module's docstring gives the
            table and the derivation).
        gain: ``(lo, hi)`` of the input gain in a physiological run; None keeps the model's
            ``gain_bounds`` (the physiological question does not bound it on its own).
    """

    ranges: Mapping[str, tuple[float, float]]
    source: str
    gain: tuple[float, float] | None = None

    def __post_init__(self):
        for name, (lo, hi) in self.ranges.items():
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(f"physiological range of {name!r} must be finite with lo <= hi, got ({lo}, {hi})")
        if self.gain is not None and not (math.isfinite(self.gain[1]) and 0 < self.gain[0] < self.gain[1]):
            raise ValueError(f"physiological gain must be 0 < lo < hi, got {self.gain!r}")
        if not self.source:
            raise ValueError("a physiological box needs its source")

    def searched(self) -> dict[str, tuple[float, float]]:
        """``name -> (lo, hi)`` of the ranges with ``lo < hi``."""
        return {n: (float(lo), float(hi)) for n, (lo, hi) in self.ranges.items() if lo < hi}

    def held(self) -> dict[str, float]:
        """``name -> value`` of the parameters the box holds at one value (``lo == hi``)."""
        return {n: float(lo) for n, (lo, hi) in self.ranges.items() if lo == hi}

    def contains(self, params: Mapping[str, float], rel: float = 1e-6) -> bool:
        """Whether every parameter of ``params`` that the box names lies in its range, to a
        relative tolerance ``rel`` of the bound: a float32 search that reaches a bound rounds it
        (8.8 becomes 8.800000190734863, 2e-8 out), which is inside."""
        def inside(x, lo, hi):
            return lo - rel * abs(lo) <= x <= hi + rel * abs(hi)

        return all(inside(float(params[n]), lo, hi) for n, (lo, hi) in self.ranges.items() if n in params)


def table_box(rows, margin: float = 0.0, exact=()) -> dict[str, tuple[float, float]]:
    """The box spanned by a table of parameter settings, each bound moved outward by ``margin``
    times its own magnitude (``lo - margin |lo|``, ``hi + margin |hi|``; a bound at 0 stays).

    Args:
        rows: settings, each ``name -> value`` (the same names in every row).
        margin: the relative widening, >= 0 (0: the table's min and max).
        exact: names kept at the table's min and max whatever ``margin`` says.
    """
    names = list(rows[0])
    out = {}
    for n in names:
        lo, hi = min(float(r[n]) for r in rows), max(float(r[n]) for r in rows)
        m = 0.0 if n in exact else margin
        out[n] = (lo - m * abs(lo), hi + m * abs(hi))
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class Model:
    """A spiking neuron model as the engine sees it (see the module docstring).

    Models compare and hash by identity, so a model object can be a static argument of a
    jit-compiled function: reuse the same object to reuse its compiled kernels.
    """

    name: str
    parameters: Mapping[str, Parameter]
    initial_state: Callable[[Params], State]
    step: StepFn
    reference: str = ""
    core: tuple[str, ...] = ()
    gain_bounds: tuple[float, float] = DEFAULT_GAIN_BOUNDS
    physiology: Physiology | None = None
    sample_ms: Callable[[Params], Any] | None = None

    def __post_init__(self):
        if self.physiology is not None:
            self._check_physiology(self.physiology)
        lo, hi = self.gain_bounds
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise ValueError(f"model {self.name!r}: gain_bounds must be 0 < lo < hi, got {self.gain_bounds!r}")
        unknown = [n for n in self.core if n not in self.parameters and n != "gain"]
        if unknown:
            raise ValueError(
                f"model {self.name!r}: core names {unknown} are not parameters; known: {list(self.parameters)} "
                "(and 'gain')"
            )

    def _check_physiology(self, phys: Physiology) -> None:
        named, known = set(phys.ranges), set(self.parameters)
        missing, extra = sorted(known - named), sorted(named - known)
        if missing or extra:
            raise ValueError(f"model {self.name!r}: the physiological box must give a range for exactly its "
                             f"parameters; missing {missing}, unknown {extra}")
        bad = [n for n, (lo, _) in phys.ranges.items() if self.parameters[n].log and lo <= 0]
        if bad:
            raise ValueError(f"model {self.name!r}: physiological ranges of log-scale parameters {bad} need lo > 0")

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.parameters)

    def defaults(self) -> dict[str, float]:
        """The default parameter values, as a dict of Python floats."""
        return {name: p.default for name, p in self.parameters.items()}

    def bounds(self) -> dict[str, tuple[float, float]]:
        """The search bounds, ``name -> (lo, hi)``."""
        return {name: (p.lo, p.hi) for name, p in self.parameters.items()}

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Raise a ValueError naming any missing or unknown parameter."""
        given, known = set(params), set(self.parameters)
        missing, extra = sorted(known - given), sorted(given - known)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unknown {extra}")
            raise ValueError(
                f"Parameters for model {self.name!r}: {', '.join(parts)}; "
                f"expected exactly {list(self.parameters)}"
            )

    def __repr__(self) -> str:
        return f"Model({self.name!r}, parameters={list(self.parameters)})"


def spike_reset(fired, value, reset_value):
    """Norse's reset arithmetic, ``(1 - z) * value + z * reset_value`` with ``z`` in {0, 1}.

    Kept as arithmetic rather than a select so that the ports round exactly as Norse does
    (``0 * inf`` is NaN there too: a blown-up candidate is not silently reset).
    """
    z = fired.astype(value.dtype)
    return (1 - z) * value + z * reset_value


GAIN = "gain"  # the input gain's name among a gained model's parameters


def _without_gain(p: Params) -> Params:
    return {k: v for k, v in p.items() if k != GAIN}


def _gained_initial_state(model: Model, p: Params) -> State:
    return model.initial_state(_without_gain(p))


def _gained_step(model: Model, p: Params, s: State, x):
    return model.step(_without_gain(p), s, p[GAIN] * x)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class GainedModel(Model):
    """A model whose input is scaled by one more parameter, ``"gain"`` (see :func:`with_input_gain`).

    Compares and hashes as its ``base`` model (two gained copies of one model are equal and hash
    alike, and differ from the base itself), so a cache or a jit keyed on the model reuses one
    compiled kernel for every copy.
    """

    base: Model = dataclasses.field(kw_only=True)  # the model whose input is scaled

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.base == self.base

    def __hash__(self) -> int:
        return hash((type(self), self.base))


def with_input_gain(model: Model) -> GainedModel:
    """``model`` with one more parameter, ``"gain"``, that scales its input: ``step(p, s, gain * x)``.

    Lets a population share ONE ``[T]`` stimulus while each candidate has its own input gain
    (no ``[batch, T]`` input in memory). Calls with the same model return equal models (equal
    hashes too), so their compiled kernels are reused.
    """
    if GAIN in model.parameters:
        raise ValueError(f"model {model.name!r} already has a parameter named {GAIN!r}")
    return GainedModel(
        name=f"{model.name}[gain]",
        parameters={**model.parameters, GAIN: Parameter(1.0, 1e-6, 1e6, log=True, doc="input gain")},
        initial_state=functools.partial(_gained_initial_state, model),
        step=functools.partial(_gained_step, model),
        reference=model.reference,
        base=model,
    )
