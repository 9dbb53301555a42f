"""SCORM on a separate content origin (app/courses/content_origin.py): capability tokens instead
of cookies, routing by Host, and the headers content responses carry.

The in-process tests run with LMS_BASE_URL=http://testserver, so the content origin is derived
as http://testserver:81 (same host name: fine for routing tests; the browser test checks the real
127.0.0.1 / localhost split)."""

from __future__ import annotations

import time

import httpx
import pytest

from app.core.config import Settings
from app.courses import content_origin
from tests.courses.test_scorm_api import _scorm_course
from tests.factories import api_token, browser_login, enrol, make_run, make_user

CONTENT = "http://testserver:81"


def _settings(**values: object) -> Settings:
    base = {"environment": "test", "secret_key": "k" * 40}
    return Settings(**{**base, **values})  # type: ignore[arg-type]


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "explicit", "expected"),
    [
        ("http://127.0.0.1:8000", None, "http://localhost:8001"),
        ("http://localhost:8000", None, "http://127.0.0.1:8001"),
        ("http://127.0.0.1", None, "http://localhost:81"),
        ("https://lms.example.go.id", "https://Konten.LMS.example.go.id/", "https://konten.lms.example.go.id"),
        ("http://127.0.0.1:8000", "http://localhost:9000", "http://localhost:9000"),
    ],
)  # fmt: skip
def test_the_content_origin_is_another_host_name_by_default(
    base_url: str, explicit: str | None, expected: str
) -> None:
    settings = _settings(base_url=base_url, content_origin=explicit)
    assert settings.content_origin == expected
    assert content_origin.problem(settings) is None


@pytest.mark.parametrize(
    "bad", ["konten.example.go.id", "ftp://konten.example.go.id", "https://k.example.go.id/path",
            "https://user@k.example.go.id", "https://k.example.go.id:99999"],
)  # fmt: skip
def test_a_malformed_content_origin_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="LMS_CONTENT_ORIGIN"):
        _settings(content_origin=bad)


def test_the_same_host_name_is_refused_in_production_and_warned_elsewhere() -> None:
    with pytest.raises(ValueError, match="another host name"):
        _settings(
            environment="production", base_url="https://lms.example.go.id",
            content_origin="https://lms.example.go.id:8443",
        )  # fmt: skip
    shared = _settings(base_url="http://lms.local:8000")  # no loopback name to swap to
    assert shared.content_origin == "http://lms.local:8001"
    assert "same host name" in (content_origin.problem(shared) or "")


def test_lms_serve_listens_on_the_content_port_only_for_a_local_origin() -> None:
    local = _settings(base_url="http://127.0.0.1:8000")
    assert content_origin.embedded_port(local, 8000) == 8001
    assert content_origin.embedded_port(local, 8002) is None  # a second process, not base_url's
    proxied = _settings(
        base_url="https://lms.example.go.id", content_origin="https://konten.lms.example.go.id"
    )
    assert content_origin.embedded_port(proxied, 8000) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [("testserver:81", True), ("TestServer:81", True), ("testserver", False),
     ("testserver:80", False), ("evil:81", False), ("testserver:x", False), ("", False)],
)  # fmt: skip
def test_routing_by_host_compares_host_and_port(host: str, expected: bool) -> None:
    settings = _settings(base_url="http://testserver")
    assert content_origin.is_content_host(host, settings) is expected


# --- tokens -------------------------------------------------------------------------------------


def test_tokens_bind_user_package_and_expiry() -> None:
    settings = _settings()
    now = 1_800_000_100.0  # 100 s into an hour
    token = content_origin.mint(7, 42, settings, now=now)
    cap = content_origin.read(token, settings, now=now)
    assert cap is not None and (cap.user_id, cap.package_id) == (7, 42)
    # Rounded up to the hour: the same URLs for every launch in that hour (browser cache).
    assert cap.expires % 3600 == 0
    assert now + settings.content_link_minutes * 60 <= cap.expires
    assert content_origin.mint(7, 42, settings, now=now + 1) == token
    assert content_origin.read(token, settings, now=cap.expires) is None  # expired
    user, package, expires, sig = token.split(".")
    for forged in (
        f"8.{package}.{expires}.{sig}",  # another user
        f"{user}.43.{expires}.{sig}",  # another package
        f"{user}.{package}.{int(expires) + 3600}.{sig}",  # a longer life
        f"{user}.{package}.{expires}.{'0' * len(sig)}",
        f"{user}.{package}.{expires}",
        "١.42.9999999999." + sig,  # a Unicode digit
        "",
    ):
        assert content_origin.read(forged, settings, now=now) is None, forged
    other_key = _settings(secret_key="z" * 40)
    assert content_origin.read(token, other_key, now=now) is None


