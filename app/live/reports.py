"""Reading the participant reports Zoom and Google Meet export (CSV) and matching their rows to
a run's learners: by e-mail first, then by a normalised name. Pure functions, no database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.core.errors import ValidationFailed

MAX_ROWS = 20_000

# Header cells (lower-case, spaces collapsed) of the columns a report may have.
NAME_HEADERS = (
    "name (original name)", "name (original name) ", "name", "participant", "participant name",
    "full name", "nama", "nama peserta", "peserta", "display name",
)  # fmt: skip
FIRST_NAME_HEADERS = ("first name", "nama depan")
LAST_NAME_HEADERS = ("last name", "nama belakang")
EMAIL_HEADERS = (
    "user email",
    "email",
    "e-mail",
    "email address",
    "alamat email",
    "participant email",
)
DURATION_HEADERS = (
    "duration (minutes)", "duration (mins)", "duration", "attended duration", "total duration",
    "durasi", "durasi (menit)", "lama kehadiran",
)  # fmt: skip
JOIN_HEADERS = ("join time", "time joined", "joined", "first seen", "waktu bergabung")
LEAVE_HEADERS = ("leave time", "time exited", "exited", "last seen", "waktu keluar")

# Prefix titles dropped before matching (gelar depan); degrees after a comma go too.
PREFIX_TITLES = frozenset({"dr", "drs", "dra", "ir", "hj", "prof", "kh", "drg", "apt", "ns"})
# A degree written without a comma after the name: S.Kom., M.Si, A.Md., Ph.D.
_DEGREE = re.compile(r"^[a-z]{1,4}(\.[a-z]{1,5})+\.?$")
_UNITS = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(hours?|hrs?|h|jam|j|minutes?|mins?|m|menit|mnt|seconds?|secs?|s|detik|dtk)\b"
)
_TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S",
    "%I:%M:%S %p", "%I:%M %p", "%H:%M:%S", "%H:%M",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Participant:
    """One row of a report: the names it gives (display and original), e-mail, minutes."""

    names: tuple[str, ...]
    email: str | None
    minutes: float


@dataclass(slots=True)
class Member:
    enrolment_id: int
    user_id: int
    name: str
    email: str | None


@dataclass(slots=True)
class Unmatched:
    name: str
    email: str | None
    minutes: float


@dataclass(slots=True)
class MatchResult:
    minutes: dict[int, float] = field(default_factory=dict)  # enrolment id -> minutes, summed
    unmatched: list[Unmatched] = field(default_factory=list)


def _cell(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").strip().lower().split())


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        return text
    return data.decode("cp1252", errors="replace")


def _rows(text: str) -> list[list[str]]:
    sample = text[:4096]
    delimiter = ","
    if sample.count("\t") > sample.count(",") and sample.count("\t") > sample.count(";"):
        delimiter = "\t"
    elif sample.count(";") > sample.count(","):
        delimiter = ";"
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _index(header: list[str], names: Iterable[str]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def parse_duration(text: str) -> float | None:
    """Minutes from what reports write: "94" (Zoom), "1:23:45" (h:mm:ss), "1:23" (h:mm),
    "1 hr 5 min", "45 min", "1 jam 5 menit"; None when nothing is there."""
    value = text.strip().lower()
    if not value:
        return None
    try:
        return max(float(value.replace(",", ".")), 0.0)
    except ValueError:
        pass
    if re.fullmatch(r"\d+:\d{1,2}(:\d{1,2})?", value):
        parts = [int(p) for p in value.split(":")]
        hours, minutes = parts[0], parts[1]
        seconds = parts[2] if len(parts) == 3 else 0
        return hours * 60 + minutes + seconds / 60
    total, found = 0.0, False
    for number, unit in _UNITS.findall(value):
        amount = float(number.replace(",", "."))
        found = True
        if unit.startswith(("h", "j")):
            total += amount * 60
        elif unit.startswith(("s", "d")):
            total += amount / 60
        else:
            total += amount
    return total if found else None


def _moment(text: str) -> dt.datetime | None:
    value = " ".join(text.strip().split())
    for pattern in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(value, pattern)
        except ValueError:
            continue
    return None


def _span_minutes(joined: str, left: str) -> float | None:
    start, end = _moment(joined), _moment(left)
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    if seconds < 0:  # times only, across midnight
        seconds += 24 * 3600
    return seconds / 60


def _names(cell: str) -> tuple[str, ...]:
    """Zoom's "Display (Original Name)": both, original first; else the cell."""
    found = re.fullmatch(r"\s*(.*?)\s*\(([^()]*)\)\s*", cell)
    if found and found.group(2).strip():
        return tuple(n for n in (found.group(2).strip(), found.group(1).strip()) if n)
    return (cell.strip(),) if cell.strip() else ()


