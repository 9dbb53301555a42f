"""The institution's clock: zone labels (WIB/WITA/WIT, else the abbreviation), local dates and
times of stored UTC moments, typed local times read back as UTC, quiet hours across midnight;
and no hard-coded zone left in the code or the templates."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.core import clock
from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.UTC


@pytest.fixture
def zone(settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Set the institution's zone for one test: `zone("Asia/Makassar")`."""

    def set_zone(name: str) -> None:
        monkeypatch.setattr(settings, "timezone", name)

    return set_zone


def test_default_zone_is_jakarta() -> None:
    assert Settings.model_fields["timezone"].default == "Asia/Jakarta"


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA"):
        Settings(timezone="Asia/Bandung")


@pytest.mark.parametrize(
    ("name", "label", "offset"),
    [
        ("Asia/Jakarta", "WIB", "UTC+7"),
        ("Asia/Pontianak", "WIB", "UTC+7"),
        ("Asia/Makassar", "WITA", "UTC+8"),
        ("Asia/Jayapura", "WIT", "UTC+9"),
        ("Asia/Kolkata", "IST", "UTC+5:30"),
        ("America/Sao_Paulo", "-03", "UTC-3"),
    ],
)
def test_labels_and_offsets(zone, name: str, label: str, offset: str) -> None:  # type: ignore[no-untyped-def]
    zone(name)
    assert clock.institution_tz() == ZoneInfo(name)
    assert clock.tz_label() == label
    assert clock.utc_offset() == offset


def test_european_zone_names_summer_and_winter_time(zone) -> None:  # type: ignore[no-untyped-def]
    zone("Europe/Amsterdam")
    winter, summer = (
        dt.datetime(2026, 1, 15, 12, tzinfo=UTC),
        dt.datetime(2026, 7, 15, 12, tzinfo=UTC),
    )
    assert (clock.tz_label(winter), clock.utc_offset(winter)) == ("CET", "UTC+1")
    assert (clock.tz_label(summer), clock.utc_offset(summer)) == ("CEST", "UTC+2")
    assert clock.format_datetime(summer) == "15-07-2026 14:00 CEST"
    assert clock.format_datetime(winter) == "15-01-2026 13:00 CET"


def test_stored_moments_shown_in_the_zone(zone) -> None:  # type: ignore[no-untyped-def]
    evening = dt.datetime(2026, 12, 6, 17, 30, tzinfo=UTC)
    zone("Asia/Jakarta")
    assert clock.format_datetime(evening) == "07-12-2026 00:30 WIB"
    zone("Asia/Makassar")
    assert clock.to_local(evening) == dt.datetime(
        2026, 12, 7, 1, 30, tzinfo=ZoneInfo("Asia/Makassar")
    )
    assert clock.format_datetime(evening) == "07-12-2026 01:30 WITA"
    assert clock.format_datetime(evening, "%H:%M") == "01:30 WITA"
    assert clock.local_date(evening) == dt.date(2026, 12, 7)
    assert clock.format_date(evening) == "07-12-2026"
    zone("Asia/Jayapura")
    assert clock.format_datetime(evening) == "07-12-2026 02:30 WIT"
    zone("Europe/Amsterdam")
    assert clock.local_date(evening) == dt.date(2026, 12, 6)
    assert clock.format_date(evening) == "06-12-2026"


def test_none_and_naive_values(zone) -> None:  # type: ignore[no-untyped-def]
    zone("Asia/Makassar")
    assert clock.to_local(None) is None
    assert clock.format_datetime(None) == "" and clock.format_date(None) == ""
    naive = dt.datetime(2026, 3, 2, 0, 0)  # read as UTC, like the columns store it
    assert clock.format_datetime(naive) == "02-03-2026 08:00 WITA"
    assert clock.format_date(dt.date(2026, 3, 2), "%d/%m/%Y") == "02/03/2026"  # a plain date as is


def test_today_is_the_institutions_date_not_the_servers(zone) -> None:  # type: ignore[no-untyped-def]
    # UTC+14 and UTC-11 are never on the same date, so at most one of them is the server's.
    zone("Pacific/Kiritimati")
    east = clock.today()
    zone("Pacific/Pago_Pago")
    west = clock.today()
    assert east > west
    assert east == dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert west == dt.datetime.now(ZoneInfo("Pacific/Pago_Pago")).date()
    assert clock.now_local().tzinfo == ZoneInfo("Pacific/Pago_Pago")


def test_start_of_day(zone) -> None:  # type: ignore[no-untyped-def]
    zone("Asia/Jakarta")
    assert clock.start_of_day(dt.date(2026, 12, 7)) == dt.datetime(2026, 12, 6, 17, tzinfo=UTC)
    zone("Asia/Jayapura")
    assert clock.start_of_day(dt.date(2026, 12, 7)) == dt.datetime(2026, 12, 6, 15, tzinfo=UTC)
    zone("Europe/Amsterdam")
    assert clock.start_of_day(dt.date(2026, 7, 1)) == dt.datetime(2026, 6, 30, 22, tzinfo=UTC)
    assert clock.start_of_day(dt.date(2026, 1, 1)) == dt.datetime(2025, 12, 31, 23, tzinfo=UTC)


