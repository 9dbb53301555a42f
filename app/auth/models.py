"""Tables behind authentication: server-side browser sessions, API tokens, failed logins."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class WebSession(Base):
    """A browser session; only the sha256 of the cookie value is stored."""

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    # Signed in through OpenID Connect: the provider and its ID token (the id_token_hint of
    # RP-initiated logout).
    sso_provider: Mapped[str | None] = mapped_column(String(32))
    id_token: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token from POST /api/v1/auth/token; only its sha256 is stored."""

    __tablename__ = "api_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class LoginFailure(Base):
    """One failed login, counted per account and per client address within a window."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # "account" | "address"
    key: Mapped[str] = mapped_column(String(320))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AccountToken(Base):
    """A single-use activation or password-reset secret. Only hashes are stored: the link token
    (256 random bits) and, for printed activation letters, the short code typed with the NIP.
    Issuing a new token of a purpose deletes the user's older ones."""

    __tablename__ = "account_token"
    __table_args__ = (Index("ix_account_token_user_id_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # "activation" | "reset"
    channel: Mapped[str] = mapped_column(String(16))  # "email" | "whatsapp" | "letter"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class SsoLoginState(Base):
    """An OpenID Connect sign-in under way, kept server-side until its callback: the sha256 of the
    state, the nonce and PKCE verifier, and the sha256 of the browser's binding cookie. The
    callback deletes it, so a replayed state finds nothing."""

    __tablename__ = "sso_login_state"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_url: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class SsoIdentity(Base):
    """An account of an OpenID Connect provider (its `sub`) that signed in to an LMS user; the
    link is made by the NIP claim at the first SSO login."""

    __tablename__ = "sso_identity"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
