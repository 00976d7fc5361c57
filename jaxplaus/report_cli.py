"""The ``report`` and ``profile`` commands: an HTML report and the profile figure of finished run
directories (nothing is searched again; see :mod:`jaxplaus.report` and :mod:`jaxplaus.plots`)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable


def finished_runs(run_dirs, resolve_model: Callable) -> None:
    """Refuse a directory without results; ``resolve_model`` each run's model (registers a Norse
    cell's model for the figures)."""
    from jaxplaus import results as R

    for d in run_dirs:
        if not os.path.isfile(os.path.join(d, R.RESULTS)) and not os.path.isfile(d):
            raise ValueError(f"{d!r} is not a finished run directory (it has no {R.RESULTS})")
        resolve_model(R.read_results(d)["model"])


def _cmd_report(args, resolve_model: Callable) -> int:
    from jaxplaus.report import write_report

    finished_runs(args.run_dirs, resolve_model)
    out = args.out or (os.path.join(args.run_dirs[0], "report.html") if len(args.run_dirs) == 1 else "report.html")
    print(f"report: {write_report(args.run_dirs, out)}")
    return 0


def _cmd_profile(args, resolve_model: Callable) -> int:
    from jaxplaus import plots

    finished_runs(args.run_dirs, resolve_model)
    print(f"profile: {plots.save(plots.profile_figure(args.run_dirs), args.out)}")
    return 0


def configure(sub, resolve_model: Callable) -> None:
    """Add the ``report`` and ``profile`` subcommands to the ``sub`` parsers."""
    p = sub.add_parser("report", help="write a self-contained HTML report (figures, profile) of run directories")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="finished run directories")
    p.add_argument("--out", metavar="FILE",
                   help="the HTML file (default RUN_DIR/report.html for one run, ./report.html for several)")
    p.set_defaults(func=functools.partial(_cmd_report, resolve_model=resolve_model))

    p = sub.add_parser("profile", help="the profile figure (PNG) of run directories; a model's wide run is its "
                       "expressive row, its physiological run its plausible row")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="finished run directories")
    p.add_argument("--out", metavar="FILE", default="profile.png", help="the PNG file (default ./profile.png)")
    p.set_defaults(func=functools.partial(_cmd_profile, resolve_model=resolve_model))


__all__ = ["configure", "finished_runs"]
