"""Bounded integer types for path, query, form and body parameters.

A route declares `course_id: RowId` (or `RowId | None`, `list[RowId]`) instead of `int`: a
number that no id column can hold is a 422 naming the parameter, before any query runs (an id
larger than the column raised OverflowError on SQLite and DataError on PostgreSQL: a 500). The
OpenAPI schema shows the bounds, so clients and fuzzers know them. FastAPI decides from the
name whether a parameter is in the path or the query; `Form()`/`Query()` may still wrap it:
`Annotated[RowId | None, Form()]`.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

from app.core.numbers import MAX_ROW_ID

# Every table's id is an `Integer` column (PostgreSQL int4).
RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]

# Page numbers of listings: (page - 1) * per_page must stay a valid SQL OFFSET on every
# database, and nobody pages a million pages deep.
MAX_PAGE = 1_000_000
PageNumber = Annotated[int, Ge(1), Le(MAX_PAGE)]
# Offsets given directly (limit/offset listings).
MAX_OFFSET = MAX_ROW_ID
Offset = Annotated[int, Ge(0), Le(MAX_OFFSET)]
