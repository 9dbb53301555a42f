"""Small helpers shared by the accounts tests: an admin's credentials and database counts."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select, update

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


# --- self-service (activation, reset) ------------------------------------------------------------

ACTIVATION_LINK = re.compile(r"http://testserver/activate\?token=([A-Za-z0-9_-]+)")
RESET_LINK = re.compile(r"http://testserver/password/reset\?token=([A-Za-z0-9_-]+)")
NEW_PASSWORD = "Sawah-Hijau-Bukit-Biru-7"


def make_asn(
    *, name: str = "Siti Aminah", email: str | None = None, phone: str | None = None,
    opd_code: str | None = None, active: bool = True, nip: str | None = None,
) -> User:  # fmt: skip
    """An imported ASN who has not activated: no password; e-mail and phone only when given."""
    user = make_user(name=name, password=None, opd_code=opd_code, active=active, nip=nip)
    with session_scope() as session:
        session.execute(update(User).where(User.id == user.id).values(email=email, phone=phone))
    return fresh(user.id)


def fresh(user_id: int) -> User:
    """The user's row as stored now."""
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge_all()
        return user


async def officer_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """Bearer headers of a fresh training officer."""
    officer = make_user(roles=("training_officer",), name="Petugas Diklat",
                        email="petugas@bkpsdm.example.go.id")  # fmt: skip
    return await api_token(client, officer.email or "")


def token_from(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    assert match, f"no link in: {text!r}"
    return match.group(1)
