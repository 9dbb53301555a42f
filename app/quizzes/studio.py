"""Quiz studio pages for staff: quiz settings and question list, the question editor with its live
preview, question import, results with the essay grading queue, item analysis and the
pre-test/post-test comparison of a run. HTML routes only; the rules are the quizzes service's and
`reports`'s.

Times are typed and shown in the institution's zone (settings.timezone, via `app.core.clock`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, File, Form, Request, UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from app.auth.dependencies import SessionDep, require_roles
from app.auth.service import Principal
from app.core import clock
from app.core.errors import LMSError, NotFound, PayloadTooLarge, ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.markdown import render_rich
from app.core.numbers import MAX_ROW_ID, strict_int
from app.courses import service as courses_service
from app.courses import studio as course_studio
from app.courses.models import Section
from app.quizzes import analysis, reports, repository, service
from app.quizzes.models import Quiz
from app.quizzes.pages import kind_labels
from app.quizzes.questions import Question
from app.quizzes.schemas import EssayGrade, QuestionIn, QuestionUpdate, QuizRead, QuizSettings
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(prefix="/studio", tags=["pages"], include_in_schema=False)

Editor = Annotated[Principal, Depends(require_roles(*service.EDITORS))]
Viewer = Annotated[Principal, Depends(require_roles(*service.RESULT_VIEWERS))]
FormText = Annotated[str | None, Form()]

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
QUESTION_TYPES = ("single", "multiple", "truefalse", "short", "numeric", "matching", "essay",
                  "description")  # fmt: skip
BLANK_ROWS = {"choices": 4, "answers": 2, "numeric": 1, "pairs": 3}
MAX_ROWS = 26
REVIEW_PARTS = ("correctness", "points", "feedback", "answers")
_ROW_FIELD = re.compile(r"^(choices|numeric|pairs)-(\d{1,2})-(\w+)$")
_ANSWER_FIELD = re.compile(r"^answers-(\d{1,2})$")


async def form_data(request: Request) -> FormData:
    """The posted form, read once (routes stay sync: database work runs off the event loop)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(form_data)]


# --- labels -------------------------------------------------------------------------------------


def labels() -> dict[str, dict[str, str]]:
    """Display names of the quiz vocabularies in the request's language."""
    return {
        "kind": kind_labels(),
        "grading": {
            "highest": _("Nilai tertinggi"),
            "last": _("Percobaan terakhir"),
            "first": _("Percobaan pertama"),
            "average": _("Rata-rata semua percobaan"),
        },
        "review_when": {
            "after_submit": _("Setelah dikumpulkan"),
            "after_close": _("Setelah kuis ditutup"),
            "never": _("Tidak pernah"),
        },
        "review_part": {
            "correctness": _("Benar atau salah"),
            "points": _("Nilai per soal"),
            "feedback": _("Umpan balik"),
            "answers": _("Kunci jawaban"),
        },
        "type": {
            "single": _("Pilihan ganda"),
            "multiple": _("Pilihan ganda (jawaban banyak)"),
            "truefalse": _("Benar/Salah"),
            "short": _("Isian singkat"),
            "numeric": _("Angka"),
            "matching": _("Menjodohkan"),
            "essay": _("Esai"),
            "description": _("Keterangan (tanpa jawaban)"),
            "random": _("Soal acak"),
        },
        "state": {
            reports.NOT_STARTED: _("Belum mengerjakan"),
            service.IN_PROGRESS: _("Sedang mengerjakan"),
            service.NEEDS_GRADING: _("Menunggu penilaian"),
            service.GRADED: _("Selesai dinilai"),
        },
        "format": {
            "plain": _("Teks biasa"),
            "markdown": _("Markdown"),
            "html": _("HTML"),
            "moodle": _("Moodle (HTML, baris baru dipertahankan)"),
        },
        "flag": {
            "too_easy": _("Terlalu mudah (indeks kemudahan di atas %(n)s%%)")
            % {"n": f"{analysis.FACILITY_TOO_EASY:g}"},
            "too_hard": _("Terlalu sulit (indeks kemudahan di bawah %(n)s%%)")
            % {"n": f"{analysis.FACILITY_TOO_HARD:g}"},
            "negative_discrimination": _(
                "Daya beda negatif: periksa kunci jawaban dan rumusan soal"
            ),
            "weak_discrimination": _("Daya beda lemah (di bawah %(n)s%%)")
            % {"n": f"{analysis.DISCRIMINATION_WEAK:g}"},
        },
    }


def _options(
    names: Mapping[str, str], keys: tuple[str, ...] | None = None
) -> list[tuple[str, str]]:
    return [(k, names[k]) for k in (keys or tuple(names))]


