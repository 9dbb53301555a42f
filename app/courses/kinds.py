"""Activity kinds whose details live in another domain (live sessions in app.live, assignments in
app.assignments): each registers how it checks and stores its details and what its activity page
shows, so the courses domain never imports those domains (arrows point down)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.courses.models import Activity, Enrolment

# The kind's own fields as sent with the activity (form fields, None when absent).
Details = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class KindHooks:
    """What a domain tells the courses domain about its activity kind."""

    # Validate the details before anything is stored (raise ValidationFailed naming the field).
    check: Callable[[Session, Details], None]
    # Store the details of a new activity (same transaction, after the activity row exists).
    attach: Callable[[Session, Activity, Details, Principal | None], None]
    # The activity page: extra template context for this viewer (learner with enrolment, staff).
    page_context: Callable[[Session, Activity, Principal, Enrolment | None], dict[str, Any]]
    # The template included in courses/activity.html for this kind.
    template: str


_REGISTRY: dict[str, KindHooks] = {}


def register(kind: str, hooks: KindHooks) -> None:
    """Called once when the owning domain's module is imported (app.main, app.cli)."""
    _REGISTRY[kind] = hooks


def hooks_for(kind: str) -> KindHooks | None:
    return _REGISTRY.get(kind)
