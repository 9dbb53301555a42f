"""The admin page /studio/audit and GET /api/v1/audit: admin only, filters, pages, XLSX export."""

from __future__ import annotations

import datetime as dt
import io

import httpx
from openpyxl import load_workbook
from sqlalchemy import update

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.core.db import session_scope
from tests.audit.helpers import entries, one
from tests.factories import api_token, browser_login, make_user


def _seed(n: int = 3) -> tuple[int, int]:
    actor = make_user(name="Petugas Satu")
    target = make_user(name="Peserta Dua")
    with session_scope() as s:
        for i in range(n):
            audit.record(s, "account.updated", actor=actor.id, target=("user", target.id),
                         before={"name": f"A{i}"}, after={"name": f"B{i}"})  # fmt: skip
        audit.record(s, "certificate.revoked", actor=None, target=("certificate", 7),
                     after={"reason": "=HYPERLINK(\"x\")\x07"})  # fmt: skip
    return actor.id, target.id


async def test_learners_and_officers_cannot_read_the_audit_log(client: httpx.AsyncClient) -> None:
    _seed()
    for roles in (("learner",), ("training_officer",), ("content_admin",)):
        user = make_user(roles=roles)
        headers = await api_token(client, user.nip)
        api = await client.get("/api/v1/audit", headers=headers)
        assert api.status_code == 403, roles
        assert api.json()["error"] == "forbidden_role"
    learner = make_user()
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as browser:  # type: ignore[attr-defined]
        await browser_login(browser, learner.nip)
        page = await browser.get("/studio/audit")
        assert page.status_code == 403
        export = await browser.get("/studio/audit/export.xlsx")
        assert export.status_code == 403
    assert (await client.get("/api/v1/audit")).status_code == 401


async def test_api_filters_and_pages(client: httpx.AsyncClient) -> None:
    actor_id, target_id = _seed(3)
    admin = make_user(roles=("admin",))
    headers = await api_token(client, admin.nip)
    total = len(entries())  # with the accounts' creation and the admin's own login
    every = (await client.get("/api/v1/audit", headers=headers)).json()
    assert every["total"] == total and every["items"][0]["action"] == "auth.login.success"
    assert [e["id"] for e in every["items"]] == sorted((e["id"] for e in entries()), reverse=True)
    actor_nip = next(e["actor_label"] for e in every["items"] if e["actor_id"] == actor_id)
    by_actor = (
        await client.get("/api/v1/audit", params={"actor": actor_nip}, headers=headers)
    ).json()
    assert by_actor["total"] == 3 and all(
        e["actor_name"] == "Petugas Satu" for e in by_actor["items"]
    )
    prefix = (
        await client.get("/api/v1/audit", params={"action": "certificate"}, headers=headers)
    ).json()
    assert [e["action"] for e in prefix["items"]] == ["certificate.revoked"]
    exact = await client.get("/api/v1/audit", params={"action": "certificate.rev"}, headers=headers)
    assert exact.json()["total"] == 0  # a prefix is a whole dotted part, not any text
    target = await client.get("/api/v1/audit", headers=headers,
                              params={"target_type": "user", "target_id": str(target_id)})  # fmt: skip
    assert target.json()["total"] == 4  # created, then three changes
    paged = (
        await client.get("/api/v1/audit", params={"per_page": 2, "page": 2}, headers=headers)
    ).json()
    assert paged["total"] == total and len(paged["items"]) == 2 and paged["page"] == 2
    assert paged["items"][0]["id"] == every["items"][2]["id"]
    bad = await client.get("/api/v1/audit", params={"date_from": "2026-13-01"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "date_from"
    reversed_ = await client.get("/api/v1/audit", params={"date_from": "2026-03-02", "date_to": "2026-03-01"},
                                 headers=headers)  # fmt: skip
    assert reversed_.status_code == 422 and reversed_.json()["field"] == "date_to"
    unicode_digits = await client.get(
        "/api/v1/audit", params={"date_from": "２０２６-03-01"}, headers=headers
    )
    assert unicode_digits.status_code == 422
    too_big = await client.get("/api/v1/audit", params={"page": 10**12}, headers=headers)
    assert too_big.status_code == 422


async def test_dates_are_the_institutions_days(client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.timezone == "Asia/Jakarta"
    _seed(1)
    with session_scope() as s:  # 20:00 UTC on 1 March is 03:00 WIB on 2 March
        s.execute(update(AuditEntry).where(AuditEntry.action == "certificate.revoked")
                  .values(at=dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC)))  # fmt: skip
    headers = await api_token(client, make_user(roles=("admin",)).nip)

    async def count(date_from: str, date_to: str) -> int:
        r = await client.get("/api/v1/audit", headers=headers,
                             params={"date_from": date_from, "date_to": date_to})  # fmt: skip
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    assert await count("2026-03-02", "2026-03-02") == 1
    assert await count("2026-03-01", "2026-03-01") == 0
    assert await count("2026-02-01", "2026-03-01") == 0


async def test_admin_page_lists_filters_and_exports(client: httpx.AsyncClient) -> None:
    _seed(3)
    admin = make_user(roles=("admin",))
    await browser_login(client, admin.nip)
    page = await client.get("/studio/audit")
    assert page.status_code == 200
    assert "Log audit" in page.text and "certificate.revoked" in page.text
    assert 'href="/studio/audit"' in (await client.get("/")).text  # in the admin's menu
    filtered = await client.get("/studio/audit", params={"action": "certificate"})
    assert filtered.status_code == 200
    assert "certificate.revoked" in filtered.text and "account.updated</code>" not in filtered.text
    bad = await client.get("/studio/audit", params={"date_from": "kemarin"})
    assert bad.status_code == 422 and "TTTT-BB-HH" in bad.text
    export = await client.get("/studio/audit/export.xlsx", params={"action": "account.updated"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "ID" and len(rows) == 1 + 3
    assert {r[5] for r in rows[1:]} == {"account.updated"}
    row = one("audit.exported")
    assert row["actor_id"] == admin.id and row["after"]["rows"] == 3
    assert row["after"]["filters"]["action"] == "account.updated"
    everything = await client.get("/studio/audit/export.xlsx")
    sheet = load_workbook(io.BytesIO(everything.content)).active
    assert sheet is not None
    cells = [c for r in sheet.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert not any("\x07" in c for c in cells)  # control characters cleaned
    assert any(c.startswith("{") and "HYPERLINK" in c for c in cells)  # JSON text, no formula
    assert len(entries("audit.exported")) == 2


async def test_page_pages_with_the_shared_pager(client: httpx.AsyncClient) -> None:
    actor = make_user()
    with session_scope() as s:
        audit.record_many(
            s, [audit.Record("account.updated", ("user", i), actor=actor.id) for i in range(120)]
        )
    admin = make_user(roles=("admin",))
    await browser_login(client, admin.nip)
    first = await client.get("/studio/audit", params={"action": "account"})
    assert 'rel="next"' in first.text and "Halaman 1 dari 3" in first.text
    third = await client.get("/studio/audit", params={"action": "account", "page": 3})
    assert "Halaman 3 dari 3" in third.text and 'rel="next"' not in third.text
    assert "action=account&amp;page=2" in third.text or "action=account&page=2" in third.text
