"""Counting the SQL statements a block of code sends, for tests that pin query counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from app.core.db import get_engine


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Yield a list that collects every statement the engine executes inside the block."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_a: object) -> None:
        statements.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
