"""The ``jaxplaus`` command line: a thin layer over the library.

    jaxplaus assess [--model M] [--patterns P ...] [--strategy S] [--budget N] [--restarts R]
                    [--seed S] [--out DIR] [--resume] [--gain LO HI] [--fixed NAME=VALUE ...]
                    [--validate-norse] [--devices N] [--distributed [--coordinator HOST:PORT
                    --num-processes N --process-id I]]
    jaxplaus list models|patterns|strategies
    jaxplaus simulate --model M --pattern P [--params JSON] [--gain G]
    jaxplaus reference
    jaxplaus report RUN_DIR [RUN_DIR ...] [--out FILE]
    jaxplaus profile RUN_DIR [RUN_DIR ...] [--out FILE.png]
    jaxplaus benchmark [--model M] [--strategies S,...] [--seeds N] [--budget B] --out DIR [--resume]

``assess`` runs :func:`jaxplaus.assess.assess`: progress on stderr (one line per chunk of
generations), a table on stdout at the end, the run directory (``results.json``,
``summary.csv``, ``settings.json``, ``checkpoint.npz``) under ``--out`` (default
``runs/<model>-<date>-<time>``). ``--resume`` continues an interrupted run; options not given
are then taken from the run's ``settings.json``. Every option is checked before anything is
written or searched. Exit status (:func:`main`): 2 for bad input, 1 when the machine refused (disk
full, read-only, locked by another run), each with a one-line message naming the value or file.

Norse (optional, through ``norse_bridge``, imported only when asked for): ``--model norse.<cell>``
assesses a Norse cell as a black box (``norse_bridge.CELLS``: ``norse.lif_ex``, ``norse.lsnn``, ...),
and ``--validate-norse`` also validates every winner in Norse (torch float64).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from jaxplaus import __version__
from jaxplaus.errors import BAD_INPUT, ENVIRONMENT, JaxplausError, from_os_error
from jaxplaus.progress import ProgressPrinter


def _enable_compilation_cache() -> None:
    """Reuse compiled kernels across runs (JAX's persistent compilation cache)."""
    import jax

    cache = os.environ.get("JAXPLAUS_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jaxplaus", "jax"))
    jax.config.update("jax_compilation_cache_dir", cache)
    # every program, however quick to compile: a warm run's eager criteria and small helpers
    # otherwise compile again in each process (measured: 3 s of a default run's 8 s outside
    # the search; the whole cache of a default run is under 2 MB)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


# ============================================================================ optional Norse


def _norse_module(name: str):
    """``norse_bridge.<name>`` with Norse installed, or a ValueError saying what is missing."""
    import importlib

    try:
        deps = importlib.import_module("norse_bridge._deps")
        module = importlib.import_module(f"norse_bridge.{name}")
    except ImportError as err:  # pragma: no cover - norse_bridge ships with jaxplaus
        raise ValueError(f"this needs norse_bridge, which could not be imported ({err})") from None
    try:
        deps.require()
    except ImportError as err:
        raise ValueError(str(err)) from None
    return module


def _resolve_model(name):
    """``name``, after registering a Norse cell's model (``"norse.<cell>"``) on first use."""
    from jaxplaus import models

    if isinstance(name, str) and name.startswith("norse.") and name not in models.names():
        _norse_module("model").norse_model(name)  # a ValueError naming the built-in cells if unknown
    return name


def _validators(names) -> list:
    """The validators of ``names`` (the CLI knows ``"norse"``, norse_bridge's)."""
    out = []
    for name in names:
        if name != "norse":
            raise ValueError(f"unknown validator {name!r} in the run's settings; the command line knows 'norse'")
        out.append(_norse_module("validate").norse_validator())
    return out


# ============================================================================ list, reference


def _cmd_list(args) -> int:
    from jaxplaus import models, patterns

    if args.what == "models":
        for name in models.names():
            m = models.get(name)
            lo, hi = m.gain_bounds
            print(f"{name:30s} gain {lo:g}..{hi:g}  {', '.join(m.parameters)}")
    elif args.what == "patterns":
        for name in patterns.names():
            p = patterns.get(name)
            print(f"{p.letter}  {name:30s} {p.group:10s} {p.description}")
    elif args.what == "strategies":
        from jaxplaus.search import STRATEGIES

        for name, s in STRATEGIES.items():
            print(f"{name:15s} {s.doc}")
    return 0


