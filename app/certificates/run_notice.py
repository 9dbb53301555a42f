"""The learner's certificate of one run as a result page shows it (quiz review, survey sent):
"being issued" (the outbox issues it right after the action) polling until it is, then issued,
with its PDF or "Sertifikat sedang disiapkan" polling until the PDF exists."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.certificates import auto_issue, service
from app.certificates.pages import certificate_view
from app.core.config import Settings


def run_certificate(
    session: Session, run_id: int | None, principal: Principal, settings: Settings
) -> dict[str, Any] | None:
    """The caller's live certificate of the run as the card's plain data, {"pending": True,
    "run_id": ...} while it is being issued, or None."""
    if run_id is None:
        return None
    for course in service.my_courses(session, principal.user_id, settings):
        if course.run_id != run_id:
            continue
        if course.certificate_id is not None:
            found = service.certificate_detail(session, course.certificate_id, principal, settings)
            return certificate_view(found)
        if course.completed and auto_issue.pending(session, run_id, principal.user_id):
            return {"pending": True, "run_id": run_id}
    return None
