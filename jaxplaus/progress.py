"""Plain-text progress of an assessment on stderr, for the command line."""

from __future__ import annotations

import sys


class ProgressPrinter:
    """Plain-text progress on stderr: a bar of generations, patterns solved, elapsed time."""

    def __init__(self, header: str = "", stream=None, width: int = 24):
        stream = sys.stderr if stream is None else stream
        self.header = header  # printed with the first report: after every input was checked
        self.stream = stream
        self.width = width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.open_line = False

    def _emit(self, text: str, final: bool = False) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(100) + ("\n" if final else ""))
            self.open_line = not final
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, pr) -> None:
        if self.header:
            self.stream.write(self.header + "\n")
            self.header = ""
        n = len(pr.patterns)
        if pr.phase == "search":
            filled = int(self.width * pr.generations_done / max(pr.generations, 1))
            bar = "#" * filled + "." * (self.width - filled)
            unsolved = [(b, name) for b, name in zip(pr.best_loss, pr.patterns) if not b <= 0]
            worst = ", ".join(f"{name} {b:.3g}" for b, name in sorted(unsolved)[:3])
            self._emit(
                f"search [{bar}] {pr.generations_done}/{pr.generations} gen | solved {pr.solved}/{n} | "
                f"{pr.elapsed_s:6.1f} s" + (f" | best unsolved: {worst}" if worst else ""),
                final=pr.generations_done >= pr.generations,
            )
        elif pr.phase == "validate":
            self._emit(
                f"validate (float64) {pr.validated}/{n} | passed {pr.passed} | {pr.elapsed_s:6.1f} s",
                final=pr.validated >= n,
            )
        elif pr.phase == "done" and self.open_line:
            self.stream.write("\n")
            self.open_line = False


__all__ = ["ProgressPrinter"]