def test_from_local_reads_typed_times_in_the_zone(zone) -> None:  # type: ignore[no-untyped-def]
    typed = dt.datetime(2026, 3, 2, 8, 0)
    zone("Asia/Makassar")
    assert clock.from_local(typed) == dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    zone("Asia/Jakarta")
    assert clock.from_local(typed) == dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    zone("Europe/Amsterdam")
    assert clock.from_local(dt.datetime(2026, 7, 1, 8, 0)) == dt.datetime(2026, 7, 1, 6, tzinfo=UTC)
    aware = dt.datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Jayapura"))
    assert clock.from_local(aware) == dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # kept as given
    assert clock.from_local(typed).tzinfo == UTC


def test_parse_hhmm() -> None:
    assert clock.parse_hhmm("21:00") == dt.time(21, 0)
    assert clock.parse_hhmm("06:30") == dt.time(6, 30)


def _wib(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("Asia/Jakarta"))


def test_quiet_hours_spanning_midnight(zone) -> None:  # type: ignore[no-untyped-def]
    zone("Asia/Jakarta")
    next_morning = _wib(7, 6).astimezone(UTC)  # 06:00 WIB = 23:00 UTC the day before
    assert next_morning == dt.datetime(2026, 12, 6, 23, tzinfo=UTC)
    assert clock.in_quiet_hours(_wib(6, 22, 30), "21:00", "06:00") == next_morning
    assert clock.in_quiet_hours(_wib(6, 21, 0), "21:00", "06:00") == next_morning
    assert clock.in_quiet_hours(_wib(7, 5, 59), "21:00", "06:00") == next_morning
    assert clock.in_quiet_hours(_wib(7, 0, 0), "21:00", "06:00") == next_morning
    assert clock.in_quiet_hours(_wib(7, 6, 0), "21:00", "06:00") is None
    assert clock.in_quiet_hours(_wib(7, 12, 0), "21:00", "06:00") is None
    assert clock.in_quiet_hours(_wib(7, 20, 59), "21:00", "06:00") is None
    # the moment may come in any zone: 15:30 UTC is 22:30 WIB
    assert clock.in_quiet_hours(dt.datetime(2026, 12, 6, 15, 30, tzinfo=UTC), "21:00", "06:00") == (
        next_morning
    )


def test_quiet_hours_follow_the_zone(zone) -> None:  # type: ignore[no-untyped-def]
    late = dt.datetime(2026, 12, 6, 13, 30, tzinfo=UTC)  # 20:30 WIB, 21:30 WITA
    zone("Asia/Jakarta")
    assert clock.in_quiet_hours(late, "21:00", "06:00") is None
    zone("Asia/Makassar")
    assert clock.in_quiet_hours(late, "21:00", "06:00") == dt.datetime(2026, 12, 6, 22, tzinfo=UTC)


def test_quiet_hours_within_a_day_and_none(zone) -> None:  # type: ignore[no-untyped-def]
    zone("Asia/Jakarta")
    assert clock.in_quiet_hours(_wib(7, 12, 30), "12:00", "13:00") == _wib(7, 13).astimezone(UTC)
    assert clock.in_quiet_hours(_wib(7, 13, 0), "12:00", "13:00") is None
    assert clock.in_quiet_hours(_wib(7, 11, 59), "12:00", "13:00") is None
    assert clock.in_quiet_hours(_wib(7, 3, 0), "00:00", "00:00") is None  # equal: no quiet hours


# Indonesian zone names belong to the clock's mapping only; everything else asks the clock.
_ZONE_WORDS = re.compile(r"\b(WIB|WITA|WIT)\b|Waktu Indonesia (Barat|Tengah|Timur)")
_ALLOWED = {Path("app/core/clock.py")}


def test_no_hard_coded_zone_outside_the_clock() -> None:
    sources = [
        *ROOT.joinpath("app").rglob("*.py"),
        *ROOT.joinpath("templates").rglob("*.html"),
        *ROOT.joinpath("templates").rglob("*.txt"),
        *ROOT.joinpath("static", "js").rglob("*.js"),
    ]
    assert len(sources) > 50
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        if path.relative_to(ROOT) not in _ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _ZONE_WORDS.search(line)
    ]
    assert not offenders, "use app.core.clock (tz_label, format_datetime):\n" + "\n".join(offenders)


def test_templates_add_no_utc_label_by_hand() -> None:
    """Stored moments are UTC, but pages show them local: a literal "UTC" beside a time is a
    moment printed without the clock."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in ROOT.joinpath("templates").rglob("*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\bUTC\b", line)
    ]
    assert not offenders, offenders


# --- dates and numbers for the reader's language (app/core/i18n.py) ---------------------------


def test_dates_and_numbers_follow_the_readers_language() -> None:
    from app.core import i18n

    day = dt.date(2026, 12, 7)
    assert i18n.format_day(day) == "07-12-2026"
    assert i18n.format_number(12345.5) == "12.345,5"
    assert i18n.format_number(10.0) == "10"
    token = i18n.current_locale.set("en")
    try:
        assert i18n.format_day(day) == "7 Dec 2026"
        assert i18n.format_moment(dt.datetime(2026, 12, 7, 14, 5)) == "7 Dec 2026, 14:05"
        assert i18n.format_number(12345.5) == "12,345.5"
        assert i18n.format_number(2.25, digits=1) == "2.2"
        assert i18n.local_date(day, "%d/%m/%Y") == "07/12/2026"  # an explicit pattern stays
    finally:
        i18n.current_locale.reset(token)
    assert i18n.format_day(None) == "" and i18n.format_number(None) == ""
