"""Account self-service rules: activation (a link token, or the NIP and a letter's short code),
forgotten and changed passwords, and the link secrets behind the activation and reset messages.

Secrets are random (256-bit link tokens, letter codes of 40+ bits typed with the NIP and
throttled like logins), stored only as hashes, single use, and they expire; issuing a new one
invalidates the older ones of the same purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.accounts.nip import normalise_nip
from app.accounts.passwords import verify_password
from app.audit import service as audit
from app.auth import repository
from app.auth.models import AccountToken
from app.auth.service import (
    Principal,
    _record_failure,
    _throttle_keys,
    check_throttle,
    token_hash,
)
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import LMSError, Throttled, ValidationFailed
from app.core.i18n import gettext_ as _
from app.notifications import service as notifications_service
from app.notifications.constants import EMAIL, IN_APP, WHATSAPP, NewNotification
from app.notifications.repository import Delivery

ACTIVATION = "activation"
RESET = "reset"
# Crockford's base32: digits and letters without I, L, O and U, so nothing printed on a letter
# can be misread (0/O, 1/I/L) when typed back.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})


class InvalidAccountLink(LMSError):
    """A link token or letter code that is unknown, used, expired or of an inactive account:
    one answer for all, so a guesser learns nothing."""

    status_code = 400
    code = "invalid_or_expired"


def _invalid_activation() -> InvalidAccountLink:
    return InvalidAccountLink(
        _("Tautan atau kode aktivasi tidak sah atau sudah kedaluwarsa. Periksa NIP dan kode, "
          "atau minta surat/tautan aktivasi baru kepada pengelola diklat.")
    )  # fmt: skip


def _invalid_reset() -> InvalidAccountLink:
    return InvalidAccountLink(
        _("Tautan atur ulang kata sandi tidak sah, sudah dipakai, atau sudah kedaluwarsa. "
          "Minta tautan baru dari halaman Lupa kata sandi.")
    )  # fmt: skip


# --- secrets ------------------------------------------------------------------------------------


def new_code(length: int) -> str:
    """A letter code: `length` symbols of Crockford base32 (8 symbols = 40 random bits)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def display_code(code: str) -> str:
    """'7KQ2M9XD' -> '7KQ2-M9XD': groups of four are easier to read out and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(raw: str) -> str:
    """What the ASN typed, as stored: upper case, without spaces or hyphens, O/I/L read as 0/1."""
    return "".join(raw.split()).replace("-", "").upper().translate(_MISREAD)


def code_hash(nip: str, code: str, settings: Settings) -> str:
    """Keyed hash of NIP and code: a leaked table cannot be searched for codes without the key."""
    message = f"activation-code|{nip}|{normalise_code(code)}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _lifetime(purpose: str, settings: Settings) -> dt.timedelta:
    if purpose == ACTIVATION:
        return dt.timedelta(days=settings.activation_days)
    return dt.timedelta(minutes=settings.password_reset_minutes)


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A fresh secret for one user (the raw values exist only here, never in the database)."""

    user_id: int
    token: str
    code: str | None
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PreparedSecrets:
    """Secrets made but not stored yet (a letter job renders its PDF before it writes them)."""

    purpose: str
    issued: dict[int, IssuedSecret]
    rows: list[dict[str, Any]]


def prepare_secrets(
    users: Sequence[tuple[int, str | None]], purpose: str, channel: str, settings: Settings, *,
    with_code: bool = False,
) -> PreparedSecrets:  # fmt: skip
    """New link tokens (and letter codes, for users with a NIP) for `(user_id, nip)` pairs."""
    now = utcnow()
    expires = now + _lifetime(purpose, settings)
    issued: dict[int, IssuedSecret] = {}
    rows: list[dict[str, Any]] = []
    for user_id, nip in users:
        token = secrets.token_urlsafe(32)  # 256 random bits
        code = new_code(settings.activation_code_length) if with_code and nip else None
        issued[user_id] = IssuedSecret(user_id, token, code, expires)
        rows.append({
            "user_id": user_id, "purpose": purpose, "channel": channel,
            "token_hash": token_hash(token),
            "code_hash": code_hash(nip, code, settings) if code and nip else None,
            "created_at": now, "expires_at": expires, "used_at": None,
        })  # fmt: skip
    return PreparedSecrets(purpose, issued, rows)


