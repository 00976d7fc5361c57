"""The assessment's objectives as values: the search loss and the batched validation loss.

An objective is a frozen dataclass (hashable, equal when its parts are), so it is a static
argument of the compiled search and of :func:`batched_loss`: an equal objective reuses their
compiled programs, with no cache of closures.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxplaus.patterns.suite import suite_loss
from jaxplaus.search import SearchSpace


@dataclasses.dataclass(frozen=True)
class SuiteLoss:
    """``(params {name: [pop]}, task) -> [pop]``: the graded loss of pattern ``patterns[task]``
    (:func:`jaxplaus.patterns.suite.suite_loss`: 0 exactly when every criterion holds)."""

    model: object
    patterns: tuple
    warmup: int
    lag: bool = False  # the feature reducer one sample behind the step (faster)
    control: bool = True  # False: no control run (a screen: a lower bound of the complete loss)
    by_window: bool = False  # the features folded in phases by window (faster; longer to compile)

    def __call__(self, params, task):
        return suite_loss(self.model, self.patterns, self.warmup, lag=self.lag, control=self.control,
                          by_window=self.by_window)(params, task)

    def program_key(self) -> str | None:
        """Its part of a stored program's key (:mod:`jaxplaus.search.stored`): the model, the
        patterns and the options by name; None unless the model is one jaxplaus ships and every
        pattern the registered one (the code of any other is unknown)."""
        from jaxplaus import models, patterns

        try:
            model = models.get(self.model)
            known = any(model is m for m in models.SHIPPED) and patterns.shipped(self.patterns)
        except ValueError:
            return None
        if not known:
            return None
        names = ",".join(p.name for p in self.patterns)
        return (f"SuiteLoss({model.name}; {names}; warmup={self.warmup}; lag={self.lag}; control={self.control}; "
                f"by_window={self.by_window})")

    def samples_per_candidate(self) -> np.ndarray:
        """``[P]`` neuron-steps one candidate of each pattern costs: its protocol run, warm-up
        included (and its control run), each as long as its own pattern's. A batch of several
        patterns runs to its longest; the samples its shorter patterns' candidates then spend
        frozen are not counted."""
        return np.array([self.warmup + p.n_samples + (p.control_length(self.warmup) if self.control else 0)
                         for p in self.patterns], np.int64)


@dataclasses.dataclass(frozen=True)
class JitteredLoss:
    """The search's loss: the worst of ``loss`` at a candidate and at two copies moved by
    ``x (1 +- jitter)`` along a fixed direction of alternating signs (+1, -1, +1, ...) over the
    searched dimensions. The three copies are one simulation batch of ``3 x pop``; an accidental
    pass at a chaotic edge (a loss of 0 that rounding alone produced) no longer scores 0."""

    loss: SuiteLoss
    space: SearchSpace
    jitter: float

    def __call__(self, params, task):
        signs = {name: (1.0 if i % 2 == 0 else -1.0) for i, name in enumerate(self.space.names)}
        pop = jnp.shape(params[self.space.order[0]])[0]
        stacked = {}
        for k, v in params.items():
            d = v * (self.jitter * signs[k]) if k in signs else None
            stacked[k] = jnp.concatenate([v, v + d, v - d] if d is not None else [v, v, v])
        return jnp.max(self.loss(stacked, task).reshape(3, pop), axis=0)

    def program_key(self) -> str | None:
        """Its part of a stored program's key (see :meth:`SuiteLoss.program_key`)."""
        key = self.loss.program_key()
        return None if key is None else f"JitteredLoss({key}; {self.space!r}; jitter={self.jitter!r})"

    def samples_per_candidate(self) -> np.ndarray:
        """``[P]`` neuron-steps one candidate costs: three copies of :meth:`SuiteLoss.samples_per_candidate`."""
        return 3 * self.loss.samples_per_candidate()


@dataclasses.dataclass(frozen=True)
class SearchObjectives:
    """What a search minimises and how it accepts a zero (``run_search``'s ``objective``,
    ``confirm_objective`` and ``confirm_jitter``)."""

    objective: SuiteLoss | JitteredLoss
    confirming: SuiteLoss | None
    confirm_jitter: float

    def samples_per_candidate(self) -> np.ndarray:
        """``[P]`` neuron-steps one candidate of each pattern costs in the search (the rare
        confirmations left out)."""
        return self.objective.samples_per_candidate()


PHASES_FROM_GENERATIONS = 100  # a search this long repays the phases' longer compile (see search_objectives)


def search_objectives(model, patterns: tuple, warmup: int, space: SearchSpace, jitter: float, lag: bool = False,
                      full_loss: str = "every", generations: int = PHASES_FROM_GENERATIONS) -> SearchObjectives:
    """The search's objectives.

    ``full_loss="every"``: every candidate scores the complete loss (the protocol and control
    runs) at its worst of 3 jittered copies (:class:`JitteredLoss`; with ``jitter=0``, once).
    ``"zeros"``: every candidate is screened by its protocol run alone (a lower bound of the
    complete loss), and a zero counts only where the complete loss of the point and of its 2
    jittered copies is 0 too: one simulation per candidate instead of 6.
    In a search of at least :data:`PHASES_FROM_GENERATIONS` ``generations`` the objective every
    candidate runs folds its features in phases by window (faster to run, about a quarter longer
    to compile: a short search does not repay it); the confirming one, rarely called, always in
    one loop. The losses are the same either way, bit for bit.
    """
    patterns, warmup, lag, jitter = tuple(patterns), int(warmup), bool(lag), float(jitter)
    phases = int(generations) >= PHASES_FROM_GENERATIONS
    if full_loss == "zeros":
        return SearchObjectives(SuiteLoss(model, patterns, warmup, lag, control=False, by_window=phases),
                                SuiteLoss(model, patterns, warmup, lag), jitter)
    complete = SuiteLoss(model, patterns, warmup, lag, by_window=phases)
    return SearchObjectives(JitteredLoss(complete, space, jitter) if jitter > 0 else complete, None, 0.0)


@functools.partial(jax.jit, static_argnums=0)
def batched_loss(loss: SuiteLoss, params, tasks):
    """``params {name: [P, n]}, tasks [P] -> [P, n]``: ``loss`` of each task's candidates."""
    return jax.vmap(loss)(params, tasks)


__all__ = ["JitteredLoss", "SearchObjectives", "SuiteLoss", "batched_loss", "search_objectives"]
