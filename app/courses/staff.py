"""Who may act on a run: run managers on every run, run staff (facilitator, grader) on their own
runs, learners on the runs they belong to. Every run-scoped route asks here (STYLE: one scope)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.accounts.constants import Role
from app.auth.service import Principal
from app.core.errors import Forbidden, NotFound
from app.courses import repository
from app.courses.constants import StaffRole
from app.courses.models import Enrolment, Run

RUN_MANAGERS = (Role.TRAINING_OFFICER, Role.ADMIN)
# What each capability needs of a staff member (DESIGN: a grader grades only).
TEACH = frozenset({StaffRole.FACILITATOR.value})  # attendance, sessions, forum moderation
GRADE = frozenset({StaffRole.FACILITATOR.value, StaffRole.GRADER.value})


@dataclass(frozen=True, slots=True)
class RunAccess:
    """How the caller reaches a run: as its manager, as staff (with the role) or as a learner."""

    run: Run
    manager: bool
    staff_role: str | None
    enrolment: Enrolment | None

    @property
    def staff(self) -> bool:
        return self.manager or self.staff_role is not None

    def can(self, capability: frozenset[str]) -> bool:
        """Managers can do everything; staff what their role allows."""
        return self.manager or (self.staff_role is not None and self.staff_role in capability)


def is_manager(principal: Principal) -> bool:
    """Training officers and admins manage every run."""
    return principal.has_any(*RUN_MANAGERS)


def _run(session: Session, run_id: int) -> Run:
    run = repository.get_run(session, run_id)
    if run is None:
        raise NotFound("Angkatan tidak ditemukan.", code="run_not_found")
    return run


def access(session: Session, principal: Principal, run_id: int) -> RunAccess:
    """The caller's relation to the run, whatever it is (404 when the run does not exist)."""
    run = _run(session, run_id)
    manager = is_manager(principal)
    role = None if manager else repository.staff_role(session, run_id, principal.user_id)
    enrolment = repository.member_enrolment(session, run_id, principal.user_id)
    return RunAccess(run=run, manager=manager, staff_role=role, enrolment=enrolment)


def require_staff(
    session: Session, principal: Principal, run_id: int, capability: frozenset[str] = GRADE
) -> RunAccess:
    """Run managers, or staff of this run whose role has the capability; 403 otherwise (a
    facilitator of run A cannot act in run B)."""
    found = access(session, principal, run_id)
    if not found.can(capability):
        raise Forbidden("Anda bukan pengajar angkatan ini.", code="not_run_staff")
    return found


def require_member(session: Session, principal: Principal, run_id: int) -> RunAccess:
    """Managers, staff of the run, or a learner enrolled in it (active or completed); 403 for
    anyone else (a learner of another run)."""
    found = access(session, principal, run_id)
    if not found.staff and found.enrolment is None:
        raise Forbidden("Anda bukan peserta angkatan ini.", code="not_run_member")
    return found


def staff_run_ids(session: Session, principal: Principal) -> dict[int, str]:
    """Run id -> role of every run the caller is staff of (empty for learners)."""
    return repository.staff_runs(session, principal.user_id)


def course_staff_role(session: Session, principal: Principal, course_id: int) -> str | None:
    """The caller's staff role in some run of the course ("facilitator" wins over "grader"):
    facilitators may add sessions and assignments to their course (api-v1)."""
    return repository.staff_role_for_course(session, course_id, principal.user_id)