def _notice(key: str | None) -> str | None:
    """The success message a redirect asked for; only known keys, so no text comes from the URL."""
    messages = {
        "created": _("Kuis dibuat. Atur pengaturannya lalu tambahkan soal."),
        "saved": _("Pengaturan kuis disimpan."),
        "question_added": _("Soal ditambahkan."),
        "question_saved": _("Soal disimpan."),
        "question_versioned": _(
            "Soal disimpan sebagai versi baru; percobaan yang sudah berjalan tetap memakai versi "
            "lama."
        ),
        "regraded": _("Soal disimpan dan percobaan yang sudah selesai dinilai ulang."),
        "question_removed": _("Soal dikeluarkan dari kuis; soal tetap ada di bank soal."),
        "graded": _("Nilai esai disimpan."),
    }
    return messages.get(key or "")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _field_errors(exc: LMSError | ValidationError) -> tuple[str, dict[str, str], int]:
    """Page message, per-field messages (keyed by the form's field names) and HTTP status."""
    if isinstance(exc, ValidationError):
        fields: dict[str, str] = {}
        general: str | None = None
        for err in exc.errors():
            ctx = err.get("ctx") or {}
            if err["type"] == "greater_than":
                message = _("Harus lebih dari %(n)s.") % {"n": ctx.get("gt")}
            elif err["type"] in ("float_parsing", "float_type"):
                message = _("Isi dengan angka.")
            else:
                message = course_studio.pydantic_message(err)
            if err["loc"]:
                fields.setdefault(str(err["loc"][0]), message)
            else:
                general = general or message
        return general or _("Periksa kembali isian yang ditandai."), fields, 422
    errors = getattr(exc, "errors", None) or []
    fields = {e["field"]: e["message"] for e in errors if e.get("field")}
    return exc.detail, fields, exc.status_code


