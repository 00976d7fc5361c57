"""Validation of the search's winners: the strict float64 verdict, extra validators, robustness.

A pattern passes only if the strict validator (full float64 traces, the control run, every
criterion: :meth:`Pattern.check <jaxplaus.patterns.base.Pattern.check>`, run for every
pattern's best point at once by :func:`~jaxplaus.assess.strict.strict_verdicts`) passes its
chosen point. The chosen point is the best lane's best; if the search and the validator
disagree (search loss 0, validation failed), the next lane's best with search loss 0 is tried,
in order of loss, one by one. Extra :class:`Validator` objects (e.g. ``norse_bridge.norse_validator()``)
judge the chosen point too. Robustness is the share of perturbed copies of the chosen point (each
searched dimension times ``1 + s delta``, ``s = +-1`` drawn per copy and dimension from
``numpy.random.default_rng([seed, crc32(pattern name)])``) that still pass, from one batched
float64 call of the suite loss.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Mapping
from typing import Protocol

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus import search as S
from jaxplaus._precision import precision
from jaxplaus.assess.objective import SuiteLoss, batched_loss
from jaxplaus.assess.plan import VALIDATION_DTYPE, Plan
from jaxplaus.assess.strict import strict_verdicts
from jaxplaus.search import stored


class Validator(Protocol):
    """An extra validation of each pattern's winner (``assess(..., validators=[...])``), for
    example ``norse_bridge.norse_validator()``: the winner simulated again by another engine.

    Attributes:
        name: a short identifier, the key in :attr:`PatternResult.validations` and in the
            settings (unique; not ``"float64"``, the built-in validation).

    ``validator(model, pattern, params, gain, *, warmup) -> Verdict`` judges ONE candidate:
    ``params`` the model's parameters (Python floats), ``gain`` its input gain, on ``pattern``'s
    protocol after ``warmup`` samples and on its control run; it returns a
    :class:`~jaxplaus.patterns.base.Verdict`. An optional ``check(model)`` raises a ValueError
    when the model cannot be validated this way; it is called before anything runs or is written.
    """

    name: str

    def __call__(self, model, pattern, params: dict[str, float], gain: float, *, warmup: int): ...


def check_validators(validators, model) -> tuple:
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


def finite_or_none(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def split_gain(params: Mapping[str, float]) -> tuple[dict[str, float], float]:
    """``(model parameters, gain)`` of a point's physical values."""
    params = dict(params)
    gain = params.pop(S.GAIN)
    return params, gain


def run_validators(validators: tuple, p: Plan, pattern, params: Mapping[str, float]) -> dict[str, dict]:
    """Each extra validator's verdict on one pattern's chosen point (a validator that raises fails)."""
    out = {}
    model_params, gain = split_gain(params)
    for v in validators:
        try:
            verdict = v(p.model, pattern, dict(model_params), float(gain), warmup=p.settings.warmup)
            out[v.name] = {"passed": bool(verdict.passed), "failed": [str(f) for f in verdict.failed],
                           "loss": finite_or_none(verdict.loss), "finite": bool(verdict.finite)}
        except Exception as err:  # noqa: BLE001 - recorded as a failed validation, and said
            warnings.warn(f"validator {v.name!r} failed on {pattern.name}: {type(err).__name__}: {err}", stacklevel=3)
            out[v.name] = {"passed": False, "failed": [f"the validator raised {type(err).__name__}: {err}"],
                           "loss": None, "finite": False}
    return out


def physical(space: S.SearchSpace, z, dtype: str) -> dict[str, float]:
    """Physical values (Python floats, exact in the search's ``dtype``) of a cube point."""
    with precision(dtype) as dt:
        return {k: float(v) for k, v in S.to_physical(space, jnp.asarray(z, dt)).items()}


def best_lanes(p: Plan, result: S.SearchResult) -> tuple[np.ndarray, list[dict[str, float]]]:
    """``(lanes [P], points)``: each pattern's best lane (lowest search loss, the first on ties)
    and its best point's physical values."""
    loss = np.asarray(result.lane_best_loss, np.float64)
    lanes = np.argmin(np.where(np.isfinite(loss), loss, np.inf), axis=1)
    points = [physical(p.space, result.lane_best_z[t, lane], p.settings.search_dtype) for t, lane in enumerate(lanes)]
    return lanes, points