def save_secrets(session: Session, prepared: PreparedSecrets) -> None:
    """Store the hashes; the users' older secrets of this purpose stop working."""
    repository.delete_account_tokens(session, list(prepared.issued), prepared.purpose)
    repository.insert_account_tokens(session, prepared.rows)


def issue_secrets(
    session: Session, users: Sequence[tuple[int, str | None]], purpose: str, channel: str,
    settings: Settings, *, with_code: bool = False,
) -> dict[int, IssuedSecret]:  # fmt: skip
    """Make and store new secrets for `(user_id, nip)` pairs (see prepare_secrets)."""
    prepared = prepare_secrets(users, purpose, channel, settings, with_code=with_code)
    save_secrets(session, prepared)
    return prepared.issued


def activation_url(token: str, settings: Settings) -> str:
    return settings.absolute_url(f"/activate?token={token}")


def reset_url(token: str, settings: Settings) -> str:
    return settings.absolute_url(f"/password/reset?token={token}")


# The activation and reset messages carry no secret in the outbox: the link is made when the
# message is delivered, in the delivery's transaction (a retried delivery makes a new one).


@notifications_service.provide_context("activation")
def _activation_link(
    session: Session, delivery: Delivery, channel: str, settings: Settings
) -> dict[str, Any]:
    issued = issue_secrets(session, [(delivery.user_id, None)], ACTIVATION, channel, settings)
    return {
        "url": activation_url(issued[delivery.user_id].token, settings),
        "expires_days": settings.activation_days,
    }


@notifications_service.provide_context("password_reset")
def _reset_link(
    session: Session, delivery: Delivery, channel: str, settings: Settings
) -> dict[str, Any]:
    issued = issue_secrets(session, [(delivery.user_id, None)], RESET, channel, settings)
    return {
        "url": reset_url(issued[delivery.user_id].token, settings),
        "expires_minutes": settings.password_reset_minutes,
    }


# --- activation ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkHolder:
    """The account a valid secret belongs to, as the activation or reset page shows it."""

    user_id: int
    name: str
    nip: str | None
    email: str | None
    phone: str | None
    channel: str


def _holder(user: User, token: AccountToken) -> LinkHolder:
    return LinkHolder(user.id, user.name, user.nip, user.email, user.phone, token.channel)


def _account_of(session: Session, token: AccountToken | None) -> User | None:
    if token is None:
        return None
    user = accounts_service.load_user(session, token.user_id)
    return user if user is not None and user.is_active else None


def peek_link(session: Session, purpose: str, raw_token: str) -> LinkHolder | None:
    """Who a link belongs to, without using it (the page before the form is sent)."""
    if not raw_token:
        return None
    token = repository.usable_account_token(
        session, purpose, utcnow(), token_hash=token_hash(raw_token)
    )
    user = _account_of(session, token)
    return _holder(user, token) if user is not None and token is not None else None


def check_activation(
    session: Session, *, token: str | None = None, nip: str | None = None,
    code: str | None = None, address: str, settings: Settings,
) -> tuple[AccountToken, User]:  # fmt: skip
    """The activation secret and its account, under login throttling (per account and per
    address); a wrong one counts as a failed login and gets one generic answer."""
    if token:
        keys = [("address", address)]
        check_throttle(session, keys, settings)
        row = repository.usable_account_token(
            session, ACTIVATION, utcnow(), token_hash=token_hash(token)
        )
    else:
        clean_nip = normalise_nip(nip or "")[:32]  # the throttle key has room for 320
        user = accounts_service.user_by_nip(session, clean_nip)
        keys = _throttle_keys(clean_nip, user, address)
        check_throttle(session, keys, settings)
        row = None
        if user is not None and user.nip and code:
            row = repository.usable_account_token(
                session, ACTIVATION, utcnow(), user_id=user.id,
                code_hash=code_hash(user.nip, code, settings),
            )  # fmt: skip
    account = _account_of(session, row)
    if row is None or account is None:
        _record_failure(keys)
        raise _invalid_activation()
    return row, account


def _new_email(session: Session, user: User, raw: str | None) -> str | None:
    """The e-mail the ASN confirmed (None in the API: keep); unique among accounts."""
    if raw is None:
        return user.email
    try:
        email = accounts_service.normalise_email(raw)
    except EmailNotValidError as exc:
        raise ValidationFailed(
            _("Email tidak sah: %(why)s") % {"why": exc}, field="email", code="invalid_email"
        ) from None
    if email and accounts_service.email_taken(session, email, by_other_than=user.id):
        raise ValidationFailed(
            _("Email ini sudah dipakai akun lain; pakai email Anda sendiri."),
            field="email", code="duplicate_email",
        )  # fmt: skip
    if email is None and not user.nip:
        raise ValidationFailed(
            _("Email wajib diisi: akun tanpa NIP masuk dengan email."), field="email"
        )
    return email


