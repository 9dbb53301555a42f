"""Single sign-on against a real OpenID Connect provider (panva's oidc-provider in node on
127.0.0.1): NIP mapping, refusals (audience, replayed state, other browser, unknown NIP),
auto-provisioning, local passwords switched off and RP-initiated logout.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import select

from app.accounts.models import User
from app.auth import sso
from app.auth.models import SsoIdentity, SsoLoginState, WebSession
from app.core.config import OidcProvider
from app.core.db import session_scope
from app.core.errors import Forbidden
from tests.factories import PASSWORD, csrf_from, make_opd, make_user
from tests.oidc.server import oidc_provider
from tests.ports import free_port

LMS_CLIENT = {"client_id": "lms-diklat", "client_secret": "rahasia-klien-lms-uji-0123456789"}
OTHER_CLIENT = {"client_id": "aplikasi-lain", "client_secret": "rahasia-aplikasi-lain-0123456789"}
OTHER_REDIRECT = "http://127.0.0.1:9/aplikasi-lain/callback"  # never reached: read from Location
PROVIDERS = ("kabupaten", "otomatis", "khusus-sso")

DEWI_NIP = "199001012015032001"
BARU_NIP = "198805122014031003"
ACCOUNTS: dict[str, dict[str, Any]] = {
    "asn-dewi": {
        "nip": DEWI_NIP,
        "name": "Dewi Lestari",
        "email": "dewi.sso@example.go.id",
        "email_verified": True,
        "opd": "DISKOMINFO",
    },
    "asn-baru": {
        "nip": "1988 0512 201403 1 003",  # printed with spaces: normalised before the look-up
        "name": "Bayu Pratama",
        "email": "bayu@example.go.id",
        "opd": "dinkes",
    },
    "asn-opd-asing": {
        "nip": "199203152019022004",
        "name": "Sari Wulandari",
        "opd": "TIDAK-ADA",
    },
    "tanpa-nip": {"name": "Pegawai Kontrak"},
}


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    clients = [
        {
            **LMS_CLIENT,
            "redirect_uris": [f"http://testserver/auth/callback/{name}" for name in PROVIDERS],
            "post_logout_redirect_uris": ["http://testserver/login"],
        },
        {**OTHER_CLIENT, "redirect_uris": [OTHER_REDIRECT]},
    ]
    with oidc_provider(clients=clients, accounts=ACCOUNTS) as url:
        yield url
    sso.forget_cache()


def provider(issuer: str, name: str = "kabupaten", **changes: Any) -> OidcProvider:
    fields: dict[str, Any] = {
        "name": name,
        "label": {"kabupaten": "SSO Kabupaten"}.get(name, f"SSO {name}"),
        "discovery_url": f"{issuer}/.well-known/openid-configuration",
        **LMS_CLIENT,
    }
    return OidcProvider(**{**fields, **changes})


@pytest.fixture
def configured(issuer: str, settings, monkeypatch) -> list[OidcProvider]:  # type: ignore[no-untyped-def]
    """Three LMS providers on the same IdP client: plain, auto-provisioning, SSO-only."""
    providers = [
        provider(issuer),
        provider(issuer, "otomatis", auto_provision=True, opd_claim="opd"),
        provider(issuer, "khusus-sso", local_password=False),
    ]
    monkeypatch.setattr(settings, "oidc_providers", providers)
    return providers


@pytest.fixture
async def idp() -> AsyncIterator[httpx.AsyncClient]:
    """The browser's side at the provider: its own cookies, redirects followed by hand."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as c:
        yield c


async def sign_in_at_provider(idp: httpx.AsyncClient, authorize_url: str, account: str) -> str:
    """Follow the provider's redirects, submit its sign-in form; return where it sends the
    browser back (the client's redirect URI with code and state)."""
    response = await idp.get(authorize_url)
    for _step in range(10):
        if response.status_code in (302, 303):
            target = str(response.url.join(response.headers["location"]))
            if not target.startswith(str(response.url.copy_with(path="/", query=None))):
                return target  # left the provider: back to the client
            response = await idp.get(target)
            continue
        assert response.status_code == 200, response.text
        action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        assert action, response.text
        assert 'name="prompt" value="login"' in response.text
        response = await idp.post(
            str(response.url.join(unescape(action.group(1)))),
            data={"prompt": "login", "login": account, "password": "apa-saja"},
        )
    raise AssertionError("the provider never redirected back")


async def sso_callback_url(
    lms: httpx.AsyncClient,
    idp: httpx.AsyncClient,
    account: str,
    *,
    name: str = "kabupaten",
    next: str | None = None,
) -> str:
    idp.cookies.clear()  # a fresh sign-in at the provider, not its remembered session
    start = await lms.get(f"/login/sso/{name}", params={"next": next} if next else None)
    assert start.status_code == 303, start.text
    callback = await sign_in_at_provider(idp, start.headers["location"], account)
    assert callback.startswith(f"http://testserver/auth/callback/{name}?"), callback
    return callback


