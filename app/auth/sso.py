"""Single sign-on with OpenID Connect: the authorization-code flow with PKCE, the ID token checks,
and the rule that a provider's account becomes an LMS user by its NIP claim (never by name).

Authlib builds the authorization request and exchanges the code; joserfc (Authlib's JOSE library)
checks the ID token's signature against the provider's JWKS, and Authlib's `CodeIDToken` its
claims. Discovery documents and key sets are cached per process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.deprecate import AuthlibDeprecationWarning  # type: ignore[import-untyped]
from authlib.integrations.base_client import OAuthError  # type: ignore[import-untyped]
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from email_validator import EmailNotValidError
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.constants import Role
from app.accounts.models import User
from app.accounts.nip import NIPError, parse_nip
from app.accounts.schemas import UserCreate
from app.audit import service as audit
from app.auth import repository
from app.auth.models import SsoIdentity, SsoLoginState
from app.core.config import OidcProvider, Settings
from app.core.db import session_scope, utcnow
from app.core.errors import Forbidden, NotFound, ServiceUnavailable
from app.core.i18n import gettext_ as _

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and warns that its fallback to httpx (the HTTP client
    # of the whole LMS) is deprecated; it stays supported until Authlib 2.0. Without this, every
    # `lms` command would print that warning.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client  # type: ignore[import-untyped]

log = logging.getLogger("lms.sso")

BROWSER_COOKIE = "lms_sso"  # binds a login state to the browser that started it
STATE_LIFETIME = dt.timedelta(minutes=10)  # pressing the button -> the provider's callback
CACHE_SECONDS = 3600  # discovery and JWKS; a token signed with an unknown key refetches at once
CLOCK_SKEW_SECONDS = 60  # tolerated difference between our clock and the provider's
# Asymmetric signatures only: "none" and HMAC (keyed with a secret the client also knows) never.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_NEXT_LENGTH = 2048


# --- providers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderButton:
    """What the login page shows for one provider."""

    name: str
    label: str


def buttons(settings: Settings) -> list[ProviderButton]:
    return [ProviderButton(p.name, p.label) for p in settings.oidc_providers]


def get_provider(settings: Settings, name: str) -> OidcProvider:
    """The configured provider of that name, or 404."""
    for provider in settings.oidc_providers:
        if provider.name == name:
            return provider
    raise NotFound(_("Penyedia SSO tidak dikenal."), code="sso_unknown_provider")


def redirect_uri(settings: Settings, provider: OidcProvider) -> str:
    """The callback registered at the provider: {LMS_BASE_URL}/auth/callback/{name}."""
    return settings.absolute_url(f"/auth/callback/{provider.name}")


def post_logout_redirect_uri(settings: Settings) -> str:
    """Where the provider sends the browser after RP-initiated logout (register it there)."""
    return settings.absolute_url("/login")


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of a provider's discovery document the LMS uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    signing_algorithms: frozenset[str]
    iss_in_response: bool  # RFC 9207: the authorization response names the issuer


_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _cached(key: str) -> Any:
    with _cache_lock:
        hit = _cache.get(key)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def _remember(key: str, value: Any) -> None:
    with _cache_lock:
        _cache[key] = (time.monotonic() + CACHE_SECONDS, value)


def forget_cache() -> None:
    """Drop every cached discovery document and key set (tests; a provider that moved)."""
    with _cache_lock:
        _cache.clear()


def _unavailable(provider: OidcProvider) -> ServiceUnavailable:
    return ServiceUnavailable(
        _(
            "Penyedia SSO {label} tidak dapat dihubungi. Coba lagi nanti atau masuk dengan NIP "
            "dan kata sandi."
        ).format(label=provider.label),
        code="sso_unavailable",
    )


def _get_json(provider: OidcProvider, url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=provider.timeout_seconds, follow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("sso: %s unreachable at %s: %r", provider.name, url, exc)
        raise _unavailable(provider) from None
    if not isinstance(data, dict):
        raise _unavailable(provider)
    return data


def metadata(provider: OidcProvider) -> ProviderMetadata:
    """The provider's discovery document (cached)."""
    key = f"discovery|{provider.discovery_url}"
    found = _cached(key)
    if isinstance(found, ProviderMetadata):
        return found
    doc = _get_json(provider, provider.discovery_url)
    try:
        meta = ProviderMetadata(
            issuer=str(doc["issuer"]),
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            jwks_uri=str(doc["jwks_uri"]),
            userinfo_endpoint=doc.get("userinfo_endpoint"),
            end_session_endpoint=doc.get("end_session_endpoint"),
            signing_algorithms=frozenset(
                doc.get("id_token_signing_alg_values_supported") or ["RS256"]
            )
            & SIGNING_ALGORITHMS,
            iss_in_response=doc.get("authorization_response_iss_parameter_supported") is True,
        )
    except KeyError as exc:
        log.warning("sso: %s discovery lacks %s", provider.name, exc)
        raise _unavailable(provider) from None
    _remember(key, meta)
    return meta


