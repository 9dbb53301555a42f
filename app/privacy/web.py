"""What the API and the pages share: the export as a download (audited) and the audited
pseudonymising call."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from app.accounts.models import User
from app.auth.service import Principal
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import NotFound
from app.privacy import service
from app.storage.base import content_disposition
from app.storage.service import get_storage


def _audit(session: Session, principal: Principal, action: str, user: User) -> None:
    from app.audit import service as audit

    audit.record(session, action, target=("user", user.id), actor=principal.user_id)


def export_response(
    session: Session, settings: Settings, principal: Principal, user_id: int
) -> Response:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Pengguna tidak ditemukan.", code="user_not_found")
    spool = service.export_file(session, user_id, get_storage(settings))
    _audit(session, principal, "export.personal_data", user)
    filename = service.export_filename(user, utcnow())

    def chunks() -> object:
        try:
            while block := spool.read(256 * 1024):
                yield block
        finally:
            spool.close()

    return StreamingResponse(
        chunks(),  # type: ignore[arg-type]
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(filename, inline=False),
            "Cache-Control": "no-store",
        },
    )


def pseudonymise(session: Session, settings: Settings, principal: Principal, user_id: int) -> User:
    user = service.pseudonymise(session, user_id, settings)
    _audit(session, principal, "account.pseudonymised", user)
    return user
