"""Certificate dates are the institution's (settings.timezone): issued late in the UTC evening,
a certificate in Makassar is dated the next day — on the record, the PDF, the learner's card,
the public verification page and the officer's detail page (with the local time)."""

from __future__ import annotations

import datetime as dt
import io

import httpx
import openpyxl
import pytest

from app.accounts.models import User
from app.certificates import documents, pdf, service
from app.certificates.models import Certificate
from app.core.config import get_settings
from app.core.db import session_scope
from tests.clocks import freeze_clock
from tests.factories import browser_login, make_completed_run, make_user

pytestmark = pytest.mark.anyio

# 20:00 UTC on 6 December is 04:00 WITA on 7 December.
EVENING_UTC = dt.datetime(2026, 12, 6, 20, 0, tzinfo=dt.UTC)


async def test_certificate_carries_the_institutions_date(
    client: httpx.AsyncClient,
    settings,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(settings, "timezone", "Asia/Makassar")
    freeze_clock(monkeypatch, EVENING_UTC)
    data = make_completed_run(1, auto_issue=False)
    with session_scope() as session:
        [issued] = service.issue(session, data["run"], None, None, get_settings()).issued  # type: ignore[arg-type]
        cert = session.get(Certificate, issued.id)
        assert cert is not None
        assert cert.issued_on == dt.date(2026, 12, 7) and cert.year == 2026
        cert.issued_at = EVENING_UTC  # the stored moment stays UTC
        printed = pdf.field_values(documents.certificate_data(cert, settings), settings)
        code, cert_id = cert.code, cert.id
        learner = session.get(User, cert.user_id)
        assert learner is not None and learner.email
        email = learner.email
    assert printed["issued_on"] == "7 Desember 2026"
    assert printed["place_date"].endswith(", 7 Desember 2026")

    public = await client.get(f"/verify/{code}")
    assert public.status_code == 200
    assert "07-12-2026" in public.text and "06-12-2026" not in public.text

    await browser_login(client, email)
    mine = await client.get("/sertifikat")
    assert '<time datetime="2026-12-06T20:00:00+00:00">07-12-2026</time>' in mine.text

    client.cookies.clear()
    officer = make_user(roles=("training_officer",))
    await browser_login(client, officer.email or "")
    detail = await client.get(f"/studio/certificates/{cert_id}")
    assert detail.status_code == 200
    assert "07-12-2026 04:00 WITA" in detail.text
    assert " UTC" not in detail.text
    monitor = await client.get(f"/studio/runs/{data['run']}/monitor.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(monitor.content)).active
    assert sheet is not None and sheet.cell(row=1, column=7).value == "Selesai (WITA)"
