"""Certificate numbers: a configurable template over a per-year sequence that is gapless and
unique across concurrent issuers (the counter row is locked until the issuing commit)."""

from __future__ import annotations

import datetime as dt
import string

from sqlalchemy.orm import Session

from app.certificates import repository
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _

DEFAULT_TEMPLATE = "{seq:04d}/{course_code}/BKPSDM/{month_roman}/{year}"
FIELDS = frozenset({"seq", "course_code", "month_roman", "month", "year", "run_id"})

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def month_roman(month: int) -> str:
    """Indonesian letter numbering writes the month in Roman numerals (I..XII)."""
    return _ROMAN[month - 1]


def check_template(template: str) -> None:
    """A template may use only {seq}, {course_code}, {month_roman}, {month}, {year}, {run_id}
    and must contain {seq} (otherwise numbers would repeat)."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise ValidationFailed(
            _("Templat nomor tidak sah: %(exc)s") % {"exc": exc}, field="number_template"
        ) from None
    unknown = names - FIELDS
    if unknown or "seq" not in names:
        raise ValidationFailed(
            _("Templat nomor harus memuat {seq} dan hanya memakai: %(value)s.")
            % {"value": ", ".join(sorted(FIELDS))},
            field="number_template",
        )


def format_number(
    template: str, *, seq: int, course_code: str, issued_on: dt.date, run_id: int = 0
) -> str:
    """The printed number, e.g. 0007/LITDIG/BKPSDM/XI/2026."""
    return template.format(
        seq=seq,
        course_code=course_code,
        month_roman=month_roman(issued_on.month),
        month=issued_on.month,
        year=issued_on.year,
        run_id=run_id,
    )


def allocate(session: Session, year: int, count: int = 1) -> int:
    """Take `count` consecutive sequence numbers of a year; returns the first.

    One `UPDATE ... RETURNING` increments the counter row: on PostgreSQL it takes the row lock
    (the same lock SELECT ... FOR UPDATE would) and holds it until this transaction ends, so a
    concurrent issuer waits and then continues from our last number; on SQLite the write lock
    serialises issuers the same way. A rolled-back issue rolls the counter back with it, so no
    number is lost: gapless and unique. Bulk issuance takes a block per batch.
    """
    if count < 1:
        raise ValueError("count must be positive")
    last = repository.bump_counter(session, year, count)
    if last is None:
        repository.ensure_counter(session, year)  # insert-if-missing, safe when two race
        last = repository.bump_counter(session, year, count)
        assert last is not None
    return last - count + 1
