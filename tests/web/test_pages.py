"""The web shell without a browser: static files, error pages, language switch, dashboard, htmx."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from app.dev.seed import rows_to_csv, synthetic_rows
from app.web.static import IMMUTABLE, manifest, static_url
from tests.factories import PASSWORD, browser_login, csrf_from, make_opd, make_user

# Marked here rather than by tests/conftest.py at collection end: that late marker makes anyio
# rebuild the item and drop `parametrize` arguments (see the report on tests/conftest.py).
pytestmark = pytest.mark.anyio

ASSETS = ["vendor/pico.min.css", "css/app.css", "vendor/htmx.min.js", "js/app.js"]


# --- static files ---------------------------------------------------------------------------


def test_static_urls_carry_a_content_hash() -> None:
    url = static_url("css/app.css")
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{10}\.css", url), url
    assert manifest()["css/app.css"] in url


@pytest.mark.parametrize("asset", ASSETS)
async def test_hashed_static_file_is_immutable(client: httpx.AsyncClient, asset: str) -> None:
    response = await client.get(static_url(asset))
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    expected = "text/css" if asset.endswith(".css") else "javascript"
    assert expected in response.headers["content-type"]
    assert response.content


async def test_pages_link_the_hashed_assets_and_they_load(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert {static_url(a) for a in ASSETS} <= set(links)
    assert all(re.search(r"\.[0-9a-f]{10}\.[a-z]+$", link) for link in links), links
    for link in links:
        assert (await client.get(link)).status_code == 200, link


async def test_plain_static_name_gets_a_short_cache(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "immutable" not in response.headers["cache-control"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/app.0000000000.css",  # a wrong (e.g. stale) hash
        "/static/css/app.ffffffffff.css",
        "/static/css/nope.css",
        "/static/css/nope.0123456789.css",
        "/static/vendor/",
        "/static/../app/main.py",
        "/static/%2e%2e/pyproject.toml",
    ],
)
async def test_wrong_hash_or_unknown_static_file_is_404(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("cache-control", "")


# --- error pages ----------------------------------------------------------------------------


async def test_unknown_page_is_an_indonesian_html_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/halaman-yang-tidak-ada", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="id"' in html
    assert "<h1>Halaman tidak ditemukan</h1>" in html
    assert "Alamat yang Anda buka tidak ada." in html
    assert 'href="/">Kembali ke beranda</a>' in html
    assert response.headers["x-request-id"] in html  # quoted for the help desk
    assert "Traceback" not in html


async def test_unknown_page_in_english(client: httpx.AsyncClient) -> None:
    client.cookies.set("lms_lang", "en")
    response = await client.get("/nope")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.text
    assert "The address you opened does not exist." in response.text


async def test_unknown_api_path_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == "not_found"
    assert body["detail"]


async def test_json_clients_get_json_errors_outside_the_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_unexpected_error_shows_no_stack_trace(app: FastAPI) -> None:
    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        page = await c.get("/boom-for-test")
        api = await c.get("/boom-for-test", headers={"Accept": "application/json"})
    assert page.status_code == 500
    assert "<h1>Terjadi kesalahan pada sistem</h1>" in page.text
    # The request id is quoted for the help desk. (The 500 response itself lacks the
    # X-Request-ID header: Starlette's ServerErrorMiddleware sits outside RequestLogMiddleware.)
    assert re.search(r"Kode permintaan: <code>[0-9a-f]{32}</code>", page.text)
    for leak in ("Traceback", "RuntimeError", "secret internal detail"):
        assert leak not in page.text
        assert leak not in api.text
    assert api.status_code == 500
    assert api.json()["error"] == "internal_error"


async def test_signed_out_page_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/users?opd=BKPSDM")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users%3Fopd%3DBKPSDM"


# --- language switch ------------------------------------------------------------------------


async def test_language_switch_without_csrf_is_403(client: httpx.AsyncClient) -> None:
    await client.get("/login")  # has the anonymous cookie, but posts no token
    response = await client.post("/lang", data={"lang": "en", "next": "/login"})
    assert response.status_code == 403
    assert "lms_lang" not in response.headers.get("set-cookie", "")
    wrong = await client.post("/lang", data={"lang": "en", "csrf_token": "0" * 64})
    assert wrong.status_code == 403


async def test_language_switch_with_csrf_sets_the_cookie(client: httpx.AsyncClient) -> None:
    token = csrf_from((await client.get("/login")).text)
    response = await client.post(
        "/lang", data={"csrf_token": token, "lang": "en", "next": "/login?next=/"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"
    set_cookie = response.headers["set-cookie"]
    assert "lms_lang=en" in set_cookie
    assert "Max-Age=31536000" in set_cookie
    assert client.cookies["lms_lang"] == "en"
    page = await client.get("/login")
    assert "<h1>Sign in</h1>" in page.text
    back = await client.post(
        "/lang", data={"csrf_token": csrf_from(page.text), "lang": "id", "next": "/login"}
    )
    assert back.status_code == 303
    assert "<h1>Masuk</h1>" in (await client.get("/login")).text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
async def test_language_switch_never_redirects_off_site(
    client: httpx.AsyncClient, target: str
) -> None:
    token = csrf_from((await client.get("/login")).text)
    response = await client.post("/lang", data={"csrf_token": token, "lang": "en", "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_unknown_language_is_refused(client: httpx.AsyncClient) -> None:
    token = csrf_from((await client.get("/login")).text)
    response = await client.post("/lang", data={"csrf_token": token, "lang": "fr"})
    assert response.status_code == 422
    assert "lms_lang" not in response.headers.get("set-cookie", "")


async def test_signed_in_choice_is_remembered_on_the_account(client: httpx.AsyncClient) -> None:
    make_user(email="bahasa@example.go.id")
    token = await browser_login(client, "bahasa@example.go.id")
    response = await client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/"})
    assert response.status_code == 303
    client.cookies.clear()  # a new device: the login brings the saved language back
    await browser_login(client, "bahasa@example.go.id")
    assert client.cookies["lms_lang"] == "en"
    assert "Welcome, Dewi Lestari" in (await client.get("/")).text


# --- dashboard ------------------------------------------------------------------------------


async def test_admin_dashboard_has_the_admin_panel_and_links(client: httpx.AsyncClient) -> None:
    make_opd(code="BKPSDM", name="Badan Kepegawaian dan Pengembangan SDM")
    make_user(roles=("admin",), email="admin@example.go.id", name="Admin Sistem", opd_code="BKPSDM")
    await browser_login(client, "admin@example.go.id")
    response = await client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "Selamat datang, Admin Sistem" in html
    assert 'data-role="admin"' in html
    assert "<h2" in html and "Administrasi sistem" in html
    assert 'href="/admin/users"' in html
    assert 'href="/admin/opds"' in html
    assert 'href="/admin/users/import"' in html
    assert 'data-role="learner"' not in html
    assert 'aria-current="page">Beranda</a>' in html
    assert "Badan Kepegawaian dan Pengembangan SDM" in html
    assert (await client.get("/admin/users")).status_code == 200


async def test_learner_dashboard_has_no_admin_links(client: httpx.AsyncClient) -> None:
    user = make_user(roles=("learner",), email="peserta@example.go.id")
    await browser_login(client, "peserta@example.go.id")
    html = (await client.get("/")).text
    assert 'data-role="learner"' in html
    assert "Pembelajaran saya" in html
    assert 'data-role="admin"' not in html
    assert "/admin/users" not in html
    assert "/admin/opds" not in html
    assert f"NIP {user.nip}" in html
    forbidden = await client.get("/admin/users")
    assert forbidden.status_code == 403
    assert "<h1>Akses ditolak</h1>" in forbidden.text


async def test_each_role_sees_its_own_panels(client: httpx.AsyncClient) -> None:
    make_user(roles=("mentor", "learner"), email="mentor@example.go.id")
    await browser_login(client, "mentor@example.go.id")
    html = (await client.get("/")).text
    roles = re.findall(r'data-role="([a-z_]+)"', html)
    assert roles == ["learner", "mentor"]


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    make_user(email="keluar@example.go.id")
    token = await browser_login(client, "keluar@example.go.id")
    assert ">Keluar</button>" in (await client.get("/")).text
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    home = await client.get("/")
    assert home.status_code == 303
    assert home.headers["location"].startswith("/login")


# --- htmx -----------------------------------------------------------------------------------

HX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


async def test_htmx_get_still_renders_the_page(client: httpx.AsyncClient) -> None:
    make_user(roles=("admin",), email="hx@example.go.id")
    await browser_login(client, "hx@example.go.id")
    for path in ("/", "/admin/users", "/admin/users/import"):
        response = await client.get(path, headers=HX)
        assert response.status_code == 200, path
        assert '<main id="main"' in response.text  # hx-select="main" finds its target


async def test_htmx_signed_out_gets_the_login_redirect(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers=HX)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_htmx_post_carries_csrf_in_the_header(client: httpx.AsyncClient) -> None:
    """app.js puts the page's token in X-CSRF-Token for every htmx request."""
    make_user(roles=("admin",), email="hx2@example.go.id")
    token = await browser_login(client, "hx2@example.go.id")
    body = {"code": "DINSOS", "name": "Dinas Sosial"}
    refused = await client.post("/admin/opds", data=body, headers=HX)
    assert refused.status_code == 403
    ok = await client.post("/admin/opds", data=body, headers={**HX, "X-CSRF-Token": token})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/admin/opds?created=1"


