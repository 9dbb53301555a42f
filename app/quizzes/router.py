"""API routes for quizzes (api-v1.md "Quizzes"): settings, questions, import/export, attempts,
autosave, submit, review, essay grading."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, File, Form, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.errors import PayloadTooLarge
from app.courses import service as courses_service
from app.quizzes import gift, service, xlsx
from app.quizzes.schemas import (
    AnswersIn,
    AttemptRead,
    Created,
    EssayGrade,
    ImportResult,
    QuestionIn,
    QuestionUpdate,
    QuizCreated,
    QuizRead,
    QuizSettings,
    RandomSlotIn,
    ReviewRead,
    SaveResult,
    SubmitResult,
)
from app.web.params import RowId
from app.web.routing import Router

router = Router(prefix="/api/v1", tags=["quizzes"])

Editor = Annotated[Principal, Depends(require_roles(*service.EDITORS))]
Viewer = Annotated[Principal, Depends(require_roles(*service.RESULT_VIEWERS))]


@router.post("/sections/{section_id}/quizzes", status_code=201, response_model=QuizCreated)
def create_quiz(section_id: RowId, data: QuizSettings, db: SessionDep, _e: Editor) -> QuizCreated:
    quiz = service.create_quiz(db, courses_service.get_section(db, section_id), data)
    return QuizCreated(id=quiz.id, activity_id=quiz.activity_id)


@router.get("/quizzes/{quiz_id}", response_model=QuizRead)
def read_quiz(quiz_id: RowId, db: SessionDep, _v: Viewer) -> QuizRead:
    return service.quiz_read(db, service.get_quiz(db, quiz_id))


@router.put("/quizzes/{quiz_id}", response_model=QuizRead)
def update_quiz(quiz_id: RowId, data: QuizSettings, db: SessionDep, _e: Editor) -> QuizRead:
    quiz = service.update_quiz(db, service.get_quiz(db, quiz_id), data)
    return service.quiz_read(db, quiz)


@router.post("/quizzes/{quiz_id}/questions", status_code=201, response_model=Created)
def add_question(quiz_id: RowId, data: QuestionIn, db: SessionDep, principal: Editor) -> Created:
    quiz = service.get_quiz(db, quiz_id)
    question = service.add_question(
        db, quiz, service.question_from_input(data), principal, data.category or ""
    )
    return Created(id=question.id)


@router.put("/quizzes/{quiz_id}/questions/{question_id}", response_model=Created)
def update_question(
    quiz_id: RowId, question_id: RowId, data: QuestionUpdate, db: SessionDep, principal: Editor
) -> Created:
    """Edit a question; a version already used by attempts stays and a new one is made
    (`regrade: true` rescores finished attempts with it)."""
    quiz = service.get_quiz(db, quiz_id)
    version = service.update_question(
        db, quiz, service.get_question(db, quiz, question_id), data, principal
    )
    return Created(id=version.question_id)


@router.delete("/quizzes/{quiz_id}/questions/{question_id}", status_code=204)
def remove_question(quiz_id: RowId, question_id: RowId, db: SessionDep, _e: Editor) -> Response:
    service.remove_question(db, service.get_quiz(db, quiz_id), question_id)
    return Response(status_code=204)


@router.post("/quizzes/{quiz_id}/random", status_code=201, response_model=Created)
def add_random(quiz_id: RowId, data: RandomSlotIn, db: SessionDep, _e: Editor) -> Created:
    """Draw `count` questions at random from a bank category in every attempt."""
    slot = service.add_random_slot(db, service.get_quiz(db, quiz_id), data.category, data.count)
    return Created(id=slot.id)


@router.post("/quizzes/{quiz_id}/questions/import", response_model=ImportResult)
async def import_questions(
    quiz_id: RowId,
    db: SessionDep,
    principal: Editor,
    file: Annotated[UploadFile, File()],
    format: Annotated[Literal["gift", "aiken", "xlsx"], Form()],
    category: Annotated[str, Form(max_length=255)] = "",
) -> ImportResult:
    """Any error imports nothing; every error is listed with its line (or spreadsheet row)."""
    data = await file.read(service.MAX_IMPORT_BYTES + 1)
    if len(data) > service.MAX_IMPORT_BYTES:
        raise PayloadTooLarge("Berkas soal maksimal 5 MB.")
    return await run_in_threadpool(_import, db, quiz_id, format, data, principal, category)


def _import(
    db: SessionDep, quiz_id: int, fmt: str, data: bytes, principal: Principal, category: str
) -> ImportResult:
    return service.import_questions(
        db, service.get_quiz(db, quiz_id), fmt, data, principal, category
    )


@router.get("/quizzes/{quiz_id}/questions/export")
def export_questions(
    quiz_id: RowId, db: SessionDep, _e: Editor, format: Literal["gift", "xlsx"] = "gift"
) -> Response:
    quiz = service.get_quiz(db, quiz_id)
    questions = [s.question for _, s in service.quiz_questions(db, quiz)]
    if format == "xlsx":
        return Response(
            xlsx.export_xlsx(questions),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="kuis-{quiz.id}.xlsx"'},
        )
    return Response(
        gift.export_gift(questions),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kuis-{quiz.id}.gift.txt"'},
    )


@router.get("/quizzes/questions/template.xlsx")
def question_template(_e: Editor) -> Response:
    return Response(
        xlsx.build_template(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="templat-soal.xlsx"'},
    )


@router.post(
    "/quizzes/{quiz_id}/attempts", status_code=201, response_model=AttemptRead,
    responses={200: {"model": AttemptRead, "description": "The open attempt, resumed"}},
)  # fmt: skip
def start_attempt(
    quiz_id: RowId,
    response: Response,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> AttemptRead:
    """Start an attempt (201), or resume the open one (200); 409 when none is left."""
    attempt, created = service.start_attempt(
        db, service.get_quiz(db, quiz_id), principal, settings=settings
    )
    if not created:
        response.status_code = 200
    return service.attempt_read(db, attempt)


@router.get("/attempts/{attempt_id}", response_model=AttemptRead)
def read_attempt(
    attempt_id: RowId, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> AttemptRead:
    attempt = service.get_attempt(db, attempt_id, principal, write=False)
    service.finish_if_expired(db, attempt, settings)
    return service.attempt_read(db, attempt)


@router.put("/attempts/{attempt_id}/answers", response_model=SaveResult)
def save_answers(
    attempt_id: RowId,
    data: AnswersIn,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> SaveResult:
    return service.save_answers_of(db, attempt_id, principal, data, settings)


@router.post("/attempts/{attempt_id}/submit", response_model=SubmitResult)
def submit_attempt(
    attempt_id: RowId, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> SubmitResult:
    from app.certificates import service as certificates

    result = service.submit_attempt(db, attempt_id, principal, settings)
    result.certificate = certificates.issued_now(db)  # the submit completed the course
    return result


@router.get("/attempts/{attempt_id}/review", response_model=ReviewRead)
def review_attempt(
    attempt_id: RowId, db: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> ReviewRead:
    attempt = service.get_attempt(db, attempt_id, principal, write=False)
    service.finish_if_expired(db, attempt, settings)
    return service.review(db, attempt, principal)


@router.post("/attempts/{attempt_id}/grades", response_model=SubmitResult)
def grade_essays(
    attempt_id: RowId, grades: list[EssayGrade], db: SessionDep, principal: Viewer
) -> SubmitResult:
    attempt = service.get_attempt(db, attempt_id, principal, write=False)
    return service.grade_essays(db, attempt, grades, principal)
