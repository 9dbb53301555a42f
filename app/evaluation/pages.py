"""HTML pages of the evaluation domain: the learner's survey and RTL forms, the staff report and
the course survey editor. Rules are the service's; routes parse forms and render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, require_roles
from app.auth.service import Principal
from app.certificates import run_notice
from app.core.config import get_settings
from app.core.errors import Conflict, LMSError, ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.numbers import ascii_int
from app.courses import service as courses_service
from app.evaluation import service
from app.evaluation.constants import LIKERT_MAX, LIKERT_MIN, MAX_QUESTIONS
from app.evaluation.schemas import AnswerIn, RtlIn, SurveyConfigIn, SurveySubmit
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)

Editor = Annotated[Principal, Depends(require_roles(*courses_service.COURSE_EDITORS))]
Officer = Annotated[Principal, Depends(require_roles(*courses_service.RUN_MANAGERS))]
BLANK_EDITOR_ROWS = 3


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as plain strings (async: Starlette parses it; CSRF was checked already)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def likert_labels() -> dict[int, str]:
    return {
        1: _("Sangat tidak setuju"),
        2: _("Tidak setuju"),
        3: _("Netral"),
        4: _("Setuju"),
        5: _("Sangat setuju"),
    }


def likert_short_labels() -> dict[int, str]:
    """The one-line scale's short words under each number (the full words are the legend's)."""
    return {1: _("STS"), 2: _("TS"), 3: _("N"), 4: _("S"), 5: _("SS")}


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in exc.errors:
        if e.get("field"):
            errors.setdefault(str(e["field"]), str(e["message"]))
    return errors


# --- learner: survey ----------------------------------------------------------------------------


def _survey_page(
    request: Request,
    db: SessionDep,
    run_id: int,
    principal: Principal,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    form = service.survey_form(db, run_id, principal)
    run = courses_service.get_run(db, run_id)
    answers = {
        service.field_name(
            a.question_id,
            form.instructors.index(a.instructor) if a.instructor in form.instructors else None,
        ): str(a.value)
        for a in form.answers
    }
    return render(
        request,
        "evaluation/survey.html",
        {
            "form": form,
            "course_id": run.course_id,
            "values": values if values is not None else answers,
            "errors": errors or {},
            "error": error,
            "scale": list(range(LIKERT_MIN, LIKERT_MAX + 1)),
            "likert_labels": likert_labels(),
            "likert_short": likert_short_labels(),
            "field_name": service.field_name,
            "sent": request.query_params.get("sent") == "1",
            "cert": (
                run_notice.run_certificate(db, run_id, principal, get_settings())
                if form.answers
                else None
            ),
        },
        status_code=status_code,
    )


@router.get("/runs/{run_id}/evaluasi")
def survey_page(
    request: Request, run_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    return _survey_page(request, db, run_id, principal)


@router.post("/runs/{run_id}/evaluasi")
def submit_survey_page(
    request: Request, run_id: RowId, db: SessionDep, principal: CurrentPrincipal, fields: FormFields
) -> Response:
    form = service.survey_form(db, run_id, principal)
    answers: list[AnswerIn] = []
    for q in form.questions:
        if q.target == "instructor":
            for index, name in enumerate(form.instructors):
                value = fields.get(service.field_name(q.id, index), "")
                answers.append(AnswerIn(question_id=q.id, instructor=name, value=value or None))
        else:
            value = fields.get(service.field_name(q.id), "")
            answers.append(AnswerIn(question_id=q.id, value=value or None))
    try:
        service.submit_survey(db, run_id, principal, SurveySubmit(answers=answers))
    except ValidationFailed as exc:
        db.rollback()
        return _survey_page(
            request, db, run_id, principal, values=fields, errors=_field_errors(exc),
            error=_("Periksa lagi: %(n)s isian perlu diperbaiki.") % {"n": len(exc.errors)},
            status_code=422,
        )  # fmt: skip
    except Conflict as exc:
        db.rollback()
        return _survey_page(request, db, run_id, principal, error=exc.detail, status_code=409)
    return RedirectResponse(f"/runs/{run_id}/evaluasi?sent=1", status_code=303)


# --- learner: RTL -------------------------------------------------------------------------------


def _rtl_page(
    request: Request,
    db: SessionDep,
    run_id: int,
    principal: Principal,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    place, rtl = service.get_rtl(db, run_id, principal)
    today = courses_service.today()
    if values is None:
        values = (
            {"plan": rtl.plan, "target_date": rtl.target_date.isoformat()}
            if rtl
            else {"plan": "", "target_date": ""}
        )
    return render(
        request,
        "evaluation/rtl.html",
        {
            "run": {"id": place.run.id, "name": place.run.name, "ends_on": place.run.ends_on},
            "course_id": place.run.course_id,
            "course_title": place.course_title,
            "rtl": rtl,
            "editable": rtl is None or rtl.editable,
            "values": values,
            "errors": errors or {},
            "error": error,
            "today": today.isoformat(),
            "sent": request.query_params.get("sent") == "1",
        },
        status_code=status_code,
    )


@router.get("/runs/{run_id}/rtl")
def rtl_page(
    request: Request, run_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    return _rtl_page(request, db, run_id, principal)


@router.post("/runs/{run_id}/rtl")
def save_rtl_page(
    request: Request, run_id: RowId, db: SessionDep, principal: CurrentPrincipal, fields: FormFields
) -> Response:
    values = {"plan": fields.get("plan", ""), "target_date": fields.get("target_date", "")}
    try:
        data = RtlIn.model_validate(values)
    except ValidationError as exc:
        messages = {
            "plan": _("Rencana tindak lanjut terlalu panjang."),
            "target_date": _("Isi tanggal target dengan benar."),
        }
        wrong = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        return _rtl_page(
            request, db, run_id, principal, values=values,
            errors={f: messages[f] for f in wrong if f in messages}, status_code=422,
        )  # fmt: skip
    try:
        service.save_rtl(db, run_id, principal, data)
    except ValidationFailed as exc:
        db.rollback()
        return _rtl_page(request, db, run_id, principal, values=values,
                         errors=_field_errors(exc), status_code=422)  # fmt: skip
    except Conflict as exc:
        db.rollback()
        return _rtl_page(request, db, run_id, principal, error=exc.detail, status_code=409)
    return RedirectResponse(f"/runs/{run_id}/rtl?sent=1", status_code=303)


# --- staff: report ------------------------------------------------------------------------------


@router.get("/studio/runs/{run_id}/evaluasi")
def report_page(request: Request, run_id: RowId, db: SessionDep, principal: Officer) -> Response:
    report = service.survey_report(db, run_id, principal)
    return render(
        request,
        "evaluation/report.html",
        {
            "r": report,
            "scale": list(range(LIKERT_MIN, LIKERT_MAX + 1)),
            "likert_labels": likert_labels(),
            "api": f"/api/v1/runs/{run_id}/survey/report",
        },
    )


# --- editors: a course's questions --------------------------------------------------------------


def _editor_page(
    request: Request,
    db: SessionDep,
    course_id: int,
    principal: Principal,
    *,
    rows: list[dict[str, Any]] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    course = courses_service.get_course(db, course_id, principal)
    config = service.survey_config(db, course_id)
    if rows is None:
        rows = [q.model_dump() for q in config.questions]
    blank = {"kind": "likert", "target": "course", "text": "", "required": True}
    rows = rows + [dict(blank) for _ in range(BLANK_EDITOR_ROWS)]
    return render(
        request,
        "evaluation/survey_editor.html",
        {
            "course": {"id": course.id, "title": course.title, "code": course.code},
            "uses_default": config.uses_default,
            "rows": rows[:MAX_QUESTIONS],
            "error": error,
            "saved": request.query_params.get("saved") == "1",
        },
        status_code=status_code,
    )


@router.get("/studio/courses/{course_id}/survey")
def survey_editor(
    request: Request, course_id: RowId, db: SessionDep, principal: Editor
) -> Response:
    return _editor_page(request, db, course_id, principal)


@router.post("/studio/courses/{course_id}/survey")
def save_survey_editor(
    request: Request, course_id: RowId, db: SessionDep, principal: Editor, fields: FormFields
) -> Response:
    """Rows with a text are kept in their order; "reset" returns to the institution's set."""
    courses_service.get_course(db, course_id, principal)
    rows: list[dict[str, Any]] = []
    if fields.get("action") != "reset":
        rows_field = ascii_int(fields.get("rows"), minimum=0) or 0
        count = min(rows_field, MAX_QUESTIONS + BLANK_EDITOR_ROWS)
        for i in range(count):
            text = fields.get(f"text_{i}", "").strip()
            if text:
                rows.append(
                    {
                        "kind": fields.get(f"kind_{i}", "likert"),
                        "target": fields.get(f"target_{i}", "course"),
                        "text": text,
                        "required": fields.get(f"required_{i}") == "1",
                    }
                )
    try:
        service.update_survey_config(
            db, course_id, SurveyConfigIn.model_validate({"questions": rows})
        )
    except (ValidationError, LMSError) as exc:
        db.rollback()
        message = exc.detail if isinstance(exc, LMSError) else _("Isian pertanyaan tidak valid.")
        return _editor_page(request, db, course_id, principal, rows=rows, error=message,
                            status_code=422)  # fmt: skip
    return RedirectResponse(f"/studio/courses/{course_id}/survey?saved=1", status_code=303)