def identities() -> list[tuple[str, str, int]]:
    with session_scope() as s:
        rows = s.execute(select(SsoIdentity.provider, SsoIdentity.subject, SsoIdentity.user_id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


# --- the login page -----------------------------------------------------------------------------


async def test_login_page_lists_configured_providers(
    client: httpx.AsyncClient, configured: list[OidcProvider], settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    page = await client.get("/login", params={"next": "/my/jp"})
    assert page.status_code == 200
    for p in configured:
        assert f"Masuk dengan {p.label}" in page.text
        assert f'action="/login/sso/{p.name}"' in page.text
    # The SSO buttons carry the page the user was going to.
    assert page.text.count('name="next" value="/my/jp"') == 1 + len(configured)
    monkeypatch.setattr(settings, "oidc_providers", [])
    plain = await client.get("/login")
    assert "Masuk dengan" not in plain.text and "/login/sso/" not in plain.text


async def test_unknown_provider_is_404(
    client: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    assert (await client.get("/login/sso/tidak-ada")).status_code == 404
    assert (await client.get("/auth/callback/tidak-ada?code=x&state=y")).status_code == 404


# --- signing in -------------------------------------------------------------------------------


async def test_sso_login_lands_in_the_account_with_the_same_nip(
    client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    # Same name, other NIP: SSO must never pick an account by name.
    make_user(name="Dewi Lestari", nip="199107072016022001", email="dewi.lain@example.go.id")
    dewi = make_user(name="Dewi Lestari, S.Kom.", nip=DEWI_NIP, email="dewi@example.go.id")
    callback = await sso_callback_url(client, idp, "asn-dewi", next="/my/jp")
    query = parse_qs(urlsplit(callback).query)
    assert query["iss"] == [configured[0].discovery_url.split("/.well-known")[0]]
    landed = await client.get(callback)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/my/jp"
    assert "HttpOnly" in landed.headers["set-cookie"]
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["id"] == dewi.id and me.json()["nip"] == DEWI_NIP
    home = await client.get("/")
    assert "Dewi Lestari, S.Kom." in home.text
    assert identities() == [("kabupaten", "asn-dewi", dewi.id)]
    with session_scope() as s:
        web = s.execute(select(WebSession)).scalar_one()
        assert web.user_id == dewi.id and web.sso_provider == "kabupaten"
        assert web.id_token and web.id_token.count(".") == 2
        assert s.execute(select(SsoLoginState)).first() is None  # used state is gone
        assert s.get(User, dewi.id).last_login_at is not None  # type: ignore[union-attr]


async def test_second_login_reuses_the_link_and_unsafe_next_goes_home(
    client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    dewi = make_user(nip=DEWI_NIP)
    for _ in range(2):
        callback = await sso_callback_url(client, idp, "asn-dewi", next="//evil.example/x")
        landed = await client.get(callback)
        assert landed.status_code == 303 and landed.headers["location"] == "/"
    assert identities() == [("kabupaten", "asn-dewi", dewi.id)]


async def test_replayed_state_is_refused(
    client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    make_user(nip=DEWI_NIP)
    callback = await sso_callback_url(client, idp, "asn-dewi")
    assert (await client.get(callback)).status_code == 303
    client.cookies.delete("lms_session")
    replay = await client.get(callback)
    assert replay.status_code == 403
    assert "tidak dikenal atau sudah dipakai" in replay.text
    assert "Masuk dengan SSO Kabupaten" in replay.text  # the login page, to try again
    assert "lms_session" not in replay.headers.get("set-cookie", "")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_state_started_in_another_browser_is_refused(
    app, client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:  # type: ignore[no-untyped-def]
    make_user(nip=DEWI_NIP)
    callback = await sso_callback_url(client, idp, "asn-dewi")
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await other.get("/login/sso/kabupaten")  # even with a binding cookie of its own
        stolen = await other.get(callback)
        assert stolen.status_code == 403
        assert "dimulai di peramban lain" in stolen.text
        assert (await other.get("/api/v1/me")).status_code == 401
    # The state is spent: the browser that started it cannot finish it after the attempt either.
    assert (await client.get(callback)).status_code == 403


async def test_unknown_nip_is_refused_with_a_clear_message(
    client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    make_user(name="Bayu Pratama")  # a namesake is not a match
    callback = await sso_callback_url(client, idp, "asn-baru")
    refused = await client.get(callback)
    assert refused.status_code == 403
    assert f"NIP {BARU_NIP} belum terdaftar di LMS" in refused.text
    assert (await client.get("/api/v1/me")).status_code == 401
    assert identities() == []


async def test_missing_nip_claim_and_inactive_account_are_refused(
    client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    refused = await client.get(await sso_callback_url(client, idp, "tanpa-nip"))
    assert refused.status_code == 403
    assert "tidak mengirim NIP (klaim &#39;nip&#39;)" in refused.text
    make_user(nip=DEWI_NIP, active=False)
    inactive = await client.get(await sso_callback_url(client, idp, "asn-dewi"))
    assert inactive.status_code == 403
    assert "Akun Anda dinonaktifkan" in inactive.text


async def test_auto_provisioning_creates_a_learner_in_the_opd_of_the_claim(
    client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    make_opd(code="DINKES", name="Dinas Kesehatan")
    landed = await client.get(await sso_callback_url(client, idp, "asn-baru", name="otomatis"))
    assert landed.status_code == 303, landed.text
    me = (await client.get("/api/v1/me")).json()
    assert me["nip"] == BARU_NIP
    assert me["name"] == "Bayu Pratama" and me["email"] == "bayu@example.go.id"
    assert me["roles"] == ["learner"]
    assert me["opd"] == {"code": "DINKES", "name": "Dinas Kesehatan"}
    assert me["employment"] == "PNS"
    # An OPD code the LMS does not know: the account is made without an OPD (admin sets it).
    client.cookies.clear()
    idp.cookies.clear()
    landed = await client.get(await sso_callback_url(client, idp, "asn-opd-asing", name="otomatis"))
    assert landed.status_code == 303, landed.text
    other = (await client.get("/api/v1/me")).json()
    assert other["nip"] == "199203152019022004" and other["opd"] is None
    assert other["email"] is None and other["roles"] == ["learner"]


async def test_local_password_off_blocks_password_login_for_sso_users(
    client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    dewi = make_user(nip=DEWI_NIP)
    # Before any SSO login the password still works.
    token = await client.post(
        "/api/v1/auth/token", data={"username": DEWI_NIP, "password": PASSWORD}
    )
    assert token.status_code == 200
    landed = await client.get(await sso_callback_url(client, idp, "asn-dewi", name="khusus-sso"))
    assert landed.status_code == 303
    refused = await client.post(
        "/api/v1/auth/token", data={"username": DEWI_NIP, "password": PASSWORD}
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "sso_required"
    assert "Masuk dengan SSO khusus-sso" in refused.json()["detail"]
    client.cookies.clear()
    page = await client.get("/login")
    form = await client.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "username": dewi.email, "password": PASSWORD},
    )
    assert form.status_code == 403
    assert "Akun ini masuk melalui SSO" in form.text
    assert "lms_session" not in form.headers.get("set-cookie", "")
    # A wrong password still reads as a wrong password (nothing is revealed without it).
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": DEWI_NIP, "password": "bukan-ini-123"}
    )
    assert wrong.status_code == 401


async def test_password_still_works_after_sso_where_local_passwords_stay_on(
    client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    make_user(nip=DEWI_NIP)
    assert (await client.get(await sso_callback_url(client, idp, "asn-dewi"))).status_code == 303
    token = await client.post(
        "/api/v1/auth/token", data={"username": DEWI_NIP, "password": PASSWORD}
    )
    assert token.status_code == 200


# --- the provider's answers -------------------------------------------------------------------


async def test_provider_error_and_foreign_issuer_are_refused(
    client: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    for extra, message in (
        ({"error": "access_denied", "error_description": "End-User aborted interaction"},
         "Penyedia SSO menolak permintaan masuk: End-User aborted interaction"),
        ({"code": "abc", "iss": "https://idp.lain.example"}, "datang dari penyedia lain"),
        ({"code": "abc"}, "datang dari penyedia lain"),  # it advertises RFC 9207 but omits iss
    ):  # fmt: skip
        start = await client.get("/login/sso/kabupaten")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        refused = await client.get("/auth/callback/kabupaten", params={"state": state, **extra})
        assert refused.status_code == 403
        assert message in refused.text


async def test_unreachable_provider_shows_the_login_page_with_the_reason(
    client: httpx.AsyncClient, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    down = OidcProvider(
        name="mati",
        label="SSO Mati",
        discovery_url=f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration",
        client_id="x",
        timeout_seconds=2,
    )
    monkeypatch.setattr(settings, "oidc_providers", [down])
    response = await client.get("/login/sso/mati")
    assert response.status_code == 503
    assert "Penyedia SSO SSO Mati tidak dapat dihubungi" in response.text
    assert 'id="username"' in response.text  # the password form is right there


async def _token_for_other_client(issuer: str, idp: httpx.AsyncClient, nonce: str) -> str:
    """Act as another application registered at the same provider: its own code flow (PKCE) and
    token request; returns the ID token the provider issued to that application."""
    verifier = generate_token(64)
    authorize = httpx.URL(f"{issuer}/auth").copy_merge_params(
        {
            "client_id": OTHER_CLIENT["client_id"],
            "response_type": "code",
            "scope": "openid profile",
            "redirect_uri": OTHER_REDIRECT,
            "state": generate_token(20),
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    back = await sign_in_at_provider(idp, str(authorize), "asn-dewi")
    code = parse_qs(urlsplit(back).query)["code"][0]
    token = await idp.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": OTHER_REDIRECT,
            "code_verifier": verifier,
        },
        auth=(OTHER_CLIENT["client_id"], OTHER_CLIENT["client_secret"]),
    )
    assert token.status_code == 200, token.text
    id_token = token.json()["id_token"]
    assert isinstance(id_token, str)
    return id_token


async def test_id_token_for_another_audience_is_refused_by_the_lms(
    issuer: str, idp: httpx.AsyncClient
) -> None:
    nonce = generate_token(20)
    id_token = await _token_for_other_client(issuer, idp, nonce)
    lms = provider(issuer)
    with pytest.raises(Forbidden) as refused:
        sso.verify_id_token(lms, id_token, nonce=nonce)
    assert refused.value.code == "sso_bad_aud"
    assert "ditujukan untuk aplikasi lain (audiens/aud tidak cocok" in refused.value.detail
    # Signature, issuer, nonce and expiry of that very token are fine: only the audience differs.
    claims = sso.verify_id_token(
        provider(issuer, client_id=OTHER_CLIENT["client_id"]), id_token, nonce=nonce
    )
    assert claims["aud"] == OTHER_CLIENT["client_id"] and claims["sub"] == "asn-dewi"


async def test_id_token_signature_nonce_issuer_and_expiry_are_checked(
    issuer: str, idp: httpx.AsyncClient
) -> None:
    nonce = generate_token(20)
    id_token = await _token_for_other_client(issuer, idp, nonce)
    right = provider(issuer, client_id=OTHER_CLIENT["client_id"])
    claims = sso.verify_id_token(right, id_token, nonce=nonce)
    header, payload, signature = id_token.split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    cases = {
        "sso_bad_signature": (f"{header}.{payload}.{flipped}", nonce, None),
        "sso_bad_nonce": (id_token, "nonce-lain", None),
        "sso_token_expired": (id_token, nonce, int(claims["exp"]) + 3600),
    }
    for code, (token, expected_nonce, now) in cases.items():
        with pytest.raises(Forbidden) as refused:
            sso.verify_id_token(right, token, nonce=expected_nonce, now=now)
        assert refused.value.code == code, code
    # A provider whose discovery names another issuer than the token's.
    sso.forget_cache()
    meta = sso.metadata(right)
    sso._remember(  # plant a discovery document that names another issuer
        f"discovery|{right.discovery_url}",
        sso.ProviderMetadata(**{**_fields(meta), "issuer": "https://idp.lain.example"}),
    )
    with pytest.raises(Forbidden) as refused:
        sso.verify_id_token(right, id_token, nonce=nonce)
    assert refused.value.code == "sso_bad_iss"
    sso.forget_cache()


def _fields(meta: sso.ProviderMetadata) -> dict[str, Any]:
    return {name: getattr(meta, name) for name in meta.__slots__}


# --- logout -----------------------------------------------------------------------------------


async def test_logout_of_an_sso_session_goes_to_the_providers_end_session_endpoint(
    issuer: str, client: httpx.AsyncClient, idp: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    make_user(nip=DEWI_NIP)
    assert (await client.get(await sso_callback_url(client, idp, "asn-dewi"))).status_code == 303
    with session_scope() as s:
        id_token = s.execute(select(WebSession.id_token)).scalar_one()
    token = csrf_from((await client.get("/")).text)
    out = await client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    location = urlsplit(out.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{issuer}/session/end"
    params = parse_qs(location.query)
    assert params["id_token_hint"] == [id_token]
    assert params["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert params["client_id"] == [LMS_CLIENT["client_id"]]
    assert (await client.get("/api/v1/me")).status_code == 401  # the LMS session is over
    # The provider accepts the hint and the registered return address: its logout prompt.
    confirm = await idp.get(out.headers["location"])
    assert confirm.status_code == 200, confirm.text
    assert "logout" in confirm.text.lower()


async def test_logout_of_a_password_session_stays_local(
    client: httpx.AsyncClient, configured: list[OidcProvider]
) -> None:
    from tests.factories import browser_login

    user = make_user()
    token = await browser_login(client, user.email or "")
    out = await client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login"