async def test_htmx_roster_upload_swaps_in_the_result(client: httpx.AsyncClient) -> None:
    make_opd(code="DISKOMINFO")
    make_user(roles=("admin",), email="hx3@example.go.id")
    token = await browser_login(client, "hx3@example.go.id")
    csv_bytes = rows_to_csv(synthetic_rows(3, ["DISKOMINFO"], seed=7))
    response = await client.post(
        "/admin/users/import",
        files={"file": ("asn.csv", csv_bytes, "text/csv")},
        headers={**HX, "X-CSRF-Token": token},
    )
    assert response.status_code == 200, response.text
    assert 'id="import-result"' in response.text
    assert "3 pengguna baru, 0 diperbarui, 0 baris dilewati." in response.text
    bad = await client.post(
        "/admin/users/import",
        files={"file": ("asn.csv", b"NIP,Nama\n123,X\n", "text/csv")},
        headers={**HX, "X-CSRF-Token": token},
    )
    assert bad.status_code == 422  # app.js swaps 422 in, so the user sees what is wrong
    assert 'class="alert"' in bad.text


async def test_wrong_login_stays_on_the_login_page(client: httpx.AsyncClient) -> None:
    make_user(email="salah@example.go.id")
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "username": "salah@example.go.id",
            "password": PASSWORD + "x",
        },
    )
    assert response.status_code == 401
    assert "NIP/email atau kata sandi salah." in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="salah@example.go.id"' in response.text