def first_verdicts(p: Plan, points: list[Mapping[str, float]]) -> list:
    """The strict float64 verdict of each pattern's point, from one batched simulation
    (:func:`~jaxplaus.assess.strict.strict_verdicts`)."""
    stacked = {k: [float(pt[k]) for pt in points] for k in p.space.order}
    return strict_verdicts(p.model, p.patterns, stacked, p.settings.warmup)


def zero_judge(p: Plan):
    """The search's judge of its zeros (``run_search(accept=...)``): the strict float64 validator
    on one point per pattern, ``(params {name: [P]}, todo [P]) -> (passed [P], loss [P])``, the
    patterns of ``todo`` judged (the others' entries: not passed, loss inf)."""

    def judge(params, todo):
        stacked = {k: np.asarray(v, np.float64) for k, v in params.items()}
        tasks = np.flatnonzero(todo)
        verdicts = strict_verdicts(p.model, p.patterns, stacked, p.settings.warmup, tasks=tasks)
        passed, loss = np.zeros(len(p.patterns), bool), np.full(len(p.patterns), np.inf)
        passed[tasks], loss[tasks] = [v.passed for v in verdicts], [v.loss for v in verdicts]
        return passed, loss

    return judge


def choose(p: Plan, pattern, lane_best_loss: np.ndarray, lane_best_z: np.ndarray, first: tuple):
    """The float64 verdict on a pattern's best point ``first = (lane, params, verdict)``; more
    lanes, one by one, while the search and the validator disagree.

    Args:
        lane_best_loss: ``[R]`` each lane's best search loss; lane_best_z: ``[R, D]`` its point.

    Returns:
        ``((lane, params, verdict), lanes_checked)``.
    """
    if first[2].passed:
        return first, 1
    lane_loss = np.asarray(lane_best_loss, np.float64)
    order = np.argsort(np.where(np.isfinite(lane_loss), lane_loss, np.inf), kind="stable")
    checked = 1
    for lane in order:
        if not lane_loss[lane] <= 0:
            break
        if lane == first[0]:
            continue
        params = physical(p.space, lane_best_z[lane], p.settings.search_dtype)
        model_params, gain = split_gain(params)
        verdict = pattern.check(p.model, model_params, gain, warmup=p.settings.warmup, dtype=VALIDATION_DTYPE)
        checked += 1
        if verdict.passed:
            return (int(lane), params, verdict), checked
    return first, checked


def perturbed(p: Plan, name: str, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    """``robustness_copies + 1`` float64 copies of ``params`` (copy 0 unperturbed)."""
    n, delta = p.settings.robustness_copies, p.settings.robustness_delta
    rng = np.random.default_rng([p.settings.seed, zlib.crc32(name.encode())])
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n, p.space.num_dims))
    out = {}
    for k in p.space.order:
        base = float(params[k])
        col = np.full(n + 1, base)
        if k in p.space.names:
            col[1:] = base * (1.0 + delta * signs[:, p.space.names.index(k)])
        out[k] = col
    return out


def robustness(p: Plan, params: list[Mapping[str, float]], passed: list[bool]) -> list[float | None]:
    """Share of perturbed copies passing, per pattern, from one batched float64 call."""
    if p.settings.robustness_copies == 0:
        return [None] * len(p.patterns)
    copies = [perturbed(p, pat.name, prm) for pat, prm in zip(p.patterns, params)]
    stacked = {k: np.stack([c[k] for c in copies]) for k in p.space.order}  # [P, n + 1]
    loss_fn = SuiteLoss(p.model, p.patterns, p.settings.warmup, p.settings.lagged_features)
    with precision(VALIDATION_DTYPE) as dt:
        args = ({k: jnp.asarray(v, dt) for k, v in stacked.items()}, jnp.arange(len(p.patterns), dtype=jnp.int32))
        loss = stored.call(batched_loss, (loss_fn,), stored.static_key(loss_fn), args, out_tree=jax.tree.structure(0))
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


__all__ = [
    "Validator", "best_lanes", "check_validators", "choose", "first_verdicts", "robustness", "run_validators",
    "zero_judge",
]
