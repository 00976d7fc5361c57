"""``jaxplaus benchmark``: the benchmark suite on the command line.

    jaxplaus benchmark --model M [--patterns P ...] --strategies cma_es,de,optuna_tpe,... --seeds N
                       --budget B --out DIR [--resume] [--no-report] [--quiet]

Runs :func:`jaxplaus.benchmark.benchmark` into ``DIR`` (resumable with ``--resume``), then
writes ``DIR/summary.json``, ``DIR/aRT.md`` (the aRT table in Markdown), ``DIR/figures/*.png``
and ``DIR/report.html``, and prints the aRT table.
"""

from __future__ import annotations

import os
import sys

from jaxplaus.errors import from_os_error


def configure_parser(p) -> None:
    """The ``benchmark`` subcommand's options: one per :class:`BenchmarkSettings` field, and the run's."""
    from jaxplaus.benchmark import config

    config.add_arguments(p)
    p.add_argument("--out", metavar="DIR", required=True, help="the benchmark directory")
    p.add_argument("--resume", action="store_true", help="continue the benchmark in --out (same settings)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--no-report", dest="no_report", action="store_true",
                   help="do not write figures/ and report.html at the end")


def write_outputs(bench, out: str, figures: bool = True) -> list[str]:
    """``aRT.md``, and with ``figures`` ``figures/*.png`` and ``report.html``, into ``out``; the paths."""
    from jaxplaus.benchmark import tables
    from jaxplaus.files import write_atomic

    summ = bench.summary()
    text = ("## aRT (evaluations; solved/runs)\n\n" + tables.art_markdown(summ, "evaluations")
            + "\n## aRT (search seconds; solved/runs)\n\n" + tables.art_markdown(summ, "seconds"))
    paths = [str(write_atomic(os.path.join(out, "aRT.md"), text))]
    if figures:
        from jaxplaus.benchmark import plots, report

        paths += [str(p) for p in plots.save_all(bench, os.path.join(out, "figures"))]
        paths.append(str(report.write_report(bench, os.path.join(out, "report.html"))))
    return paths


def run_cli(args) -> int:
    """Run the benchmark of ``args``; exit status 0 (errors are raised for :func:`jaxplaus.cli.main`)."""
    from jaxplaus.benchmark import config, tables
    from jaxplaus.benchmark.suite import benchmark

    options = config.given_options(args)
    progress = None if args.quiet else (lambda line: print(f"jaxplaus: {line}", file=sys.stderr, flush=True))
    try:
        bench = benchmark(out=args.out, resume=args.resume, progress=progress, **options)
    except KeyboardInterrupt:
        print(f"\njaxplaus: interrupted; continue with: jaxplaus benchmark ... --out {args.out} --resume",
              file=sys.stderr)
        return 130
    except OSError as err:
        raise from_os_error(err, f"then continue with --out {args.out} --resume (finished searches are kept)") from None
    print(tables.art_markdown(bench.summary()))
    for path in write_outputs(bench, args.out, figures=not args.no_report):
        print(f"wrote {path}")
    return 0


__all__ = ["configure_parser", "run_cli", "write_outputs"]