def _key_set(provider: OidcProvider, meta: ProviderMetadata, *, refresh: bool = False) -> KeySet:
    key = f"jwks|{meta.jwks_uri}"
    found = None if refresh else _cached(key)
    if isinstance(found, KeySet):
        return found
    try:
        keys = KeySet.import_key_set(_get_json(provider, meta.jwks_uri))  # type: ignore[arg-type]
    except (JoseError, KeyError, TypeError, ValueError):
        log.warning("sso: %s publishes an unreadable JWKS", provider.name)
        raise _unavailable(provider) from None
    _remember(key, keys)
    return keys


# --- starting a login -------------------------------------------------------------------------


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_browser_key() -> str:
    return secrets.token_urlsafe(32)


def begin_login(
    session: Session,
    provider: OidcProvider,
    *,
    next_url: str,
    browser_key: str,
    settings: Settings,
) -> str:
    """Store a fresh state, nonce and PKCE verifier for this browser; return the provider's
    authorization URL to send the browser to."""
    meta = metadata(provider)
    state, nonce, verifier = generate_token(43), generate_token(32), generate_token(64)
    now = utcnow()
    repository.delete_expired_sso_states(session, now)
    repository.add(
        session,
        SsoLoginState(
            state_hash=_sha256(state),
            provider=provider.name,
            browser_hash=_sha256(browser_key),
            nonce=nonce,
            code_verifier=verifier,
            next_url=next_url if len(next_url) <= MAX_NEXT_LENGTH else "/",
            created_at=now,
            expires_at=now + STATE_LIFETIME,
        ),
    )
    with _client(provider, settings) as client:
        url, _state = client.create_authorization_url(
            meta.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
        )
    return str(url)


def _client(provider: OidcProvider, settings: Settings) -> OAuth2Client:
    # Authlib's client runs on httpx2 when that is installed, else on httpx: callers treat any
    # exception other than OAuthError (the provider's own refusal) as "provider unreachable".
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        # A public client (no secret) proves itself with PKCE alone.
        token_endpoint_auth_method="client_secret_basic" if provider.client_secret else "none",
        scope=provider.scopes,
        redirect_uri=redirect_uri(settings, provider),
        code_challenge_method="S256",
        timeout=provider.timeout_seconds,
    )


# --- the callback -----------------------------------------------------------------------------


def _refused(message: str, code: str) -> Forbidden:
    return Forbidden(message, code=code)


def _take_state(state: str) -> SsoLoginState | None:
    # Its own transaction: the state is gone even when the login is refused further on, so the
    # same callback URL can never be tried twice.
    with session_scope() as own:
        row = repository.take_sso_state(own, _sha256(state))
        if row is not None:
            own.expunge(row)
        return row


def check_state(
    provider: OidcProvider, state: str | None, browser_key: str | None
) -> SsoLoginState:
    """The stored login this callback belongs to: known, unused, unexpired, of this provider and
    started in this browser. Taking it deletes it."""
    row = _take_state(state) if state else None
    if row is None or row.provider != provider.name:
        raise _refused(
            _(
                "Permintaan masuk SSO ini tidak dikenal atau sudah dipakai. Tautan masuk hanya "
                "berlaku sekali; silakan tekan tombol SSO lagi."
            ),
            "sso_state_unknown",
        )
    if row.expires_at <= utcnow():
        raise _refused(
            _("Permintaan masuk SSO sudah kedaluwarsa. Silakan tekan tombol SSO lagi."),
            "sso_state_expired",
        )
    if not browser_key or not hmac.compare_digest(row.browser_hash, _sha256(browser_key)):
        raise _refused(
            _(
                "Permintaan masuk SSO ini dimulai di peramban lain. Demi keamanan, mulai masuk "
                "dari peramban yang sama dengan tombol SSO di halaman Masuk."
            ),
            "sso_state_browser",
        )
    return row


