"""The firing-pattern benchmark suite: optimizers compared the way COCO/BBOB presents them.

``benchmark(strategies=..., seeds=..., budget=..., out=...)`` runs every (strategy, seed)
search on a model's patterns and records each (strategy, seed, pattern) run's runtime to its
first validated pass. One concept a module:

- :mod:`~jaxplaus.benchmark.config`: :class:`BenchmarkSettings` (the options, made into CLI options);
- :mod:`~jaxplaus.benchmark.optuna_strategies`: Optuna's samplers as strategies (optional extra);
- :mod:`~jaxplaus.benchmark.runs`: one (strategy, seed) search of every pattern, validated;
- :mod:`~jaxplaus.benchmark.suite`: the driver, the benchmark directory, resume;
- :mod:`~jaxplaus.benchmark.stats`: aRT, the empirical runtime distribution, Wilson intervals;
- :mod:`~jaxplaus.benchmark.tables`: aRT and success tables (``summary.json``, Markdown);
- :mod:`~jaxplaus.benchmark.plots` and :mod:`~jaxplaus.benchmark.report`: figures and the HTML report.
"""

from jaxplaus.benchmark.config import BenchmarkSettings
from jaxplaus.benchmark.optuna_strategies import SAMPLERS, OptunaMissingError
from jaxplaus.benchmark.stats import average_runtime, runtime_ecdf, wilson_interval
from jaxplaus.benchmark.suite import Benchmark, benchmark, load

__all__ = [
    "SAMPLERS",
    "Benchmark",
    "BenchmarkSettings",
    "OptunaMissingError",
    "average_runtime",
    "benchmark",
    "load",
    "runtime_ecdf",
    "wilson_interval",
]
