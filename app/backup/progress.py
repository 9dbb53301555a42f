"""Where long backup steps report to; silent by default (the CLI subclasses it to print)."""

from __future__ import annotations


class Progress:
    def stage(self, text: str) -> None:
        """A new step begins."""

    def advance(self, done: int, total: int | None, nbytes: int) -> None:
        """`done` of `total` items (None: unknown) and `nbytes` bytes so far in this step."""