# --- the content app ----------------------------------------------------------------------------


async def _launch(client: httpx.AsyncClient) -> dict[str, object]:
    course_id, activity_id = await _scorm_course(client)
    member, outsider = make_user(), make_user()
    enrol(make_run(course_id), member.id)
    member_h = await api_token(client, member.email or "")
    launch = await client.get(f"/api/v1/activities/{activity_id}/content", headers=member_h)
    assert launch.status_code == 307, launch.text
    url = launch.headers["location"]
    token, package_id, path = url.removeprefix(f"{CONTENT}/c/").split("/", 2)
    return {
        "url": url, "token": token, "package_id": int(package_id), "path": path,
        "member": member, "outsider": outsider, "member_h": member_h, "activity_id": activity_id,
    }  # fmt: skip


def _no_cookie(response: httpx.Response) -> None:
    assert "set-cookie" not in response.headers, (response.url, response.headers)


async def test_the_launcher_and_files_need_only_the_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    got = await _launch(client)
    token, package_id = got["token"], got["package_id"]

    launcher = await client.get(f"{CONTENT}/c/{token}/launch")
    assert launcher.status_code == 200, launcher.text
    csp = launcher.headers["content-security-policy"]
    assert "frame-ancestors http://testserver" in csp and "script-src 'self'" in csp
    assert f'data-sco-url="{got["url"]}"' in launcher.text
    assert 'data-lms-origin="http://testserver"' in launcher.text
    scripts = [s for s in launcher.text.split('"') if s.startswith("/static/")]
    assert len(scripts) == 2
    for script in scripts:  # served by the content origin itself (CSP script-src 'self')
        asset = await client.get(f"{CONTENT}{script}")
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        _no_cookie(asset)

    page = await client.get(got["url"])  # type: ignore[arg-type]
    assert page.status_code == 200 and b"<html" in page.content.lower()
    csp = page.headers["content-security-policy"]
    assert "connect-src 'self'" in csp and "frame-ancestors 'self' http://testserver" in csp
    assert page.headers["referrer-policy"] == "same-origin"
    head = await client.head(got["url"])  # type: ignore[arg-type]
    assert head.status_code == 200 and head.headers["content-length"] == str(len(page.content))
    ranged = await client.get(got["url"], headers={"Range": "bytes=0-9"})  # type: ignore[arg-type]
    assert ranged.status_code == 206 and ranged.content == page.content[:10]
    # A revalidation keeps the CSP: a 304's headers replace the cached response's, and the LMS's
    # own page policy (frame-ancestors 'self') would then block the package in its frame.
    again = await client.get(got["url"], headers={"If-None-Match": page.headers["etag"]})  # type: ignore[arg-type]
    assert again.status_code == 304
    assert again.headers["content-security-policy"] == page.headers["content-security-policy"]
    for response in (launcher, page, head, ranged, again):
        _no_cookie(response)

    missing = await client.get(f"{CONTENT}/c/{token}/{package_id}/no/such/file.html")
    assert missing.status_code == 404
    _no_cookie(missing)
    # The package id in the path is read as ASCII digits only, like every id the LMS reads.
    arabic = "".join(chr(0x0660 + int(d)) for d in str(package_id))
    assert (await client.get(f"{CONTENT}/c/{token}/{arabic}/{got['path']}")).status_code == 404


