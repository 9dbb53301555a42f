"""Browser sessions: cookie flags, rotation, timeouts, logout, deactivation and CSRF."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import update

from app.auth.models import WebSession
from app.core.db import session_scope, utcnow
from tests.factories import PASSWORD, browser_login, csrf_from, make_user


async def test_login_sets_httponly_lax_cookie_and_rotates_session(
    client: httpx.AsyncClient,
) -> None:
    user = make_user()
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "username": user.email, "password": PASSWORD},
    )
    assert response.status_code == 303
    set_cookie = response.headers["set-cookie"]
    assert "lms_session=" in set_cookie
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie.replace("samesite", "SameSite")
    assert "Secure" not in set_cookie  # base URL is http in tests
    first = client.cookies["lms_session"]
    # Logging in again (e.g. as someone else on a shared phone) gives a new id; the old one dies.
    token = csrf_from((await client.get("/")).text)
    await client.post(
        "/login", data={"csrf_token": token, "username": user.email, "password": PASSWORD}
    )
    second = client.cookies["lms_session"]
    assert second != first
    client.cookies.set("lms_session", first)
    assert (await client.get("/")).status_code == 303  # redirected to the login page


async def test_secure_cookie_when_base_url_is_https(
    client: httpx.AsyncClient, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "base_url", "https://lms.example.go.id")
    user = make_user()
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "username": user.email, "password": PASSWORD},
    )
    assert "Secure" in response.headers["set-cookie"]


async def test_login_form_without_csrf_is_403(client: httpx.AsyncClient) -> None:
    user = make_user()
    await client.get("/login")
    response = await client.post("/login", data={"username": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert "lms_session" not in response.headers.get("set-cookie", "")


async def test_state_changing_request_with_session_needs_csrf(client: httpx.AsyncClient) -> None:
    make_user(roles=("admin",), email="admin@example.go.id")
    token = await browser_login(client, "admin@example.go.id")
    body = {"code": "BAPPEDA", "name": "Badan Perencanaan"}
    missing = await client.post("/api/v1/opds", json=body)
    assert missing.status_code == 403
    assert missing.json()["error"] == "csrf_failed"
    wrong = await client.post("/api/v1/opds", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    ok = await client.post("/api/v1/opds", json=body, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201
    form = await client.post("/admin/opds", data={"code": "DINSOS", "name": "Dinas Sosial"})
    assert form.status_code == 403
    form_ok = await client.post(
        "/admin/opds", data={"csrf_token": token, "code": "DINSOS", "name": "Dinas Sosial"}
    )
    assert form_ok.status_code == 303


async def test_wrong_password_page_says_so_and_throttles(
    client: httpx.AsyncClient, settings
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    for _ in range(settings.login_max_failures_per_account):
        page = await client.get("/login")
        r = await client.post(
            "/login",
            data={"csrf_token": csrf_from(page.text), "username": user.email, "password": "keliru"},
        )
        assert r.status_code == 401
        assert "NIP/email atau kata sandi salah." in r.text
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "username": user.email, "password": PASSWORD},
    )
    assert r.status_code == 429
    assert "Terlalu banyak percobaan" in r.text
    assert int(r.headers["Retry-After"]) > 0


async def test_logout_ends_every_session_of_the_user(app, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.11", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as phone:
        await browser_login(phone, user.email)
        token = await browser_login(client, user.email)
        r = await client.post("/logout", data={"csrf_token": token})
        assert r.status_code == 303
        assert (await client.get("/")).status_code == 303
        assert (await phone.get("/")).status_code == 303


async def test_idle_and_absolute_timeouts(client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    await browser_login(client, user.email)
    assert (await client.get("/")).status_code == 200
    idle = utcnow() - dt.timedelta(minutes=settings.session_idle_minutes + 1)
    with session_scope() as s:
        s.execute(update(WebSession).values(last_seen_at=idle))
    assert (await client.get("/")).status_code == 303

    await browser_login(client, user.email)
    with session_scope() as s:
        s.execute(update(WebSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    assert (await client.get("/")).status_code == 303


async def test_deactivation_ends_browser_sessions(client: httpx.AsyncClient, app) -> None:  # type: ignore[no-untyped-def]
    make_user(roles=("admin",), email="admin@example.go.id")
    user = make_user(email="asn@example.go.id")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.12", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as learner:
        await browser_login(learner, "asn@example.go.id")
        token = await browser_login(client, "admin@example.go.id")
        r = await client.post(
            f"/admin/users/{user.id}",
            data={"csrf_token": token, "name": user.name, "roles": "learner", "employment": "PNS"},
        )
        assert r.status_code == 303, r.text
        assert (await learner.get("/")).status_code == 303


async def test_login_redirects_only_to_local_paths(client: httpx.AsyncClient) -> None:
    user = make_user()
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "username": user.email,
            "password": PASSWORD,
            "next": "//evil.example/phish",
        },
    )
    assert r.headers["location"] == "/"


async def test_unauthenticated_page_redirects_to_login_with_next(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/users?q=budi")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/admin/users%3Fq%3Dbudi"


async def test_learner_gets_403_page_on_admin_pages(client: httpx.AsyncClient) -> None:
    user = make_user()
    await browser_login(client, user.email)
    r = await client.get("/admin/users")
    assert r.status_code == 403
    assert "Akses ditolak" in r.text
    assert "Traceback" not in r.text
