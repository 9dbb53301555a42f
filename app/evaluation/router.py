"""API routes for the survey (evaluasi penyelenggaraan), its report and the RTL (api-v1.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query
from starlette.responses import Response

from app.accounts.constants import Role
from app.auth.dependencies import CurrentPrincipal, SessionDep, require_roles
from app.auth.service import Principal
from app.core.errors import NotFound
from app.courses import service as courses_service
from app.evaluation import exports, service
from app.evaluation.schemas import (
    RtlIn,
    RtlRead,
    SurveyConfigIn,
    SurveyConfigRead,
    SurveyForm,
    SurveyReport,
    SurveySubmit,
    SurveySubmitted,
)
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["evaluation"])

Editor = Annotated[Principal, Depends(require_roles(*courses_service.COURSE_EDITORS))]
Officer = Annotated[Principal, Depends(require_roles(*courses_service.RUN_MANAGERS))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.get("/runs/{run_id}/survey", response_model=SurveyForm)
def get_survey(run_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> SurveyForm:
    """The questions for an enrolled learner, with their own answers once sent."""
    return service.survey_form(db, run_id, principal)


@router.post("/runs/{run_id}/survey", status_code=201, response_model=SurveySubmitted)
def submit_survey(
    run_id: RowId, data: SurveySubmit, db: SessionDep, principal: CurrentPrincipal
) -> SurveySubmitted:
    """Once per learner and run (409 survey_already_sent); 422 names each unanswered item."""
    from app.certificates import service as certificates

    result = service.submit_survey(db, run_id, data=data, principal=principal)
    result.certificate = certificates.issued_now(db)  # the survey completed the course
    return result


@router.get("/runs/{run_id}/survey/report", response_model=SurveyReport)
def survey_report(
    run_id: RowId,
    db: SessionDep,
    principal: Officer,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> SurveyReport | Response:
    """Aggregated answers (per item mean and distribution, per instructor, free texts)."""
    report = service.survey_report(db, run_id, principal)
    if format == "json":
        return report
    name = f"evaluasi-angkatan-{run_id}"
    if format == "csv":
        return Response(
            exports.report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        exports.report_xlsx(report),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/runs/{run_id}/rtl", response_model=RtlRead)
def get_rtl(run_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> RtlRead:
    """The learner's own RTL; 404 rtl_not_found before it is sent."""
    _place, rtl = service.get_rtl(db, run_id, principal)
    if rtl is None:
        raise NotFound("Rencana tindak lanjut belum dikirim.", code="rtl_not_found")
    return rtl


@router.put("/runs/{run_id}/rtl", response_model=RtlRead)
def put_rtl(run_id: RowId, data: RtlIn, db: SessionDep, principal: CurrentPrincipal) -> RtlRead:
    """Send or change the RTL (changes until the run ends: 409 rtl_closed after)."""
    return service.save_rtl(db, run_id, principal, data)


@router.get("/courses/{course_id}/survey", response_model=SurveyConfigRead)
def get_course_survey(course_id: RowId, db: SessionDep, principal: Editor) -> SurveyConfigRead:
    courses_service.get_course(db, course_id, principal)
    return service.survey_config(db, course_id)


@router.put("/courses/{course_id}/survey", response_model=SurveyConfigRead)
def put_course_survey(
    course_id: RowId, data: SurveyConfigIn, db: SessionDep, principal: Editor
) -> SurveyConfigRead:
    """Replace the course's questions; an empty list returns it to the institution's set."""
    courses_service.get_course(db, course_id, principal)
    return service.update_survey_config(db, course_id, data)


@router.get("/survey-default", response_model=SurveyConfigRead)
def get_default_survey(db: SessionDep, _editor: Editor) -> SurveyConfigRead:
    return service.survey_config(db, None)


@router.put("/survey-default", response_model=SurveyConfigRead)
def put_default_survey(db: SessionDep, data: SurveyConfigIn, _admin: Admin) -> SurveyConfigRead:
    """The institution's default questions (admin only)."""
    return service.update_survey_config(db, None, data)