async def test_content_routes_refuse_missing_forged_expired_and_other_users_tokens(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    got = await _launch(client)
    token, package_id, path = got["token"], got["package_id"], got["path"]
    member, outsider = got["member"], got["outsider"]
    user, package, expires, sig = str(token).split(".")
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    other_package = make_user()  # any id that is not this package's
    expired = content_origin.mint(member.id, int(package_id), settings, now=time.time() - 86_400)  # type: ignore[attr-defined]
    refused = {
        "no token": f"{CONTENT}/c/{package_id}/{path}",
        "empty token": f"{CONTENT}/c//{package_id}/{path}",
        "forged signature": f"{CONTENT}/c/{user}.{package}.{expires}.{flipped}/{package_id}/{path}",
        "forged user": f"{CONTENT}/c/{outsider.id}.{package}.{expires}.{sig}/{package_id}/{path}",  # type: ignore[attr-defined]
        "expired": f"{CONTENT}/c/{expired}/{package_id}/{path}",
        "not enrolled": f"{CONTENT}/c/"
        + content_origin.mint(outsider.id, int(package_id), settings)  # type: ignore[attr-defined]
        + f"/{package_id}/{path}",
        "another package": f"{CONTENT}/c/{token}/{int(package_id) + other_package.id}/{path}",
        "launcher, forged": f"{CONTENT}/c/{user}.{package}.{expires}.{flipped}/launch",
        "launcher, expired": f"{CONTENT}/c/{expired}/launch",
        "launcher, not enrolled": f"{CONTENT}/c/"
        + content_origin.mint(outsider.id, int(package_id), settings)  # type: ignore[attr-defined]
        + "/launch",
    }
    statuses = {}
    for name, url in refused.items():
        response = await client.get(url)
        statuses[name] = response.status_code
        _no_cookie(response)
        assert b"<html" not in response.content.lower()  # no package bytes
    assert all(status in (403, 404) for status in statuses.values()), statuses
    assert statuses["forged signature"] == statuses["expired"] == statuses["not enrolled"] == 403

    # A deactivated account's links stop at once, before they expire.
    from app.accounts.models import User
    from app.core.db import session_scope

    with session_scope() as session:
        row = session.get(User, member.id)  # type: ignore[attr-defined]
        assert row is not None
        row.is_active = False
    assert (await client.get(str(got["url"]))).status_code == 403


async def test_lms_routes_are_not_found_on_the_content_host_and_vice_versa(
    client: httpx.AsyncClient,
) -> None:
    got = await _launch(client)
    member_h = got["member_h"]
    assert isinstance(member_h, dict)
    for path in ("/", "/login", "/api/v1/me", "/api/v1/openapi.json", "/healthz",
                 "/static/css/app.css", f"/activities/{got['activity_id']}"):  # fmt: skip
        response = await client.get(f"{CONTENT}{path}", headers=member_h)
        assert response.status_code == 404, (path, response.status_code)
        _no_cookie(response)
    for path in (
        f"/c/{got['token']}/launch",
        f"/c/{got['token']}/{got['package_id']}/{got['path']}",
    ):
        response = await client.get(f"http://testserver{path}", headers=member_h)
        assert response.status_code == 404, (path, response.status_code)
    assert (await client.get("http://testserver/api/v1/me", headers=member_h)).status_code == 200


async def test_the_session_cookie_and_bearer_tokens_open_nothing_on_the_content_host(
    client: httpx.AsyncClient,
) -> None:
    got = await _launch(client)
    member = got["member"]
    await browser_login(client, member.email or "")  # type: ignore[attr-defined]
    assert (await client.get("http://testserver/api/v1/me")).status_code == 200
    # httpx, like a browser, sends the host's cookies to every port: the content host gets the
    # session cookie and ignores it (the Cookie header is removed before the content app runs).
    no_token = f"{CONTENT}/c/-/{got['package_id']}/{got['path']}"
    with_cookie = await client.get(no_token)
    assert "lms_session=" in with_cookie.request.headers.get("cookie", "")  # sent, and ignored
    assert with_cookie.status_code == 403
    assert (await client.get(f"{CONTENT}/api/v1/me")).status_code == 404
    bearer = await client.get(no_token, headers=got["member_h"])  # type: ignore[arg-type]
    assert bearer.status_code == 403
    _no_cookie(bearer)


async def test_the_player_page_frames_the_launcher_of_the_attempts_package(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    got = await _launch(client)
    page = await client.get(f"/activities/{got['activity_id']}", headers=got["member_h"])  # type: ignore[arg-type]
    assert page.status_code == 200
    assert f'data-content-origin="{CONTENT}"' in page.text
    assert f'data-src="{CONTENT}/c/' in page.text and "/launch" in page.text
    assert 'sandbox="allow-scripts allow-same-origin' in page.text
    assert "allow-top-navigation" not in page.text
    token = page.text.split(f'data-src="{CONTENT}/c/', 1)[1].split("/", 1)[0]
    cap = content_origin.read(token, settings)
    assert cap is not None
    assert (cap.user_id, cap.package_id) == (got["member"].id, got["package_id"])  # type: ignore[attr-defined]


async def test_the_session_cookie_is_host_only(client: httpx.AsyncClient) -> None:
    """No Domain attribute: the cookie never reaches another host name (such as the content
    origin's, even a sibling like konten.lms.example.go.id)."""
    user = make_user()
    page = await client.get("/login")
    from tests.factories import PASSWORD, csrf_from

    response = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "username": user.email or "",
              "password": PASSWORD, "next": "/"},
    )  # fmt: skip
    cookies = response.headers.get_list("set-cookie")
    session = [c for c in cookies if c.startswith("lms_session=")]
    assert session, (response.status_code, cookies)
    assert "domain=" not in session[0].lower()
