"""NIP (Nomor Induk Pegawai) rules: 18 digits = birth date, start year-month, gender, sequence.

BKN format: YYYYMMDD (lahir) + YYYYMM (TMT CPNS) + G (1 pria, 2 wanita) + NNN; PPPK NIPs carry
"21" where the start month stands.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from app.accounts.constants import Employment
from app.core import clock

NIP_RE = re.compile(r"^[0-9]{18}$")
SCIENTIFIC_RE = re.compile(r"^[0-9]+[eE]\+?[0-9]+$")  # '1.99001E+17' once the dot is stripped
PPPK_MONTH_MARKER = 21
MIN_AGE_AT_START = 18
OLDEST_BIRTH_YEAR = 1940


class NIPError(ValueError):
    """A NIP that breaks one rule; the message says which, in Indonesian."""


@dataclass(frozen=True, slots=True)
class NIPInfo:
    nip: str
    birth_date: dt.date
    start_year: int
    start_month: int | None  # None for PPPK, whose NIP has the marker 21 instead of a month
    gender: str  # "L" or "P"
    employment_hint: Employment


def normalise_nip(raw: str) -> str:
    """Strip the spaces and dots people type or spreadsheets add (e.g. '19850315 201001 1 001')."""
    text = str(raw).strip().lstrip("'")  # a leading apostrophe is how sheets force text
    if text.endswith(".0") and text[:-2].isdigit():  # a NIP read from Excel as a float
        text = text[:-2]
    return re.sub(r"[\s.\-]", "", text)


def parse_nip(raw: str, *, today: dt.date | None = None) -> NIPInfo:
    """Validate a NIP and return what it encodes; raise NIPError naming the broken rule."""
    today = today or clock.today()
    nip = normalise_nip(raw)
    if not nip:
        raise NIPError("NIP wajib diisi.")
    if SCIENTIFIC_RE.match(nip):
        raise NIPError(
            f"NIP tertulis sebagai angka ilmiah ({str(raw).strip()}): digitnya sudah hilang. "
            "Format kolom NIP sebagai Teks lalu ketik ulang NIP."
        )
    if not nip.isascii() or not nip.isdigit():
        bad = sorted({c for c in nip if not ("0" <= c <= "9")})
        raise NIPError(f"NIP hanya boleh berisi angka (ditemukan: {' '.join(bad)}).")
    if not NIP_RE.match(nip):
        raise NIPError(f"NIP harus 18 digit (diterima {len(nip)} digit).")
    try:
        birth = dt.date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        raise NIPError(
            f"Tanggal lahir pada NIP ({nip[6:8]}-{nip[4:6]}-{nip[0:4]}) bukan tanggal yang sah."
        ) from None
    if birth.year < OLDEST_BIRTH_YEAR or birth > today:
        raise NIPError(f"Tahun lahir pada NIP ({birth.year}) tidak masuk akal.")
    start_year, start_month_raw = int(nip[8:12]), int(nip[12:14])
    if start_month_raw == PPPK_MONTH_MARKER:
        start_month, hint = None, Employment.PPPK
    elif 1 <= start_month_raw <= 12:
        start_month, hint = start_month_raw, Employment.PNS
    else:
        raise NIPError(
            f"Bulan TMT pada NIP ({nip[12:14]}) tidak sah: harus 01-12 (PNS) atau 21 (PPPK)."
        )
    adult = _add_years(birth, MIN_AGE_AT_START)
    # Checked before building a date from the start year, which may be 0000.
    if (start_year, start_month or 12) < (adult.year, adult.month):
        raise NIPError(
            f"TMT pada NIP ({nip[8:14]}) sebelum usia {MIN_AGE_AT_START} tahun "
            f"(lahir {birth:%d-%m-%Y})."
        )
    # A PPPK NIP holds only the year: judge "future" by its first month, as for a PNS month.
    start = dt.date(start_year, start_month or 1, 1)
    if start > today.replace(day=1) + dt.timedelta(days=366):
        raise NIPError(f"TMT pada NIP ({nip[8:14]}) berada di masa depan.")
    gender_digit = nip[14]
    if gender_digit not in "12":
        raise NIPError(
            f"Digit jenis kelamin pada NIP (digit ke-15: {gender_digit}) harus 1 (pria) "
            "atau 2 (wanita)."
        )
    if nip[15:18] == "000":
        raise NIPError(
            "Nomor urut pada NIP (3 digit terakhir) tidak boleh 000. Bila NIP diketik sebagai "
            "angka di Excel, 3 digit terakhirnya hilang: format kolom NIP sebagai Teks."
        )
    return NIPInfo(
        nip=nip,
        birth_date=birth,
        start_year=start_year,
        start_month=start_month,
        gender="L" if gender_digit == "1" else "P",
        employment_hint=hint,
    )


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
