"""Integers typed by people or sent by clients, read safely.

Python's `int()` accepts far more than a form or a query should: any Unicode decimal digit
("١٢", "１２"), underscores ("1_000") and surrounding blanks, while `str.isdigit()` is true for
characters `int()` then refuses ("²"), so `int(text) if text.isdigit()` can still raise. And an
integer may be larger than the database column that it is compared with: SQLite stops at 2**63,
PostgreSQL's `integer` (every primary key here) at 2**31 - 1, and both raise instead of finding no
row. Every integer read from request text goes through `ascii_int` (or `row_id` for ids).
"""

from __future__ import annotations

import re

# Every primary and foreign key is an SQLAlchemy `Integer`: PostgreSQL int4.
MAX_ROW_ID = 2**31 - 1
# Large enough for any count or size a request may carry, small enough for a BIGINT column.
MAX_BIG_INT = 2**63 - 1

_ASCII_INT = re.compile(r"[+-]?[0-9]+")


def ascii_int(
    text: str | None, *, minimum: int | None = None, maximum: int | None = MAX_BIG_INT
) -> int | None:
    """The integer written in ASCII digits (an optional sign, blanks around it), or None for
    anything else: empty text, other scripts' digits, underscores, a value outside the bounds."""
    if text is None:
        return None
    stripped = text.strip()
    if len(stripped) > 40 or not _ASCII_INT.fullmatch(stripped):
        return None
    value = int(stripped)
    if minimum is not None and value < minimum:
        return None
    if maximum is not None and value > maximum:
        return None
    return value


def row_id(text: str | None) -> int | None:
    """A row id (1 .. 2**31-1) written in ASCII digits, else None (which names no row)."""
    return ascii_int(text, minimum=1, maximum=MAX_ROW_ID)


def is_row_id(value: int) -> bool:
    """True when `value` can be a row id; larger or smaller numbers name no row."""
    return 1 <= value <= MAX_ROW_ID


def strict_int(text: str, *, minimum: int | None = None, maximum: int | None = MAX_BIG_INT) -> int:
    """`int(text)` for request text, for code that handles ValueError: raises it for anything
    `ascii_int` refuses."""
    value = ascii_int(text, minimum=minimum, maximum=maximum)
    if value is None:
        raise ValueError(f"not an integer in range: {text[:40]!r}")
    return value
