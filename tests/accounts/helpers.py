"""Small helpers shared by the accounts tests: an admin's credentials and database counts."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from app.accounts.models import Opd, User
from app.core.db import session_scope
from tests.factories import api_token, browser_login, make_opd, make_user


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """Bearer headers of a fresh admin (who lives in the BKPSDM OPD)."""
    make_opd(code="BKPSDM", name="Badan Kepegawaian dan Pengembangan SDM")
    admin = make_user(
        roles=("admin",), name="Admin Sistem", email="admin@bkpsdm.example.go.id", opd_code="BKPSDM"
    )
    return await api_token(client, admin.email or "")


async def admin_browser(client: httpx.AsyncClient) -> str:
    """Sign a fresh admin in through the login form; returns the session's CSRF token."""
    admin = make_user(roles=("admin",), name="Admin Web", email="admin-web@bkpsdm.example.go.id")
    return await browser_login(client, admin.email or "")


def user_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def opd_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Opd)) or 0


def user_by_nip(nip: str) -> User | None:
    with session_scope() as session:
        user = session.scalar(select(User).where(User.nip == nip))
        session.expunge_all()
        return user
