"""Quiz pages for learners (and staff previews): the quiz's intro, taking an attempt (autosave by
static/js/quiz.js, a plain form post without JavaScript) and the review.

Every rule (access, attempts left, deadlines, what the review may show) is the service's; these
routes only turn its answers into pages.
"""

from __future__ import annotations

import datetime as dt
import math
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.auth.service import Principal
from app.certificates import run_notice
from app.core.clock import format_datetime
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Conflict
from app.core.i18n import gettext_ as _
from app.core.markdown import render_markdown
from app.courses import player
from app.courses import service as courses_service
from app.quizzes import repository, service
from app.quizzes.models import Attempt, Quiz
from app.quizzes.schemas import AnswerIn, AnswersIn, AttemptRead, QuizRead, SavedAnswer
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(tags=["pages"], include_in_schema=False)

NO_CONTROL_TYPES = frozenset({"description"})


async def _form(request: Request) -> FormData:
    """The posted form (already parsed, and cached, by the CSRF check)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


# --- small formatting helpers -------------------------------------------------------------------


def duration_text(seconds: int | None) -> str:
    if not seconds:
        return _("Tanpa batas waktu")
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(_("%(n)s jam") % {"n": hours})
    if minutes:
        parts.append(_("%(n)s menit") % {"n": minutes})
    if rest:
        parts.append(_("%(n)s detik") % {"n": rest})
    return " ".join(parts)


def number(value: float | None) -> str:
    """A score or percent without needless decimals (Indonesian decimal comma)."""
    if value is None:
        return ""
    text = f"{round(value, 2):g}"
    return text.replace(".", ",")


def clock(seconds: int | None) -> str:
    """Time left as m:ss or h:mm:ss (the countdown's first value before the script runs)."""
    seconds = max(0, seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def grading_labels() -> dict[str, str]:
    return {
        "highest": _("Nilai tertinggi dari semua percobaan"),
        "last": _("Nilai percobaan terakhir"),
        "first": _("Nilai percobaan pertama"),
        "average": _("Rata-rata nilai semua percobaan"),
    }


def state_labels() -> dict[str, str]:
    return {
        "in_progress": _("Sedang dikerjakan"),
        "grading": _("Sedang dinilai"),
        "graded": _("Selesai dinilai"),
        "needs_grading": _("Menunggu penilaian esai"),
    }


def kind_labels() -> dict[str, str]:
    return {
        "pretest": _("Pre-test"),
        "posttest": _("Post-test"),
        "exercise": _("Latihan"),
    }


def _helpers() -> dict[str, Any]:
    return {
        "duration_text": duration_text,
        "number": number,
        "clock": clock,
        "state_labels": state_labels(),
    }


# --- the quiz's intro page ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptRow:
    number: int
    state: str
    percent: float | None  # None when the review does not show points (yet)
    attempt_id: int
    submitted_at: dt.datetime | None
    preview: bool


def _access(session: Session, principal: Principal, quiz: Quiz) -> tuple[Any, bool]:
    """The same checks as starting an attempt: (enrolment, staff preview)."""
    activity = service.quiz_activity(session, quiz)
    enrolment = courses_service.ensure_content_access(session, principal, activity)
    courses_service.ensure_unlocked(session, enrolment, activity)
    return enrolment, enrolment is None


def _blocker(
    quiz: Quiz, question_count: int, attempts: list[Attempt], preview: bool, now: dt.datetime
) -> str | None:
    """Why a new attempt cannot start now (the service decides again on start)."""
    if question_count == 0:
        return _("Kuis ini belum memiliki soal.")
    if quiz.open_at and now < quiz.open_at:
        return _("Kuis belum dibuka. Kuis dibuka %(t)s.") % {"t": format_datetime(quiz.open_at)}
    if quiz.close_at and now >= quiz.close_at:
        return _("Kuis sudah ditutup sejak %(t)s.") % {"t": format_datetime(quiz.close_at)}
    counted = [a for a in attempts if not a.preview]
    if preview:
        return None
    if quiz.max_attempts is not None and len(counted) >= quiz.max_attempts:
        return _("Kesempatan mengerjakan kuis ini sudah habis.")
    if counted and quiz.attempt_delay_seconds:
        last = max((a.submitted_at or a.started_at) for a in counted)
        wait = (last + dt.timedelta(seconds=quiz.attempt_delay_seconds) - now).total_seconds()
        if wait > 0:
            return _("Tunggu %(n)s menit lagi sebelum mencoba kembali.") % {
                "n": math.ceil(wait / 60)
            }
    return None


def _question_count(session: Session, quiz: Quiz, info: QuizRead) -> int:
    """How many questions an attempt shows: fixed slots plus random draws, at most the subset."""
    slots = repository.slots_of(session, quiz.id)
    count = sum(1 if s.question_id else s.draw_count for s in slots)
    if info.questions_per_attempt and info.questions_per_attempt < count:
        count = info.questions_per_attempt
    return count


def _quiz_context(
    session: Session, settings: Settings, principal: Principal, quiz: Quiz
) -> dict[str, Any]:
    _enrolment, preview = _access(session, principal, quiz)
    now = utcnow()
    open_attempt = repository.in_progress_attempt(session, quiz.id, principal.user_id)
    if open_attempt is not None:
        open_attempt = service.finish_if_expired(session, open_attempt, settings, now=now)
        if open_attempt.state != service.IN_PROGRESS:
            open_attempt = None
    attempts = list(repository.attempts_of(session, quiz.id, principal.user_id))
    rows = []
    for attempt in attempts:
        percent = None
        if attempt.state in (service.GRADED, service.NEEDS_GRADING):
            shown = service.review(session, attempt, principal, now=now)
            percent = shown.attempt.percent if shown.shows["points"] else None
        rows.append(
            AttemptRow(
                number=attempt.number,
                state=attempt.state,
                percent=percent,
                attempt_id=attempt.id,
                submitted_at=attempt.submitted_at,
                preview=attempt.preview,
            )
        )
    info = service.quiz_read(session, quiz)
    count = _question_count(session, quiz, info)
    counted = sum(1 for a in attempts if not a.preview)
    course = courses_service.get_course(session, quiz.course_id, principal)
    p = player.build(session, quiz.course_id, principal, current_id=quiz.activity_id)
    return {
        "quiz": info,
        "course": course,
        "p": p,
        "item": p.current,
        "rule": player.rule_for(p, p.current, settings, 0) if p.current else "",
        "player_states": player.state_labels(),
        "breadcrumbs": player.breadcrumbs(p, p.current),
        "intro_html": render_markdown(info.intro),
        "question_count": count,
        "attempts": rows,
        "attempts_used": counted,
        "outcome": service.learner_outcome(session, quiz.id, principal.user_id),
        # The number only where the review options let the learner see points.
        "show_grade": any(row.percent is not None for row in rows),
        "open_attempt": open_attempt,
        "blocker": None if open_attempt else _blocker(quiz, count, attempts, preview, now),
        "preview": preview,
        "grading_labels": grading_labels(),
        "kind_labels": kind_labels(),
        **_helpers(),
    }


@router.get("/quizzes/{quiz_id}")
def quiz_page(
    request: Request,
    quiz_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    quiz = service.get_quiz(db, quiz_id)
    return render(request, "quizzes/quiz.html", _quiz_context(db, settings, principal, quiz))


@router.post("/quizzes/{quiz_id}/start")
def start_page(
    request: Request,
    quiz_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """Start (or resume) the caller's attempt and go to it; a refusal is shown on the quiz page."""
    quiz = service.get_quiz(db, quiz_id)
    try:
        attempt, _created = service.start_attempt(db, quiz, principal, settings=settings)
    except Conflict as exc:
        context = _quiz_context(db, settings, principal, quiz)
        context["error"] = exc.detail
        return render(request, "quizzes/quiz.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/attempts/{attempt.id}", status_code=303)


# --- taking an attempt --------------------------------------------------------------------------


def _answered(saved: SavedAnswer | None, qtype: str, pair_count: int) -> bool:
    if saved is None:
        return False
    if qtype in ("single", "multiple", "truefalse"):
        return bool(saved.choice_ids)
    if qtype == "matching":
        chosen = [p for p in saved.pairs or [] if p.get("right")]
        return pair_count > 0 and len(chosen) >= pair_count
    return bool((saved.text or "").strip())


@router.get("/attempts/{attempt_id}")
def attempt_page(
    request: Request,
    attempt_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """The quiz-taking page (the owner); staff who see results get it read-only."""
    attempt = service.get_attempt(db, attempt_id, principal, write=False)
    service.finish_if_expired(db, attempt, settings)
    if attempt.state != service.IN_PROGRESS:
        return RedirectResponse(f"/attempts/{attempt.id}/review", status_code=303)
    read: AttemptRead = service.attempt_read(db, attempt)
    quiz = service.get_quiz(db, attempt.quiz_id)
    saved = {a.question_id: a for a in read.answers}
    pairs = {
        a.question_id: {p.get("id", ""): p.get("right", "") for p in a.pairs or []}
        for a in read.answers
    }
    answered = {
        q.id: _answered(saved.get(q.id), q.type, len(q.pairs or [])) for q in read.questions
    }
    quiz_title = service.quiz_activity(db, quiz).title
    course = courses_service.get_course(db, quiz.course_id, principal)
    return render(
        request,
        "quizzes/attempt.html",
        {
            "a": read,
            "quiz_title": quiz_title,
            "breadcrumbs": [
                (_("Beranda"), "/"),
                (_("Kursus saya"), "/my/courses"),
                (course.title, f"/courses/{course.id}"),
                (quiz_title, f"/quizzes/{quiz.id}"),
            ],
            "readonly": attempt.user_id != principal.user_id,
            "saved": saved,
            "saved_pairs": pairs,
            "answered": answered,
            "gradable": [q for q in read.questions if q.type not in NO_CONTROL_TYPES],
            **_helpers(),
        },
    )


def answers_from_form(read: AttemptRead, form: FormData) -> AnswersIn:
    """The posted fields as the autosave API's body. Field names: `q<id>` (choices, possibly
    several, or the text) and `q<id>.<pair id>` (matching). Sequential quizzes skip the questions
    that can no longer change."""
    answers = []
    for position, q in enumerate(read.questions):
        if q.type in NO_CONTROL_TYPES or (read.sequential and position < read.furthest_position):
            continue
        name = f"q{q.id}"
        if q.type in ("single", "multiple", "truefalse"):
            picks = [v for v in form.getlist(name) if isinstance(v, str) and v]
            answers.append(AnswerIn(question_id=q.id, choice_ids=picks))
        elif q.type == "matching":
            chosen = []
            for pair in q.pairs or []:
                value = form.get(f"{name}.{pair.id}")
                chosen.append({"id": pair.id, "right": value if isinstance(value, str) else ""})
            answers.append(AnswerIn(question_id=q.id, pairs=chosen))
        else:
            value = form.get(name)
            answers.append(AnswerIn(question_id=q.id, text=value if isinstance(value, str) else ""))
    return AnswersIn(answers=answers)


@router.post("/attempts/{attempt_id}/submit")
def submit_page(
    attempt_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    form: FormDep,
) -> Response:
    """Without JavaScript: save the posted answers, then submit ("action=save" only saves) and go
    to the review. Answers arriving after the deadline plus grace are not saved, as in the API."""
    attempt = service.get_attempt(db, attempt_id, principal, write=True)
    service.finish_if_expired(db, attempt, settings)
    if attempt.state == service.IN_PROGRESS:
        data = answers_from_form(service.attempt_read(db, attempt), form)
        with suppress(Conflict):  # closed meanwhile: it is graded with what was saved in time
            service.save_answers(db, attempt, data, settings)
        if form.get("action") == "save":
            db.refresh(attempt)
            if attempt.state == service.IN_PROGRESS:
                return RedirectResponse(f"/attempts/{attempt.id}?saved=1", status_code=303)
    service.submit(db, attempt, settings)
    return RedirectResponse(f"/attempts/{attempt.id}/review", status_code=303)


# --- the review ---------------------------------------------------------------------------------


@router.get("/attempts/{attempt_id}/review")
def review_page(
    request: Request,
    attempt_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    attempt = service.get_attempt(db, attempt_id, principal, write=False)
    service.finish_if_expired(db, attempt, settings)
    if attempt.state == service.IN_PROGRESS and attempt.user_id == principal.user_id:
        return RedirectResponse(f"/attempts/{attempt.id}", status_code=303)
    shown = service.review(db, attempt, principal)
    quiz = service.get_quiz(db, attempt.quiz_id)
    course = courses_service.get_course(db, quiz.course_id, principal)
    p = player.build(db, quiz.course_id, principal, current_id=quiz.activity_id)
    return render(
        request,
        "quizzes/review.html",
        {
            "r": shown,
            "quiz_id": quiz.id,
            "course": course,
            "p": p,
            "breadcrumbs": [
                *player.breadcrumbs(p, p.current),
                (_("Pembahasan"), f"/attempts/{attempt.id}/review"),
            ],
            "own": attempt.user_id == principal.user_id,
            "cert": (
                run_notice.run_certificate(db, attempt.run_id, principal, settings)
                if attempt.user_id == principal.user_id and shown.submitted_at
                else None
            ),
            "timeout": request.query_params.get("timeout") == "1",
            **_helpers(),
        },
    )
