"""All SQL for sessions, API tokens and failed-login records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.accounts.models import User, UserRole
from app.auth import principals
from app.auth.models import (
    AccountToken,
    ApiToken,
    LoginFailure,
    SsoIdentity,
    SsoLoginState,
    WebSession,
)


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def get_web_session(session: Session, id_hash: str) -> WebSession | None:
    return session.get(WebSession, id_hash)


def touch_web_session(session: Session, id_hash: str, now: dt.datetime) -> None:
    session.execute(
        update(WebSession).where(WebSession.id_hash == id_hash).values(last_seen_at=now),
        execution_options={principals.UNAFFECTED: True},  # it moves the idle limit forward only
    )


def delete_web_session(session: Session, id_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == id_hash))


def delete_user_sessions(session: Session, user_id: int) -> int:
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_user_tokens(session: Session, user_id: int) -> None:
    session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


def get_api_token(session: Session, token_hash: str) -> ApiToken | None:
    return session.get(ApiToken, token_hash)


def _credential_statement(model: Any, key: Any, seen: Any) -> Any:
    users, roles = User.__table__, UserRole.__table__
    table = model.__table__
    return (
        select(table.c.user_id, table.c.expires_at, seen, users.c.name, users.c.is_active,
               roles.c.role)
        .join(users, users.c.id == table.c.user_id)
        .outerjoin(roles, roles.c.user_id == users.c.id)
        .where(key == bindparam("id_hash"))
    )


# Built once: constructing a statement costs more CPU than running this one (an indexed read).
_CREDENTIAL_STATEMENTS = {
    "session": _credential_statement(
        WebSession, WebSession.__table__.c.id_hash, WebSession.__table__.c.last_seen_at
    ),
    "token": _credential_statement(
        ApiToken, ApiToken.__table__.c.token_hash, ApiToken.__table__.c.expires_at
    ),
}


def credential_rows(session: Session, kind: str, id_hash: str) -> Sequence[Any]:
    """A browser session's or API token's caller in one indexed query (the credential by primary
    key, its user, the user's roles): (user_id, expires_at, last_seen_at, name, is_active, role)
    per role; last_seen_at is the token's expires_at for a token (tokens have no idle limit).
    Run on the session's connection: a Core read needs none of the ORM's execution steps."""
    statement = _CREDENTIAL_STATEMENTS[kind]
    return session.connection().execute(statement, {"id_hash": id_hash}).all()


def delete_expired(session: Session, now: dt.datetime, failure_cutoff: dt.datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))
    session.execute(delete(LoginFailure).where(LoginFailure.at < failure_cutoff))
    session.execute(delete(SsoLoginState).where(SsoLoginState.expires_at < now))
    session.execute(delete(AccountToken).where(AccountToken.expires_at < now))  # used or not


def failures_since(
    session: Session, scope: str, key: str, since: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """How many failures a key has in the window, and the oldest of them."""
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.at >= since
        )
    ).one()
    if isinstance(oldest, str):  # SQLite returns MIN() of a typed column as text
        oldest = dt.datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return int(count), oldest


def add_failures(session: Session, entries: list[tuple[str, str]], at: dt.datetime) -> None:
    session.add_all(LoginFailure(scope=s, key=k, at=at) for s, k in entries)
    session.flush()


def clear_failures(session: Session, scope: str, key: str) -> None:
    session.execute(
        delete(LoginFailure).where(LoginFailure.scope == scope, LoginFailure.key == key)
    )


def delete_failures_before(session: Session, scope: str, key: str, before: dt.datetime) -> None:
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.at < before
        )
    )


# --- single sign-on ---------------------------------------------------------------------------


def take_sso_state(session: Session, state_hash: str) -> SsoLoginState | None:
    """Delete a login state and return it; of two concurrent callbacks only one gets it."""
    row = session.get(SsoLoginState, state_hash)
    if row is None:
        return None
    result = session.execute(delete(SsoLoginState).where(SsoLoginState.state_hash == state_hash))
    return row if getattr(result, "rowcount", 0) == 1 else None


def delete_expired_sso_states(session: Session, now: dt.datetime) -> None:
    session.execute(delete(SsoLoginState).where(SsoLoginState.expires_at < now))


def get_sso_identity(session: Session, provider: str, subject: str) -> SsoIdentity | None:
    return session.execute(
        select(SsoIdentity).where(SsoIdentity.provider == provider, SsoIdentity.subject == subject)
    ).scalar_one_or_none()


def sso_providers_of(session: Session, user_id: int) -> set[str]:
    """The providers through which a user has signed in."""
    return set(
        session.execute(
            select(SsoIdentity.provider).where(SsoIdentity.user_id == user_id).distinct()
        ).scalars()
    )


def get_web_session_sso(session: Session, id_hash: str) -> tuple[str | None, str | None]:
    """The provider and ID token of a browser session (both None for a password login)."""
    row = session.execute(
        select(WebSession.sso_provider, WebSession.id_token).where(WebSession.id_hash == id_hash)
    ).one_or_none()
    return (row[0], row[1]) if row is not None else (None, None)


# --- account tokens (activation, password reset) and ending the other sessions -----------------


def delete_account_tokens(session: Session, user_ids: Sequence[int], purpose: str) -> None:
    """A new activation or reset secret invalidates the user's older ones of that purpose."""
    for start in range(0, len(user_ids), 900):
        session.execute(
            delete(AccountToken).where(
                AccountToken.user_id.in_(user_ids[start : start + 900]),
                AccountToken.purpose == purpose,
            )
        )


def insert_account_tokens(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(AccountToken), rows)


def usable_account_token(
    session: Session, purpose: str, now: dt.datetime, *, token_hash: str | None = None,
    user_id: int | None = None, code_hash: str | None = None,
) -> AccountToken | None:  # fmt: skip
    """An unused, unexpired token of `purpose`, by its link hash or by user and code hash."""
    query = select(AccountToken).where(
        AccountToken.purpose == purpose, AccountToken.used_at.is_(None),
        AccountToken.expires_at > now,
    )  # fmt: skip
    if token_hash is not None:
        query = query.where(AccountToken.token_hash == token_hash)
    elif user_id is not None and code_hash is not None:
        query = query.where(AccountToken.user_id == user_id, AccountToken.code_hash == code_hash)
    else:
        return None
    return session.scalars(query.limit(1)).first()


def use_account_token(session: Session, token_id: int, now: dt.datetime) -> bool:
    """Mark a token used; False when another request used it first (single use under races)."""
    result = session.execute(
        update(AccountToken)
        .where(AccountToken.id == token_id, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    return getattr(result, "rowcount", 0) == 1


def delete_other_sessions(session: Session, user_id: int, keep: str | None) -> None:
    """Every browser session of a user but `keep` (the id hash of the caller's own)."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.id_hash != keep)
    session.execute(query)


def delete_other_tokens(session: Session, user_id: int, keep: str | None) -> None:
    """Every API token of a user but `keep` (the hash of the caller's own)."""
    query = delete(ApiToken).where(ApiToken.user_id == user_id)
    if keep is not None:
        query = query.where(ApiToken.token_hash != keep)
    session.execute(query)
