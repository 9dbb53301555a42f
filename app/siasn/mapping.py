"""Each JP source as SIASN wants it: jenis diklat per source (e-learning 16, distance 17,
mentoring 15, coaching 14, runs per delivery mode, external training per its mode), a kursus
payload, or a diklat payload for jenis diklat 1, dates as dd-mm-yyyy, JP as whole hours.
Pure functions: the service reads the sources, these shape them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.core.config import Settings
from app.siasn import constants as c


@dataclass(frozen=True, slots=True)
class Entry:
    """What SIASN gets for one source (no ids of SIASN: those come from the sync row)."""

    source: str
    source_id: int
    user_id: int
    nip: str | None
    jenis_diklat: int
    name: str
    organiser: str
    number: str
    starts_on: dt.date
    ends_on: dt.date
    year: int
    jp: float
    document: bool  # a certificate PDF goes with it

    @property
    def kind(self) -> str:
        """Diklat Struktural (1) is a riwayat diklat; everything else a riwayat kursus."""
        return "diklat" if self.jenis_diklat == c.JENIS_DIKLAT_STRUKTURAL else "kursus"


def jenis_for_run(delivery_mode: str | None, settings: Settings) -> int:
    """A course run's jenis diklat by its delivery mode (settings: online 16 e-learning,
    blended 17 distance learning, klasikal 13 other classroom training)."""
    return {
        "blended": settings.siasn_jenis_diklat_blended,
        "klasikal": settings.siasn_jenis_diklat_klasikal,
    }.get(delivery_mode or "online", settings.siasn_jenis_diklat_online)


def jenis_for_external(mode: str, named: int | None) -> int:
    """An external training's jenis diklat: the one its mode names (DESIGN.md), else the BKN
    reference's nearest (klasikal 13, blended 17, seminar 9), else 13."""
    if named:
        return named
    return c.EXTERNAL_MODE_FALLBACK.get(mode, c.JENIS_CLASSROOM_OTHER)


def hours(jp: float) -> int:
    """SIASN's jumlahJam is a whole number: JP rounded half up (1 JP = 1 lesson hour)."""
    return int(Decimal(str(jp)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def siasn_date(day: dt.date) -> str:
    return day.strftime(c.DATE_FORMAT)


def payload(
    entry: Entry, *, pns_orang_id: str, siasn_id: str | None, settings: Settings,
    revoked: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The save body: `id` null creates, the stored id updates the same record. A revoked
    source that is flagged (not deleted) keeps its record with "[DICABUT]" before the name."""
    name = (c.REVOKED_PREFIX + entry.name) if revoked else entry.name
    if entry.kind == "diklat":
        return {
            "id": siasn_id,
            "pnsOrangId": pns_orang_id,
            "instansiId": settings.siasn_instansi_id or "",
            "latihanStrukturalId": c.LATIHAN_STRUKTURAL_OTHER,
            "nomor": entry.number,
            "tahun": entry.year,
            "tanggal": siasn_date(entry.starts_on),
            "tanggalSelesai": siasn_date(entry.ends_on),
            "institusiPenyelenggara": entry.organiser,
            "jumlahJam": hours(entry.jp),
            "path": [],
        }
    return {
        "id": siasn_id,
        "pnsOrangId": pns_orang_id,
        "instansiId": settings.siasn_instansi_id or "",
        "jenisDiklatId": str(entry.jenis_diklat),
        "jenisKursus": "",
        "jenisKursusSertipikat": c.JENIS_DIKLAT_LETTER.get(entry.jenis_diklat, "T"),
        "namaKursus": name[:255],
        "institusiPenyelenggara": entry.organiser[:255],
        "nomorSertipikat": entry.number,
        "jumlahJam": hours(entry.jp),
        "tahunKursus": entry.year,
        "tanggalKursus": siasn_date(entry.starts_on),
        "tanggalSelesaiKursus": siasn_date(entry.ends_on),
        "lokasiId": None,
        "path": [],
    }


def matches(item: dict[str, Any], entry: Entry) -> bool:
    """An rw-kursus/rw-diklat item is this source's record (same certificate number)."""
    return str(item.get(c.NUMBER_FIELD[entry.kind]) or "").strip() == entry.number.strip()