def _new_phone(user: User, raw: str | None) -> str | None:
    if raw is None:
        return user.phone
    try:
        return accounts_service.normalise_phone(raw)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="phone", code="invalid_phone") from None


def activate(
    session: Session, *, token: str | None = None, nip: str | None = None,
    code: str | None = None, password: str, accept_terms: bool, email: str | None = None,
    phone: str | None = None, address: str, settings: Settings,
) -> User:  # fmt: skip
    """Activate an account: the secret is checked (400), the terms must be accepted and the
    password must pass the policy (422, naming the rule), the confirmed e-mail and phone are
    validated (422); then the password is set and the secret is used up."""
    row, user = check_activation(
        session, token=token, nip=nip, code=code, address=address, settings=settings
    )
    if not accept_terms:
        raise ValidationFailed(
            _("Setujui ketentuan penggunaan dan pemberitahuan privasi untuk melanjutkan."),
            field="accept_terms", code="terms_not_accepted",
        )  # fmt: skip
    new_email, new_phone = _new_email(session, user, email), _new_phone(user, phone)
    had_password = user.password_hash is not None
    # The link proves the contact it came through, as long as the ASN kept that contact.
    reached = (row.channel == EMAIL and new_email == user.email) or (
        row.channel == WHATSAPP and new_phone == user.phone
    )
    now = utcnow()
    if new_email != user.email:
        user.email, user.email_verified_at = new_email, None
    if new_phone != user.phone:
        user.phone, user.phone_verified_at = new_phone, None
    accounts_service.set_password(user, password, settings)  # 422 naming the broken rule
    if not repository.use_account_token(session, row.id, now):
        raise _invalid_activation()  # a concurrent request used it a moment ago
    user.activated_at = user.activated_at or now
    user.terms_accepted_at = now
    if reached:
        _mark_reached(user, row.channel, now)
    repository.clear_failures(session, "account", f"user:{user.id}")
    if had_password:  # a second activation replaces a password: like a reset
        repository.delete_user_sessions(session, user.id)
        repository.delete_user_tokens(session, user.id)
        _password_changed(session, user.id, now)
    audit.record(session, "account.activated", actor=user.id, target=("user", user.id),
                 after={"channel": row.channel, "password_replaced": had_password})  # fmt: skip
    session.flush()
    return user


def _mark_reached(user: User, channel: str, now: dt.datetime) -> None:
    """A link that came by e-mail (WhatsApp) and was opened proves the address (number)."""
    if channel == EMAIL and user.email and user.email_verified_at is None:
        user.email_verified_at = now
    if channel == WHATSAPP and user.phone and user.phone_verified_at is None:
        user.phone_verified_at = now


def _password_changed(session: Session, user_id: int, now: dt.datetime) -> None:
    notifications_service.notify(
        session,
        NewNotification(
            event="password_changed", user_id=user_id,
            key=f"password_changed:{user_id}:{secrets.token_hex(8)}",
            context={"when": now.isoformat()}, url="/login",
            channels=frozenset({IN_APP, EMAIL}),
        ),
    )  # fmt: skip


# --- forgotten password -------------------------------------------------------------------------


def _reset_channel(user: User, settings: Settings) -> str | None:
    """E-mail where the account has one (and the LMS can send mail), else WhatsApp."""
    if user.email and notifications_service.channel_configured(EMAIL, settings):
        return EMAIL
    if user.phone and notifications_service.channel_configured(WHATSAPP, settings):
        return WHATSAPP
    return None


