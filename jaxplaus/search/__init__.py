"""On-device evolution-strategy search in a normalised parameter space.

A search looks for the parameters (and input gain) of a model that minimise a caller's loss. The
optimiser works in the unit cube ``[0, 1]^D``; :func:`to_physical` maps a point of the cube to
parameter values. All ``n_tasks x restarts`` lanes of a search run in one compiled program, and a
lane whose search has converged or stalled restarts in place, keeping its best-so-far.

One concern a module:

- :mod:`~jaxplaus.search.space`: :class:`SearchSpace`, :func:`search_space`, :func:`to_physical`,
  :func:`to_unit`;
- :mod:`~jaxplaus.search.strategies`: the evosax algorithms (:class:`Strategy`,
  :data:`STRATEGIES`) and a fresh lane of one;
- :mod:`~jaxplaus.search.config`: the static configuration of a search (hashable);
- :mod:`~jaxplaus.search.state`: :class:`SearchState` (its per-lane part ``LaneState``)
  and its checkpoints, :func:`state_to_arrays` / :func:`state_from_arrays`;
- :mod:`~jaxplaus.search.lane`: one generation of one lane, and the restart rule;
- :mod:`~jaxplaus.search.engine`: the compiled loop, the batch of unsolved tasks,
  :func:`run_search` and :func:`init_state`;
- :mod:`~jaxplaus.search.result`: :class:`SearchResult`;
- :mod:`~jaxplaus.search.devices`: the devices a search's lanes are split over
  (:class:`Placement`, :func:`placement`), and what several processes share.
"""

from jaxplaus.search.devices import Placement, broadcast, is_lead, placement
from jaxplaus.search.engine import REBATCH_EVERY, init_state, run_search
from jaxplaus.search.result import SearchResult
from jaxplaus.search.space import GAIN, SearchSpace, search_space, to_physical, to_unit
from jaxplaus.search.state import SearchState, state_from_arrays, state_to_arrays
from jaxplaus.search.strategies import (
    FAILED_LOSS,
    STRATEGIES,
    Strategy,
    default_population_size,
    get_strategy,
    strategy_names,
)

__all__ = [
    "FAILED_LOSS",
    "Placement",
    "broadcast",
    "is_lead",
    "placement",
    "GAIN",
    "REBATCH_EVERY",
    "STRATEGIES",
    "SearchResult",
    "SearchSpace",
    "SearchState",
    "Strategy",
    "default_population_size",
    "get_strategy",
    "init_state",
    "run_search",
    "search_space",
    "state_from_arrays",
    "state_to_arrays",
    "strategy_names",
    "to_physical",
    "to_unit",
]
