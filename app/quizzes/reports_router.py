"""API routes for quiz results and analysis (staff who see results: content admins, training
officers, admins): results with CSV/XLSX export, item analysis, the essay grading queue and the
pre-test/post-test comparison of a run."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Response
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.dependencies import SessionDep, require_roles
from app.auth.service import Principal
from app.core.errors import NotFound
from app.courses import service as courses_service
from app.quizzes import reports, service
from app.quizzes.models import Quiz
from app.quizzes.schemas import ResultRow
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["quizzes"])

Viewer = Annotated[Principal, Depends(require_roles(*service.RESULT_VIEWERS))]
StateFilter = Literal["not_started", "in_progress", "needs_grading", "graded"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def check_run(db: Session, quiz: Quiz, run_id: int | None) -> None:
    """A run filter must name a run of the quiz's course (404 otherwise)."""
    if run_id is not None and courses_service.get_run(db, run_id).course_id != quiz.course_id:
        raise NotFound("Angkatan tidak ditemukan.", code="run_not_found")


@router.get("/quizzes/{quiz_id}/results", response_model=list[ResultRow])
def quiz_results(
    quiz_id: RowId,
    db: SessionDep,
    _v: Viewer,
    run_id: RowId | None = None,
    format: Literal["json", "csv", "xlsx"] = "json",
    q: Annotated[str | None, Query(max_length=100)] = None,
    state: StateFilter | None = None,
    passed: bool | None = None,
) -> list[ResultRow] | Response:
    """Each learner of the run (or of every run of the course) with attempts, official grade,
    pass and state; learners who never started are listed as "not_started"."""
    quiz = service.get_quiz(db, quiz_id)
    check_run(db, quiz, run_id)
    rows = reports.results(db, quiz, run_id, q=q, state=state, passed=passed)
    name = f"hasil-kuis-{quiz.id}" + (f"-angkatan-{run_id}" if run_id else "")
    if format != "json":
        audit.exported(db, "quiz_results", rows=len(rows), fmt=format, target=("quiz", quiz.id),
                       filters={"run_id": run_id, "q": q, "state": state, "passed": passed})  # fmt: skip
    if format == "csv":
        return Response(
            reports.results_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        title = service.quiz_activity(db, quiz).title
        return Response(
            reports.results_xlsx(rows, title),
            media_type=XLSX_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return rows


@router.get("/quizzes/{quiz_id}/analysis", response_model=reports.AnalysisReport)
def quiz_analysis(
    quiz_id: RowId,
    db: SessionDep,
    _v: Viewer,
    run_id: RowId | None = None,
    all_attempts: bool = False,
) -> reports.AnalysisReport:
    """Facility, discrimination, flags and response frequencies per question, and the test
    statistics; first attempts only unless `all_attempts=true`."""
    quiz = service.get_quiz(db, quiz_id)
    check_run(db, quiz, run_id)
    return reports.item_analysis(db, quiz, run_id, all_attempts=all_attempts)


@router.get("/quizzes/{quiz_id}/grading-queue", response_model=list[reports.EssayQueueRow])
def grading_queue(
    quiz_id: RowId, db: SessionDep, _v: Viewer, run_id: RowId | None = None
) -> list[reports.EssayQueueRow]:
    """Attempts waiting for essay grades, oldest first, with the essays still to grade."""
    quiz = service.get_quiz(db, quiz_id)
    check_run(db, quiz, run_id)
    return reports.essay_queue(db, [quiz.id], run_id)


@router.get("/runs/{run_id}/prepost", response_model=reports.PrePostReport)
def run_prepost(run_id: RowId, db: SessionDep, _v: Viewer) -> reports.PrePostReport:
    """The run's learners on the course's pre-test and post-test: summary and per learner."""
    return reports.prepost(db, run_id)
