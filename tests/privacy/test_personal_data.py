"""Personal data rights: a person's own ZIP (everything about them, nothing about others, no
secrets, the certificate PDFs), an officer's copy on request (audited, refused to learners),
pseudonymising a closed account while its certificate keeps verifying, and retention."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.certificates import service as certificates_service
from app.certificates.models import Certificate
from app.core.config import get_settings
from app.core.db import Base, session_scope, utcnow
from app.notifications.models import Notification
from app.privacy import service, tasks
from app.storage.service import get_storage
from tests.factories import (
    api_token,
    browser_login,
    enrol,
    make_certificate_record,
    make_user,
)

PDF = b"%PDF-1.7\n% sertifikat uji\n%%EOF\n"


def _certificate_with_pdf() -> tuple[int, int, str]:
    """(certificate id, holder user id, verification code), its PDF in storage."""
    cert_id = make_certificate_record(holder_name="Ayu Lestari")
    storage = get_storage(get_settings())
    key = storage.new_key("certificates")
    storage.put(key, io.BytesIO(PDF), content_type="application/pdf")
    with session_scope() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        cert.pdf_key = key
        cert.code = certificates_service.new_code()  # the verifiable form (the factory's is not)
        return cert.id, cert.user_id, cert.code


def _nip(user_id: int) -> str:
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None and user.nip is not None
        return user.nip


def _zip(body: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    return archive


async def test_own_export_holds_everything_about_me_and_nothing_else(client) -> None:  # type: ignore[no-untyped-def]
    cert_id, user_id, _code = _certificate_with_pdf()
    with session_scope() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        run_id = cert.run_id
    other = make_user(name="Orang Lain")
    other_enrolment = enrol(run_id, other.id)
    headers = await api_token(client, _nip(user_id))

    response = await client.get("/api/v1/me/personal-data", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    archive = _zip(response.content)
    names = set(archive.namelist())
    assert {"README.txt", "data/user_account.json", "data/enrolment.json",
            "data/certificate.json", "data/api_token.json", "data/audit.json"} <= names  # fmt: skip
    assert archive.read(f"files/certificates/{cert_id}.pdf") == PDF

    profile = json.loads(archive.read("data/user_account.json"))
    assert [p["id"] for p in profile] == [user_id]
    assert profile[0]["name"] == "Ayu Lestari"
    enrolments = json.loads(archive.read("data/enrolment.json"))
    assert enrolments and all(e["user_id"] == user_id for e in enrolments)
    assert other_enrolment not in {e["id"] for e in enrolments}
    certificates = json.loads(archive.read("data/certificate.json"))
    assert [c["id"] for c in certificates] == [cert_id]
    tokens = json.loads(archive.read("data/api_token.json"))
    assert tokens and all(set(t) == {"user_id", "created_at", "expires_at"} for t in tokens)

    every_byte = b"".join(archive.read(n) for n in names)
    for secret in (b"password_hash", b"token_hash", b"$argon2", b"Orang Lain"):
        assert secret not in every_byte, secret

    with session_scope() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "export.personal_data")).all()
        assert [(r.target_type, r.target_id) for r in rows] == [("user", str(user_id))]


async def test_officers_export_on_request_and_learners_cannot(client) -> None:  # type: ignore[no-untyped-def]
    _cert_id, user_id, _code = _certificate_with_pdf()
    learner = make_user()
    officer = make_user(roles=("training_officer",))
    own = await api_token(client, learner.nip or "")
    refused = await client.get(f"/api/v1/users/{user_id}/personal-data", headers=own)
    assert refused.status_code == 403
    assert (await client.post(f"/api/v1/users/{user_id}/pseudonymise", headers=own)).status_code == 403

    headers = await api_token(client, officer.nip or "")
    response = await client.get(f"/api/v1/users/{user_id}/personal-data", headers=headers)
    assert response.status_code == 200
    profile = json.loads(_zip(response.content).read("data/user_account.json"))
    assert profile[0]["id"] == user_id
    missing = await client.get("/api/v1/users/987654/personal-data", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "user_not_found"


async def test_a_missing_object_is_listed_not_fatal(client) -> None:  # type: ignore[no-untyped-def]
    cert_id, user_id, _code = _certificate_with_pdf()
    with session_scope() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        get_storage(get_settings()).delete(cert.pdf_key or "")
    headers = await api_token(client, _nip(user_id))
    archive = _zip((await client.get("/api/v1/me/personal-data", headers=headers)).content)
    assert f"files/certificates/{cert_id}.pdf" not in archive.namelist()
    assert json.loads(archive.read("missing.json"))[0]["path"] == f"files/certificates/{cert_id}.pdf"


async def test_page_and_browser_download(client) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    await browser_login(client, user.nip or "")
    page = await client.get("/me/data")
    assert page.status_code == 200
    assert 'href="/me/data/export.zip"' in page.text
    download = await client.get("/me/data/export.zip")
    assert download.status_code == 200
    assert json.loads(_zip(download.content).read("data/user_account.json"))[0]["id"] == user.id


async def test_pseudonymise_a_closed_account_keeps_its_certificate_verifiable(client) -> None:  # type: ignore[no-untyped-def]
    _cert_id, user_id, code = _certificate_with_pdf()
    admin = make_user(roles=("admin",))
    headers = await api_token(client, admin.nip or "")
    holder = await api_token(client, _nip(user_id))

    active = await client.post(f"/api/v1/users/{user_id}/pseudonymise", headers=headers)
    assert active.status_code == 409
    assert active.json()["error"] == "account_active"

    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.is_active = False
    done = await client.post(f"/api/v1/users/{user_id}/pseudonymise", headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["name"] == service.pseudonymised_name(user_id)

    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert (user.nip, user.email, user.phone, user.password_hash) == (None, None, None, None)
        assert user.pseudonymised_at is not None
        tokens = Base.metadata.tables["api_token"]
        assert session.execute(select(tokens).where(tokens.c.user_id == user_id)).first() is None
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target_id == str(user_id))
        ).all()
        assert "account.pseudonymised" in actions
    assert (await client.get("/api/v1/me", headers=holder)).status_code == 401

    verified = await client.get(f"/api/v1/verify/{code}")
    assert verified.status_code == 200
    assert verified.json()["status"] == "valid"
    again = await client.post(f"/api/v1/users/{user_id}/pseudonymise", headers=headers)
    assert again.status_code == 409
    assert again.json()["error"] == "already_pseudonymised"


def test_every_user_column_is_classified() -> None:
    """A new table pointing at a user must be declared personal (exported) or an actor column,
    and every table hanging off a personal table must be declared a child or not personal."""
    not_personal_children = {"certificate", "certificate_job_item", "run_completion",
                             "quiz_attempt", "certificate_job"}  # fmt: skip
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "user_account":
                column = (table.name, fk.parent.name)
                personal = fk.parent.name in service.PERSONAL.get(table.name, ())
                assert personal != (column in service.ACTOR_COLUMNS), column
            elif fk.column.table.name in service.PERSONAL and table.name not in service.PERSONAL:
                declared = service.CHILDREN.get(table.name, ("", ""))[0] == fk.parent.name
                assert declared or table.name in not_personal_children, (table.name, fk.parent.name)


def test_notifications_past_their_retention_are_deleted(settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    now = utcnow()
    with session_scope() as session:
        for days in (400, 10):
            session.add(Notification(user_id=user.id, event="enrolled", key=f"k{days}",
                                     context={}, created_at=now - dt.timedelta(days=days)))  # fmt: skip
    assert tasks.purge_notifications(settings, now) == 1
    with session_scope() as session:
        left = session.scalars(select(Notification.key)).all()
    assert left == ["k10"]


async def test_admin_form_pseudonymises_and_the_notice_names_rights_and_retention(client) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(roles=("admin",))
    closed = make_user(name="Akun Ditutup", active=False)
    csrf = await browser_login(client, admin.nip or "")
    form = await client.get(f"/admin/users/{closed.id}")
    assert f'action="/admin/users/{closed.id}/pseudonymise"' in form.text
    assert f'href="/admin/users/{closed.id}/personal-data.zip"' in form.text
    unconfirmed = await client.post(
        f"/admin/users/{closed.id}/pseudonymise", data={"csrf_token": csrf}
    )
    assert unconfirmed.status_code == 422
    no_csrf = await client.post(f"/admin/users/{closed.id}/pseudonymise", data={"confirm": "yes"})
    assert no_csrf.status_code == 403
    done = await client.post(
        f"/admin/users/{closed.id}/pseudonymise", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert done.status_code == 303
    after = await client.get(f"/admin/users/{closed.id}")
    assert service.pseudonymised_name(closed.id) in after.text
    assert f'action="/admin/users/{closed.id}/pseudonymise"' not in after.text

    notice = await client.get("/privacy")
    assert 'href="/me/data"' in notice.text
    assert f"{get_settings().notification_retention_days}" in notice.text