def _checked(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("1", "true", "on", "yes", "ya")


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _number(text: str) -> float:
    """A number as people type it here: a decimal comma is accepted."""
    return float(text.strip().replace(",", "."))


def _fmt_number(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def local_input(value: dt.datetime | None) -> str:
    """A stored time as a datetime-local input value in the institution's zone."""
    local = clock.to_local(value)
    return local.strftime(LOCAL_FORMAT) if local else ""


def parse_local(text: str) -> dt.datetime | None:
    """A datetime-local value, read as the institution's wall-clock time."""
    text = text.strip()
    if not text:
        return None
    for pattern in (LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return clock.from_local(dt.datetime.strptime(text, pattern))
        except ValueError:
            continue
    raise ValueError(text)


def _quiz_context(db: Session, quiz: Quiz, principal: Principal) -> dict[str, Any]:
    """What every quiz page shows in its header: course, quiz title and kind, tabs allowed."""
    course = courses_service.get_course(db, quiz.course_id, principal)
    activity = service.quiz_activity(db, quiz)
    return {
        "quiz": quiz,
        "quiz_title": activity.title,
        "course": course,
        "can_edit": principal.has_any(*service.EDITORS),
        "labels": labels(),
        "fmt": _fmt_number,
    }


# --- adding a quiz from the course builder ------------------------------------------------------


def _create(
    request: Request, db: Session, principal: Principal, section: Section,
    title: str | None, kind: str | None,
) -> Response:  # fmt: skip
    try:
        data = QuizSettings.model_validate(
            {"title": " ".join((title or "").split()), "kind": kind or "exercise"}
        )
        quiz = service.create_quiz(db, section, data)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields, status = _field_errors(exc)
        detail = "; ".join(fields.values()) if fields else ""
        return course_studio.edit_page(
            request, db, principal, section.course_id,
            error=_("Kuis belum dibuat: %(m)s") % {"m": detail or message}, status_code=status,
        )  # fmt: skip
    return _redirect(f"/studio/quizzes/{quiz.id}?notice=created")


@router.post("/sections/{section_id}/quizzes")
def add_quiz_page(
    request: Request, section_id: RowId, db: SessionDep, principal: Editor,
    title: FormText = None, kind: FormText = None,
) -> Response:  # fmt: skip
    """A new quiz activity at the end of the section; then its settings page."""
    section = courses_service.get_section(db, section_id)
    return _create(request, db, principal, section, title, kind)


@router.post("/courses/{course_id}/quizzes")
def add_course_quiz_page(
    request: Request, course_id: RowId, db: SessionDep, principal: Editor,
    section_id: FormText = None, title: FormText = None, kind: FormText = None,
) -> Response:  # fmt: skip
    """The builder's "add quiz" form, which picks the section from a select."""
    courses_service.get_course(db, course_id, principal)
    try:
        section_number = strict_int(section_id or "", maximum=MAX_ROW_ID)
        section = courses_service.get_section(db, section_number)
    except (ValueError, NotFound):
        section = None
    if section is None or section.course_id != course_id:
        return course_studio.edit_page(
            request, db, principal, course_id, error=_("Pilih bagian kursus."), status_code=422
        )
    return _create(request, db, principal, section, title, kind)


@router.get("/activities/{activity_id}/quiz")
def quiz_of_activity_page(activity_id: RowId, db: SessionDep, _e: Editor) -> Response:
    """The builder links a quiz activity here; this finds its quiz."""
    return _redirect(f"/studio/quizzes/{service.quiz_for_activity(db, activity_id).id}")


# --- quiz settings and question list ------------------------------------------------------------


def settings_values(read: QuizRead) -> dict[str, Any]:
    """A quiz's settings as the settings form's values (times in the institution's zone)."""
    return {
        "title": read.title,
        "kind": read.kind,
        "pass_score": _fmt_number(read.pass_score),
        "time_limit_minutes": _fmt_number(
            None if read.time_limit_seconds is None else read.time_limit_seconds / 60
        ),
        "max_attempts": _fmt_number(read.max_attempts),
        "attempt_delay_minutes": _fmt_number(read.attempt_delay_seconds / 60),
        "grading": read.grading,
        "shuffle_questions": read.shuffle_questions,
        "shuffle_choices": read.shuffle_choices,
        "questions_per_attempt": _fmt_number(read.questions_per_attempt),
        "open_at": local_input(read.open_at),
        "close_at": local_input(read.close_at),
        "sequential": read.sequential,
        "review_correctness": read.review_correctness,
        "review_points": read.review_points,
        "review_feedback": read.review_feedback,
        "review_answers": read.review_answers,
        "intro": read.intro or "",
        "duration_minutes": str(read.duration_minutes),
        "required": read.required,
    }


def _quiz_page(
    request: Request, db: Session, principal: Principal, quiz: Quiz, *,
    values: dict[str, Any] | None = None, field_errors: dict[str, str] | None = None,
    error: str | None = None, notice: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    read = service.quiz_read(db, quiz)
    names = labels()
    return render(
        request,
        "quizzes/studio/quiz.html",
        {
            **_quiz_context(db, quiz, principal),
            "tab": "settings",
            "read": read,
            "values": values or settings_values(read),
            "field_errors": field_errors or {},
            "settings_open": values is not None or notice == "created",
            "error": error,
            "notice": _notice(notice),
            "slots": reports.quiz_slots(db, quiz),
            "kind_options": _options(names["kind"]),
            "grading_options": _options(names["grading"]),
            "review_options": _options(names["review_when"]),
            "type_options": _options(names["type"], QUESTION_TYPES),
            "review_parts": REVIEW_PARTS,
        },
        status_code=status_code,
    )


@router.get("/quizzes/{quiz_id}")
def quiz_page(
    request: Request, quiz_id: RowId, db: SessionDep, principal: Editor, notice: str | None = None
) -> Response:
    return _quiz_page(request, db, principal, service.get_quiz(db, quiz_id), notice=notice)


def _int_field(
    raw: dict[str, str], name: str, low: int, high: int, errors: dict[str, str]
) -> int | None:
    text = raw.get(name, "").strip()
    if not text:
        return None
    try:
        value = strict_int(text)
    except ValueError:
        errors[name] = _("Isi dengan bilangan bulat.")
        return None
    if not low <= value <= high:
        errors[name] = _("Isi antara %(a)s dan %(b)s.") % {"a": low, "b": high}
        return None
    return value


def _minutes_field(
    raw: dict[str, str], name: str, low: int, high: int, errors: dict[str, str]
) -> int | None:
    """Minutes typed (decimals allowed, e.g. 1,5) as whole seconds."""
    text = raw.get(name, "").strip()
    if not text:
        return None
    try:
        minutes = _number(text)
    except ValueError:
        errors[name] = _("Isi dengan angka.")
        return None
    if not low <= minutes <= high:
        errors[name] = _("Isi antara %(a)s dan %(b)s.") % {"a": low, "b": high}
        return None
    return round(minutes * 60)


def settings_from_form(
    form: Mapping[str, Any],
) -> tuple[dict[str, Any], QuizSettings | None, dict[str, str]]:
    """(values to show again, settings or None, field errors) from the settings form."""
    text_names = ("title", "kind", "pass_score", "time_limit_minutes", "max_attempts",
                  "attempt_delay_minutes", "grading", "questions_per_attempt", "open_at",
                  "close_at", "intro", "duration_minutes",
                  *(f"review_{p}" for p in REVIEW_PARTS))  # fmt: skip
    raw = {name: _text(form, name) for name in text_names}
    flags = {
        name: _checked(form.get(name))
        for name in ("shuffle_questions", "shuffle_choices", "sequential", "required")
    }
    values: dict[str, Any] = {**raw, **flags}
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "title": " ".join(raw["title"].split()),
        "kind": raw["kind"] or "exercise",
        "grading": raw["grading"] or "highest",
        "intro": raw["intro"].strip() or None,
        **flags,
        **{f"review_{p}": raw[f"review_{p}"] or "after_submit" for p in REVIEW_PARTS},
    }
    try:
        data["pass_score"] = _number(raw["pass_score"]) if raw["pass_score"].strip() else 0
    except ValueError:
        errors["pass_score"] = _("Isi dengan angka 0 sampai 100.")
    limit = _minutes_field(raw, "time_limit_minutes", 1, 24 * 60, errors)
    data["time_limit_seconds"] = limit
    data["max_attempts"] = _int_field(raw, "max_attempts", 1, 100, errors)
    delay = _minutes_field(raw, "attempt_delay_minutes", 0, 30 * 24 * 60, errors)
    data["attempt_delay_seconds"] = delay or 0
    data["questions_per_attempt"] = _int_field(raw, "questions_per_attempt", 1, 500, errors)
    data["duration_minutes"] = _int_field(raw, "duration_minutes", 0, 10_000, errors) or 0
    for name in ("open_at", "close_at"):
        try:
            data[name] = parse_local(raw[name])
        except ValueError:
            errors[name] = _("Tanggal dan jam tidak sah.")
    if data.get("open_at") and data.get("close_at") and data["close_at"] <= data["open_at"]:
        errors["close_at"] = _("Waktu tutup harus setelah waktu buka.")
    if errors:
        return values, None, errors
    try:
        return values, QuizSettings.model_validate(data), {}
    except ValidationError as exc:
        _message, fields, _status = _field_errors(exc)
        renamed = {"time_limit_seconds": "time_limit_minutes",
                   "attempt_delay_seconds": "attempt_delay_minutes"}  # fmt: skip
        return values, None, {renamed.get(k, k): v for k, v in fields.items()}


@router.post("/quizzes/{quiz_id}")
def save_quiz_page(
    request: Request, quiz_id: RowId, db: SessionDep, principal: Editor, form: PostedForm
) -> Response:
    quiz = service.get_quiz(db, quiz_id)
    values, data, errors = settings_from_form(form)
    if data is None:
        message = _("Periksa kembali isian yang ditandai.")
        return _quiz_page(request, db, principal, quiz, values=values, field_errors=errors,
                          error=message, status_code=422)  # fmt: skip
    try:
        service.update_quiz(db, quiz, data)
    except LMSError as exc:
        db.rollback()
        message, fields, status = _field_errors(exc)
        return _quiz_page(request, db, principal, service.get_quiz(db, quiz_id), values=values,
                          field_errors=fields, error=message, status_code=status)  # fmt: skip
    return _redirect(f"/studio/quizzes/{quiz_id}?notice=saved")


@router.post("/quizzes/{quiz_id}/questions/{question_id}/remove")
def remove_question_page(quiz_id: RowId, question_id: RowId, db: SessionDep, _e: Editor) -> Response:
    service.remove_question(db, service.get_quiz(db, quiz_id), question_id)
    return _redirect(f"/studio/quizzes/{quiz_id}?notice=question_removed#questions")


# --- question editor ----------------------------------------------------------------------------


def blank_values(qtype: str) -> dict[str, Any]:
    return {
        "type": qtype, "title": "", "text": "", "text_format": "plain", "points": "1",
        "category": "", "general_feedback": "", "correct": "", "feedback_true": "",
        "feedback_false": "", "incorrect_feedback": "", "regrade": False,
        "choices": [_blank_row("choices") for _ in range(BLANK_ROWS["choices"])],
        "answers": ["" for _ in range(BLANK_ROWS["answers"])],
        "numeric": [_blank_row("numeric") for _ in range(BLANK_ROWS["numeric"])],
        "pairs": [_blank_row("pairs") for _ in range(BLANK_ROWS["pairs"])],
    }  # fmt: skip


def _blank_row(kind: str) -> dict[str, Any]:
    if kind == "choices":
        return {"id": "", "text": "", "correct": False, "weight": "", "feedback": ""}
    if kind == "numeric":
        return {"value": "", "tolerance": "", "min": "", "max": "", "feedback": ""}
    return {"id": "", "left": "", "right": ""}


def values_from_stored(data: QuestionIn) -> dict[str, Any]:
    """A stored question (as `service.question_input` gives it) as the editor's form values."""
    values = blank_values(data.type)
    values.update(
        {
            "title": data.title, "text": data.text, "text_format": data.text_format,
            "points": _fmt_number(data.points), "category": data.category or "",
            "general_feedback": data.general_feedback,
            "correct": "" if data.correct is None else ("true" if data.correct else "false"),
            "feedback_true": data.feedback_true, "feedback_false": data.feedback_false,
            "incorrect_feedback": data.incorrect_feedback,
        }
    )  # fmt: skip
    if data.choices:
        values["choices"] = [
            {
                "id": c.id or "", "text": c.text, "correct": c.correct,
                # Plain right/wrong keys need no weight; partial credit shows its weights.
                "weight": _fmt_number(c.weight) if c.weight not in (None, 0.0, 100.0) else "",
                "feedback": c.feedback,
            }
            for c in data.choices
        ]  # fmt: skip
        if any(c.weight not in (None, 0.0, 100.0) for c in data.choices) or data.type == "multiple":
            for row, c in zip(values["choices"], data.choices, strict=True):
                row["weight"] = _fmt_number(c.weight)
    if data.type == "short":
        values["answers"] = [str(a) for a in data.answers] or values["answers"]
    if data.type == "numeric":
        rows = []
        for a in data.answers:
            a = a if isinstance(a, dict) else {"value": a}
            interval = a.get("min") is not None and a.get("max") is not None
            rows.append(
                {
                    "value": "" if interval else _fmt_number(a.get("value")),
                    "tolerance": "" if interval or not a.get("tolerance")
                    else _fmt_number(a["tolerance"]),
                    "min": _fmt_number(a["min"]) if interval else "",
                    "max": _fmt_number(a["max"]) if interval else "",
                    "feedback": str(a.get("feedback") or ""),
                }
            )  # fmt: skip
        values["numeric"] = rows or values["numeric"]
    if data.pairs:
        values["pairs"] = [{"id": p.id or "", "left": p.left, "right": p.right} for p in data.pairs]
    return values


def values_from_form(form: Mapping[str, Any] | FormData, qtype: str) -> dict[str, Any]:
    """The editor's posted fields as form values (rows kept as typed, blank ones too)."""
    values = blank_values(qtype)
    for name in ("title", "text", "text_format", "points", "category", "general_feedback",
                 "correct", "feedback_true", "feedback_false", "incorrect_feedback"):  # fmt: skip
        values[name] = _text(form, name)
    values["text_format"] = values["text_format"] or "plain"
    values["regrade"] = _checked(form.get("regrade"))
    rows: dict[str, dict[int, dict[str, Any]]] = {"choices": {}, "numeric": {}, "pairs": {}}
    answers: dict[int, str] = {}
    for key in form:
        value = form.get(key)
        if not isinstance(value, str):
            continue
        if match := _ROW_FIELD.match(key):
            kind, index, part = match.group(1), int(match.group(2)), match.group(3)
            row = rows[kind].setdefault(index, _blank_row(kind))
            row[part] = _checked(value) if part == "correct" else value
        elif match := _ANSWER_FIELD.match(key):
            answers[int(match.group(1))] = value
    for kind, found in rows.items():
        if found:
            values[kind] = [found[i] for i in sorted(found)][:MAX_ROWS]
    if answers:
        values["answers"] = [answers[i] for i in sorted(answers)][:MAX_ROWS]
    return values


def _float_or_none(text: str, field: str) -> float | None:
    if not text.strip():
        return None
    try:
        return _number(text)
    except ValueError:
        raise ValidationFailed(_("Isi dengan angka."), field=field) from None


def question_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's values as `QuestionIn` data; blank rows are left out."""
    qtype = values["type"]
    points_text = str(values.get("points") or "").strip()
    data: dict[str, Any] = {
        "type": qtype,
        "text": values["text"],
        "title": values["title"],
        "text_format": values["text_format"],
        "points": _float_or_none(points_text, "points") if points_text else 1,
        "category": values["category"].strip() or None,
        "general_feedback": values["general_feedback"],
    }
    if qtype in ("single", "multiple"):
        data["choices"] = [
            {
                "text": row["text"],
                "correct": bool(row.get("correct")),
                "weight": _float_or_none(str(row.get("weight") or ""), "choices"),
                "feedback": row.get("feedback") or "",
                "id": row.get("id") or None,
            }
            for row in values["choices"]
            if str(row.get("text") or "").strip()
        ]
    elif qtype == "truefalse":
        data["correct"] = {"true": True, "false": False}.get(values["correct"])
        data["feedback_true"] = values["feedback_true"]
        data["feedback_false"] = values["feedback_false"]
    elif qtype == "short":
        data["answers"] = [a for a in values["answers"] if a.strip()]
    elif qtype == "numeric":
        answers: list[dict[str, Any]] = []
        for row in values["numeric"]:
            low = _float_or_none(str(row.get("min") or ""), "answers")
            high = _float_or_none(str(row.get("max") or ""), "answers")
            value = _float_or_none(str(row.get("value") or ""), "answers")
            tolerance = _float_or_none(str(row.get("tolerance") or ""), "answers")
            feedback = row.get("feedback") or ""
            if low is not None and high is not None:
                answers.append({"min": low, "max": high, "feedback": feedback})
            elif value is not None:
                answers.append({"value": value, "tolerance": tolerance or 0, "feedback": feedback})
            elif low is not None or high is not None:
                raise ValidationFailed(
                    _("Rentang jawaban memerlukan nilai minimum dan maksimum."), field="answers"
                )
        data["answers"] = answers
        data["incorrect_feedback"] = values["incorrect_feedback"]
    elif qtype == "matching":
        data["pairs"] = [
            {"left": row.get("left") or "", "right": row["right"], "id": row.get("id") or None}
            for row in values["pairs"]
            if str(row.get("right") or "").strip()
        ]
    return data


def check_question(values: Mapping[str, Any]) -> tuple[QuestionIn, Question]:
    """The editor's values checked as the API checks a question (ValidationFailed/-Error)."""
    data = QuestionIn.model_validate(question_data(values))
    return data, service.question_from_input(data)


def _editor_page(
    request: Request, db: Session, principal: Principal, quiz: Quiz, values: dict[str, Any], *,
    question_id: int | None = None, version: Any = None, error: str | None = None,
    field_errors: dict[str, str] | None = None, preview: dict[str, Any] | None = None,
    focus: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    action = (
        f"/studio/quizzes/{quiz.id}/questions/{question_id}"
        if question_id
        else f"/studio/quizzes/{quiz.id}/questions/new"
    )
    preview_error = None
    if preview is None and str(values.get("text") or "").strip():
        try:
            preview = preview_context(check_question(values)[1])
        except (LMSError, ValidationError) as exc:
            message, fields, _status = _field_errors(exc)
            preview_error = "; ".join(fields.values()) or message
    return render(
        request,
        "quizzes/studio/question.html",
        {
            **_quiz_context(db, quiz, principal),
            "tab": "settings",
            "values": values,
            "question_id": question_id,
            "version": version,
            "action": action,
            "error": error,
            "field_errors": field_errors or {},
            "preview": preview,
            "preview_error": preview_error,
            "focus": focus,
            "categories": [c.name for c in repository.categories_of(db, quiz.course_id)],
            "format_options": _options(labels()["format"]),
        },
        status_code=status_code,
    )


def preview_context(question: Question) -> dict[str, Any]:
    """A question as a learner sees it (no key, weights or feedback), for the preview partial."""
    fmt = question.text_format
    rights = sorted({p.right for p in question.pairs})
    return {
        "type": question.type.value,
        "html": render_rich(question.text, fmt),
        "points": question.points,
        "choices": [render_rich(c.text, fmt, inline=True) for c in question.choices],
        "lefts": [render_rich(p.left, fmt, inline=True) for p in question.gradable_pairs],
        "rights": rights,
    }


def _type_of(raw: str | None) -> str:
    qtype = (raw or "").strip()
    if qtype not in QUESTION_TYPES:
        raise ValidationFailed(_("Jenis soal tidak dikenal."), field="type")
    return qtype


def _post_question(
    request: Request, db: Session, principal: Principal, quiz: Quiz, form: FormData,
    question_id: int | None,
) -> Response:  # fmt: skip
    """Save, add a row, or preview (without JavaScript) the editor's form."""
    question = service.get_question(db, quiz, question_id) if question_id else None
    version = repository.current_version(db, question) if question else None
    qtype = version.type if version else _type_of(_text(form, "type"))
    values = values_from_form(form, qtype)
    action = _text(form, "action") or "save"
    page: dict[str, Any] = {"question_id": question_id, "version": version}
    if action.startswith("add_"):
        kind = action.removeprefix("add_")
        if kind in BLANK_ROWS and len(values[kind]) < MAX_ROWS:
            values[kind].append("" if kind == "answers" else _blank_row(kind))
            focus = f"{kind}-{len(values[kind]) - 1}"
        else:
            focus = None
        return _editor_page(request, db, principal, quiz, values, focus=focus, **page)
    try:
        data, checked = check_question(values)
        if action == "preview":
            return _editor_page(request, db, principal, quiz, values,
                                preview=preview_context(checked), **page)  # fmt: skip
        if question is None:
            service.add_question(db, quiz, checked, principal, data.category or "")
            notice = "question_added"
        else:
            regrade = bool(values["regrade"]) and bool(version and version.used)
            update = QuestionUpdate.model_validate({**data.model_dump(), "regrade": regrade})
            saved = service.update_question(db, quiz, question, update, principal)
            notice = (
                "regraded"
                if regrade
                else (
                    "question_versioned" if version and saved.id != version.id else "question_saved"
                )
            )
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields, status = _field_errors(exc)
        return _editor_page(request, db, principal, quiz, values, error=message,
                            field_errors=fields, status_code=status, **page)  # fmt: skip
    return _redirect(f"/studio/quizzes/{quiz.id}?notice={notice}#questions")


@router.get("/quizzes/{quiz_id}/questions/new")
def new_question_page(
    request: Request, quiz_id: RowId, db: SessionDep, principal: Editor, type: str = "single"
) -> Response:
    quiz = service.get_quiz(db, quiz_id)
    return _editor_page(request, db, principal, quiz, blank_values(_type_of(type)))


@router.post("/quizzes/{quiz_id}/questions/new")
def create_question_page(
    request: Request, quiz_id: RowId, db: SessionDep, principal: Editor, form: PostedForm
) -> Response:
    return _post_question(request, db, principal, service.get_quiz(db, quiz_id), form, None)


@router.post("/quizzes/{quiz_id}/questions/preview")
def preview_question_partial(
    request: Request, quiz_id: RowId, db: SessionDep, _e: Editor, form: PostedForm
) -> Response:
    """The live preview (htmx): the question as a learner sees it, or why it cannot be shown."""
    service.get_quiz(db, quiz_id)
    try:
        values = values_from_form(form, _type_of(_text(form, "type")))
        _data, checked = check_question(values)
        context: dict[str, Any] = {"preview": preview_context(checked), "preview_error": None}
    except (LMSError, ValidationError) as exc:
        message, fields, _status = _field_errors(exc)
        context = {"preview": None, "preview_error": "; ".join(fields.values()) or message}
    return render(request, "quizzes/studio/_preview.html", context)


@router.get("/quizzes/{quiz_id}/questions/{question_id}")
def edit_question_page(
    request: Request, quiz_id: RowId, question_id: RowId, db: SessionDep, principal: Editor
) -> Response:
    quiz = service.get_quiz(db, quiz_id)
    question = service.get_question(db, quiz, question_id)
    version = repository.current_version(db, question)
    category = repository.get_category(db, question.category_id)
    stored = service.stored_question(version, category.name if category else "")
    values = values_from_stored(service.question_input(stored))
    return _editor_page(request, db, principal, quiz, values, question_id=question_id,
                        version=version)  # fmt: skip


@router.post("/quizzes/{quiz_id}/questions/{question_id}")
def update_question_page(
    request: Request, quiz_id: RowId, question_id: RowId, db: SessionDep, principal: Editor,
    form: PostedForm,
) -> Response:  # fmt: skip
    quiz = service.get_quiz(db, quiz_id)
    return _post_question(request, db, principal, quiz, form, question_id)


# --- import -------------------------------------------------------------------------------------


def _import_page(
    request: Request, db: Session, principal: Principal, quiz: Quiz, *,
    result: Any = None, error: str | None = None, values: dict[str, str] | None = None,
    filename: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    errors = []
    if result is not None:
        errors = [
            {"line": e.line, "message": e.message.removeprefix(f"Baris {e.line}: ")}
            for e in result.errors
        ]
    return render(
        request,
        "quizzes/studio/import.html",
        {
            **_quiz_context(db, quiz, principal), "tab": "import", "result": result,
            "import_errors": errors, "error": error, "filename": filename,
            "values": values or {"format": "gift"},
            "categories": [c.name for c in repository.categories_of(db, quiz.course_id)],
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("/quizzes/{quiz_id}/import")
def import_page(request: Request, quiz_id: RowId, db: SessionDep, principal: Editor) -> Response:
    return _import_page(request, db, principal, service.get_quiz(db, quiz_id))


@router.post("/quizzes/{quiz_id}/import")
def import_upload(
    request: Request, quiz_id: RowId, db: SessionDep, principal: Editor,
    file: Annotated[UploadFile | None, File()] = None, format: FormText = None,
    category: FormText = None,
) -> Response:  # fmt: skip
    """All or nothing: with any error nothing is imported and every error is listed by line."""
    quiz = service.get_quiz(db, quiz_id)
    fmt = (format or "gift").strip()
    values = {"format": fmt, "category": category or ""}
    try:
        if fmt not in ("gift", "aiken", "xlsx"):
            raise ValidationFailed(_("Pilih format gift, aiken atau xlsx."), field="format")
        if file is None or not file.filename:
            raise ValidationFailed(_("Pilih berkas soal."), field="file")
        data = file.file.read(service.MAX_IMPORT_BYTES + 1)
        if len(data) > service.MAX_IMPORT_BYTES:
            raise PayloadTooLarge(_("Berkas soal maksimal 5 MB."))
        result = service.import_questions(db, quiz, fmt, data, principal, (category or "").strip())
    except LMSError as exc:
        db.rollback()
        return _import_page(request, db, principal, quiz, error=exc.detail, values=values,
                            status_code=exc.status_code)  # fmt: skip
    if result.errors:
        db.rollback()
    status = 422 if result.errors else 200
    return _import_page(request, db, principal, quiz, result=result, values=values,
                        filename=file.filename, status_code=status)  # fmt: skip


# --- results and essay grading ------------------------------------------------------------------


def _run_filter(
    db: Session, quiz: Quiz, raw: str | None
) -> tuple[int | None, list[tuple[int, str]]]:
    """The run picked in a filter (ignored unless it is a run of the quiz's course) and the
    course's runs for the select."""
    runs = reports.runs_of_course(db, quiz.course_id)
    try:
        run_id = strict_int(raw, maximum=MAX_ROW_ID) if raw and raw.strip() else None
    except ValueError:
        run_id = None
    return (run_id if run_id in {r for r, _ in runs} else None), runs


def _results_page(
    request: Request, db: Session, principal: Principal, quiz: Quiz, *, run: str | None = None,
    q: str = "", state: str = "", passed: str = "", notice: str | None = None,
    error: str | None = None, grade_errors: dict[str, str] | None = None,
    grade_values: dict[str, dict[str, str]] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    run_id, runs = _run_filter(db, quiz, run)
    state = state if state in reports.RESULT_STATES else ""
    passed_flag = {"1": True, "0": False}.get(passed)
    rows = reports.results(db, quiz, run_id, q=q or None, state=state or None, passed=passed_flag)
    wanted = {
        "run_id": run_id or "",
        "q": q,
        "state": state,
        "passed": {"1": "true", "0": "false"}.get(passed, ""),
    }
    query = {k: v for k, v in wanted.items() if v}
    return render(
        request,
        "quizzes/studio/results.html",
        {
            **_quiz_context(db, quiz, principal), "tab": "results", "rows": rows,
            "runs": runs, "run_id": run_id, "q": q, "state": state, "passed": passed,
            "states": reports.RESULT_STATES,
            "export_query": urlencode(query),
            "queue": reports.essay_queue(db, [quiz.id], run_id),
            "notice": _notice(notice), "error": error, "grade_errors": grade_errors or {},
            "grade_values": grade_values or {},
            "counts": {
                "total": len(rows),
                "passed": sum(1 for r in rows if r.passed),
                "waiting": sum(1 for r in rows if r.state == service.NEEDS_GRADING),
            },
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("/quizzes/{quiz_id}/results")
def results_page(
    request: Request, quiz_id: RowId, db: SessionDep, principal: Viewer,
    run_id: str | None = None, q: str = "", state: str = "", passed: str = "",
    notice: str | None = None,
) -> Response:  # fmt: skip
    quiz = service.get_quiz(db, quiz_id)
    return _results_page(request, db, principal, quiz, run=run_id, q=q.strip()[:100],
                         state=state, passed=passed, notice=notice)  # fmt: skip


@router.post("/attempts/{attempt_id}/grades")
def grade_essay_page(
    request: Request, attempt_id: RowId, db: SessionDep, principal: Viewer,
    question_id: FormText = None, points: FormText = None, comment: FormText = None,
    run_id: FormText = None,
) -> Response:  # fmt: skip
    """One essay answer graded (0..its points, with a comment); the attempt becomes graded once
    no essay is left without points."""
    attempt = service.get_attempt(db, attempt_id, principal, write=False)
    quiz = service.get_quiz(db, attempt.quiz_id)
    key = f"{attempt_id}-{question_id}"
    try:
        try:
            qid = strict_int(question_id or "", maximum=MAX_ROW_ID)
        except ValueError:
            raise ValidationFailed(_("Soal tidak dikenal."), field="question_id") from None
        try:
            value = _number(points or "")
        except ValueError:
            raise ValidationFailed(_("Isi nilai dengan angka."), field="points") from None
        if value < 0:
            raise ValidationFailed(_("Nilai tidak boleh negatif."), field="points")
        grade = EssayGrade(question_id=qid, points=value, comment=comment or "")
        service.grade_essays(db, attempt, [grade], principal)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, _fields, status = _field_errors(exc)
        return _results_page(
            request, db, principal, service.get_quiz(db, quiz.id), run=run_id,
            error=message, grade_errors={key: message},
            grade_values={key: {"points": points or "", "comment": comment or ""}},
            status_code=status,
        )  # fmt: skip
    query = urlencode({"run_id": run_id or "", "notice": "graded"})
    return _redirect(f"/studio/quizzes/{quiz.id}/results?{query}#grading")


# --- analysis -----------------------------------------------------------------------------------


@router.get("/quizzes/{quiz_id}/analysis")
def analysis_page(
    request: Request, quiz_id: RowId, db: SessionDep, principal: Viewer,
    run_id: str | None = None, all_attempts: str = "",
) -> Response:  # fmt: skip
    quiz = service.get_quiz(db, quiz_id)
    run, runs = _run_filter(db, quiz, run_id)
    everyone = _checked(all_attempts)
    report = reports.item_analysis(db, quiz, run, all_attempts=everyone)
    return render(
        request,
        "quizzes/studio/analysis.html",
        {
            **_quiz_context(db, quiz, principal), "tab": "analysis", "report": report,
            "runs": runs, "run_id": run, "all_attempts": everyone,
            "thresholds": {
                "easy": analysis.FACILITY_TOO_EASY, "hard": analysis.FACILITY_TOO_HARD,
                "weak": analysis.DISCRIMINATION_WEAK,
            },
        },
    )  # fmt: skip


# --- pre-test / post-test -----------------------------------------------------------------------


@router.get("/runs/{run_id}/prepost")
def prepost_page(request: Request, run_id: RowId, db: SessionDep, principal: Viewer) -> Response:
    report = reports.prepost(db, run_id)
    run = courses_service.get_run(db, run_id)
    course = courses_service.get_course(db, run.course_id, principal)
    return render(
        request,
        "quizzes/studio/prepost.html",
        {
            "report": report, "run": run, "course": course, "fmt": _fmt_number,
            "can_run": principal.has_any(*courses_service.RUN_MANAGERS),
        },
    )  # fmt: skip
