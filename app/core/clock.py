"""The institution's clock: its time zone (settings.timezone), today's date there, and the
conversions between stored UTC moments and the local dates and times people read and type.

Stored times stay UTC; every date or time shown or entered goes through here.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.core.config import get_settings

# Indonesia's own abbreviations (UU 2/2024 / Keppres 41/1987): the zones' tzdata names are
# numeric ("+07"), so name them as Indonesians do.
INDONESIAN_ZONE_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def institution_tz() -> ZoneInfo:
    """The configured IANA zone (validated when the settings load)."""
    return _zone(get_settings().timezone)


def tz_label(moment: dt.datetime | None = None) -> str:
    """ "WIB", "WITA", "WIT" for Indonesian zones; else the zone's abbreviation at `moment`."""
    name = get_settings().timezone
    if name in INDONESIAN_ZONE_LABELS:
        return INDONESIAN_ZONE_LABELS[name]
    local = (moment or dt.datetime.now(dt.UTC)).astimezone(institution_tz())
    return local.tzname() or name


def utc_offset(moment: dt.datetime | None = None) -> str:
    """ "UTC+7" (WIB), "UTC+8" (WITA), "UTC+5:30": the zone's offset at `moment`, for hints."""
    local = (moment or dt.datetime.now(dt.UTC)).astimezone(institution_tz())
    minutes = int((local.utcoffset() or dt.timedelta()).total_seconds()) // 60
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def now_local() -> dt.datetime:
    """The current moment in the institution's zone."""
    return dt.datetime.now(institution_tz())


def today() -> dt.date:
    """Today's date where the institution is (not the server's, which usually runs UTC)."""
    return now_local().date()


def to_local(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored (UTC) moment in the institution's zone; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # defensive: columns are aware, naive values are taken as UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(institution_tz())


def local_date(moment: dt.datetime) -> dt.date:
    """The institution's calendar date of a moment."""
    local = to_local(moment)
    assert local is not None
    return local.date()


def start_of_day(day: dt.date) -> dt.datetime:
    """The UTC moment a local calendar day begins (for "on or after this date" queries)."""
    return dt.datetime.combine(day, dt.time(), institution_tz()).astimezone(dt.UTC)


def from_local(naive: dt.datetime) -> dt.datetime:
    """A date and time typed in the institution's zone, as an aware UTC moment."""
    if naive.tzinfo is not None:
        return naive.astimezone(dt.UTC)
    return naive.replace(tzinfo=institution_tz()).astimezone(dt.UTC)


def format_datetime(moment: dt.datetime | None, pattern: str = "%d-%m-%Y %H:%M") -> str:
    """ "06-12-2026 14:05 WIB": a stored moment as people read it; "" for None."""
    local = to_local(moment)
    if local is None:
        return ""
    return f"{local.strftime(pattern)} {tz_label(local)}"


def format_date(value: dt.date | dt.datetime | None, pattern: str = "%d-%m-%Y") -> str:
    """A date (or the local date of a moment) as dd-mm-yyyy; "" for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local_date(value)
    return value.strftime(pattern)


MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip


def tanggal(day: dt.date) -> str:
    """ "5 Maret 2026": the long date printed documents (certificates, letters) carry, always in
    Indonesian."""
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def parse_hhmm(text: str) -> dt.time:
    """ "21:00" -> time(21, 0) (settings are validated to this shape)."""
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def in_quiet_hours(moment: dt.datetime, start: str, end: str) -> dt.datetime | None:
    """When `moment` falls in the local quiet window [start, end) (which may span midnight),
    the UTC moment the window ends; else None. Equal start and end: no quiet hours."""
    first, last = parse_hhmm(start), parse_hhmm(end)
    if first == last:
        return None
    local = to_local(moment)
    assert local is not None
    now = local.time()
    quiet = first <= now < last if first < last else (now >= first or now < last)
    if not quiet:
        return None
    day = local.date() if (first < last or now < last) else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, last, institution_tz()).astimezone(dt.UTC)