def request_reset(session: Session, login: str, *, address: str, settings: Settings) -> None:
    """Send a reset link to an existing active account's e-mail (else WhatsApp); say nothing
    about whether the account exists. Every request counts toward the limits per login and per
    address, so a flood of messages to one person is stopped too."""
    ident = " ".join(login.split())[:300]  # the throttle key has room for 320
    label = ident.lower() if "@" in ident else normalise_nip(ident)
    keys = [("account", f"reset:{label}"), ("address", f"reset:{address}")]
    try:
        check_throttle(session, keys, settings)
    except Throttled as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        raise Throttled(
            _("Terlalu banyak permintaan atur ulang kata sandi. Coba lagi dalam %(n)d menit.")
            % {"n": minutes},
            retry_after=exc.retry_after,
        ) from None
    _record_failure(keys)
    user = accounts_service.find_login_user(session, ident) if ident else None
    if user is None or not user.is_active:
        return
    channel = _reset_channel(user, settings)
    if channel is None:
        return
    # An account that never had a password gets its activation link instead: the ASN then also
    # accepts the terms and confirms the contact.
    event = "password_reset" if user.password_hash else "activation"
    notifications_service.notify(
        session,
        NewNotification(
            event=event, user_id=user.id, key=f"{event}:{user.id}:{secrets.token_hex(8)}",
            channels=frozenset({channel}),
        ),
        settings,
    )  # fmt: skip


def confirm_reset(
    session: Session, token: str, password: str, *, address: str, settings: Settings
) -> User:
    """Set a new password from a reset link (400 when unusable, 422 weak); every session and
    API token of the account ends; the account holder is told."""
    keys = [("address", address)]
    check_throttle(session, keys, settings)
    row = (
        repository.usable_account_token(session, RESET, utcnow(), token_hash=token_hash(token))
        if token
        else None
    )
    user = _account_of(session, row)
    if row is None or user is None:
        _record_failure(keys)
        raise _invalid_reset()
    now = utcnow()
    accounts_service.set_password(user, password, settings)
    if not repository.use_account_token(session, row.id, now):
        raise _invalid_reset()
    _mark_reached(user, row.channel, now)
    repository.delete_user_sessions(session, user.id)
    repository.delete_user_tokens(session, user.id)
    repository.clear_failures(session, "account", f"user:{user.id}")
    _password_changed(session, user.id, now)
    audit.record(session, "auth.password_reset", actor=user.id, target=("user", user.id),
                 after={"channel": row.channel})  # fmt: skip
    session.flush()
    return user


# --- changing the password when signed in -------------------------------------------------------


def change_password(
    session: Session, principal: Principal, current_password: str, new_password: str, *,
    address: str, keep_token_hash: str | None, settings: Settings,
) -> None:  # fmt: skip
    """Check the current password (a wrong one counts as a failed login), set the new one, and
    end every other browser session and API token of the account."""
    user = accounts_service.get_user(session, principal.user_id)
    keys = _throttle_keys(user.nip or user.email or "", user, address)
    check_throttle(session, keys, settings)
    if not verify_password(user.password_hash, current_password):
        _record_failure(keys)
        raise ValidationFailed(
            _("Kata sandi saat ini salah."), field="current_password",
            code="wrong_current_password",
        )  # fmt: skip
    if new_password == current_password:
        raise ValidationFailed(
            _("Kata sandi baru harus berbeda dari kata sandi saat ini."),
            field="new_password", code="weak_password",
        )  # fmt: skip
    try:
        accounts_service.set_password(user, new_password, settings)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.detail, field="new_password", code=exc.code) from None
    repository.delete_other_sessions(session, user.id, principal.session_hash)
    repository.delete_other_tokens(session, user.id, keep_token_hash)
    repository.clear_failures(session, *keys[0])
    _password_changed(session, user.id, utcnow())
    audit.record(session, "auth.password_changed", actor=principal, target=("user", user.id))
    session.flush()


def check_new_password(password: str, confirm: str | None, *, field: str = "password") -> None:
    """The page's second entry must match (the API has none)."""
    if confirm is not None and password != confirm:
        raise ValidationFailed(
            _("Kedua isian kata sandi baru tidak sama."), field=f"{field}_confirm",
            code="password_mismatch",
        )  # fmt: skip


def policy_hint(settings: Settings) -> str:
    """The password rules in one sentence, shown under every new-password field."""
    return _(
        "Minimal %(n)d karakter, bukan kata sandi yang umum dipakai, dan tidak memuat NIP atau "
        "email Anda. Contoh yang kuat: tiga atau empat kata acak digabung."
    ) % {"n": settings.password_min_length}


def login_notice(done: str | None) -> str | None:
    """The message /login shows after a self-service step (a fixed text, never from the URL)."""
    return {
        "activated": _("Akun Anda sudah aktif. Silakan masuk dengan NIP dan kata sandi baru."),
        "reset": _("Kata sandi baru tersimpan dan semua sesi lama diakhiri. Silakan masuk."),
    }.get(done or "")
