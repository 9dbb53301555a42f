"""Activation: officers send it to a roster selection; the ASN opens the link from a real e-mail
(read back from the SMTP sink) or WhatsApp message (recorded by the gateway), sets a password
under the policy, accepts the terms, confirms the contact, and can then sign in. Link tokens are
single use, expire, and a newer one replaces the older."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.accounts.passwords import check_password_policy
from app.auth.models import AccountToken
from app.core.db import session_scope, utcnow
from app.core.errors import ValidationFailed
from tests.accounts.helpers import (
    ACTIVATION_LINK,
    NEW_PASSWORD,
    fresh,
    make_asn,
    officer_headers,
    token_from,
)
from tests.factories import PASSWORD, api_token, browser_login, csrf_from, make_opd, make_user
from tests.mailsink import text_of
from tests.notifications.helpers import deliver

PHONE = "+6281234567890"
GENERIC = "invalid_or_expired"


async def _send(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:  # type: ignore[type-arg]
    r = await client.post("/api/v1/users/activation", json=body, headers=headers)
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


def _mailed_token(mail, address: str) -> str:  # type: ignore[no-untyped-def]
    (msg,) = mail.to(address)
    return token_from(ACTIVATION_LINK, text_of(msg))


# --- the password policy (pure) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Pendek-1", "minimal 10 karakter"),
        ("qwertyuiop", "terlalu umum"),  # zxcvbn's bundled list
        ("iloveyou2026!", "terlalu umum"),  # a listed password with a year tacked on
        ("bismillah123", "terlalu umum"),  # the Indonesian list
        ("aaaaaaaaaaaa", "terlalu umum"),
        ("Nip199001012015031001x", "NIP"),
    ],
)
def test_the_policy_names_the_rule_a_password_breaks(password: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_password_policy(password, min_length=10, personal=("199001012015031001",))
    assert rule in caught.value.detail
    assert caught.value.field == "password" and caught.value.code == "weak_password"


def test_a_long_unusual_passphrase_passes() -> None:
    check_password_policy(NEW_PASSWORD, min_length=10, personal=("199001012015031001",))


# --- e-mail and WhatsApp ---------------------------------------------------------------------


async def test_email_link_activates_once_and_the_asn_signs_in(
    client: httpx.AsyncClient, mail
) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    asn = make_asn(name="Rina Wulandari", email="rina@dinkes.example.go.id", phone=PHONE)
    body = await _send(client, headers, nips=[asn.nip], channel="auto")
    assert body == {"queued": 1, "by_channel": {"email": 1}, "skipped": [],
                    "letter_url": None, "letter_job_id": None}  # fmt: skip
    with session_scope() as session:  # no secret exists before the message is delivered
        assert session.scalar(select(func.count()).select_from(AccountToken)) == 0
    assert deliver().sent == 1
    (msg,) = mail.wait_for(1)
    assert msg["Subject"] == "Aktifkan akun LMS Diklat ASN Anda"
    text = text_of(msg)
    assert "berlaku 7 hari" in text
    token = token_from(ACTIVATION_LINK, text)
    assert len(token) >= 43  # 256 random bits, base64url
    with session_scope() as session:  # stored hashed only
        stored = session.scalars(select(AccountToken.token_hash)).all()
        assert stored and token not in stored

    page = await client.get("/activate", params={"token": token})
    assert page.status_code == 200
    assert "Rina Wulandari" in page.text
    assert 'value="rina@dinkes.example.go.id"' in page.text and f'value="{PHONE}"' in page.text
    assert 'href="/terms"' in page.text and 'href="/privacy"' in page.text

    r = await client.post("/api/v1/auth/activate", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 204, r.text
    user = fresh(asn.id)
    assert user.activated_at and user.terms_accepted_at and user.email_verified_at
    assert user.phone_verified_at is None  # the link came by e-mail
    await api_token(client, asn.nip or "", NEW_PASSWORD)

    again = await client.post(
        "/api/v1/auth/activate", json={"token": token, "password": NEW_PASSWORD}
    )
    assert again.status_code == 400 and again.json()["error"] == GENERIC


async def test_whatsapp_link_through_the_page_then_login(
    client: httpx.AsyncClient, whatsapp
) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    asn = make_asn(name="Made Sudarsana", phone=PHONE)
    body = await _send(client, headers, user_ids=[asn.id], channel="auto")
    assert body["by_channel"] == {"whatsapp": 1}
    deliver()
    (request,) = whatsapp.wait_for(1)
    assert request["json"]["to"] == "6281234567890"
    token = token_from(ACTIVATION_LINK, request["json"]["text"]["body"])

    page = await client.get("/activate", params={"token": token})
    form = {"csrf_token": csrf_from(page.text), "token": token, "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD, "email": "made@dinas.example.go.id",
            "phone": "0812-3456-7890", "accept_terms": "1"}  # fmt: skip
    done = await client.post("/activate", data=form)
    assert done.status_code == 303
    assert done.headers["location"] == f"/login?done=activated&nip={asn.nip}"
    login = await client.get(done.headers["location"])
    assert "Akun Anda sudah aktif" in login.text and f'value="{asn.nip}"' in login.text
    user = fresh(asn.id)
    assert user.phone_verified_at is not None and user.phone == PHONE
    assert user.email == "made@dinas.example.go.id" and user.email_verified_at is None
    await browser_login(client, asn.nip or "", NEW_PASSWORD)


async def test_a_new_link_invalidates_the_older_one(client: httpx.AsyncClient, mail) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    asn = make_asn(email="dua.kali@example.go.id")
    await _send(client, headers, user_ids=[asn.id], channel="email")
    deliver()
    first = _mailed_token(mail, "dua.kali@example.go.id")
    mail.clear()
    await _send(client, headers, user_ids=[asn.id], channel="email")
    deliver()
    second = _mailed_token(mail, "dua.kali@example.go.id")
    assert first != second
    old = await client.post(
        "/api/v1/auth/activate", json={"token": first, "password": NEW_PASSWORD}
    )
    assert old.status_code == 400
    new = await client.post(
        "/api/v1/auth/activate", json={"token": second, "password": NEW_PASSWORD}
    )
    assert new.status_code == 204


async def test_expired_unknown_and_used_links_get_one_answer(
    client: httpx.AsyncClient, mail
) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    asn = make_asn(email="kedaluwarsa@example.go.id")
    await _send(client, headers, user_ids=[asn.id], channel="email")
    deliver()
    token = _mailed_token(mail, "kedaluwarsa@example.go.id")
    with session_scope() as session:
        expires = session.scalar(select(AccountToken.expires_at))
        assert expires is not None
        assert dt.timedelta(days=6, hours=23) < expires - utcnow() <= dt.timedelta(days=7)
        session.execute(update(AccountToken).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    expired = await client.post(
        "/api/v1/auth/activate", json={"token": token, "password": NEW_PASSWORD}
    )
    unknown = await client.post(
        "/api/v1/auth/activate", json={"token": "x" * 43, "password": NEW_PASSWORD}
    )
    assert expired.status_code == unknown.status_code == 400
    assert expired.json() == unknown.json()
    assert expired.json()["error"] == GENERIC
    page = await client.get("/activate", params={"token": token})
    assert page.status_code == 400 and "tidak sah" in page.text
    assert fresh(asn.id).password_hash is None


@pytest.mark.parametrize(
    ("password", "rule"),
    [("Pendek-1", "minimal 10"), ("bismillah2026", "terlalu umum"), ("nip{nip}!", "NIP")],
)
async def test_weak_passwords_are_422_naming_the_rule_and_keep_the_link(
    client: httpx.AsyncClient, mail, password: str, rule: str
) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    asn = make_asn(email="lemah@example.go.id")
    await _send(client, headers, user_ids=[asn.id], channel="email")
    deliver()
    token = _mailed_token(mail, "lemah@example.go.id")
    weak = await client.post("/api/v1/auth/activate",
                             json={"token": token, "password": password.format(nip=asn.nip)})  # fmt: skip
    assert weak.status_code == 422
    assert weak.json()["error"] == "weak_password" and weak.json()["field"] == "password"
    assert rule in weak.json()["detail"]
    assert fresh(asn.id).activated_at is None  # nothing half-written
    ok = await client.post("/api/v1/auth/activate", json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 204


async def test_terms_and_contact_are_checked_with_the_field_named(
    client: httpx.AsyncClient, mail
) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    make_user(email="dipakai@example.go.id")
    asn = make_asn(email="kontak@example.go.id")
    await _send(client, headers, user_ids=[asn.id], channel="email")
    deliver()
    token = _mailed_token(mail, "kontak@example.go.id")

    async def attempt(**extra: object) -> httpx.Response:
        return await client.post("/api/v1/auth/activate",
                                 json={"token": token, "password": NEW_PASSWORD, **extra})  # fmt: skip

    assert (await attempt(accept_terms=False)).json()["field"] == "accept_terms"
    taken = await attempt(email="Dipakai@example.go.id")
    assert taken.status_code == 422 and taken.json()["field"] == "email"
    bad_phone = await attempt(phone="021-555")
    assert bad_phone.status_code == 422 and bad_phone.json()["field"] == "phone"
    ok = await attempt(email="kontak.baru@example.go.id", phone="0812 3456 7890")
    assert ok.status_code == 204
    user = fresh(asn.id)
    assert (user.email, user.phone) == ("kontak.baru@example.go.id", PHONE)
    assert user.email_verified_at is None  # a corrected address was never reached


async def test_activation_page_form_errors_name_the_field(client: httpx.AsyncClient, mail) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    asn = make_asn(email="halaman@example.go.id")
    await _send(client, headers, user_ids=[asn.id], channel="email")
    deliver()
    token = _mailed_token(mail, "halaman@example.go.id")
    page = await client.get("/activate", params={"token": token})
    form = {"csrf_token": csrf_from(page.text), "token": token, "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD + "x", "email": "halaman@example.go.id",
            "accept_terms": "1"}  # fmt: skip
    mismatch = await client.post("/activate", data=form)
    assert mismatch.status_code == 422
    assert 'id="e-password_confirm"' in mismatch.text and "tidak sama" in mismatch.text
    no_terms = await client.post("/activate", data={**form, "password_confirm": NEW_PASSWORD,
                                                    "accept_terms": ""})  # fmt: skip
    assert no_terms.status_code == 422 and 'id="e-accept_terms"' in no_terms.text
    assert 'value="halaman@example.go.id"' in no_terms.text  # the form keeps what was typed
    no_csrf = await client.post("/activate", data={**form, "csrf_token": "x"})
    assert no_csrf.status_code == 403
    assert fresh(asn.id).password_hash is None


# --- officer actions -------------------------------------------------------------------------


async def test_every_skip_names_its_reason(client: httpx.AsyncClient, mail, whatsapp) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    active = make_user(name="Sudah Aktif")  # has a password: activated already
    inactive = make_asn(name="Nonaktif", email="off@example.go.id", active=False)
    no_mail = make_asn(name="Tanpa Email", phone=PHONE)
    no_phone = make_asn(name="Tanpa HP", email="hp@example.go.id")
    body = await _send(client, headers, channel="email",
                       user_ids=[active.id, inactive.id, no_mail.id, 999_999],
                       nips=["199912312020121001"])  # fmt: skip
    reasons = {(s["user_id"], s["nip"]): s["reason"] for s in body["skipped"]}
    assert body["queued"] == 0
    assert reasons == {
        (active.id, active.nip): "akun sudah aktif",
        (inactive.id, inactive.nip): "akun nonaktif",
        (no_mail.id, no_mail.nip): "tidak punya email",
        (999_999, None): "pengguna tidak ditemukan",
        (None, "199912312020121001"): "NIP tidak ditemukan",
    }
    wa = await _send(client, headers, channel="whatsapp", user_ids=[no_phone.id])
    assert wa["skipped"] == [{"user_id": no_phone.id, "nip": no_phone.nip,
                              "reason": "tidak punya nomor WhatsApp"}]  # fmt: skip
    again = await _send(client, headers, channel="email", user_ids=[active.id], resend=True)
    assert again["queued"] == 1


async def test_channels_not_configured_are_skipped_or_fall_back(client: httpx.AsyncClient) -> None:
    """Without LMS_SMTP_URL, 'email' skips with the reason and 'auto' falls back to a letter."""
    headers = await officer_headers(client)
    make_opd(code="DINSOS", name="Dinas Sosial")
    asn = make_asn(email="tanpa.smtp@example.go.id", opd_code="DINSOS")
    email = await _send(client, headers, channel="email", user_ids=[asn.id])
    assert "LMS_SMTP_URL" in email["skipped"][0]["reason"]
    auto = await _send(client, headers, channel="auto", user_ids=[asn.id])
    assert auto["by_channel"] == {"letter": 1}
    assert auto["letter_url"] == f"/studio/activation/letters/{auto['letter_job_id']}"


async def test_selection_by_opd_and_empty_selection(client: httpx.AsyncClient, mail) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    make_opd(code="DISPERKIM", name="Dinas Perumahan")
    make_opd(code="DINKES", name="Dinas Kesehatan")
    a = make_asn(email="a@example.go.id", opd_code="DISPERKIM")
    make_asn(email="b@example.go.id", opd_code="DINKES")
    body = await _send(client, headers, opd_code="disperkim", channel="email")
    assert body["queued"] == 1
    deliver()
    assert [m["To"] for m in mail.wait_for(1)] == [f"{a.name} <a@example.go.id>"]
    empty = await client.post("/api/v1/users/activation", json={"channel": "auto"}, headers=headers)
    assert empty.status_code == 422 and empty.json()["field"] == "selection"
    unknown = await client.post("/api/v1/users/activation",
                                json={"opd_code": "NOPE", "channel": "auto"}, headers=headers)  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["field"] == "opd_code"


async def test_only_officers_and_admins_send_activation(client: httpx.AsyncClient) -> None:
    learner = make_user(email="pelajar@example.go.id")
    headers = await api_token(client, learner.email or "")
    body = {"user_ids": [learner.id], "channel": "auto"}
    denied = await client.post("/api/v1/users/activation", json=body, headers=headers)
    assert denied.status_code == 403
    anonymous = await client.post("/api/v1/users/activation", json=body)
    assert anonymous.status_code == 401
    page = await client.get("/studio/activation", headers=headers)
    assert page.status_code == 403
    admin = make_user(roles=("admin",), email="admin.aktivasi@example.go.id")
    allowed = await client.post("/api/v1/users/activation", json=body,
                                headers=await api_token(client, admin.email or ""))  # fmt: skip
    assert allowed.status_code == 202


async def test_officer_page_previews_and_sends(client: httpx.AsyncClient, mail, whatsapp) -> None:  # type: ignore[no-untyped-def]
    officer = make_user(roles=("training_officer",), email="petugas.web@example.go.id")
    csrf = await browser_login(client, officer.email or "")
    make_opd(code="BAPPEDA", name="Badan Perencanaan")
    make_asn(name="Punya Email", email="e@example.go.id", opd_code="BAPPEDA")
    make_asn(name="Punya HP", phone=PHONE, opd_code="BAPPEDA")
    make_asn(name="Tanpa Kontak", opd_code="BAPPEDA")
    make_user(name="Sudah Aktif", opd_code="BAPPEDA")
    page = await client.get("/studio/activation")
    assert page.status_code == 200 and "BAPPEDA" in page.text
    form = {"csrf_token": csrf, "opd_code": "BAPPEDA", "channel": "auto", "nips": ""}
    preview = await client.post("/studio/activation", data={**form, "action": "preview"})
    assert preview.status_code == 200
    for key, value in (("total", 4), ("activated", 1), ("email", 1), ("phone", 1), ("neither", 1)):
        assert f'data-count="{key}">{value}<' in preview.text
    assert "email 1, WhatsApp 1, surat 1, dilewati 1" in preview.text
    with session_scope() as session:  # a preview sends nothing
        assert session.scalar(select(func.count()).select_from(AccountToken)) == 0
    sent = await client.post("/studio/activation", data={**form, "action": "send"})
    assert sent.status_code == 200
    assert "3 aktivasi diproses: email 1, WhatsApp 1, surat 1. 1 dilewati." in sent.text
    assert "/studio/activation/letters/" in sent.text
    assert deliver().sent == 2
    no_csrf = await client.post("/studio/activation", data={**form, "csrf_token": "x"})
    assert no_csrf.status_code == 403


async def test_inactive_account_link_is_refused(client: httpx.AsyncClient, mail) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    asn = make_asn(email="nanti.off@example.go.id")
    await _send(client, headers, user_ids=[asn.id], channel="email")
    deliver()
    token = _mailed_token(mail, "nanti.off@example.go.id")
    with session_scope() as session:
        session.execute(update(User).where(User.id == asn.id).values(is_active=False))
    r = await client.post("/api/v1/auth/activate", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 400 and r.json()["error"] == GENERIC


async def test_a_second_activation_of_an_active_account_ends_its_sessions(
    client: httpx.AsyncClient, mail
) -> None:  # type: ignore[no-untyped-def]
    headers = await officer_headers(client)
    user = make_user(email="aktif.lagi@example.go.id")
    old = await api_token(client, user.email or "", PASSWORD)
    await _send(client, headers, user_ids=[user.id], channel="email", resend=True)
    deliver()
    token = _mailed_token(mail, "aktif.lagi@example.go.id")
    r = await client.post("/api/v1/auth/activate", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=old)).status_code == 401
