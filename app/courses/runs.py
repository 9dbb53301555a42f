"""Rules for editing a run (angkatan), its staff and its waiting list.

- A run's staff are accounts (active users) with a per-run role: facilitator or grader
  (DESIGN); who added whom is recorded in the audit log and in the run's change history.
- Editing a run records every changed field (who, when, old -> new) in the run's change history.
- Waiting list: a run with `waitlist` on that is full puts new enrolments (self or officer) in
  line (EnrolmentStatus.WAITLISTED, ordered by `waitlisted_at`). A withdrawal or a capacity
  increase promotes the next in line in the same transaction. Every change to the seats or the
  line first takes the run's row lock (repository.lock_run), so on PostgreSQL concurrent joins
  and withdrawals happen one after another and nobody jumps the line or exceeds capacity.
- Waitlisted enrolments are not members: content access, completion and counts only look at
  active/completed enrolments (repository.member_enrolment, active_enrolment_for_course).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import Principal
from app.core import readcache
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import repository
from app.courses.constants import (
    ActivityKind,
    EnrolmentStatus,
    StaffRole,
    delivery_labels,
    funding_labels,
    staff_role_labels,
)
from app.courses.models import Enrolment, Run, RunEdit, RunStaff
from app.courses.schemas import (
    EnrolResult,
    RunEditRead,
    RunRead,
    RunUpdate,
    StaffCreate,
    StaffRead,
    StaffUpdate,
    WaitlistedItem,
    WaitlistEntry,
)
from app.notifications import service as notifications
from app.notifications.constants import NewNotification

WAITLIST_PROMOTED = "waitlist_promoted"  # the notification event


# --- the waiting list ---------------------------------------------------------------------------


def seat_in_turn(session: Session, run_id: int) -> bool:
    """Under the run's lock: take a seat when one is free and nobody is waiting (the line goes
    first); False means the newcomer joins the end of the line."""
    repository.lock_run(session, run_id)
    if repository.waiting_count(session, run_id):
        return False
    return repository.take_seat(session, run_id)


def promote_waiting(session: Session, run_id: int) -> list[Enrolment]:
    """Fill the run's free seats from its waiting list, first come first served, under the run's
    lock; each promoted learner is notified. Returns the promoted enrolments."""
    run = repository.lock_run(session, run_id)
    if run is None:
        return []
    free = None if run.capacity is None else run.capacity - run.enrolled_count
    if free is not None and free <= 0:
        return []
    promoted: list[Enrolment] = []
    for enrolment in repository.next_waiting(
        session, run_id, free if free is not None else 100_000
    ):
        if not repository.take_seat(session, run_id):
            break
        _activate(enrolment)
        promoted.append(enrolment)
    session.flush()
    session.expire(run, ["enrolled_count"])  # counted by UPDATE statements
    _notify_promoted(session, run, promoted)
    return promoted


def _activate(enrolment: Enrolment) -> None:
    enrolment.status = EnrolmentStatus.ACTIVE.value
    enrolment.enrolled_at = utcnow()
    enrolment.withdrawn_at = None


def _notify_promoted(session: Session, run: Run, promoted: Sequence[Enrolment]) -> None:
    if not promoted:
        return
    from app.courses import service  # service imports this module lazily too

    course = repository.get_course(session, run.course_id)
    if course is None:
        return
    context = service.run_context(run, course)
    notifications.notify_many(
        session,
        [
            NewNotification(
                event=WAITLIST_PROMOTED, user_id=e.user_id,
                key=f"{WAITLIST_PROMOTED}:{e.id}:{(e.waitlisted_at or utcnow()).isoformat()}",
                context=context, url=f"/courses/{course.id}",
            )
            for e in promoted
        ],
    )  # fmt: skip


def leave_waiting_list(session: Session, enrolment: Enrolment) -> None:
    """The learner (or an officer) takes a waiting-list place back; the row stays as withdrawn."""
    if enrolment.status != EnrolmentStatus.WAITLISTED:
        raise Conflict(_("Peserta ini tidak sedang di daftar tunggu."), code="not_waitlisted")
    enrolment.status = EnrolmentStatus.WITHDRAWN.value
    enrolment.withdrawn_at = utcnow()
    session.flush()


def promote_one(session: Session, run: Run, user_id: int, by: Principal) -> Enrolment:
    """An officer gives one waiting learner a place now, out of turn: a free seat if there is one,
    else the capacity grows by one (recorded in the run's history)."""
    locked = repository.lock_run(session, run.id)
    assert locked is not None
    enrolment = repository.get_enrolment(session, run.id, user_id)
    if enrolment is None or enrolment.status != EnrolmentStatus.WAITLISTED:
        raise NotFound(_("Peserta tidak ada di daftar tunggu."), code="not_waitlisted")
    if not repository.take_seat(session, run.id):
        old = locked.capacity
        locked.capacity = (locked.capacity or 0) + 1
        session.flush()
        _record(session, run.id, by, [("capacity", _text(old), _text(locked.capacity))])
        if not repository.take_seat(session, run.id):  # pragma: no cover - under the lock
            raise Conflict(_("Kuota angkatan sudah penuh."), code="run_full")
    _activate(enrolment)
    session.flush()
    session.expire(locked, ["enrolled_count"])
    _notify_promoted(session, locked, [enrolment])
    return enrolment


def position(session: Session, enrolment: Enrolment) -> int | None:
    """The enrolment's place in its run's waiting list (1: next), None when not waiting."""
    if enrolment.status != EnrolmentStatus.WAITLISTED:
        return None
    return repository.waiting_position(session, enrolment)


def waiting_list(session: Session, run_id: int) -> list[WaitlistEntry]:
    """The run's waiting list in line order."""
    return [
        WaitlistEntry(enrolment_id=e.id, user_id=u.id, nip=u.nip, name=u.name, position=i,
                      waitlisted_at=e.waitlisted_at or e.enrolled_at)
        for i, (e, u) in enumerate(repository.waiting_list(session, run_id), start=1)
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class WaitingPlace:
    """A learner's place in the waiting list of one run of a course (the course page)."""

    run_id: int
    run_name: str
    position: int


def waiting_places(session: Session, user_id: int, course_id: int) -> list[WaitingPlace]:
    return [
        WaitingPlace(r.id, r.name, repository.waiting_position(session, e))
        for e, r in repository.waiting_places_for_course(session, user_id, course_id)
    ]


# --- the run and its changes --------------------------------------------------------------------

# Fields of a run an officer edits, in form order.
EDIT_FIELDS = (
    "name", "starts_on", "ends_on", "enrol_opens_on", "enrol_closes_on", "capacity",
    "funding_source", "organiser", "self_enrol", "delivery_mode", "waitlist", "instructors",
)  # fmt: skip
_REQUIRED = frozenset(
    {"name", "starts_on", "ends_on", "funding_source", "self_enrol", "delivery_mode", "waitlist"}
)


def field_labels() -> dict[str, str]:
    """Names of the run's fields as the change history shows them."""
    return {
        "name": _("Nama angkatan"),
        "starts_on": _("Tanggal mulai"),
        "ends_on": _("Tanggal selesai"),
        "enrol_opens_on": _("Pendaftaran dibuka"),
        "enrol_closes_on": _("Pendaftaran ditutup"),
        "capacity": _("Kuota"),
        "funding_source": _("Sumber dana"),
        "organiser": _("Penyelenggara"),
        "self_enrol": _("Pendaftaran mandiri"),
        "delivery_mode": _("Moda penyelenggaraan"),
        "waitlist": _("Daftar tunggu"),
        "instructors": _("Pengajar (teks lama)"),
        "staff_added": _("Pengajar ditambahkan"),
        "staff_removed": _("Pengajar dihapus"),
        "staff_changed": _("Peran pengajar diubah"),
    }


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= 500 else text[:499] + "…"


def _record(
    session: Session, run_id: int, by: Principal | None,
    changes: Sequence[tuple[str, str | None, str | None]],
) -> None:  # fmt: skip
    if not changes:
        return
    now = utcnow()
    session.add_all(
        RunEdit(run_id=run_id, user_id=(by.user_id or None) if by else None, at=now, field=f,
                old_value=o, new_value=n)
        for f, o, n in changes
    )  # fmt: skip
    session.flush()


def update_run(session: Session, run: Run, data: RunUpdate, by: Principal) -> Run:
    """Change the fields sent; the result must still hold together: ends_on >= starts_on, the
    enrolment window opens before it closes and both by the run's end, capacity not below the
    learners already active. Each changed field is recorded; more capacity (or none) promotes
    from the waiting list at once. 422 names the field."""
    sent = data.model_fields_set
    for name in sorted(sent & _REQUIRED):
        if getattr(data, name) is None:
            raise ValidationFailed(_("Wajib diisi."), field=name)
    locked = repository.lock_run(session, run.id)  # the current enrolled_count, held
    assert locked is not None
    current: dict[str, Any] = {f: getattr(locked, f) for f in EDIT_FIELDS if f != "instructors"}
    current["instructors"] = [x for x in (locked.instructors or "").splitlines() if x.strip()]
    wanted = dict(current)
    for name in sent & set(EDIT_FIELDS):
        value = getattr(data, name)
        if hasattr(value, "value"):  # enums
            value = value.value
        if name == "name":
            value = " ".join(str(value).split())
        if name == "organiser" and value is not None:
            value = " ".join(str(value).split()) or None
        wanted[name] = value
    _check_run(wanted, locked.enrolled_count)
    changes: list[tuple[str, str | None, str | None]] = []
    for name in EDIT_FIELDS:
        old, new = current[name], wanted[name]
        if old == new:
            continue
        if name == "instructors":
            changes.append((name, "\n".join(old) or None, "\n".join(new) or None))
            locked.instructors = "\n".join(new) or None
        else:
            changes.append((name, _text(old), _text(new)))
            setattr(locked, name, new)
    session.flush()
    _record(session, locked.id, by, changes)
    if changes:
        audit.record(session, "run.updated", actor=by, target=("run", locked.id),
                     before={f: o for f, o, _n in changes},
                     after={f: n for f, _o, n in changes})  # fmt: skip
    old_cap, new_cap = current["capacity"], wanted["capacity"]
    if old_cap is not None and (new_cap is None or new_cap > old_cap):
        promote_waiting(session, locked.id)
    return locked


def _check_run(v: dict[str, Any], active: int) -> None:
    starts, ends = v["starts_on"], v["ends_on"]
    opens, closes = v["enrol_opens_on"], v["enrol_closes_on"]
    if ends < starts:
        raise ValidationFailed(
            _("Tanggal selesai tidak boleh sebelum tanggal mulai."), field="ends_on"
        )
    if opens and closes and closes < opens:
        raise ValidationFailed(
            _("Pendaftaran tidak boleh ditutup sebelum dibuka."), field="enrol_closes_on"
        )
    if closes and closes > ends:
        raise ValidationFailed(
            _("Pendaftaran harus ditutup paling lambat saat angkatan selesai."),
            field="enrol_closes_on",
        )
    if opens and opens > ends:
        raise ValidationFailed(
            _("Pendaftaran harus dibuka sebelum angkatan selesai."), field="enrol_opens_on"
        )
    if v["capacity"] is not None and v["capacity"] < active:
        raise ValidationFailed(
            _("Kuota tidak boleh di bawah jumlah peserta aktif (%(n)s orang).") % {"n": active},
            field="capacity",
            code="capacity_below_enrolled",
        )


def run_read(session: Session, run: Run) -> RunRead:
    from app.courses import service

    brief = service.run_brief(run, service.today())
    return RunRead(
        **brief.model_dump(), course_id=run.course_id, delivery_mode=run.delivery_mode,
        waitlist=run.waitlist, waiting=repository.waiting_count(session, run.id),
        instructors=instructor_names(session, run),
    )  # fmt: skip


def run_edits(session: Session, run_id: int, *, limit: int = 100) -> list[RunEditRead]:
    """The run's recorded changes, newest first."""
    return [
        RunEditRead(id=e.id, at=e.at, user_id=e.user_id, user_name=name, field=e.field,
                    old_value=e.old_value, new_value=e.new_value)
        for e, name in repository.run_edits(session, run_id, limit=limit)
    ]  # fmt: skip


def present_value(field: str, value: str | None) -> str:
    """A recorded value as people read it (labels for codes, Ya/Tidak, — for nothing)."""
    if value is None or value == "":
        return "—"
    if value in ("true", "false"):
        return _("Ya") if value == "true" else _("Tidak")
    if field == "funding_source":
        return funding_labels().get(value, value)
    if field == "delivery_mode":
        return delivery_labels().get(value, value)
    return value


# --- staff --------------------------------------------------------------------------------------


def _staff_read(member: RunStaff, name: str, nip: str | None) -> StaffRead:
    return StaffRead(
        run_id=member.run_id, user_id=member.user_id, name=name, nip=nip, role=member.role,
        widyaiswara=member.widyaiswara, external=member.external,
        added_by_id=member.added_by_id, added_at=member.added_at,
    )  # fmt: skip


def list_staff(session: Session, run_id: int) -> list[StaffRead]:
    """The run's staff: facilitators first (widyaiswara first), then graders."""
    return [_staff_read(m, u.name, u.nip) for m, u in repository.run_staff(session, run_id)]


def _label(name: str, role: str, widyaiswara: bool, external: bool) -> str:
    parts = [staff_role_labels().get(role, role)]
    if widyaiswara:
        parts.append(_("widyaiswara"))
    if external:
        parts.append(_("eksternal"))
    return f"{name} ({', '.join(parts)})"


def add_staff(session: Session, run: Run, data: StaffCreate, by: Principal) -> StaffRead:
    """Put an active account on the run's staff; 422 unknown or inactive account, 409 already
    on the staff. Recorded (audit and the run's history)."""
    user = repository.users_by_ids(session, [data.user_id]).get(data.user_id)
    if user is None or not user.is_active:
        raise ValidationFailed(
            _("Akun tidak ditemukan atau tidak aktif."), field="user_id", code="unknown_user"
        )
    duplicate = Conflict(
        _("%(name)s sudah menjadi pengajar angkatan ini.") % {"name": user.name},
        code="duplicate_staff",
    )
    if repository.get_staff(session, run.id, user.id) is not None:
        raise duplicate
    member = RunStaff(
        run_id=run.id, user_id=user.id, role=data.role.value, widyaiswara=data.widyaiswara,
        external=data.external, added_by_id=by.user_id or None, added_at=utcnow(),
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(member)
    except IntegrityError:  # added concurrently
        raise duplicate from None
    label = _label(user.name, member.role, member.widyaiswara, member.external)
    _record(session, run.id, by, [("staff_added", None, label)])
    audit.record(session, "run.staff_changed", actor=by, target=("run", run.id),
                 after={"added": user.id, "role": member.role,
                        "widyaiswara": member.widyaiswara, "external": member.external})  # fmt: skip
    return _staff_read(member, user.name, user.nip)


def _member(session: Session, run_id: int, user_id: int) -> RunStaff:
    member = repository.get_staff(session, run_id, user_id)
    if member is None:
        raise NotFound(_("Orang ini bukan pengajar angkatan ini."), code="staff_not_found")
    return member


def update_staff(
    session: Session, run: Run, user_id: int, data: StaffUpdate, by: Principal
) -> StaffRead:
    """Change a staff member's role or labels (recorded)."""
    member = _member(session, run.id, user_id)
    user = repository.users_by_ids(session, [user_id])[user_id]
    before = _label(user.name, member.role, member.widyaiswara, member.external)
    if data.role is not None:
        member.role = data.role.value
    if data.widyaiswara is not None:
        member.widyaiswara = data.widyaiswara
    if data.external is not None:
        member.external = data.external
    after = _label(user.name, member.role, member.widyaiswara, member.external)
    session.flush()
    if after != before:
        _record(session, run.id, by, [("staff_changed", before, after)])
        audit.record(session, "run.staff_changed", actor=by, target=("run", run.id),
                     before={"user_id": user_id, "label": before},
                     after={"user_id": user_id, "role": member.role,
                            "widyaiswara": member.widyaiswara, "external": member.external})  # fmt: skip
    return _staff_read(member, user.name, user.nip)


def remove_staff(session: Session, run: Run, user_id: int, by: Principal) -> None:
    """Take someone off the run's staff (recorded); their past grades and marks stay."""
    member = _member(session, run.id, user_id)
    user = repository.users_by_ids(session, [user_id])[user_id]
    label = _label(user.name, member.role, member.widyaiswara, member.external)
    repository.remove(session, member)
    _record(session, run.id, by, [("staff_removed", label, None)])
    audit.record(session, "run.staff_changed", actor=by, target=("run", run.id),
                 before={"removed": user_id, "role": member.role})  # fmt: skip


def instructor_names(session: Session, run: Run) -> list[str]:
    """Who the post-course survey asks about: the run's facilitators (widyaiswara first); a run
    without facilitators (made before run staff existed) keeps its free-text list."""
    names = repository.facilitator_names(session, run.id)
    if names:
        return list(dict.fromkeys(names))
    seen: dict[str, str] = {}
    for line in (run.instructors or "").splitlines():
        name = " ".join(line.split())
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def search_accounts(session: Session, q: str, *, limit: int = 20) -> list[tuple[int, str, str]]:
    """(user id, name, NIP) of active accounts matching a name or NIP (the staff picker)."""
    from app.accounts.nip import normalise_nip

    q = " ".join(q.split())
    if len(q) < 2:
        return []
    if any(c.isdigit() for c in q) and all(c.isdigit() or c in " .-" for c in q):
        q = normalise_nip(q)
    return [
        (u.id, u.name, u.nip or "") for u in repository.search_accounts(session, q, limit=limit)
    ]


# --- the teaching hub and the dashboard ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HubItem:
    activity_id: int
    title: str
    section: str
    hidden: bool


@dataclass(frozen=True, slots=True)
class TeachHub:
    """What run staff reach from /runs/{id}/teach: the course's live sessions and assignments."""

    sessions: list[HubItem]
    assignments: list[HubItem]
    waiting: int


def teach_hub(session: Session, run: Run) -> TeachHub:
    from app.courses import service

    sessions: list[HubItem] = []
    assignments: list[HubItem] = []
    for section in service.courses_brief_content(session, [run.course_id])[run.course_id]:
        for a in section.activities:
            item = HubItem(a.id, a.title, section.title, a.hidden)
            if a.kind == ActivityKind.LIVE_SESSION:
                sessions.append(item)
            elif a.kind == ActivityKind.ASSIGNMENT:
                assignments.append(item)
    return TeachHub(sessions, assignments, repository.waiting_count(session, run.id))


@dataclass(frozen=True, slots=True)
class StaffedRun:
    """A run the user teaches or grades (the dashboard's "Angkatan yang Anda ampu")."""

    run_id: int
    run_name: str
    course_title: str
    role: str
    starts_on: dt.date
    ends_on: dt.date


# Runs each user is staff of: asked by every home page, changed when staff are named. Keyed by
# user id (most users: an empty list); the values are shared, so callers only read them.
staffed = readcache.WatchedCache(
    "staffed_runs", {"run_staff", "course_run", "course"}, lambda: get_settings().read_cache_seconds
)


def staffed_runs(session: Session, user_id: int, *, on: dt.date | None = None) -> list[StaffedRun]:
    """Runs the user is staff of, newest first; with `on`, those not ended before that day
    (this process's cached copy when the tables did not change)."""
    fresh = not staffed.changed_in(session)
    found: list[StaffedRun] | None = staffed.get(user_id) if fresh else None
    if found is None:
        generation = staffed.generation
        found = [
            StaffedRun(r.id, r.name, c.title, role, r.starts_on, r.ends_on)
            for r, c, role in repository.staffed_runs(session, user_id)
        ]
        if fresh:
            staffed.put(user_id, found, generation)
    return [s for s in found if on is None or s.ends_on >= on]


def role_options() -> list[tuple[str, str]]:
    labels = staff_role_labels()
    return [(r.value, labels[r.value]) for r in StaffRole]


def waitlisted_result(session: Session, enrolment: Enrolment, principal: Principal) -> EnrolResult:
    """The self-enrolment answer for a place in line: status "waitlisted" and the position."""
    place = position(session, enrolment) or 0
    item = WaitlistedItem(user_id=principal.user_id, nip=None, name=principal.name,
                          enrolment_id=enrolment.id, position=place)  # fmt: skip
    return EnrolResult(enrolled=[], skipped=[], waitlisted=[item], status="waitlisted",
                       position=place)  # fmt: skip
