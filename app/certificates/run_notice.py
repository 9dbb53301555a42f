"""The learner's certificate of one run as a result page shows it (quiz review, survey sent):
issued, with its PDF or "Sertifikat sedang disiapkan" polling until the PDF exists."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.certificates import service
from app.certificates.pages import certificate_view
from app.core.config import Settings


def run_certificate(
    session: Session, run_id: int | None, principal: Principal, settings: Settings
) -> dict[str, Any] | None:
    """The caller's live certificate of the run as the card's plain data, or None."""
    if run_id is None:
        return None
    for course in service.my_courses(session, principal.user_id, settings):
        if course.run_id == run_id and course.certificate_id is not None:
            found = service.certificate_detail(session, course.certificate_id, principal, settings)
            return certificate_view(found)
    return None
