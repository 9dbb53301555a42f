"""Reading the audit filters from a query string (page and API share them)."""

from __future__ import annotations

import datetime as dt

from app.audit.service import Filters
from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _


def _clean(value: str | None, limit: int) -> str | None:
    text = (value or "").replace("\x00", "").strip()[:limit]
    return text or None


def _date(value: str | None, name: str) -> dt.date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        if not text.isascii():
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            _("Tanggal tidak sah; gunakan format TTTT-BB-HH."), field=name
        ) from None


def parse(
    *,
    action: str | None,
    actor: str | None,
    target_type: str | None,
    target_id: str | None,
    date_from: str | None,
    date_to: str | None,
) -> Filters:
    start, end = _date(date_from, "date_from"), _date(date_to, "date_to")
    if start and end and end < start:
        raise ValidationFailed(
            _("Tanggal akhir tidak boleh sebelum tanggal awal."), field="date_to"
        )
    return Filters(
        action=_clean(action, 64),
        actor=_clean(actor, 64),
        target_type=_clean(target_type, 40),
        target_id=_clean(target_id, 64),
        date_from=start,
        date_to=end,
    )