def _cmd_reference(args) -> int:
    """The 20 figure1.m protocols simulated with izhikevich2004: spike counts and times."""
    from jaxplaus import patterns

    print(f"{'':2} {'pattern':30s} {'group':10s} {'spikes':>6}  first spike times (ms)")
    for name in patterns.names():
        p = patterns.get(name)
        tr = p.reference_trace()
        idx = np.flatnonzero(np.asarray(tr.spikes))
        times = ", ".join(f"{t:g}" for t in p.times()[idx][:6]) + (" ..." if len(idx) > 6 else "")
        print(f"{p.letter:2} {name:30s} {p.group:10s} {len(idx):6d}  {times}")
    return 0


# ============================================================================ assess


def _default_out(model: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join("runs", f"{model}-{stamp}")
    out, k = base, 1
    while os.path.exists(out):
        k += 1
        out = f"{base}-{k}"
    return out


def _assess_settings(args):
    """``(settings, validator names)`` of the command: the options given on top of the defaults
    or, with ``--resume``, on top of the run's own settings (which must then match: assess checks)."""
    from jaxplaus import results as R
    from jaxplaus.assess import config

    given = config.given_options(args)
    if not args.resume:
        return config.settings(**given), ["norse"] if args.validate_norse else []
    if args.out is None:
        raise ValueError("--resume needs --out DIR, the run directory to continue")
    rd = R.RunDirectory(args.out)
    if not rd.settings_path.is_file():
        raise R.RunDirectoryError(
            f"Nothing to resume in {args.out!r}: "
            + ("it does not exist" if not rd.path.exists() else f"it has no {R.SETTINGS}")
        )
    record = rd.read_settings()["settings"]
    saved = config.from_record(record)
    if "model" in given and given["model"] != saved.model:
        raise R.RunDirectoryError(
            f"Cannot resume {args.out!r} with different settings: 'model': the run directory has "
            f"{saved.model!r}, this call asks for {given['model']!r}"
        )
    names = list(record.get("validators", []))
    if args.validate_norse and "norse" not in names:
        names.append("norse")  # assess then refuses: the run was made without it
    return config.updated(saved, given), names


def _cmd_assess(args) -> int:
    from jaxplaus import results as R
    from jaxplaus.assess import assess, plan

    lead = _distributed(args)  # before any computation
    settings, validator_names = _assess_settings(args)
    _resolve_model(settings.model)
    validators = _validators(validator_names)
    out = args.out
    if out is None:
        plan(settings)  # check every option first: a bad one must not leave an empty run directory behind
        out = _default_out(str(settings.model))
    kwargs = dict(settings=settings, chunk=args.chunk, progress=None, validators=validators, devices=args.devices)
    if not args.quiet and lead:
        verb = "resuming" if args.resume else "assessing"
        kwargs["progress"] = ProgressPrinter(f"jaxplaus: {verb} {settings.model} -> {out}")
    try:
        result = assess(out=out, resume=args.resume, **kwargs)
    except KeyboardInterrupt:
        if os.path.isfile(os.path.join(out, R.SETTINGS)):
            print(f"\njaxplaus: interrupted; continue with: jaxplaus assess --out {out} --resume", file=sys.stderr)
        return 130
    except OSError as err:  # disk full, read-only, ...: what is written stays valid
        started = os.path.isfile(os.path.join(out, R.SETTINGS))
        raise from_os_error(err, f"then continue with: jaxplaus assess --out {out} --resume (the files written so "
                                 "far are intact)" if started else "then run the command again") from None
    if not lead:  # process 0 prints and writes
        return 0
    print(result.table())
    print(f"results: {os.path.join(out, R.RESULTS)}  summary: {os.path.join(out, R.SUMMARY)}")
    if not getattr(args, "no_report", True):
        _report_of_run(out)
    return 0


def _distributed(args) -> bool:
    """With ``--distributed`` (or any of its addresses given), ``jax.distributed.initialize`` with
    the addresses given (the others detected from SLURM, Open MPI, ... or ``JAX_COORDINATOR_ADDRESS``);
    whether this is process 0 (always, without). ``docs/scaling.md``."""
    import jax

    given = {k: v for k, v in (("coordinator_address", args.coordinator), ("num_processes", args.num_processes),
                               ("process_id", args.process_id)) if v is not None}
    if args.distributed or given:
        jax.distributed.initialize(**given)
    return jax.process_index() == 0


def _report_of_run(out: str) -> None:
    """Write ``out/report.html``. The results are written already: a plotting failure only warns;
    a file-system failure is an error that says how to write the report later."""
    from jaxplaus.report import write_report

    try:
        print(f"report: {write_report([out], os.path.join(out, 'report.html'))}")
    except OSError as err:
        raise from_os_error(err, f"then write the report with: jaxplaus report {out}") from None
    except Exception as err:  # noqa: BLE001
        print(f"jaxplaus: warning: could not write the report ({type(err).__name__}: {err})", file=sys.stderr)


# ============================================================================ the parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxplaus", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list models, patterns or search strategies")
    p.add_argument("what", choices=["models", "patterns", "strategies"])
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("reference", help="the 20 figure1.m protocols with their reference parameters")
    p.set_defaults(func=_cmd_reference)

    p = sub.add_parser(
        "assess",
        help="assess a model: search each firing pattern, validate in float64, write a run directory",
        description=(
            "Search each firing pattern (evolution strategies, on the device), validate the best "
            "parameters in float64, measure robustness, and write a run directory. Budget = objective "
            "evaluations per pattern: generations = budget // (population x restarts)."
        ),
    )
    from jaxplaus.assess import config

    config.add_arguments(p)  # one option per Settings field
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<model>-<date>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    p.add_argument("--chunk", type=int, help="generations between progress reports and checkpoints (default 20)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--devices", type=int, metavar="N",
                   help="split the search over N devices (default: every device of every process); does not change "
                        "the result (docs/scaling.md)")
    p.add_argument("--distributed", action="store_true",
                   help="one process of several (one per host): call jax.distributed.initialize, its arguments "
                        "detected (SLURM, Open MPI, JAX_COORDINATOR_ADDRESS) unless given below; process 0 writes")
    p.add_argument("--coordinator", metavar="HOST:PORT", help="with --distributed: process 0's address")
    p.add_argument("--num-processes", dest="num_processes", type=int, metavar="N", help="with --distributed")
    p.add_argument("--process-id", dest="process_id", type=int, metavar="I", help="with --distributed: 0 to N-1")
    p.add_argument("--no-report", dest="no_report", action="store_true",
                   help="do not write report.html (figures) into the run directory at the end")
    p.add_argument("--validate-norse", dest="validate_norse", action="store_true",
                   help="also validate every winner in Norse (torch float64); a pattern passes only if both pass "
                        "(models lif, adex, izhikevich and norse.<cell>; needs Norse)")
    p.set_defaults(func=_cmd_assess)

    from jaxplaus import report_cli

    report_cli.configure(sub, _resolve_model)  # report, profile

    from jaxplaus.benchmark import cli as bench_cli

    p = sub.add_parser("benchmark", help="compare strategies (evosax, Optuna) on the patterns: aRT, runtime ECDFs")
    bench_cli.configure_parser(p)
    p.set_defaults(func=bench_cli.run_cli)

    from jaxplaus import simulate_cli

    simulate_cli.configure(sub, _resolve_model)  # simulate

    try:  # the Norse cross-check, when norse_bridge is installed (it imports torch only when run)
        import norse_bridge.cli as nb
    except ImportError:  # pragma: no cover
        nb = None
    if nb is not None:
        p = sub.add_parser("crosscheck", help="check lif/adex/izhikevich against Norse 1.1.0")
        nb.configure_parser(p)
        p.set_defaults(func=nb.run_cli)
    return parser


def _failure(err: BaseException) -> tuple[int, str] | None:
    """``(exit status, one-line message)`` of an error the user should see without a traceback:
    bad input 2, a refusal of the machine 1; None for anything else (a bug: its traceback shows)."""
    if isinstance(err, JaxplausError):
        code, text = err.exit_code, str(err)
    elif isinstance(err, ValueError | TypeError):
        code, text = BAD_INPUT, str(err)
    elif isinstance(err, OSError):
        code, text = ENVIRONMENT, str(from_os_error(err, "then run the command again"))
    elif isinstance(err, MemoryError) or "RESOURCE_EXHAUSTED" in str(err):
        code, text = ENVIRONMENT, ("out of memory; lower the run's sizes (--budget, --restarts, --population-size, "
                                   "--robustness-copies) or free memory, then run the command again")
    else:
        return None
    return code, " ".join(text.split())


def main(argv=None) -> int:
    """The ``jaxplaus`` command. Exit status 0 on success, 2 for bad input (an option, a
    parameter, a damaged file), 1 when the machine refused (disk full, read-only, no permission,
    out of memory, the run directory locked by another process), 130 when interrupted; the
    error is one line on stderr, naming the value or file and what to do."""
    args = build_parser().parse_args(argv)
    _enable_compilation_cache()
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into a reader that stopped early (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:
        failure = _failure(err)
        if failure is None:
            raise
        print(f"jaxplaus: error: {failure[1]}", file=sys.stderr)
        return failure[0]


if __name__ == "__main__":
    sys.exit(main())
