"""The cross-check of one model on the protocols: :class:`ProtocolTable`, one
:class:`ProtocolRow` (and :class:`~norse_bridge.report.CrosscheckReport`) per protocol, its totals,
its JSON form (:meth:`ProtocolTable.to_dict`) and its printed table (:meth:`ProtocolTable.format`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from norse_bridge.fma import NO_FMA_FLAG, fma_disabled
from norse_bridge.floats import NEAR_ULPS
from norse_bridge.report import CrosscheckReport, SpikeMismatch

# A ProtocolTable's totals over its rows' reports, in to_dict's order: (name, the report's
# attribute, "sum": an int, an [N] array counting its nonzero entries | "max": a float, 0.0 for no rows)
_TOTALS = (
    # whole runs
    ("candidates", "n", "sum"), ("identical", "n_identical", "sum"), ("bitwise", "n_bitwise", "sum"),
    ("state_bitwise", "n_state_bitwise", "sum"), ("firing", "n_firing", "sum"), ("nonfinite", "n_nonfinite", "sum"),
    ("max_dv", "max_dv", "max"),
    # one step from Norse's state
    ("local_ok", "n_local_ok", "sum"), ("local_exact", "n_local_exact", "sum"),
    ("local_exp_only", "local_exp_only", "sum"), ("local_spike_diffs", "local_spike_diffs", "sum"),
    ("max_local_dv", "max_local_dv", "max"),
)


def _total(attr: str, how: str) -> property:
    """The read-only total of ``attr`` over a table's rows' reports (see :data:`_TOTALS`)."""
    if how == "max":
        return property(lambda self: max((getattr(r.report, attr) for r in self.rows), default=0.0))
    return property(lambda self: sum(int(np.sum(getattr(r.report, attr))) for r in self.rows))


@dataclasses.dataclass(frozen=True)
class ProtocolRow:
    protocol: str
    letter: str
    report: CrosscheckReport

    @property
    def candidates(self) -> int:
        return self.report.n


@dataclasses.dataclass(frozen=True)
class ProtocolTable:
    """:func:`crosscheck_protocols`' result: one row (and report) per protocol.

    Totals over the rows' reports (read-only attributes, from :data:`_TOTALS`): ``candidates``,
    ``identical``, ``bitwise``, ``state_bitwise``, ``firing``, ``nonfinite``, ``local_ok``,
    ``local_exact``, ``local_exp_only``, ``local_spike_diffs`` (ints, summed) and ``max_dv``,
    ``max_local_dv`` (floats, the largest).
    """

    model: str
    mode: str
    seed: int
    rows: tuple[ProtocolRow, ...]

    @property
    def all_identical(self) -> bool:
        return self.identical == self.candidates

    @property
    def mismatches(self) -> list[tuple[str, SpikeMismatch]]:
        return [(r.protocol, m) for r in self.rows for m in r.report.mismatches]

    def preset_reports(self) -> dict[str, dict]:
        """Norse presets (the labelled candidates: izhikevich's) -> their results (spikes identical,
        bitwise, max |dv|, ...)."""
        out = {}
        for r in self.rows:
            rep = r.report
            for i, label in enumerate(rep.labels):
                if label:
                    out[label] = {
                        "protocol": r.protocol,
                        "identical": bool(rep.spikes_identical[i]),
                        "bitwise": bool(rep.bitwise[i]),
                        "max_dv": float(rep.max_abs_dv[i]),
                        "spikes": int(rep.n_spikes_norse[i]),
                        "local_ok": bool(rep.local_spike_unexplained[i] == 0),
                        "local_exact": bool(rep.local_exact[i]),
                    }
        return out

    def to_dict(self) -> dict:
        """The totals, per-protocol counts, presets and diagnosed mismatches, JSON-ready."""
        return {
            "model": self.model,
            "mode": self.mode,
            "fma_disabled": fma_disabled(),
            "seed": self.seed,
            **{name: getattr(self, name) for name, _, _ in _TOTALS},
            "protocols": {
                r.protocol: {
                    "candidates": r.report.n,
                    "identical": r.report.n_identical,
                    "bitwise": r.report.n_bitwise,
                    "firing": r.report.n_firing,
                    "max_dv": r.report.max_dv,
                    "local_ok": r.report.n_local_ok,
                    "local_exact": r.report.n_local_exact,
                    "max_local_dv": r.report.max_local_dv,
                }
                for r in self.rows
            },
            "presets": self.preset_reports(),
            "mismatches": [
                {"protocol": proto, **dataclasses.asdict(m), "text": str(m)} for proto, m in self.mismatches
            ],
        }

    def format(self, *, max_mismatches: int = 10) -> str:
        """The table: per protocol, candidates, spike trains identical, max |dv|, bitwise, one-step."""
        head = (
            f"{'':2} {'protocol':28s} {'cands':>5} {'firing':>6} {'spikes identical':>16} {'max |dv|':>9} "
            f"{'bitwise':>7} | {'1-step ok':>9} {'exact':>5} {'max rel':>9}"
        )
        lines = [f"{self.model} vs Norse 1.1.0, {self.mode}, seed {self.seed}", head, "-" * len(head)]

        def row(letter, name, n, firing, ident, dv, bits, lok, lex, ldv):
            return (
                f"{letter:2} {name:28s} {n:5d} {firing:6d} {ident:9d}/{n:<6d} {dv:9.3g} {bits:7d} | "
                f"{lok:9d} {lex:5d} {ldv:9.3g}"
            )

        for r in self.rows:
            rep = r.report
            lines.append(
                row(r.letter, r.protocol, rep.n, rep.n_firing, rep.n_identical, rep.max_dv, rep.n_bitwise,
                    rep.n_local_ok, rep.n_local_exact, rep.max_local_dv)
            )
        lines.append("-" * len(head))
        lines.append(
            row("", "total", self.candidates, self.firing, self.identical, self.max_dv, self.bitwise,
                self.local_ok, self.local_exact, self.max_local_dv)
        )
        lines.append(
            "max |dv|: over candidates with identical spike trains and finite runs; "
            "bitwise: spikes and voltages bit for bit; "
            f"1-step: the JAX step from Norse's state before each step (ok: every spike decision agrees or "
            f"straddles v_th within {NEAR_ULPS} ulp; exact: every result bit for bit; max rel: largest "
            "|dv| / max(1, |v|, |v'|))"
        )
        if self.local_exp_only != self.local_exact:
            lines.append(
                f"1-step results Norse's but for exp (XLA's and torch's exp of the same argument differ): "
                f"{self.local_exp_only}/{self.candidates} candidates (exact {self.local_exact})"
            )
        presets = self.preset_reports()
        if presets:
            same = sum(v["identical"] for v in presets.values())
            bits = sum(v["bitwise"] for v in presets.values())
            lines.append(f"Norse presets: spike trains identical {same}/{len(presets)}, bitwise {bits}/{len(presets)}")
        if not self.all_identical and not fma_disabled():
            lines.append(
                "XLA's fused multiply-add was on (torch has none), so last-bit differences can grow over a run; "
                f"for the exact comparison run with XLA_FLAGS={NO_FMA_FLAG} set before jax is imported (--no-fma)"
            )
        if self.mismatches:
            shown = self.mismatches[:max_mismatches]
            lines.append(f"differing spike trains ({len(shown)} of the diagnosed {len(self.mismatches)} shown):")
            lines += [f"  {proto}: {m}" for proto, m in shown]
        return "\n".join(lines)

    __str__ = format


for _name, _attr, _how in _TOTALS:
    setattr(ProtocolTable, _name, _total(_attr, _how))

__all__ = ["ProtocolRow", "ProtocolTable"]