def verify_id_token(
    provider: OidcProvider,
    id_token: str,
    *,
    nonce: str,
    access_token: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of an ID token whose signature (the provider's JWKS), issuer, audience (our
    client id), expiry and nonce are right; anything else is refused with the reason."""
    meta = metadata(provider)
    algorithms = sorted(meta.signing_algorithms)
    try:
        try:
            token = jwt.decode(id_token, _key_set(provider, meta), algorithms=algorithms)
        except InvalidKeyIdError:  # the provider rotated its keys since we cached them
            token = jwt.decode(
                id_token, _key_set(provider, meta, refresh=True), algorithms=algorithms
            )
    except (BadSignatureError, InvalidKeyIdError):
        raise _refused(
            _("Tanda tangan ID token dari penyedia SSO tidak sah."), "sso_bad_signature"
        ) from None
    except (JoseError, ValueError):
        raise _refused(
            _("ID token dari penyedia SSO rusak atau memakai algoritma yang tidak diizinkan."),
            "sso_bad_token",
        ) from None
    claims = CodeIDToken(
        token.claims,
        token.header,
        options={
            "iss": {"essential": True, "value": meta.issuer},
            "aud": {"essential": True, "value": provider.client_id},
            "exp": {"essential": True},
            "sub": {"essential": True},
        },
        params={"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=CLOCK_SKEW_SECONDS)
    except ExpiredTokenError:
        raise _refused(
            _("ID token dari penyedia SSO sudah kedaluwarsa (exp). Silakan masuk lagi."),
            "sso_token_expired",
        ) from None
    except (InvalidClaimError, MissingClaimError) as exc:
        raise _refused(_claim_message(exc), f"sso_bad_{_claim_name(exc)}") from None
    return dict(claims)


def _claim_name(exc: InvalidClaimError | MissingClaimError) -> str:
    return exc.claim.split(",")[0]  # several missing claims come as "aud,iss"


def _claim_message(exc: InvalidClaimError | MissingClaimError) -> str:
    name = _claim_name(exc)
    messages = {
        "iss": _("ID token diterbitkan oleh penyedia lain (iss tidak cocok). Login ditolak."),
        "aud": _(
            "ID token ditujukan untuk aplikasi lain (audiens/aud tidak cocok dengan client id "
            "LMS). Login ditolak."
        ),
        "azp": _("ID token diberikan kepada aplikasi lain (azp tidak cocok). Login ditolak."),
        "nonce": _("Nonce pada ID token tidak cocok dengan permintaan masuk. Login ditolak."),
        "at_hash": _("ID token tidak cocok dengan token akses (at_hash). Login ditolak."),
        "iat": _("ID token bertanggal di masa depan; periksa jam server. Login ditolak."),
        "nbf": _("ID token belum berlaku; periksa jam server. Login ditolak."),
    }
    return messages.get(
        name,
        _("ID token dari penyedia SSO tidak lengkap atau tidak sah ({claim}).").format(claim=name),
    )


@dataclass(frozen=True, slots=True)
class SsoLogin:
    """A completed SSO login: who, the ID token (for logout) and where to go next."""

    user: User
    provider: str
    id_token: str
    next_url: str


def complete_login(
    session: Session,
    provider: OidcProvider,
    *,
    state: str | None,
    code: str | None,
    issuer: str | None,
    error: str | None,
    error_description: str | None,
    browser_key: str | None,
    settings: Settings,
) -> SsoLogin:
    """Check the callback, exchange the code (PKCE), verify the ID token, and find (or, when the
    provider allows it, create) the account with the NIP of the claims."""
    pending = check_state(provider, state, browser_key)
    if error:
        raise _refused(
            _("Penyedia SSO menolak permintaan masuk: {reason}").format(
                reason=(error_description or error)[:200]
            ),
            "sso_provider_error",
        )
    meta = metadata(provider)
    # RFC 9207 (mix-up defence): a provider that names itself in the response must be the one
    # we asked, and one that promises to name itself must do so.
    if issuer != meta.issuer and (issuer is not None or meta.iss_in_response):
        raise _refused(
            _("Jawaban masuk datang dari penyedia lain (iss tidak cocok). Login ditolak."),
            "sso_bad_iss",
        )
    if not code:
        raise _refused(_("Jawaban penyedia SSO tidak memuat kode masuk."), "sso_no_code")
    claims, id_token = _exchange(provider, meta, pending, code, settings)
    user = _account_for(session, provider, claims, settings)
    _link(session, provider, str(claims["sub"]), user)
    user.last_login_at = utcnow()
    # Signing in through the agency's identity provider is activation: nobody sends this
    # account an activation message any more.
    user.activated_at = user.activated_at or user.last_login_at
    audit.record(session, "auth.login.success", actor=user.id, target=("user", user.id),
                 after={"via": "sso", "provider": provider.name})  # fmt: skip
    session.flush()
    return SsoLogin(user, provider.name, id_token, pending.next_url)


def _exchange(
    provider: OidcProvider,
    meta: ProviderMetadata,
    pending: SsoLoginState,
    code: str,
    settings: Settings,
) -> tuple[dict[str, Any], str]:
    """Code -> tokens at the token endpoint; the verified ID token claims, completed from the
    userinfo endpoint when the ID token lacks the NIP claim."""
    with _client(provider, settings) as client:
        try:
            token = client.fetch_token(
                meta.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
            )
        except OAuthError as exc:
            raise _refused(
                _("Penyedia SSO menolak kode masuk: {reason}").format(
                    reason=str(exc.description or exc.error)[:200]
                ),
                "sso_code_refused",
            ) from None
        except Exception as exc:  # transport errors of httpx2 or httpx (see _client)
            log.warning("sso: %s token endpoint failed: %r", provider.name, exc)
            raise _unavailable(provider) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise _refused(_("Penyedia SSO tidak mengirim ID token."), "sso_no_id_token")
        claims = verify_id_token(
            provider, id_token, nonce=pending.nonce, access_token=token.get("access_token")
        )
        if provider.nip_claim not in claims and meta.userinfo_endpoint:
            claims = {**_userinfo(client, provider, meta.userinfo_endpoint, claims), **claims}
    return claims, id_token


def _userinfo(
    client: OAuth2Client, provider: OidcProvider, url: str, id_claims: dict[str, Any]
) -> dict[str, Any]:
    try:
        response = client.get(url)
        response.raise_for_status()
        info = response.json()
    except Exception as exc:  # transport errors of httpx2 or httpx (see _client)
        log.warning("sso: %s userinfo failed: %r", provider.name, exc)
        raise _unavailable(provider) from None
    # OIDC Core 5.3.2: userinfo about another subject than the ID token must not be used.
    if not isinstance(info, dict) or info.get("sub") != id_claims["sub"]:
        raise _refused(
            _("Data pengguna dari penyedia SSO tidak cocok dengan ID token."), "sso_bad_userinfo"
        )
    return info


# --- the account --------------------------------------------------------------------------------


def _claim_text(claims: dict[str, Any], name: str | None) -> str | None:
    value = claims.get(name) if name else None
    if isinstance(value, int | str) and str(value).strip():
        return str(value).strip()
    return None


def _account_for(
    session: Session, provider: OidcProvider, claims: dict[str, Any], settings: Settings
) -> User:
    """The active account with the NIP of the claims (SSO maps by NIP, never by name)."""
    raw_nip = _claim_text(claims, provider.nip_claim)
    if raw_nip is None:
        raise _refused(
            _(
                "Penyedia SSO {label} tidak mengirim NIP (klaim '{claim}'). Hubungi admin BKPSDM."
            ).format(label=provider.label, claim=provider.nip_claim),
            "sso_no_nip",
        )
    try:
        nip = parse_nip(raw_nip).nip
    except NIPError as exc:
        raise _refused(
            _("NIP dari penyedia SSO tidak sah: {reason}").format(reason=exc), "sso_bad_nip"
        ) from None
    user = accounts_service.find_login_user(session, nip)
    if user is None:
        if not provider.auto_provision:
            raise _refused(
                _(
                    "NIP {nip} belum terdaftar di LMS. Minta admin BKPSDM atau pengelola "
                    "pelatihan mendaftarkan akun Anda, lalu masuk lagi dengan SSO."
                ).format(nip=nip),
                "sso_unknown_nip",
            )
        user = _provision(session, provider, claims, nip, settings)
    if not user.is_active:
        raise _refused(_("Akun Anda dinonaktifkan. Hubungi admin BKPSDM."), "account_inactive")
    return user


def _provision(
    session: Session, provider: OidcProvider, claims: dict[str, Any], nip: str, settings: Settings
) -> User:
    """Auto-provisioning: a learner with the NIP, name and e-mail of the claims, in the OPD the
    provider's OPD claim names when that OPD exists (else without one, for the admin to set)."""
    name = _claim_text(claims, "name") or " ".join(
        filter(None, (_claim_text(claims, "given_name"), _claim_text(claims, "family_name")))
    )
    email = _claim_text(claims, "email")
    if email is not None:
        try:
            email = accounts_service.normalise_email(email)
        except EmailNotValidError:
            email = None
    if email is not None and accounts_service.find_login_user(session, email) is not None:
        email = None  # another account has it; the NIP is what identifies this one
    opd_code = (_claim_text(claims, provider.opd_claim) or "").upper() or None
    if opd_code is not None and opd_code not in {
        o.code for o in accounts_service.list_opds(session)
    }:
        log.info("sso: %s sent an OPD code the LMS does not know: %s", provider.name, opd_code)
        opd_code = None
    user = accounts_service.create_user(
        session,
        UserCreate(nip=nip, name=name or nip, email=email, opd_code=opd_code, roles=[Role.LEARNER]),
        settings,
    )
    log.info("sso: %s auto-provisioned user %s", provider.name, user.id)
    return user


def _link(session: Session, provider: OidcProvider, subject: str, user: User) -> None:
    """Remember which provider account signed in to which user; one provider account never
    serves two LMS accounts."""
    identity = repository.get_sso_identity(session, provider.name, subject)
    if identity is None:
        repository.add(
            session, SsoIdentity(provider=provider.name, subject=subject[:255], user_id=user.id)
        )
    elif identity.user_id != user.id:
        raise _refused(
            _(
                "Akun SSO ini sudah tertaut ke akun LMS lain dengan NIP berbeda. Hubungi admin "
                "BKPSDM."
            ),
            "sso_identity_conflict",
        )
    else:
        identity.last_login_at = utcnow()


# --- passwords and logout ---------------------------------------------------------------------


def refuse_password_login(session: Session, user_id: int, settings: Settings) -> None:
    """A user who signed in through a provider with local passwords disabled must use SSO."""
    closed = {p.name: p for p in settings.oidc_providers if not p.local_password}
    if not closed:
        return
    for name in sorted(repository.sso_providers_of(session, user_id)):
        if name in closed:
            raise Forbidden(
                _(
                    "Akun ini masuk melalui SSO. Gunakan tombol \u201cMasuk dengan {label}\u201d; "
                    "kata sandi LMS tidak berlaku lagi."
                ).format(label=closed[name].label),
                code="sso_required",
            )


def logout_url(session: Session, settings: Settings, session_hash: str) -> str | None:
    """RP-initiated logout of a browser session: the provider's end-session URL with the ID token
    as hint, or None when the session was a password login, its provider is no longer
    configured or cannot be reached, or the provider advertises no end-session endpoint."""
    provider_name, id_token = repository.get_web_session_sso(session, session_hash)
    provider = next((p for p in settings.oidc_providers if p.name == provider_name), None)
    if provider is None:
        return None
    try:
        endpoint = metadata(provider).end_session_endpoint
    except ServiceUnavailable:
        return None  # the LMS session ends all the same
    if not endpoint:
        return None
    params = {
        "client_id": provider.client_id,
        "post_logout_redirect_uri": post_logout_redirect_uri(settings),
    }
    if id_token:
        params["id_token_hint"] = id_token
    return str(httpx.URL(endpoint).copy_merge_params(params))
