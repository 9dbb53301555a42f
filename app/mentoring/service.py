"""Rules of induction mentoring: who may be assigned, which sessions count, sign-off, the
officer's verification that credits JP to the ledger, and the SIASN rows of verified mentoring.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.constants import Role
from app.audit import service as audit
from app.auth.service import Principal
from app.competency import service as competency_service
from app.core import clock, events
from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from app.core.i18n import gettext_ as _
from app.courses import filetypes, uploads
from app.courses.models import ContentFile
from app.jp import service as jp_service
from app.mentoring import repository
from app.mentoring.models import MentoringAssignment, MentoringSession
from app.mentoring.schemas import (
    BULK_MAX_MENTEES,
    AssignmentCreate,
    AssignmentDetail,
    AssignmentPage,
    AssignmentPlan,
    AssignmentRead,
    BulkAssignmentCreate,
    BulkResult,
    BulkSkipped,
    Created,
    DecisionIn,
    PersonRef,
    SessionCreate,
    SessionRead,
)
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.storage.service import get_storage

OFFICERS = (Role.TRAINING_OFFICER, Role.ADMIN)
STATUSES = ("active", "signed_off", "verified", "returned", "cancelled")
EDITABLE = ("active", "returned")  # the mentor may log sessions and sign off
CONFIRMABLE = ("active", "signed_off", "returned")
FUNDING_SOURCE = "non_anggaran"  # mentoring by the mentee's own OPD leader costs no budget
SIASN_JENIS_MENTORING = 15  # SIASN jenisDiklatId (DESIGN.md)
EVIDENCE_TYPES = frozenset({filetypes.PDF.mime, filetypes.JPEG.mime, filetypes.PNG.mime})
# Sanity bounds on input, not agency rules (those are settings).
MAX_PLANNED_SESSIONS = 100
MAX_JP_PER_SESSION = 40.0
BULK_MAX = BULK_MAX_MENTEES
MAX_SESSION_MINUTES = 24 * 60
GROW_FIELDS = ("goal", "reality", "options", "way_forward")


def today() -> dt.date:
    """The institution's date (its time zone, not the server's); tests monkeypatch this."""
    return clock.today()


def is_officer(principal: Principal) -> bool:
    return principal.has_any(*OFFICERS)


def grow_labels() -> dict[str, str]:
    """GROW coaching model (Whitmore): Goal, Reality, Options, Way forward."""
    return {
        "goal": _("Goal (tujuan sesi)"),
        "reality": _("Reality (kondisi saat ini)"),
        "options": _("Options (pilihan tindakan)"),
        "way_forward": _("Way forward (langkah selanjutnya)"),
    }


# --- rules (pure) -------------------------------------------------------------------------------


def months_spanned(starts_on: dt.date, ends_on: dt.date) -> int:
    """Calendar months the period touches (1 Jan - 1 Feb touches two)."""
    return (ends_on.year - starts_on.year) * 12 + ends_on.month - starts_on.month + 1


def plan_errors(
    *,
    goal: str,
    planned_sessions: int,
    jp_per_session: float,
    starts_on: dt.date,
    ends_on: dt.date,
    settings: Settings,
) -> list[dict[str, Any]]:
    """An assignment needs a goal, a valid period, and a plan the monthly cap can fit
    (settings.mentoring_max_sessions_per_month sessions per calendar month)."""
    errors: list[dict[str, Any]] = []
    if not goal.strip():
        errors.append({"field": "goal", "message": _("Tujuan mentoring wajib diisi.")})
    if ends_on < starts_on:
        errors.append(
            {
                "field": "ends_on",
                "message": _("Tanggal selesai tidak boleh sebelum tanggal mulai."),
            }
        )
    if planned_sessions < 1 or planned_sessions > MAX_PLANNED_SESSIONS:
        errors.append(
            {
                "field": "planned_sessions",
                "message": _("Jumlah sesi rencana harus antara 1 dan %(n)s.")
                % {"n": MAX_PLANNED_SESSIONS},
            }
        )
    elif ends_on >= starts_on:
        fits = months_spanned(starts_on, ends_on) * settings.mentoring_max_sessions_per_month
        if planned_sessions > fits:
            errors.append(
                {
                    "field": "planned_sessions",
                    "message": _(
                        "Jumlah sesi rencana (%(n)s) melebihi yang muat dalam periode: paling "
                        "banyak %(cap)s sesi per bulan, jadi paling banyak %(fits)s sesi."
                    )
                    % {
                        "n": planned_sessions,
                        "cap": settings.mentoring_max_sessions_per_month,
                        "fits": fits,
                    },
                }
            )
    if not (0 < jp_per_session <= MAX_JP_PER_SESSION) or not math.isfinite(jp_per_session):
        errors.append(
            {
                "field": "jp_per_session",
                "message": _("JP per sesi harus lebih dari 0 dan paling banyak %(n)s.")
                % {"n": f"{MAX_JP_PER_SESSION:g}"},
            }
        )
    return errors


def grow_errors(data: SessionCreate) -> list[dict[str, Any]]:
    """Each session records the four GROW notes (agency's induction log)."""
    labels = grow_labels()
    return [
        {"field": name, "message": _("%(label)s wajib diisi.") % {"label": labels[name]}}
        for name in GROW_FIELDS
        if not getattr(data, name).strip()
    ]


def session_errors(
    assignment: MentoringAssignment,
    existing: Sequence[MentoringSession],
    data: SessionCreate,
    settings: Settings,
    on: dt.date,
) -> list[dict[str, Any]]:
    """A session is held in the past, inside the period, long enough, within the monthly cap
    and within the planned number of sessions; with its GROW notes."""
    errors: list[dict[str, Any]] = []
    held = data.held_on
    if held > on:
        errors.append(
            {
                "field": "held_on",
                "message": _("Tanggal sesi tidak boleh di masa depan (hari ini %(d)s).")
                % {"d": f"{on:%d-%m-%Y}"},
            }
        )
    elif not (assignment.starts_on <= held <= assignment.ends_on):
        errors.append(
            {
                "field": "held_on",
                "message": _("Tanggal sesi harus dalam periode mentoring (%(a)s s.d. %(b)s).")
                % {"a": f"{assignment.starts_on:%d-%m-%Y}", "b": f"{assignment.ends_on:%d-%m-%Y}"},
            }
        )
    else:
        same_month = [
            s for s in existing if (s.held_on.year, s.held_on.month) == (held.year, held.month)
        ]
        if len(same_month) >= settings.mentoring_max_sessions_per_month:
            errors.append(
                {
                    "field": "held_on",
                    "message": _(
                        "Sudah ada %(n)s sesi pada bulan %(m)s; paling banyak %(cap)s sesi per "
                        "bulan."
                    )
                    % {
                        "n": len(same_month),
                        "m": f"{held:%m-%Y}",
                        "cap": settings.mentoring_max_sessions_per_month,
                    },
                    "code": "monthly_cap",
                }
            )
    if len(existing) >= assignment.planned_sessions:
        errors.append(
            {
                "field": "held_on",
                "message": _("Semua %(n)s sesi rencana sudah dicatat; tidak bisa menambah sesi.")
                % {"n": assignment.planned_sessions},
                "code": "planned_sessions_reached",
            }
        )
    if data.duration_minutes < settings.mentoring_min_session_minutes:
        errors.append(
            {
                "field": "duration_minutes",
                "message": _("Durasi sesi paling sedikit %(n)s menit.")
                % {"n": settings.mentoring_min_session_minutes},
            }
        )
    elif data.duration_minutes > MAX_SESSION_MINUTES:
        errors.append(
            {"field": "duration_minutes", "message": _("Durasi sesi paling lama 24 jam.")}
        )
    return errors + grow_errors(data)


def credited_sessions(sessions: Iterable[MentoringSession], planned: int) -> list[MentoringSession]:
    """The sessions that earn JP: mentee-confirmed ones, oldest first, at most `planned`."""
    confirmed = [s for s in sessions if s.mentee_confirmed_at is not None]
    confirmed.sort(key=lambda s: (s.held_on, s.id))
    return confirmed[:planned]


def _raise(errors: list[dict[str, Any]], *, code: str | None = None) -> None:
    if errors:
        first = errors[0]
        raise ValidationFailed(
            str(first["message"]), field=str(first["field"]), errors=errors,
            code=code or first.get("code"),
        )  # fmt: skip


# --- reading ------------------------------------------------------------------------------------


def _person(profiles: dict[int, accounts_service.ProfileView], user_id: int) -> PersonRef:
    p = profiles.get(user_id)
    if p is None:
        return PersonRef(id=user_id, name="?", nip=None, opd_code=None, opd_name=None)
    return PersonRef(id=p.user_id, name=p.name, nip=p.nip, opd_code=p.opd_code, opd_name=p.opd_name)


def _session_read(a: MentoringAssignment, s: MentoringSession, credited: set[int]) -> SessionRead:
    return SessionRead(
        id=s.id,
        held_on=s.held_on,
        duration_minutes=s.duration_minutes,
        goal=s.goal,
        reality=s.reality,
        options=s.options,
        way_forward=s.way_forward,
        evidence_name=s.evidence_name if s.evidence_file_id else None,
        evidence_url=(
            f"/api/v1/mentoring/assignments/{a.id}/sessions/{s.id}/evidence"
            if s.evidence_file_id
            else None
        ),
        confirmed=s.mentee_confirmed_at is not None,
        mentee_confirmed_at=s.mentee_confirmed_at,
        credited=s.id in credited,
    )


def _reads(session: Session, assignments: Sequence[MentoringAssignment]) -> list[AssignmentDetail]:
    """Plain data for assignments: people, competency names and sessions in three queries."""
    people = accounts_service.profiles(
        session, sorted({a.mentor_id for a in assignments} | {a.mentee_id for a in assignments})
    )
    names = competency_service.competency_names(session) if assignments else {}
    sessions = repository.sessions_of(session, [a.id for a in assignments])
    out: list[AssignmentDetail] = []
    for a in assignments:
        rows = sessions[a.id]
        credited = credited_sessions(rows, a.planned_sessions)
        credited_ids = {s.id for s in credited}
        expected = round(len(credited) * a.jp_per_session, 2)
        out.append(
            AssignmentDetail(
                id=a.id,
                mentor=_person(people, a.mentor_id),
                mentee=_person(people, a.mentee_id),
                competency=a.competency_code,
                competency_name=names.get(a.competency_code, a.competency_code),
                goal=a.goal,
                planned_sessions=a.planned_sessions,
                jp_per_session=a.jp_per_session,
                starts_on=a.starts_on,
                ends_on=a.ends_on,
                status=a.status,
                signed_off_at=a.signed_off_at,
                decided_at=a.decided_at,
                decision_reason=a.decision_reason,
                session_count=len(rows),
                confirmed_count=sum(1 for s in rows if s.mentee_confirmed_at is not None),
                jp_expected=expected,
                jp_credited=expected if a.status == "verified" else 0.0,
                sessions=[_session_read(a, s, credited_ids) for s in rows],
            )
        )
    return out


def _visible(session: Session, assignment_id: int, principal: Principal) -> MentoringAssignment:
    """The mentor, the mentee and officers see an assignment; for anyone else it does not exist."""
    a = repository.get_assignment(session, assignment_id)
    if a is None or not (principal.user_id in (a.mentor_id, a.mentee_id) or is_officer(principal)):
        raise NotFound(_("Penugasan mentoring tidak ditemukan."), code="assignment_not_found")
    return a


def _own_mentor(session: Session, assignment_id: int, principal: Principal) -> MentoringAssignment:
    """Only the assignment's own mentor logs and signs off (404 for anyone else)."""
    a = repository.get_assignment(session, assignment_id, lock=True)
    if a is None or a.mentor_id != principal.user_id:
        raise NotFound(_("Penugasan mentoring tidak ditemukan."), code="assignment_not_found")
    return a


def _own_mentee(session: Session, assignment_id: int, principal: Principal) -> MentoringAssignment:
    a = repository.get_assignment(session, assignment_id, lock=True)
    if a is None or a.mentee_id != principal.user_id:
        raise NotFound(_("Penugasan mentoring tidak ditemukan."), code="assignment_not_found")
    return a


def get_assignment(session: Session, assignment_id: int, principal: Principal) -> AssignmentDetail:
    return _reads(session, [_visible(session, assignment_id, principal)])[0]


def list_assignments(
    session: Session,
    principal: Principal,
    *,
    role: str | None = None,
    status: str | None = None,
    competency: str | None = None,
    opd_code: str | None = None,
    q: str | None = None,
    mentor_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AssignmentPage:
    """Officers see every assignment (filters); anyone else only those they mentor or receive.
    `role` ("mentor" | "mentee") narrows to the caller's own side, officers included."""
    if role not in (None, "mentor", "mentee"):
        raise ValidationFailed(_("Peran harus mentor atau mentee."), field="role")
    if status and status not in STATUSES:
        raise ValidationFailed(_("Status penugasan tidak dikenal."), field="status")
    own = role is not None or not is_officer(principal)
    page, per_page = max(page, 1), min(max(per_page, 1), 200)
    total, rows = repository.list_assignments(
        session,
        user_id=principal.user_id if own else None,
        role=role,
        status=status or None,
        competency_code=(competency or "").strip() or None,
        opd_code=(opd_code or "").strip().upper() or None,
        q=(q or "").strip() or None,
        mentor_id=mentor_id if not own else None,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    items = [AssignmentRead.model_validate(d.model_dump()) for d in _reads(session, rows)]
    return AssignmentPage(total=total, page=page, per_page=per_page, items=items)


# --- officer: assigning -------------------------------------------------------------------------


def _check_mentor(session: Session, mentor_id: int) -> None:
    """The mentor is an active user holding the `mentor` role (usually the OPD leader)."""
    who = accounts_service.identity(session, mentor_id)
    if who is None:
        raise ValidationFailed(_("Mentor tidak ditemukan."), field="mentor_id")
    if Role.MENTOR not in who.roles:
        raise ValidationFailed(
            _("%(name)s tidak memiliki peran mentor.") % {"name": who.name},
            field="mentor_id", code="not_a_mentor",
        )  # fmt: skip
    if not who.is_active:
        raise ValidationFailed(
            _("Akun mentor %(name)s tidak aktif.") % {"name": who.name}, field="mentor_id"
        )


def _check_competency(session: Session, code: str) -> str:
    code = code.strip()
    if not code:
        raise ValidationFailed(_("Kompetensi wajib dipilih."), field="competency")
    names = competency_service.competency_names(session)
    if code not in names:
        folded = {c.casefold(): c for c in names}
        if code.casefold() not in folded:
            raise ValidationFailed(
                _("Kompetensi '%(code)s' tidak ada di katalog.") % {"code": code},
                field="competency", code="unknown_competency",
            )  # fmt: skip
        code = folded[code.casefold()]
    return code


def _check_plan(data: AssignmentPlan, settings: Settings) -> float:
    jp = (
        data.jp_per_session
        if data.jp_per_session is not None
        else settings.mentoring_jp_per_session
    )
    _raise(
        plan_errors(
            goal=data.goal, planned_sessions=data.planned_sessions, jp_per_session=jp,
            starts_on=data.starts_on, ends_on=data.ends_on, settings=settings,
        )
    )  # fmt: skip
    return float(jp)


def _new_assignment(
    data: AssignmentPlan,
    mentee_id: int,
    code: str,
    jp: float,
    principal: Principal,
) -> MentoringAssignment:
    return MentoringAssignment(
        mentor_id=data.mentor_id,
        mentee_id=mentee_id,
        competency_code=code,
        goal=data.goal.strip(),
        planned_sessions=data.planned_sessions,
        jp_per_session=jp,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        status="active",
        created_by_id=principal.user_id,
    )


def create_assignment(
    session: Session, data: AssignmentCreate, principal: Principal, settings: Settings
) -> MentoringAssignment:
    """Officer assigns one mentee to a mentor in one competency."""
    _check_mentor(session, data.mentor_id)
    if data.mentee_id == data.mentor_id:
        raise ValidationFailed(
            _("Mentor dan mentee tidak boleh orang yang sama."), field="mentee_id",
            code="mentor_is_mentee",
        )  # fmt: skip
    if accounts_service.identity(session, data.mentee_id) is None:
        raise ValidationFailed(_("Mentee tidak ditemukan."), field="mentee_id")
    code = _check_competency(session, data.competency)
    jp = _check_plan(data, settings)
    if repository.open_pairs(session, data.mentor_id, [data.mentee_id], code):
        raise Conflict(
            _("Mentee ini sudah punya penugasan mentoring yang berjalan dengan mentor yang sama "
              "untuk kompetensi ini."),
            code="assignment_exists",
        )  # fmt: skip
    assignment = _new_assignment(data, data.mentee_id, code, jp, principal)
    repository.add(session, assignment)
    return assignment


def create_bulk(
    session: Session, data: BulkAssignmentCreate, principal: Principal, settings: Settings
) -> BulkResult:
    """One mentor, many mentees (from the gap list). Any unknown mentee refuses the whole list;
    mentees who already have an open assignment with this mentor and competency are skipped."""
    _check_mentor(session, data.mentor_id)
    mentee_ids = list(dict.fromkeys(data.mentee_ids))
    if data.mentor_id in mentee_ids:
        raise ValidationFailed(
            _("Mentor tidak boleh menjadi mentee dirinya sendiri."), field="mentee_ids",
            code="mentor_is_mentee",
        )  # fmt: skip
    known = accounts_service.profiles(session, mentee_ids)
    unknown = [i for i in mentee_ids if i not in known]
    if unknown:
        raise ValidationFailed(
            _("Mentee tidak ditemukan: id %(ids)s.") % {"ids": ", ".join(map(str, unknown))},
            field="mentee_ids",
        )
    code = _check_competency(session, data.competency)
    jp = _check_plan(data, settings)
    existing = repository.open_pairs(session, data.mentor_id, mentee_ids, code)
    new = [_new_assignment(data, m, code, jp, principal) for m in mentee_ids if m not in existing]
    repository.add_all(session, new)
    return BulkResult(
        created=[Created(id=a.id) for a in new],
        created_mentee_ids=[a.mentee_id for a in new],
        skipped=[
            BulkSkipped(
                mentee_id=m,
                reason=_("%(name)s sudah punya penugasan berjalan untuk kompetensi ini.")
                % {"name": known[m].name},
            )
            for m in mentee_ids
            if m in existing
        ],
    )


def cancel(session: Session, assignment_id: int, reason: str, principal: Principal) -> None:
    """Officer cancels an assignment that has not been verified (reason required)."""
    a = repository.get_assignment(session, assignment_id, lock=True)
    if a is None:
        raise NotFound(_("Penugasan mentoring tidak ditemukan."), code="assignment_not_found")
    if a.status in ("verified", "cancelled"):
        raise Conflict(
            _("Penugasan yang sudah diverifikasi atau dibatalkan tidak dapat dibatalkan."),
            code="assignment_closed",
        )
    if not reason.strip():
        raise ValidationFailed(_("Alasan pembatalan wajib diisi."), field="reason")
    a.status = "cancelled"
    a.decided_at = utcnow()
    a.decided_by_id = principal.user_id
    a.decision_reason = reason.strip()
    session.flush()


# --- mentor: sessions and sign-off --------------------------------------------------------------


def _require_editable(a: MentoringAssignment) -> None:
    if a.status not in EDITABLE:
        messages = {
            "signed_off": _("Penugasan sudah ditandatangani dan menunggu verifikasi."),
            "verified": _("Penugasan sudah diverifikasi; sesi tidak dapat diubah."),
            "cancelled": _("Penugasan sudah dibatalkan."),
        }
        fallback = _("Penugasan tidak dapat diubah.")  # not nested: babel.cfg reads Conflict(...)
        raise Conflict(messages.get(a.status, fallback), code="assignment_locked")


def log_session(
    session: Session,
    assignment_id: int,
    data: SessionCreate,
    principal: Principal,
    settings: Settings,
) -> MentoringSession:
    """The mentor records a meeting; it counts for JP once the mentee confirms it."""
    a = _own_mentor(session, assignment_id, principal)
    _require_editable(a)
    existing = repository.sessions_of(session, [a.id])[a.id]
    _raise(session_errors(a, existing, data, settings, today()))
    row = MentoringSession(
        assignment_id=a.id,
        held_on=data.held_on,
        duration_minutes=data.duration_minutes,
        goal=data.goal.strip(),
        reality=data.reality.strip(),
        options=data.options.strip(),
        way_forward=data.way_forward.strip(),
    )
    repository.add(session, row)
    names = competency_service.competency_names(session)
    notifications.notify(
        session,
        NewNotification(
            event="mentoring_session_pending", user_id=a.mentee_id,
            key=f"mentoring_session_pending:{row.id}",
            context={"mentor_name": principal.name, "held_on": row.held_on.isoformat(),
                     "duration_minutes": row.duration_minutes,
                     "competency": names.get(a.competency_code, a.competency_code)},
            url=f"/mentoring/assignments/{a.id}",
        ),
        settings,
    )  # fmt: skip
    return row


def _own_session(session: Session, a: MentoringAssignment, session_id: int) -> MentoringSession:
    row = repository.get_session(session, a.id, session_id)
    if row is None:
        raise NotFound(_("Sesi mentoring tidak ditemukan."), code="session_not_found")
    return row


def delete_session(
    session: Session, assignment_id: int, session_id: int, principal: Principal
) -> None:
    """The mentor removes a session logged by mistake, while the mentee has not confirmed it."""
    a = _own_mentor(session, assignment_id, principal)
    _require_editable(a)
    row = _own_session(session, a, session_id)
    if row.mentee_confirmed_at is not None:
        raise Conflict(
            _("Sesi yang sudah dikonfirmasi mentee tidak dapat dihapus."), code="session_confirmed"
        )
    repository.delete(session, row)


def store_evidence(
    session: Session, stream: BinaryIO, size: int | None, settings: Settings
) -> ContentFile:
    """Evidence is a PDF, JPEG or PNG judged by its bytes, at most settings.max_evidence_bytes."""
    rule = uploads.SmallFileRule(
        cap=settings.max_evidence_bytes,
        mimes=EVIDENCE_TYPES,
        too_large=_("Berkas bukti paling besar %(size)s."),
        empty=_("Berkas bukti kosong."),
        unsupported=_("Bukti harus berupa PDF, JPEG atau PNG; berkas ini %(what)s."),
        unsupported_code="unsupported_evidence",
    )
    return uploads.store_small_file(session, get_storage(settings), stream, size, rule, settings)


def attach_evidence(
    session: Session,
    assignment_id: int,
    session_id: int,
    principal: Principal,
    *,
    stream: BinaryIO,
    filename: str | None,
    size: int | None,
    settings: Settings,
) -> MentoringSession:
    a = _own_mentor(session, assignment_id, principal)
    _require_editable(a)
    row = _own_session(session, a, session_id)
    stored = store_evidence(session, stream, size, settings)
    row.evidence_file_id = stored.id
    row.evidence_name = uploads.clean_filename(filename or "") or f"bukti-sesi-{row.id}"
    session.flush()
    return row


def evidence(
    session: Session, assignment_id: int, session_id: int, principal: Principal
) -> tuple[ContentFile, str]:
    """The evidence file of a session: for its mentor, its mentee and officers only."""
    a = _visible(session, assignment_id, principal)
    row = _own_session(session, a, session_id)
    stored = repository.get_file(session, row.evidence_file_id) if row.evidence_file_id else None
    if stored is None:
        raise NotFound(_("Sesi ini tidak punya berkas bukti."), code="no_evidence")
    return stored, row.evidence_name or f"bukti-sesi-{row.id}"


def sign_off(session: Session, assignment_id: int, principal: Principal) -> MentoringAssignment:
    """The mentor closes the mentoring for verification; it needs a mentee-confirmed session."""
    a = _own_mentor(session, assignment_id, principal)
    _require_editable(a)
    rows = repository.sessions_of(session, [a.id])[a.id]
    if not any(s.mentee_confirmed_at is not None for s in rows):
        raise ValidationFailed(
            _("Belum ada sesi yang dikonfirmasi mentee; tanda tangan memerlukan sedikitnya satu "
              "sesi terkonfirmasi."),
            field="sessions", code="no_confirmed_session",
        )  # fmt: skip
    a.status = "signed_off"
    a.signed_off_at = utcnow()
    session.flush()
    return a


# --- mentee: confirmation -----------------------------------------------------------------------


def confirm_session(
    session: Session, assignment_id: int, session_id: int, principal: Principal
) -> MentoringSession:
    """The mentee confirms the meeting took place (once; confirming again changes nothing)."""
    a = _own_mentee(session, assignment_id, principal)
    if a.status not in CONFIRMABLE:
        raise Conflict(
            _("Penugasan ini sudah ditutup; sesi tidak dapat dikonfirmasi."),
            code="assignment_locked",
        )
    row = _own_session(session, a, session_id)
    if row.mentee_confirmed_at is None:
        row.mentee_confirmed_at = utcnow()
        session.flush()
        events.learning(session, events.LearningEvent(
            "mentoring_confirmed", user_id=a.mentee_id, ref_id=row.id, at=row.mentee_confirmed_at,
        ))  # fmt: skip
    return row


# --- officer: verification ----------------------------------------------------------------------


def verify(
    session: Session, assignment_id: int, decision: DecisionIn, principal: Principal
) -> MentoringAssignment:
    """After sign-off the officer approves (JP for each credited session goes to the ledger:
    source mentoring, year and date of the session, funding non_anggaran) or returns it to the
    mentor with a reason (no JP). No JP is credited before this."""
    a = repository.get_assignment(session, assignment_id, lock=True)
    if a is None:
        raise NotFound(_("Penugasan mentoring tidak ditemukan."), code="assignment_not_found")
    if a.status == "verified":
        raise Conflict(_("Penugasan ini sudah diverifikasi."), code="already_verified")
    if a.status == "cancelled":
        raise Conflict(_("Penugasan ini sudah dibatalkan."), code="assignment_closed")
    if a.status != "signed_off":
        raise ValidationFailed(
            _("Penugasan belum ditandatangani mentor; verifikasi dilakukan setelah tanda tangan."),
            field="status", code="not_signed_off",
        )  # fmt: skip
    reason = (decision.reason or "").strip()
    if not decision.approved and not reason:
        raise ValidationFailed(_("Alasan wajib diisi bila penugasan dikembalikan."), field="reason")
    a.decided_at = utcnow()
    a.decided_by_id = principal.user_id
    a.decision_reason = reason or None
    audit.record(session, "mentoring.decided", actor=principal, target=("mentoring", a.id),
                 before={"status": a.status},
                 after={"status": "verified" if decision.approved else "returned",
                        "reason": a.decision_reason, "mentee_id": a.mentee_id})  # fmt: skip
    if not decision.approved:
        a.status = "returned"
        session.flush()
        return a
    a.status = "verified"
    sessions = repository.sessions_of(session, [a.id])[a.id]
    names = competency_service.competency_names(session)
    mentor = accounts_service.profiles(session, [a.mentor_id]).get(a.mentor_id)
    reference = _("Mentoring %(c)s — %(m)s") % {
        "c": names.get(a.competency_code, a.competency_code),
        "m": mentor.name if mentor else "?",
    }
    for s in credited_sessions(sessions, a.planned_sessions):
        jp_service.credit(
            session, user_id=a.mentee_id, year=s.held_on.year, source=jp_service.MENTORING,
            source_id=s.id, jp=a.jp_per_session, credited_on=s.held_on, reference=reference,
            funding_source=FUNDING_SOURCE,
        )  # fmt: skip
    session.flush()
    return a


# --- SIASN --------------------------------------------------------------------------------------


def siasn_rows(
    session: Session, year: int, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Riwayat kursus for SIASN: one row per verified assignment with JP credited in `year`
    (jenisDiklatId 15; jumlahJam = the JP of that year; dates = first and last credited session
    of that year), keys as app.certificates.exports.SIASN_FIELDS."""
    settings = settings or get_settings()
    assignments = repository.verified_with_sessions_in(session, year)
    if not assignments:
        return []
    sessions = repository.sessions_of(session, [a.id for a in assignments])
    people = accounts_service.profiles(session, sorted({a.mentee_id for a in assignments}))
    names = competency_service.competency_names(session)
    rows: list[dict[str, Any]] = []
    for a in assignments:
        held = [
            s.held_on
            for s in credited_sessions(sessions[a.id], a.planned_sessions)
            if s.held_on.year == year
        ]
        if not held:
            continue
        person = people.get(a.mentee_id)
        rows.append(
            {
                "nip": person.nip if person else None,
                "nama": person.name if person else None,
                # SIASN is Indonesian whatever the officer's UI language.
                "namaKursus": f"Mentoring {names.get(a.competency_code, a.competency_code)}",
                "jumlahJam": round(len(held) * a.jp_per_session, 2),
                "nomorSertipikat": f"MENTORING-{a.id}",
                "tanggalKursus": f"{min(held):%d-%m-%Y}",
                "tanggalSelesaiKursus": f"{max(held):%d-%m-%Y}",
                "tahunKursus": year,
                "institusiPenyelenggara": settings.institution_name,
                "jenisDiklatId": SIASN_JENIS_MENTORING,
            }
        )
    return rows


# --- what is waiting (dashboard) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Todo:
    """What waits for the caller: sessions to confirm (mentee), open assignments to work on
    (mentor: active or returned), assignments to verify (officers)."""

    to_confirm: int
    to_work_on: int
    to_verify: int


def todo(session: Session, principal: Principal) -> Todo:
    """Counts for the dashboard (at most three queries)."""
    return Todo(
        to_confirm=repository.count_unconfirmed_for_mentee(session, principal.user_id, CONFIRMABLE),
        to_work_on=(
            repository.count_assignments(session, statuses=EDITABLE, mentor_id=principal.user_id)
            if principal.has_any(Role.MENTOR)
            else 0
        ),
        to_verify=(
            repository.count_assignments(session, statuses=("signed_off",))
            if is_officer(principal)
            else 0
        ),
    )


def awaiting_verification(session: Session) -> int:
    """Assignments signed off by their mentor and waiting for an officer (weekly digest)."""
    return repository.count_assignments(session, statuses=("signed_off",))
