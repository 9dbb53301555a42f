"""HTML pages of mentoring: the mentor's mentees and session log, the mentee's confirmations and
the officer's oversight and verification. Rules are the service's; routes parse forms and render.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from app.accounts import repository as accounts_repository
from app.accounts import service as accounts_service
from app.accounts.nip import normalise_nip
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.competency import service as competency_service
from app.core.config import Settings
from app.core.errors import LMSError, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import uploads
from app.mentoring import repository, service
from app.mentoring.schemas import (
    AssignmentCreate,
    BulkAssignmentCreate,
    BulkResult,
    DecisionIn,
    SessionCreate,
)
from app.web.params import PageNumber, RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)

Officer = Annotated[Principal, Depends(require_roles(*service.OFFICERS))]
PER_PAGE = 25


async def posted_form(request: Request) -> FormData:
    """The posted form, files included (CSRF was checked already by the principal dependency)."""
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def status_labels() -> dict[str, str]:
    return {
        "active": _("Berjalan"),
        "signed_off": _("Menunggu verifikasi"),
        "verified": _("Terverifikasi"),
        "returned": _("Dikembalikan"),
        "cancelled": _("Dibatalkan"),
    }


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in exc.errors or [{"field": exc.field, "message": exc.detail}]:
        if e.get("field"):
            errors.setdefault(str(e["field"]), str(e["message"]))
    return errors


def _pydantic_errors(exc: ValidationError, messages: dict[str, str]) -> dict[str, str]:
    wrong = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    return {f: messages.get(f, _("Isian ini belum benar.")) for f in wrong}


# --- lists --------------------------------------------------------------------------------------


def _list_page(
    request: Request,
    db: SessionDep,
    principal: Principal,
    *,
    role: str,
    template: str,
    page: int,
    status: str | None,
) -> Response:
    result = service.list_assignments(
        db, principal, role=role, status=status or None, page=page, per_page=PER_PAGE
    )
    return render(
        request,
        template,
        {
            "result": result,
            "status": status or "",
            "status_labels": status_labels(),
            "pages": max(1, -(-result.total // PER_PAGE)),
        },
    )


@router.get("/mentoring/mentees")
def my_mentees(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    page: PageNumber = 1,
    status: str | None = None,
) -> Response:
    """The mentor's own assignments ("Mentee saya"), phone first."""
    return _list_page(
        request, db, principal, role="mentor", template="mentoring/mentees.html", page=page,
        status=status,
    )  # fmt: skip


@router.get("/mentoring/saya")
def my_mentoring(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    page: PageNumber = 1,
) -> Response:
    """The mentee's own assignments ("Mentoring saya") with sessions waiting for confirmation."""
    return _list_page(
        request, db, principal, role="mentee", template="mentoring/mine.html", page=page,
        status=None,
    )  # fmt: skip


# --- one assignment -----------------------------------------------------------------------------


def _blank_session(on: dt.date) -> dict[str, str]:
    return {"held_on": on.isoformat(), "duration_minutes": "60", "goal": "", "reality": "",
            "options": "", "way_forward": ""}  # fmt: skip