def parse_report(data: bytes) -> list[Participant]:
    """Every participant row of a Zoom participants report (with or without the meeting summary
    block on top) or a Google Meet attendance report; 422 when no header row is recognised."""
    rows = _rows(_decode(data))
    for position, raw in enumerate(rows[:50]):
        header = [_cell(c) for c in raw]
        name_at = _index(header, NAME_HEADERS)
        first_at = _index(header, FIRST_NAME_HEADERS)
        if name_at is None and first_at is None:
            continue  # Zoom's meeting summary block, Meet's "Meeting code:" lines
        last_at = _index(header, LAST_NAME_HEADERS)
        email_at = _index(header, EMAIL_HEADERS)
        duration_at = _index(header, DURATION_HEADERS)
        join_at, leave_at = _index(header, JOIN_HEADERS), _index(header, LEAVE_HEADERS)
        if duration_at is None and (join_at is None or leave_at is None):
            continue
        body = rows[position + 1 :]
        if len(body) > MAX_ROWS:
            raise ValidationFailed(f"Laporan terlalu besar (maks. {MAX_ROWS} baris).", field="file")

        def at(row: list[str], index: int | None) -> str:
            return row[index] if index is not None and index < len(row) else ""

        found: list[Participant] = []
        for row in body:
            if not any(c.strip() for c in row):
                continue
            if name_at is not None:
                names = _names(at(row, name_at))
            else:
                full = f"{at(row, first_at)} {at(row, last_at)}".strip()
                names = (full,) if full else ()
            email = at(row, email_at).strip().lower() or None
            if not names and not email:
                continue
            minutes = parse_duration(at(row, duration_at)) if duration_at is not None else None
            if minutes is None and join_at is not None and leave_at is not None:
                minutes = _span_minutes(at(row, join_at), at(row, leave_at))
            found.append(Participant(names or (email or "",), email, minutes or 0.0))
        return found
    raise ValidationFailed(
        "Format laporan tidak dikenali: unggah CSV peserta dari Zoom atau laporan kehadiran "
        "Google Meet.",
        field="file",
    )


def normalise_name(text: str) -> str:
    """Case, spaces, accents, punctuation and academic titles do not count: "Dr. Budi Santoso,
    S.Kom., M.Si." and "budi  santoso" are the same name."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    plain = plain.split(",", 1)[0]  # degrees follow the name after a comma (gelar belakang)
    tokens = plain.split()
    while tokens and (
        tokens[0].rstrip(".") in PREFIX_TITLES or (tokens[0] in ("h.", "hj.") and len(tokens) > 1)
    ):
        tokens.pop(0)
    while len(tokens) > 1 and _DEGREE.match(tokens[-1]):
        tokens.pop()
    words = (re.sub(r"[^0-9a-z]", "", token) for token in tokens)
    return " ".join(w for w in words if w)


def match(participants: Sequence[Participant], members: Sequence[Member]) -> MatchResult:
    """Each row to a learner by e-mail, else by a normalised name that exactly one learner has;
    several rows of one person are summed. The rest are grouped (by e-mail, else name)."""
    by_email = {m.email.lower(): m for m in members if m.email}
    by_name: dict[str, list[Member]] = {}
    for m in members:
        by_name.setdefault(normalise_name(m.name), []).append(m)
    result = MatchResult()
    waiting: dict[str, Unmatched] = {}
    for row in participants:
        member = by_email.get(row.email) if row.email else None
        if member is None:
            for name in row.names:
                candidates = by_name.get(normalise_name(name), [])
                if len(candidates) == 1:
                    member = candidates[0]
                    break
        if member is not None:
            result.minutes[member.enrolment_id] = (
                result.minutes.get(member.enrolment_id, 0.0) + row.minutes
            )
            continue
        label = row.names[0] if row.names else (row.email or "")
        key = row.email or normalise_name(label) or label
        if key in waiting:
            waiting[key].minutes += row.minutes
        else:
            waiting[key] = Unmatched(name=label, email=row.email, minutes=row.minutes)
    result.unmatched = list(waiting.values())
    return result


def status_for_minutes(
    minutes: float, session_minutes: float, min_share: float, late_grace_minutes: int
) -> str:
    """Present from the minimum share of the session (LMS_LIVE_MIN_SHARE, default 75%); late
    when short of it by no more than the late grace (came in late); absent below that."""
    needed = math.ceil(session_minutes * min_share - 1e-9)
    if minutes >= needed:
        return "present"
    if minutes > 0 and minutes >= needed - late_grace_minutes:
        return "late"
    return "absent"
