"""Forgotten and changed passwords: the answer never tells whether an account exists; the reset
link read from the real e-mail works once and ends every session and API token; changing the
password checks the current one (throttled like a login) and ends the other sessions."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select, update

from app.accounts.models import User
from app.auth.models import AccountToken
from app.core.db import session_scope
from app.notifications.models import Notification
from tests.accounts.helpers import (
    ACTIVATION_LINK,
    NEW_PASSWORD,
    RESET_LINK,
    fresh,
    make_asn,
    token_from,
)
from tests.factories import PASSWORD, api_token, browser_login, csrf_from, make_user
from tests.mailsink import text_of
from tests.notifications.helpers import deliver

PHONE = "+6281234567890"


def _without_csrf(html: str) -> str:
    return re.sub(r'(name="csrf[-_]token" (?:content|value)=")[0-9a-f]+', r"\1", html)


async def _forgot(client: httpx.AsyncClient, login: str) -> httpx.Response:
    return await client.post("/api/v1/auth/password-reset", json={"login": login})


async def test_unknown_and_known_logins_get_the_same_answer(
    app, client: httpx.AsyncClient, mail
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(email="ada@example.go.id")
    known = await _forgot(client, user.nip or "")
    unknown = await _forgot(client, "199912312020121001")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert deliver().sent == 1
    assert [m["To"] for m in mail.messages] == [f"{user.name} <ada@example.go.id>"]

    async def page_for(login: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as browser:  # fmt: skip
            form = await browser.get("/password/forgot")
            return await browser.post("/password/forgot",
                                      data={"csrf_token": csrf_from(form.text), "login": login})  # fmt: skip

    known_page = await page_for("ADA@example.go.id")
    unknown_page = await page_for("siapa@example.go.id")
    assert known_page.status_code == unknown_page.status_code == 200
    assert _without_csrf(known_page.text) == _without_csrf(unknown_page.text)
    assert "Bila NIP atau email itu terdaftar" in known_page.text


async def test_reset_link_works_once_and_ends_every_session_and_token(
    app, client: httpx.AsyncClient, mail
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(email="lupa@example.go.id", name="Lupa Sandi")
    old_token = await api_token(client, user.email or "")
    await browser_login(client, user.email or "")  # an old browser session in `client`
    assert (await client.get("/me/password")).status_code == 200

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as phone:  # fmt: skip
        assert (await _forgot(phone, user.nip or "")).status_code == 202
        deliver()
        (msg,) = mail.wait_for(1)
        assert msg["Subject"] == "Atur ulang kata sandi LMS Diklat ASN"
        text = text_of(msg)
        assert "berlaku 60 menit" in text
        token = token_from(RESET_LINK, text)
        form = await phone.get("/password/reset", params={"token": token})
        assert form.status_code == 200 and "Lupa Sandi" in form.text
        done = await phone.post("/password/reset", data={
            "csrf_token": csrf_from(form.text), "token": token, "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        })  # fmt: skip
        assert done.status_code == 303 and done.headers["location"] == "/login?done=reset"
        assert "Kata sandi baru tersimpan" in (await phone.get("/login?done=reset")).text
        again = await phone.post("/api/v1/auth/password-reset/confirm",
                                 json={"token": token, "password": NEW_PASSWORD + "x"})  # fmt: skip
        assert again.status_code == 400 and again.json()["error"] == "invalid_or_expired"
        assert (await phone.get("/password/reset", params={"token": token})).status_code == 400

    assert (await client.get("/api/v1/me", headers=old_token)).status_code == 401
    gone = await client.get("/me/password")  # the old browser session ended too
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    await api_token(client, user.email or "", NEW_PASSWORD)
    refused = await client.post("/api/v1/auth/token",
                                data={"username": user.email, "password": PASSWORD})  # fmt: skip
    assert refused.status_code == 401
    user_after = fresh(user.id)
    assert user_after.email_verified_at is not None

    # The holder is told: in the app and by e-mail.
    with session_scope() as session:
        events = session.scalars(select(Notification.event).where(Notification.user_id == user.id))
        assert "password_changed" in set(events)
    deliver()
    subjects = [m["Subject"] for m in mail.to("lupa@example.go.id")]
    assert "Kata sandi akun LMS Anda diubah" in subjects


async def test_reset_refuses_weak_passwords_and_keeps_the_link(
    client: httpx.AsyncClient, mail
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(email="kuat@example.go.id")
    await _forgot(client, "kuat@example.go.id")
    deliver()
    token = token_from(RESET_LINK, text_of(mail.wait_for(1)[0]))
    weak = await client.post("/api/v1/auth/password-reset/confirm",
                             json={"token": token, "password": f"x{user.nip}"})  # fmt: skip
    assert weak.status_code == 422 and "NIP" in weak.json()["detail"]
    assert weak.json()["field"] == "password"
    ok = await client.post("/api/v1/auth/password-reset/confirm",
                           json={"token": token, "password": NEW_PASSWORD})  # fmt: skip
    assert ok.status_code == 204


async def test_requests_are_throttled_the_same_for_known_and_unknown(
    client: httpx.AsyncClient, settings
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(email="banjir@example.go.id")
    for login in (user.nip or "", "199912312020121001"):
        for _ in range(settings.login_max_failures_per_account):
            assert (await _forgot(client, login)).status_code == 202
        blocked = await _forgot(client, login)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert "atur ulang" in blocked.json()["detail"]


async def test_whatsapp_when_there_is_no_email_and_nothing_for_inactive(
    client: httpx.AsyncClient, whatsapp
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(name="Hanya HP")
    with session_scope() as session:
        session.execute(update(User).where(User.id == user.id).values(email=None, phone=PHONE))
    off = make_user(name="Nonaktif", active=False)
    with session_scope() as session:
        session.execute(update(User).where(User.id == off.id).values(phone="+6281299998888"))
    await _forgot(client, user.nip or "")
    await _forgot(client, off.nip or "")
    assert deliver().sent == 1
    (request,) = whatsapp.wait_for(1)
    assert request["json"]["to"] == "6281234567890"
    token = token_from(RESET_LINK, request["json"]["text"]["body"])
    ok = await client.post("/api/v1/auth/password-reset/confirm",
                           json={"token": token, "password": NEW_PASSWORD})  # fmt: skip
    assert ok.status_code == 204
    assert fresh(user.id).phone_verified_at is not None


async def test_an_account_never_activated_gets_its_activation_link(
    client: httpx.AsyncClient, mail
) -> None:  # type: ignore[no-untyped-def]
    asn = make_asn(email="belum@example.go.id")
    assert (await _forgot(client, asn.nip or "")).status_code == 202
    deliver()
    (msg,) = mail.wait_for(1)
    token = token_from(ACTIVATION_LINK, text_of(msg))
    with session_scope() as session:
        assert session.scalar(select(AccountToken.purpose)) == "activation"
    ok = await client.post("/api/v1/auth/activate", json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 204


# --- changing the password when signed in ----------------------------------------------------


async def test_change_password_checks_the_current_one_and_ends_other_sessions(
    app, client: httpx.AsyncClient, mail, settings
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(email="ganti@example.go.id")
    mine = await api_token(client, user.email or "")
    other = await api_token(client, user.email or "")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as laptop:  # fmt: skip
        await browser_login(laptop, user.email or "")
        wrong = await client.post("/api/v1/me/password", headers=mine,
                                  json={"current_password": "salah-salah-salah",
                                        "new_password": NEW_PASSWORD})  # fmt: skip
        assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
        weak = await client.post("/api/v1/me/password", headers=mine,
                                 json={"current_password": PASSWORD, "new_password": "pendek"})  # fmt: skip
        assert weak.status_code == 422 and weak.json()["field"] == "new_password"
        assert "minimal 10" in weak.json()["detail"]
        ok = await client.post("/api/v1/me/password", headers=mine,
                               json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})  # fmt: skip
        assert ok.status_code == 204
        assert (await client.get("/api/v1/me", headers=mine)).status_code == 200  # kept
        assert (await client.get("/api/v1/me", headers=other)).status_code == 401
        assert (await laptop.get("/me/password")).status_code == 303  # signed out
    await api_token(client, user.email or "", NEW_PASSWORD)
    deliver()
    assert [m["Subject"] for m in mail.to("ganti@example.go.id")] == [
        "Kata sandi akun LMS Anda diubah"
    ]


async def test_wrong_current_passwords_count_as_failed_logins(
    client: httpx.AsyncClient, settings
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(email="tebak@example.go.id")
    headers = await api_token(client, user.email or "")
    body = {"current_password": "bukan-ini-sandinya", "new_password": NEW_PASSWORD}
    for _ in range(settings.login_max_failures_per_account):
        r = await client.post("/api/v1/me/password", headers=headers, json=body)
        assert r.status_code == 422
    blocked = await client.post("/api/v1/me/password", headers=headers,
                                json={**body, "current_password": PASSWORD})  # fmt: skip
    assert blocked.status_code == 429
    login = await client.post("/api/v1/auth/token",
                              data={"username": user.email, "password": PASSWORD})  # fmt: skip
    assert login.status_code == 429


async def test_change_password_page_keeps_this_session(client: httpx.AsyncClient) -> None:
    user = make_user(email="halaman.ganti@example.go.id")
    csrf = await browser_login(client, user.email or "")
    page = await client.get("/me/password")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    form = {"csrf_token": csrf, "current_password": PASSWORD, "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD + "!"}  # fmt: skip
    mismatch = await client.post("/me/password", data=form)
    assert mismatch.status_code == 422 and 'id="e-new_password_confirm"' in mismatch.text
    saved = await client.post("/me/password", data={**form, "new_password_confirm": NEW_PASSWORD})
    assert saved.status_code == 200 and "Kata sandi baru tersimpan" in saved.text
    assert (await client.get("/me/password")).status_code == 200  # still signed in
    no_csrf = await client.post("/me/password", data={**form, "csrf_token": "x"})
    assert no_csrf.status_code == 403


async def test_login_page_links_to_self_service_and_terms_pages_exist(
    client: httpx.AsyncClient,
) -> None:
    login = await client.get("/login")
    assert 'href="/password/forgot"' in login.text and "Lupa kata sandi?" in login.text
    terms = await client.get("/terms")
    privacy = await client.get("/privacy")
    assert terms.status_code == privacy.status_code == 200
    assert "Ketentuan Penggunaan" in terms.text
    assert "Undang-Undang Nomor 27 Tahun 2022" in privacy.text


async def test_very_long_logins_and_codes_are_answered_not_crashed(
    client: httpx.AsyncClient,
) -> None:
    assert (await _forgot(client, "9" * 320)).status_code == 202
    assert (await _forgot(client, "a" * 300 + "@example.go.id")).status_code == 202
    page = await client.get("/activate")
    step = await client.post("/activate/code", data={"csrf_token": csrf_from(page.text),
                                                     "nip": "1" * 500, "code": "X" * 500})  # fmt: skip
    assert step.status_code == 400 and "tidak sah" in step.text