def _assignment_page(
    request: Request,
    db: SessionDep,
    settings: Settings,
    assignment_id: int,
    principal: Principal,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    decision_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    a = service.get_assignment(db, assignment_id, principal)
    today = service.today()
    is_mentor = a.mentor.id == principal.user_id
    return render(
        request,
        "mentoring/assignment.html",
        {
            "a": a,
            "is_mentor": is_mentor,
            "is_mentee": a.mentee.id == principal.user_id,
            "is_officer": service.is_officer(principal),
            "editable": is_mentor and a.status in service.EDITABLE,
            "can_log": is_mentor
            and a.status in service.EDITABLE
            and a.session_count < a.planned_sessions,
            "confirmable": a.status in service.CONFIRMABLE,
            "values": values or _blank_session(min(today, a.ends_on)),
            "errors": errors or {},
            "error": error,
            "decision": decision_values or {"approved": "", "reason": ""},
            "today": today.isoformat(),
            "grow_labels": service.grow_labels(),
            "status_labels": status_labels(),
            "settings": {
                "min_minutes": settings.mentoring_min_session_minutes,
                "per_month": settings.mentoring_max_sessions_per_month,
                "max_size": uploads.human_size(settings.max_evidence_bytes),
            },
            "done": request.query_params.get("done", ""),
            "breadcrumbs": [
                (_("Mentee saya"), "/mentoring/mentees")
                if is_mentor
                else (_("Mentoring saya"), "/mentoring/saya")
                if a.mentee.id == principal.user_id
                else (_("Pengawasan mentoring"), "/studio/mentoring"),
                (_("Mentoring: %(c)s") % {"c": a.competency_name}, None),
            ],
        },
        status_code=status_code,
    )


@router.get("/mentoring/assignments/{assignment_id}")
def assignment_page(
    request: Request,
    assignment_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:
    """The mentor, the mentee and officers; what each may do is shown to them only."""
    return _assignment_page(request, db, settings, assignment_id, principal)


def _back(assignment_id: int, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(
        f"/mentoring/assignments/{assignment_id}?done={done}{anchor}", status_code=303
    )


@router.post("/mentoring/assignments/{assignment_id}/sessions")
def log_session_page(
    request: Request,
    assignment_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    form: Form,
) -> Response:
    """Log a session with its GROW notes and an optional evidence file, all or nothing."""
    values = {k: _text(form, k) for k in _blank_session(service.today())}
    try:
        data = SessionCreate.model_validate(values)
    except ValidationError as exc:
        messages = {
            "held_on": _("Isi tanggal sesi dengan benar."),
            "duration_minutes": _("Isi durasi dalam menit (angka)."),
        }
        return _assignment_page(
            request, db, settings, assignment_id, principal, values=values,
            errors=_pydantic_errors(exc, messages), status_code=422,
        )  # fmt: skip
    upload = form.get("evidence")
    try:
        row = service.log_session(db, assignment_id, data, principal, settings)
        if isinstance(upload, UploadFile) and upload.filename:
            service.attach_evidence(
                db, assignment_id, row.id, principal, stream=upload.file,
                filename=upload.filename, size=upload.size, settings=settings,
            )  # fmt: skip
    except ValidationFailed as exc:
        db.rollback()
        return _assignment_page(
            request, db, settings, assignment_id, principal, values=values,
            errors=_field_errors(exc), status_code=422,
        )  # fmt: skip
    except LMSError as exc:
        if exc.status_code == 404:
            raise
        db.rollback()
        return _assignment_page(
            request, db, settings, assignment_id, principal, values=values,
            errors={"evidence": exc.detail} if exc.status_code in (413, 415) else {},
            error=exc.detail, status_code=exc.status_code,
        )  # fmt: skip
    return _back(assignment_id, "logged", "#sesi")


def _act(
    request: Request,
    db: SessionDep,
    settings: Settings,
    assignment_id: int,
    principal: Principal,
    action: Any,
    done: str,
    **page: Any,
) -> Response:
    """Run one service action; a refused one re-renders the page (with `page`) and its message."""
    try:
        action()
    except LMSError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        return _assignment_page(
            request, db, settings, assignment_id, principal, error=exc.detail,
            status_code=exc.status_code, **page,
        )  # fmt: skip
    return _back(assignment_id, done)


@router.post("/mentoring/assignments/{assignment_id}/sessions/{session_id}/delete")
def delete_session_page(
    request: Request,
    assignment_id: RowId,
    session_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:
    return _act(
        request, db, settings, assignment_id, principal,
        lambda: service.delete_session(db, assignment_id, session_id, principal), "deleted",
    )  # fmt: skip


@router.post("/mentoring/assignments/{assignment_id}/sessions/{session_id}/confirm")
def confirm_session_page(
    request: Request,
    assignment_id: RowId,
    session_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:
    return _act(
        request, db, settings, assignment_id, principal,
        lambda: service.confirm_session(db, assignment_id, session_id, principal), "confirmed",
    )  # fmt: skip


@router.post("/mentoring/assignments/{assignment_id}/signoff")
def sign_off_page(
    request: Request,
    assignment_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:
    return _act(
        request, db, settings, assignment_id, principal,
        lambda: service.sign_off(db, assignment_id, principal), "signed_off",
    )  # fmt: skip


@router.post("/mentoring/assignments/{assignment_id}/verify")
def verify_page(
    request: Request,
    assignment_id: RowId,
    db: SessionDep,
    principal: Officer,
    settings: SettingsDep,
    form: Form,
) -> Response:
    """Approve (JP to the ledger) or return to the mentor with a reason."""
    values = {"approved": _text(form, "approved"), "reason": _text(form, "reason")}
    if values["approved"] not in ("1", "0"):
        return _assignment_page(
            request, db, settings, assignment_id, principal, decision_values=values,
            error=_("Pilih setujui atau kembalikan."), status_code=422,
        )  # fmt: skip
    decision = DecisionIn(
        approved=values["approved"] == "1", reason=values["reason"][:1000] or None
    )
    return _act(
        request, db, settings, assignment_id, principal,
        lambda: service.verify(db, assignment_id, decision, principal),
        "verified" if decision.approved else "returned", decision_values=values,
    )  # fmt: skip


@router.post("/mentoring/assignments/{assignment_id}/cancel")
def cancel_page(
    request: Request,
    assignment_id: RowId,
    db: SessionDep,
    principal: Officer,
    settings: SettingsDep,
    form: Form,
) -> Response:
    reason = _text(form, "reason")[:1000]
    return _act(
        request, db, settings, assignment_id, principal,
        lambda: service.cancel(db, assignment_id, reason, principal), "cancelled",
    )  # fmt: skip


# --- officer: oversight and assigning -----------------------------------------------------------


@router.get("/studio/mentoring")
def oversight_page(
    request: Request,
    db: SessionDep,
    principal: Officer,
    status: str | None = None,
    competency: str | None = None,
    opd: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: PageNumber = 1,
) -> Response:
    """Every assignment with filters; "Menunggu verifikasi" first in the status list."""
    filters = {"status": status or "", "competency": competency or "", "opd": opd or "",
               "q": q or ""}  # fmt: skip
    try:
        result = service.list_assignments(
            db, principal, status=status or None, competency=competency, opd_code=opd, q=q,
            page=page, per_page=PER_PAGE,
        )  # fmt: skip
    except ValidationFailed:
        result = service.list_assignments(db, principal, page=page, per_page=PER_PAGE)
        filters["status"] = ""
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return render(
        request,
        "mentoring/oversight.html",
        {
            "result": result,
            "filters": filters,
            "query": query,
            "pages": max(1, -(-result.total // PER_PAGE)),
            "status_labels": status_labels(),
            "competencies": competency_service.competency_names(db),
        },
    )


def _new_page(
    request: Request,
    db: SessionDep,
    settings: Settings,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    error: str | None = None,
    result: Any = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "mentoring/new.html",
        {
            "values": values,
            "errors": errors or {},
            "error": error,
            "result": result,
            "mentors": repository.mentor_options(db),
            "competencies": competency_service.competency_names(db),
            "default_jp": settings.mentoring_jp_per_session,
            "per_month": settings.mentoring_max_sessions_per_month,
        },
        status_code=status_code,
    )


@router.get("/studio/mentoring/new")
def new_assignment_page(
    request: Request,
    db: SessionDep,
    _officer: Officer,
    settings: SettingsDep,
    competency: str | None = None,
    mentor_id: RowId | None = None,
    mentee: Annotated[list[int] | None, Query()] = None,
) -> Response:
    """The assign form; `?competency=&mentee=1&mentee=2` pre-fills it (e.g. from the gap list)."""
    today = service.today()
    nips = ""
    if mentee:
        profiles = accounts_service.profiles(db, mentee[: service.BULK_MAX])
        nips = "\n".join(p.nip for p in profiles.values() if p.nip)
    values = {
        "mentor_id": str(mentor_id or ""), "nips": nips, "competency": competency or "",
        "goal": "", "planned_sessions": "6", "jp_per_session": "",
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=90)).isoformat(),
    }  # fmt: skip
    return _new_page(request, db, settings, values=values)


@router.post("/studio/mentoring/new")
def create_assignment_page(
    request: Request,
    db: SessionDep,
    principal: Officer,
    settings: SettingsDep,
    form: Form,
) -> Response:
    """One or many mentees (NIPs, one a line) for one mentor; all-or-nothing on bad input."""
    names = ("mentor_id", "nips", "competency", "goal", "planned_sessions", "jp_per_session",
             "starts_on", "ends_on")  # fmt: skip
    values = {k: _text(form, k) for k in names}
    nips = [normalise_nip(n) for n in values["nips"].replace(",", "\n").splitlines() if n.strip()]
    if not nips:
        return _new_page(request, db, settings, values=values, status_code=422,
                         errors={"nips": _("Isi NIP mentee, satu per baris.")})  # fmt: skip
    if len(nips) > service.BULK_MAX:
        return _new_page(request, db, settings, values=values, status_code=422,
                         errors={"nips": _("Paling banyak %(n)s mentee sekaligus.")
                                 % {"n": service.BULK_MAX}})  # fmt: skip
    found = accounts_repository.users_by_nips(db, nips)
    unknown = [n for n in nips if n not in found]
    if unknown:
        return _new_page(
            request, db, settings, values=values, status_code=422,
            errors={"nips": _("NIP tidak ditemukan: %(nips)s.") % {"nips": ", ".join(unknown[:20])}},
        )  # fmt: skip
    raw = {k: values[k] for k in names if k != "nips"}
    payload: dict[str, Any] = {**raw, "mentee_ids": [found[n][0] for n in nips]}
    if not payload["jp_per_session"]:
        payload["jp_per_session"] = None
    try:
        data = BulkAssignmentCreate.model_validate(payload)
    except ValidationError as exc:
        messages = {
            "mentor_id": _("Pilih mentor."),
            "planned_sessions": _("Isi jumlah sesi rencana (angka)."),
            "jp_per_session": _("Isi JP per sesi dengan angka, atau kosongkan."),
            "starts_on": _("Isi tanggal mulai dengan benar."),
            "ends_on": _("Isi tanggal selesai dengan benar."),
        }
        return _new_page(request, db, settings, values=values, status_code=422,
                         errors=_pydantic_errors(exc, messages))  # fmt: skip
    try:
        if len(data.mentee_ids) == 1:
            single = AssignmentCreate.model_validate(
                {**data.model_dump(exclude={"mentee_ids"}), "mentee_id": data.mentee_ids[0]}
            )
            created = service.create_assignment(db, single, principal, settings)
            return RedirectResponse(f"/mentoring/assignments/{created.id}?done=created", 303)
        result = service.create_bulk(db, data, principal, settings)
    except ValidationFailed as exc:
        db.rollback()
        errors = _field_errors(exc)
        for key in ("mentee_ids", "mentee_id"):
            if key in errors:
                errors["nips"] = errors.pop(key)
        return _new_page(request, db, settings, values=values, errors=errors, status_code=422)
    except LMSError as exc:
        db.rollback()
        return _new_page(request, db, settings, values=values, error=exc.detail,
                         status_code=exc.status_code)  # fmt: skip
    people = accounts_service.profiles(db, [*result.created_mentee_ids, *found_ids(result)])
    summary = {
        "created": [
            {"id": c.id, "person": people.get(m)}
            for c, m in zip(result.created, result.created_mentee_ids, strict=True)
        ],
        "skipped": [
            {"person": people.get(s.mentee_id), "reason": s.reason} for s in result.skipped
        ],
    }
    return _new_page(request, db, settings, values=values, result=summary)


def found_ids(result: BulkResult) -> list[int]:
    return [s.mentee_id for s in result.skipped]
