"""Rules for signing in and staying signed in: throttling, sessions, API tokens, deactivation.

Cookies and tokens are random; only their sha256 is stored, so a database leak logs nobody in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.accounts.passwords import hash_password, needs_rehash, verify_password
from app.audit import service as audit
from app.auth import principals, repository, sso
from app.auth.models import ApiToken, WebSession
from app.core.config import Settings
from app.core.db import session_scope, utcnow
from app.core.errors import Forbidden, InvalidCredentials, Throttled
from app.core.i18n import gettext_ as _

SESSION_TOUCH_SECONDS = 60  # write last_seen_at at most once a minute per session


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user, their roles, and how they proved it."""

    user_id: int
    name: str
    roles: frozenset[str]
    via: str  # "session" or "token"
    session_hash: str | None = None

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def principal_for(user: User, *, via: str, session_hash: str | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        name=user.name,
        roles=frozenset(user.role_names),
        via=via,
        session_hash=session_hash,
    )


# --- throttling -------------------------------------------------------------------------------


def _throttle_keys(identifier: str, user: User | None, address: str) -> list[tuple[str, str]]:
    account = f"user:{user.id}" if user is not None else f"name:{identifier.strip().lower()}"
    return [("account", account), ("address", address)]


def check_throttle(session: Session, keys: list[tuple[str, str]], settings: Settings) -> None:
    """Refuse a login when the account or the address failed too often in the window."""
    now = utcnow()
    window = dt.timedelta(seconds=settings.login_window_seconds)
    limits = {
        "account": settings.login_max_failures_per_account,
        "address": settings.login_max_failures_per_address,
    }
    for scope, key in keys:
        count, oldest = repository.failures_since(session, scope, key, now - window)
        if count >= limits[scope] and oldest is not None:
            retry = int((oldest + window - now).total_seconds()) + 1
            raise Throttled(
                _("Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam %(value)s menit.")
                % {"value": max(1, retry // 60 + (1 if retry % 60 else 0))},
                retry_after=retry,
            )


def _record_failure(keys: list[tuple[str, str]]) -> None:
    # Its own transaction: the request's session is rolled back with the 401, the count is not.
    with session_scope() as own:
        repository.add_failures(own, keys, utcnow())


def authenticate(
    session: Session, identifier: str, password: str, *, address: str, settings: Settings
) -> User:
    """Check a NIP-or-email and password under throttling; return the active user."""
    user = accounts_service.find_login_user(session, identifier)
    keys = _throttle_keys(identifier, user, address)
    check_throttle(session, keys, settings)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        _record_failure(keys)
        _audit_refusal("auth.login.failure", identifier, user, "invalid_credentials")
        try:  # this failure reached a limit: the account or address is locked out from now
            check_throttle(session, keys, settings)
        except Throttled as exc:
            _audit_refusal("auth.lockout", identifier, user, "too_many_failures",
                           retry_after=exc.retry_after)  # fmt: skip
        raise InvalidCredentials("NIP/email atau kata sandi salah.")
    if not user.is_active:
        _audit_refusal("auth.login.failure", identifier, user, "account_inactive")
        raise Forbidden("Akun Anda dinonaktifkan. Hubungi admin BKPSDM.", code="account_inactive")
    sso.refuse_password_login(session, user.id, settings)  # local passwords off for SSO users
    repository.clear_failures(session, *keys[0])
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(session, "auth.login.success", actor=user.id, target=("user", user.id),
                 after={"via": "password"})  # fmt: skip
    return user


def _audit_refusal(
    action: str, identifier: str, user: User | None, reason: str, **extra: object
) -> None:
    # Its own transaction, like the failure count: the refused request rolls back.
    audit.record_now(action, actor=user.id if user else None,
                     actor_label=None if user else audit.ANONYMOUS,
                     target=("user", user.id) if user else None,
                     after={"login": identifier.strip()[:64], "reason": reason, **extra})  # fmt: skip


# --- browser sessions -------------------------------------------------------------------------


def start_session(
    session: Session,
    user: User,
    *,
    previous_cookie: str | None,
    address: str | None,
    user_agent: str | None,
    settings: Settings,
    sso_provider: str | None = None,
    id_token: str | None = None,
) -> str:
    """A new session id at every login (the old one, if any, is dropped); returns the cookie.
    An SSO login keeps the provider and ID token for RP-initiated logout."""
    if previous_cookie:
        repository.delete_web_session(session, token_hash(previous_cookie))
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    repository.add(
        session,
        WebSession(
            id_hash=token_hash(raw),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=settings.session_absolute_hours),
            ip_address=address,
            user_agent=(user_agent or "")[:255] or None,
            sso_provider=sso_provider,
            id_token=id_token,
        ),
    )
    return raw


def resolve_credential(
    session: Session, kind: str, raw: str, settings: Settings
) -> Principal | None:
    """The caller behind a session cookie (`kind` "session") or bearer token ("token"): from this
    process's cache (app/auth/principals.py) when it holds the credential, else in one query;
    None when unknown, expired, idle too long (sessions) or deactivated."""
    id_hash = token_hash(raw)
    now = utcnow()
    cached = principals.cache.get(id_hash, now)
    if cached is not None:
        return cached
    generation = principals.cache.generation
    rows = repository.credential_rows(session, kind, id_hash)
    if not rows:
        return None
    user_id, expires_at, last_seen_at, name, is_active, _role = rows[0]
    if kind == "session":
        idle = dt.timedelta(minutes=settings.session_idle_minutes)
        if expires_at <= now or last_seen_at + idle <= now:
            repository.delete_web_session(session, id_hash)
            return None
    elif expires_at <= now:
        return None
    if not is_active:
        return None
    roles = frozenset(r.role for r in rows if r.role)
    if kind == "session":
        if (now - last_seen_at).total_seconds() > SESSION_TOUCH_SECONDS:
            repository.touch_web_session(session, id_hash, now)
            last_seen_at = now
        principal = Principal(user_id, name, roles, via="session", session_hash=id_hash)
        entry = principals.entry_for(
            principal, settings.principal_cache_seconds, expires_at,
            idle_until=last_seen_at + idle,
            touch_after=last_seen_at + dt.timedelta(seconds=SESSION_TOUCH_SECONDS),
        )  # fmt: skip
    else:
        principal = Principal(user_id, name, roles, via="token")
        entry = principals.entry_for(principal, settings.principal_cache_seconds, expires_at)
    if settings.principal_cache_seconds > 0:
        principals.cache.put(id_hash, entry, generation)
    return principal


def end_session(session: Session, raw: str) -> None:
    repository.delete_web_session(session, token_hash(raw))


def end_all_sessions(session: Session, user_id: int) -> int:
    return repository.delete_user_sessions(session, user_id)


# --- API tokens -------------------------------------------------------------------------------


def issue_api_token(session: Session, user: User, settings: Settings) -> tuple[str, int]:
    raw = secrets.token_urlsafe(32)
    lifetime = settings.api_token_minutes * 60
    repository.add(
        session,
        ApiToken(
            token_hash=token_hash(raw),
            user_id=user.id,
            expires_at=utcnow() + dt.timedelta(seconds=lifetime),
        ),
    )
    return raw, lifetime


# --- account state ----------------------------------------------------------------------------


def set_user_active(session: Session, user: User, active: bool) -> None:
    """Deactivating an account ends every browser session and API token it has."""
    if user.is_active != active:
        audit.record(session, "account.reactivated" if active else "account.deactivated",
                     target=("user", user.id), before={"is_active": user.is_active},
                     after={"is_active": active})  # fmt: skip
    user.is_active = active
    if not active:
        repository.delete_user_sessions(session, user.id)
        repository.delete_user_tokens(session, user.id)
    session.flush()


def purge_expired(session: Session, settings: Settings) -> None:
    now = utcnow()
    repository.delete_expired(
        session, now, now - dt.timedelta(seconds=settings.login_window_seconds)
    )


# --- CSRF -------------------------------------------------------------------------------------


def csrf_token(binding: str, settings: Settings) -> str:
    """Synchroniser token bound to the session (or the anonymous pre-session cookie)."""
    return hmac.new(
        settings.secret_key.encode(), b"csrf|" + binding.encode(), hashlib.sha256
    ).hexdigest()


def masked_csrf_token(binding: str, settings: Settings) -> str:
    """The token as pages carry it: a fresh random pad and the token XOR the pad, in hex, so the
    bytes differ on every response. Compressed pages (app/web/compression.py) then give a BREACH
    attacker no constant secret to guess byte by byte next to text they can inject."""
    token = bytes.fromhex(csrf_token(binding, settings))
    pad = secrets.token_bytes(len(token))
    return pad.hex() + bytes(a ^ b for a, b in zip(pad, token, strict=True)).hex()


def _unmasked(supplied: str) -> str | None:
    if len(supplied) == 64:
        return supplied
    if len(supplied) != 128:
        return None
    try:
        raw = bytes.fromhex(supplied)
    except ValueError:
        return None
    return bytes(a ^ b for a, b in zip(raw[:32], raw[32:], strict=True)).hex()


def csrf_valid(binding: str | None, supplied: str | None, settings: Settings) -> bool:
    """The supplied token (masked as pages carry it, or plain) is this binding's."""
    if not binding or not supplied:
        return False
    token = _unmasked(supplied)
    return token is not None and hmac.compare_digest(csrf_token(binding, settings), token)


def count_request(scope: str, key: str, *, limit: int, window_seconds: int) -> None:
    """Rate limit for public endpoints (certificate verification): at most `limit` requests per
    key in the window, counted in the database like login failures (shared by every worker and
    host); over it, 429 with Retry-After. Refused requests are not counted."""
    now = utcnow()
    window = dt.timedelta(seconds=window_seconds)
    with session_scope() as own:  # its own transaction: counted even when the request fails
        count, oldest = repository.failures_since(own, scope, key, now - window)
        if count >= limit and oldest is not None:
            retry = int((oldest + window - now).total_seconds()) + 1
            raise Throttled(
                _("Terlalu banyak permintaan. Coba lagi dalam %(value)s detik.")
                % {"value": max(1, retry)},
                retry_after=retry,
            )
        repository.delete_failures_before(own, scope, key, now - window)  # rows stay bounded
        repository.add_failures(own, [(scope, key)], now)
