"""All SQL for sessions, API tokens and failed-login records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.auth.models import ApiToken, LoginFailure, WebSession


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def get_web_session(session: Session, id_hash: str) -> WebSession | None:
    return session.get(WebSession, id_hash)


def touch_web_session(session: Session, id_hash: str, now: dt.datetime) -> None:
    session.execute(
        update(WebSession).where(WebSession.id_hash == id_hash).values(last_seen_at=now)
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


def delete_expired(session: Session, now: dt.datetime, failure_cutoff: dt.datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))
    session.execute(delete(LoginFailure).where(LoginFailure.at < failure_cutoff))


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
