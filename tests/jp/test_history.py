"""The learner's "Riwayat JP saya" page: a year's credits grouped by source with subtotals, the
total against the target (PPPK cap), other years selectable, withdrawn credits apart, and only
the caller's own credits."""

from __future__ import annotations

import datetime as dt
import re

from app.core import clock
from app.core.db import session_scope
from app.jp import service
from tests.factories import browser_login, make_user

YEAR = clock.today().year


def add_credits(user_id: int) -> None:
    with session_scope() as session:
        rows = [
            (service.CERTIFICATE, 1, 10.0, YEAR, "0001/LIT/BKPSDM/2026", "apbd_kabupaten"),
            (service.CERTIFICATE, 2, 4.0, YEAR, "0002/LIT/BKPSDM/2026", "apbd_kabupaten"),
            (service.EXTERNAL_TRAINING, 1, 8.0, YEAR, "800/PROV/2026", "apbd_provinsi"),
            (service.MENTORING, 1, 2.0, YEAR, "Mentoring Literasi Digital — Budi", "non_anggaran"),
            (service.CERTIFICATE, 3, 6.0, YEAR - 1, "OLD/2025", None),
        ]
        for source, source_id, jp, year, reference, funding in rows:
            service.credit(
                session, user_id=user_id, year=year, source=source, source_id=source_id, jp=jp,
                credited_on=dt.date(year, 1, 15), reference=reference, funding_source=funding,
            )  # fmt: skip
        service.withdraw(session, source=service.CERTIFICATE, source_id=2, reason="Dicabut.")


def section(html: str, heading_id: str) -> str:
    match = re.search(rf'<article aria-labelledby="{heading_id}">(.*?)</article>', html, re.S)
    assert match, heading_id
    return match.group(1)


async def test_history_groups_by_source_with_totals(client, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    add_credits(user.id)
    await browser_login(client, user.email)
    page = await client.get("/my/jp")
    assert page.status_code == 200
    text = page.text
    assert f"Total {YEAR}: 20 dari 20 JP" in text
    certificates = section(text, "g-certificate")
    assert "0001/LIT/BKPSDM/2026" in certificates and "10 JP" in certificates
    assert "0002/LIT" not in certificates  # withdrawn: shown apart, not counted
    external = section(text, "g-external_training")
    assert "800/PROV/2026" in external and "8 JP" in external and "APBD Provinsi" in external
    mentoring = section(text, "g-mentoring")
    assert "Mentoring Literasi Digital" in mentoring and "2 JP" in mentoring
    assert "Tidak dihitung lagi" in text and "Dicabut." in text
    assert "Target JP tahun ini sudah terpenuhi." in text
    # Years to choose from, and last year's figures.
    assert f'<option value="{YEAR - 1}"' in text
    last = (await client.get(f"/my/jp?year={YEAR - 1}")).text
    assert f"Total {YEAR - 1}: 6 dari 20 JP" in last and "Kurang 14 JP lagi" in last
    assert "Belum ada JP dari sumber ini" in last
    assert (await client.get("/my/jp?year=1800")).status_code == 422


async def test_history_shows_only_the_callers_credits_and_the_pppk_cap(client) -> None:  # type: ignore[no-untyped-def]
    other = make_user(name="Orang Lain")
    add_credits(other.id)
    pppk = make_user(name="Pegawai PPPK")
    with session_scope() as session:
        from app.accounts import service as accounts_service

        accounts_service.get_user(session, pppk.id).employment = "PPPK"
        for i, jp in enumerate((20.0, 10.0)):
            service.credit(
                session, user_id=pppk.id, year=YEAR, source=service.CERTIFICATE,
                source_id=100 + i, jp=jp, credited_on=dt.date(YEAR, 1, 2), reference=f"P-{i}",
            )  # fmt: skip
    await browser_login(client, pppk.email)
    text = (await client.get("/my/jp")).text
    assert "0001/LIT" not in text and "800/PROV" not in text
    assert f"Total {YEAR}: 24 dari 20 JP" in text
    assert "Jumlah semua JP Anda 30" in text
    client.cookies.clear()
    assert (await client.get("/my/jp")).status_code in (303, 401)


def test_history_reads_in_a_constant_number_of_queries(settings) -> None:  # type: ignore[no-untyped-def]
    from tests.queries import count_queries

    user = make_user()
    add_credits(user.id)
    with session_scope() as session, count_queries() as statements:
        result = service.history(session, user.id, YEAR, settings)
    assert [g.source for g in result.groups] == list(service.SOURCES)
    assert [g.total_jp for g in result.groups] == [10.0, 8.0, 2.0]
    assert len(statements) <= 5
