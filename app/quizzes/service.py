"""Rules of the assessment engine: quizzes, the question bank, attempts, grading and results.

Other domains read quiz outcomes only through the hooks at the end (`learner_outcome`,
`activity_passed`, `posttest_percent`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson  # parses and writes the hot JSON of grading (layouts, 50 answers) several times faster
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.constants import Role
from app.audit import service as audit
from app.auth.service import Principal
from app.core import events
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.markdown import render_rich
from app.courses import service as courses_service
from app.courses.constants import ActivityKind, CompletionRule
from app.courses.models import Activity, Section
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.progress import service as progress_service
from app.quizzes import aiken, bank, gift, repository, scoring, xlsx
from app.quizzes.bank import FALSE_ID, TRUE_ID, StoredQuestion
from app.quizzes.models import (
    Attempt,
    AttemptAnswer,
    BankQuestion,
    QuestionCategory,
    QuestionVersion,
    Quiz,
    QuizAuditLog,
    QuizSlot,
)
from app.quizzes.questions import Choice, MatchPair, NumericAnswer, ParseResult, Question
from app.quizzes.questions import QuestionType as QT
from app.quizzes.schemas import (
    AnswersIn,
    AttemptRead,
    ChoiceOut,
    EssayGrade,
    ImportError_,
    ImportResult,
    QuestionIn,
    QuestionOut,
    QuestionUpdate,
    QuizRead,
    QuizSettings,
    ReviewItem,
    ReviewRead,
    SavedAnswer,
    SaveResult,
    SubmitResult,
)

EDITORS = (Role.CONTENT_ADMIN, Role.ADMIN)
RESULT_VIEWERS = (Role.CONTENT_ADMIN, Role.TRAINING_OFFICER, Role.ADMIN)
DEFAULT_CATEGORY = "Umum"
IN_PROGRESS, GRADED, NEEDS_GRADING = "in_progress", "graded", "needs_grading"
MAX_IMPORT_BYTES = 5 * 1024 * 1024
SWEEP_BATCH = 500


# --- quizzes ------------------------------------------------------------------------------------


def get_quiz(session: Session, quiz_id: int) -> Quiz:
    quiz = repository.get_quiz(session, quiz_id)
    if quiz is None:
        raise NotFound("Kuis tidak ditemukan.", code="quiz_not_found")
    return quiz


def quiz_for_activity(session: Session, activity_id: int) -> Quiz:
    quiz = repository.quiz_for_activity(session, activity_id)
    if quiz is None:
        raise NotFound("Kuis tidak ditemukan.", code="quiz_not_found")
    return quiz


def quiz_activity(session: Session, quiz: Quiz) -> Activity:
    return courses_service.get_activity(session, quiz.activity_id)


def _apply_settings(quiz: Quiz, data: QuizSettings) -> None:
    for name in (
        "kind",
        "pass_score",
        "time_limit_seconds",
        "max_attempts",
        "attempt_delay_seconds",
        "grading",
        "shuffle_questions",
        "shuffle_choices",
        "questions_per_attempt",
        "open_at",
        "close_at",
        "sequential",
        "review_correctness",
        "review_points",
        "review_feedback",
        "review_answers",
    ):
        setattr(quiz, name, getattr(data, name))
    quiz.intro_md = data.intro


def create_quiz(session: Session, section: Section, data: QuizSettings) -> Quiz:
    """A quiz is an activity of kind "quiz" (completed when passed) plus its settings row."""
    activity = courses_service.add_activity(
        session,
        section,
        courses_service.ActivityInput(
            kind=ActivityKind.QUIZ,
            title=data.title,
            duration_minutes=data.duration_minutes,
            required=data.required,
            completion_rule=CompletionRule.QUIZ_PASSED,
        ),
    )
    quiz = Quiz(activity_id=activity.id, course_id=section.course_id)
    _apply_settings(quiz, data)
    repository.add(session, quiz)
    return quiz


def update_quiz(session: Session, quiz: Quiz, data: QuizSettings) -> Quiz:
    activity = quiz_activity(session, quiz)
    activity.title = " ".join(data.title.split())
    activity.duration_minutes = data.duration_minutes
    activity.required = data.required
    _apply_settings(quiz, data)
    session.flush()
    return quiz


def quiz_read(session: Session, quiz: Quiz) -> QuizRead:
    activity = quiz_activity(session, quiz)
    questions = quiz_questions(session, quiz)
    return QuizRead(
        id=quiz.id,
        activity_id=quiz.activity_id,
        course_id=quiz.course_id,
        title=activity.title,
        duration_minutes=activity.duration_minutes,
        required=activity.required,
        intro=quiz.intro_md,
        question_count=len(questions),
        total_points=round(math.fsum(s.question.points for _, s in questions), 5),
        **{
            name: getattr(quiz, name)
            for name in QuizSettings.model_fields
            if name not in ("title", "duration_minutes", "required", "intro")
        },
    )


# --- the question bank --------------------------------------------------------------------------


def _clean(text: str) -> str:
    return text.strip()


def question_from_input(data: QuestionIn) -> Question:
    """Check an editor's or API client's question and turn it into a `Question` (422 naming the
    field when it cannot be answered correctly)."""
    qt = QT(data.type)
    common: dict[str, Any] = {
        "type": qt,
        "text": _clean(data.text),
        "title": _clean(data.title),
        "text_format": data.text_format,
        "points": 0.0 if qt == QT.DESCRIPTION else float(data.points),
        "general_feedback": _clean(data.general_feedback),
        "category": (data.category or "").strip(),
    }
    if not common["text"]:
        raise ValidationFailed("Teks soal wajib diisi.", field="text")
    if qt in (QT.SINGLE, QT.MULTIPLE):
        return Question(**common, choices=_choices(qt, data))
    if qt == QT.TRUEFALSE:
        key = data.correct
        if key is None and data.answers:
            key = _truth(data.answers[0])
        if key is None:
            raise ValidationFailed("Soal benar/salah memerlukan kunci (correct).", field="correct")
        return Question(
            **common,
            truefalse_key=key,
            feedback_true=_clean(data.feedback_true),
            feedback_false=_clean(data.feedback_false),
        )
    if qt == QT.SHORT:
        accepted = [str(a).strip() for a in data.answers if str(a).strip()]
        if not accepted:
            raise ValidationFailed(
                "Isian singkat memerlukan jawaban yang diterima.", field="answers"
            )
        return Question(**common, answers=tuple(Choice(a, 100.0) for a in accepted))
    if qt == QT.NUMERIC:
        return Question(
            **common,
            numeric=_numeric(data),
            incorrect_feedback=_clean(data.incorrect_feedback),
        )
    if qt == QT.MATCHING:
        pairs = tuple(MatchPair(p.left.strip(), p.right.strip()) for p in data.pairs)
        if sum(1 for p in pairs if p.left) < 2:
            raise ValidationFailed(
                "Soal menjodohkan memerlukan minimal dua pasangan.", field="pairs"
            )
        return Question(**common, pairs=pairs)
    return Question(**common)


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "benar", "b", "t", "1"):
        return True
    if text in ("false", "salah", "s", "f", "0"):
        return False
    return None


def _choices(qt: QT, data: QuestionIn) -> tuple[Choice, ...]:
    if len(data.choices) < 2:
        raise ValidationFailed("Soal pilihan memerlukan minimal dua pilihan.", field="choices")
    right = [c for c in data.choices if c.correct or (c.weight or 0) > 0]
    if not right:
        raise ValidationFailed("Tandai minimal satu pilihan yang benar.", field="choices")
    if qt == QT.SINGLE:
        if any(c.weight is not None for c in data.choices):
            weights = [
                c.weight if c.weight is not None else (100.0 if c.correct else 0.0)
                for c in data.choices
            ]
        else:
            if len(right) != 1:
                raise ValidationFailed(
                    "Pilihan ganda harus punya tepat satu jawaban benar.", field="choices"
                )
            weights = [100.0 if c.correct else 0.0 for c in data.choices]
        if max(weights) < 100:
            raise ValidationFailed(
                _("Satu pilihan harus bernilai %(p)s.") % {"p": "100%"}, field="choices"
            )
    else:
        if any(c.weight is not None for c in data.choices):
            weights = [c.weight or 0.0 for c in data.choices]
        else:
            # Documented rule: right picks share 100 %; wrong picks together cost 100 %.
            wrong = len(data.choices) - len(right)
            weights = [
                100.0 / len(right) if c.correct else (-100.0 / wrong if wrong else 0.0)
                for c in data.choices
            ]
        if round(math.fsum(w for w in weights if w > 0), 3) < 99.99:
            raise ValidationFailed(
                _("Bobot pilihan benar harus berjumlah %(p)s.") % {"p": "100%"}, field="choices"
            )
    return tuple(
        Choice(c.text.strip(), round(w, 5), c.feedback.strip())
        for c, w in zip(data.choices, weights, strict=True)
    )


def _numeric(data: QuestionIn) -> tuple[NumericAnswer, ...]:
    answers: list[NumericAnswer] = []
    for raw in data.answers:
        try:
            if isinstance(raw, dict):
                if raw.get("min") is not None and raw.get("max") is not None:
                    low, high = float(raw["min"]), float(raw["max"])
                    if high < low:
                        raise ValueError
                    answers.append(
                        NumericAnswer.between(
                            low,
                            high,
                            weight=float(raw.get("weight", 100)),
                            feedback=str(raw.get("feedback", "")),
                        )
                    )
                    continue
                value = float(raw["value"])
                tolerance = float(raw.get("tolerance", data.tolerance or 0))
                weight = float(raw.get("weight", 100))
                feedback = str(raw.get("feedback", ""))
            else:
                parsed = scoring.parse_number(str(raw))
                if parsed is None:
                    raise ValueError
                value, tolerance, weight, feedback = float(parsed), data.tolerance or 0, 100.0, ""
        except (ValueError, KeyError, TypeError):
            raise ValidationFailed(
                _("Jawaban angka tidak sah: %(raw)s.") % {"raw": repr(raw)}, field="answers"
            ) from None
        if tolerance < 0 or not 0 <= weight <= 100:
            raise ValidationFailed("Toleransi atau bobot jawaban angka tidak sah.", field="answers")
        answers.append(NumericAnswer(value, tolerance, None, weight, feedback))
    if not answers or not all(a.is_finite for a in answers):
        raise ValidationFailed("Soal angka memerlukan jawaban berupa angka.", field="answers")
    return tuple(answers)


def _category(session: Session, course_id: int, name: str) -> QuestionCategory:
    name = " ".join(name.split())[:255] or DEFAULT_CATEGORY
    found = repository.category(session, course_id, name)
    if found is None:
        found = QuestionCategory(course_id=course_id, name=name)
        repository.add(session, found)
    return found


def _new_question(
    session: Session, course_id: int, q: Question, principal: Principal, category_name: str
) -> tuple[BankQuestion, QuestionVersion]:
    cat = _category(session, course_id, category_name or q.category)
    question = BankQuestion(
        course_id=course_id, category_id=cat.id, current_version=1, created_by_id=principal.user_id
    )
    repository.add(session, question)
    version = QuestionVersion(
        question_id=question.id,
        version=1,
        created_by_id=principal.user_id,
        **_version_fields(q),
    )
    repository.add(session, version)
    return question, version


def _version_fields(
    q: Question, choice_ids: Sequence[str] = (), pair_ids: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "type": q.type.value,
        "title": q.title[:255],
        "text": q.text,
        "text_format": q.text_format,
        "points": q.points,
        "content_json": bank.to_json(q, choice_ids=choice_ids, pair_ids=pair_ids),
    }


def add_question(
    session: Session, quiz: Quiz, q: Question, principal: Principal, category: str = ""
) -> BankQuestion:
    """A new bank question in the quiz's course, placed at the end of the quiz."""
    question, _version = _new_question(session, quiz.course_id, q, principal, category)
    repository.add(
        session,
        QuizSlot(
            quiz_id=quiz.id,
            position=repository.next_slot_position(session, quiz.id),
            question_id=question.id,
        ),
    )
    return question


def add_random_slot(session: Session, quiz: Quiz, category_name: str, count: int) -> QuizSlot:
    """A slot drawing `count` questions at random from a bank category at each attempt start
    (never one the quiz already holds as a fixed question)."""
    cat = repository.category(session, quiz.course_id, " ".join(category_name.split()))
    if cat is None:
        raise ValidationFailed(
            _("Kategori soal tidak ditemukan: %(category_name)s.")
            % {"category_name": category_name},
            field="category",
        )
    available = len(repository.questions_in_category(session, cat.id))
    if not 1 <= count <= available:
        raise ValidationFailed(
            _(
                "Kategori %(name)s berisi %(available)s soal; jumlah acak harus 1 sampai %(available)s."
            )
            % {"name": cat.name, "available": available},
            field="count",
        )
    slot = QuizSlot(
        quiz_id=quiz.id,
        position=repository.next_slot_position(session, quiz.id),
        category_id=cat.id,
        draw_count=count,
    )
    repository.add(session, slot)
    return slot


def remove_question(session: Session, quiz: Quiz, question_id: int) -> None:
    """Take a question out of the quiz; it stays in the bank and in attempts that showed it."""
    slot = repository.slot_for_question(session, quiz.id, question_id)
    if slot is None:
        raise NotFound("Soal tidak ada dalam kuis ini.", code="question_not_found")
    session.delete(slot)
    session.flush()


def parse_file(fmt: str, data: bytes) -> ParseResult:
    """Read a question file; GIFT and Aiken are UTF-8 text (a BOM is accepted)."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed("Berkas soal terlalu besar (maks. 5 MB).", field="file")
    if fmt == "xlsx":
        return xlsx.parse_xlsx(data)
    if fmt not in ("gift", "aiken"):
        raise ValidationFailed("Format harus gift, aiken atau xlsx.", field="format")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result = ParseResult()
        line = data[: exc.start].count(b"\n") + 1
        result.error(line, "berkas bukan teks UTF-8.")
        return result
    return gift.parse_gift(text) if fmt == "gift" else aiken.parse_aiken(text)


def import_questions(
    session: Session, quiz: Quiz, fmt: str, data: bytes, principal: Principal, category: str = ""
) -> ImportResult:
    """All or nothing: any error imports no question and every error is reported with its line."""
    result = parse_file(fmt, data)
    errors = [ImportError_(line=e.line, message=e.message) for e in result.errors]
    if not errors and not result.questions:
        errors.append(ImportError_(line=1, message="Baris 1: berkas tidak berisi soal."))
    if errors:
        return ImportResult(imported=0, errors=errors)
    for q in result.questions:
        add_question(session, quiz, q, principal, q.category or category)
    return ImportResult(imported=len(result.questions), errors=[])


def quiz_questions(
    session: Session, quiz: Quiz
) -> list[tuple[BankQuestion | None, StoredQuestion]]:
    """The fixed questions of a quiz in slot order, each at its current version."""
    slots = [s for s in repository.slots_of(session, quiz.id) if s.question_id is not None]
    versions = repository.current_versions(session, [s.question_id for s in slots if s.question_id])
    out: list[tuple[BankQuestion | None, StoredQuestion]] = []
    for slot in slots:
        assert slot.question_id is not None
        if slot.question_id in versions:
            v, cat = versions[slot.question_id]
            out.append((None, stored_question(v, cat)))
    return out


def quiz_question_ids(session: Session, quiz: Quiz) -> list[int]:
    return [s.question_id for s in repository.slots_of(session, quiz.id) if s.question_id]


def stored_question(v: QuestionVersion, category: str = "") -> StoredQuestion:
    """A version as scoring and the attempt page read it (parsed once per content)."""
    return bank.from_row(
        v.id, v.type, v.text, v.title, v.text_format, v.points, v.content_json, category
    )


def get_question(session: Session, quiz: Quiz, question_id: int) -> BankQuestion:
    question = repository.get_question(session, question_id)
    if question is None or question.course_id != quiz.course_id:
        raise NotFound("Soal tidak ditemukan.", code="question_not_found")
    return question


def question_input(stored: StoredQuestion, category: str = "") -> QuestionIn:
    """A stored question as the editor's form data (the reverse of `question_from_input`)."""
    q = stored.question
    answers: list[Any] = []
    if q.type == QT.SHORT:
        answers = [a.text for a in q.answers]
    elif q.type == QT.NUMERIC:
        answers = [
            {"min": n.interval[0], "max": n.interval[1], "weight": n.weight, "feedback": n.feedback}
            if n.interval
            else {
                "value": n.value,
                "tolerance": n.tolerance,
                "weight": n.weight,
                "feedback": n.feedback,
            }
            for n in q.numeric
        ]
    return QuestionIn.model_validate(
        {
            "type": q.type.value,
            "text": q.text,
            "title": q.title,
            "text_format": q.text_format,
            "points": q.points or 1,
            "category": category or q.category,
            "choices": [
                {
                    "id": cid,
                    "text": c.text,
                    "correct": c.weight > 0,
                    "weight": c.weight,
                    "feedback": c.feedback,
                }
                for cid, c in zip(stored.choice_ids, q.choices, strict=True)
            ],
            "answers": answers,
            "pairs": [
                {"id": pid, "left": p.left, "right": p.right}
                for pid, p in zip(stored.pair_ids, q.pairs, strict=True)
            ],
            "correct": q.truefalse_key,
            "general_feedback": q.general_feedback,
            "feedback_true": q.feedback_true,
            "feedback_false": q.feedback_false,
            "incorrect_feedback": q.incorrect_feedback,
        }
    )


def update_question(
    session: Session, quiz: Quiz, question: BankQuestion, data: QuestionUpdate, principal: Principal
) -> QuestionVersion:
    """Edit a question. A version that attempts already used is never changed: the edit becomes a
    new version, which new attempts get. With `regrade`, finished attempts that used an older
    version are rescored with the new one (a key fix), and each change is logged."""
    q = question_from_input(data)
    current = repository.current_version(session, question)
    old = stored_question(current)
    if data.type != current.type and current.used:
        raise ValidationFailed(
            "Tipe soal yang sudah dipakai tidak dapat diubah; buat soal baru.", field="type"
        )
    choice_ids = [c.id or "" for c in data.choices]
    keep_choices = [cid if cid in old.choice_ids else "" for cid in choice_ids]
    keep_pairs = [p.id if p.id in old.pair_ids else "" for p in data.pairs]
    fields = _version_fields(q, _fill_ids(keep_choices), _fill_ids(keep_pairs))
    if data.category:
        question.category_id = _category(session, quiz.course_id, data.category).id
    if not current.used:
        for name, value in fields.items():
            setattr(current, name, value)
        session.flush()
        if data.regrade:
            regrade_question(session, question.id, current, principal)
        return current
    version = QuestionVersion(
        question_id=question.id,
        version=question.current_version + 1,
        created_by_id=principal.user_id,
        **fields,
    )
    repository.add(session, version)
    question.current_version = version.version
    session.flush()
    if data.regrade:
        regrade_question(session, question.id, version, principal)
    return version


def _fill_ids(ids: Sequence[str]) -> list[str]:
    return [i or bank.new_id() for i in ids]


# --- attempts: start ----------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or utcnow()


def _enrolment_for(session: Session, principal: Principal, quiz: Quiz) -> tuple[Any, bool]:
    """The learner's enrolment (None for a staff preview) and whether this is a preview."""
    activity = quiz_activity(session, quiz)
    enrolment = courses_service.ensure_content_access(session, principal, activity)
    courses_service.ensure_unlocked(session, enrolment, activity)
    return enrolment, enrolment is None


def _check_window(quiz: Quiz, now: dt.datetime) -> None:
    if quiz.open_at and now < quiz.open_at:
        raise Conflict("Kuis belum dibuka.", code="quiz_not_open")
    if quiz.close_at and now >= quiz.close_at:
        raise Conflict("Kuis sudah ditutup.", code="quiz_closed")


def _draw(session: Session, quiz: Quiz, seed: str) -> list[int]:
    """The question ids of a new attempt: fixed slots, random draws per category, then the
    optional random subset and shuffle (`seed` makes the draw reproducible in tests)."""
    slots = repository.slots_of(session, quiz.id)
    fixed = {s.question_id for s in slots if s.question_id}
    chosen: list[int] = []
    for slot in slots:
        if slot.question_id:
            chosen.append(slot.question_id)
        elif slot.category_id:
            pool = [
                qid
                for qid in repository.questions_in_category(session, slot.category_id)
                if qid not in fixed and qid not in chosen
            ]
            chosen.extend(scoring.shuffle_order(f"{seed}:{slot.id}", pool)[: slot.draw_count])
    if quiz.questions_per_attempt and quiz.questions_per_attempt < len(chosen):
        picked = set(scoring.shuffle_order(f"{seed}:subset", chosen)[: quiz.questions_per_attempt])
        chosen = [qid for qid in chosen if qid in picked]
    if quiz.shuffle_questions:
        chosen = scoring.shuffle_order(f"{seed}:order", chosen)
    return chosen


def _layout(session: Session, quiz: Quiz, seed: str) -> list[dict[str, Any]]:
    ids = _draw(session, quiz, seed)
    versions = repository.current_versions(session, ids)
    layout = []
    for qid in ids:
        if qid not in versions:
            continue
        stored = stored_question(versions[qid][0])
        choices = list(stored.choice_ids)
        pairs = list(stored.pair_ids)
        if quiz.shuffle_choices:
            choices = scoring.shuffle_order(f"{seed}:{qid}:c", choices)
            pairs = scoring.shuffle_order(f"{seed}:{qid}:p", pairs)
        rights = sorted({p.right for p in stored.question.pairs})
        layout.append(
            {
                "q": qid,
                "v": stored.version_id,
                "c": choices,
                "p": pairs,
                "r": scoring.shuffle_order(f"{seed}:{qid}:r", rights),
            }
        )
    return layout


def start_attempt(
    session: Session,
    quiz: Quiz,
    principal: Principal,
    *,
    now: dt.datetime | None = None,
    settings: Settings,
) -> tuple[Attempt, bool]:
    """Start (or resume) the caller's attempt. Returns (attempt, created).

    Rules: an open attempt is resumed; a finished one past its deadline is graded first; then the
    quiz window, the attempts allowed and the delay between attempts. The deadline is fixed now:
    the earlier of start + time limit and the close time. Two concurrent starts insert the same
    attempt number; the unique key lets one win and the other resumes the winner's attempt.
    """
    now = _now(now)
    enrolment, preview = _enrolment_for(session, principal, quiz)
    # One read decides: an open attempt among them (also one a concurrent start just committed)
    # is resumed; otherwise the next number, which the unique key guards.
    previous = list(repository.attempts_of(session, quiz.id, principal.user_id))
    for existing in previous:
        if (
            existing.state == IN_PROGRESS
            and finish_if_expired(session, existing, settings, now=now).state == IN_PROGRESS
        ):
            return existing, False
    _check_window(quiz, now)
    counted = [a for a in previous if not a.preview]
    if not preview and quiz.max_attempts is not None and len(counted) >= quiz.max_attempts:
        raise Conflict("Kesempatan mengerjakan kuis ini sudah habis.", code="no_attempts_left")
    if not preview and counted and quiz.attempt_delay_seconds:
        last = max((a.submitted_at or a.started_at) for a in counted)
        wait = (last + dt.timedelta(seconds=quiz.attempt_delay_seconds) - now).total_seconds()
        if wait > 0:
            raise Conflict(
                _("Tunggu %(value)s menit lagi sebelum mencoba kembali.")
                % {"value": math.ceil(wait / 60)},
                code="attempt_delay",
            )
    seed = secrets.token_hex(8)
    layout = _layout(session, quiz, seed)
    if not layout:
        raise Conflict("Kuis ini belum memiliki soal.", code="quiz_empty")
    deadlines = [
        d
        for d in (
            now + dt.timedelta(seconds=quiz.time_limit_seconds)
            if quiz.time_limit_seconds
            else None,
            quiz.close_at,
        )
        if d is not None
    ]
    attempt = Attempt(
        quiz_id=quiz.id,
        user_id=principal.user_id,
        enrolment_id=enrolment.id if enrolment else None,
        run_id=enrolment.run_id if enrolment else None,
        number=(max((a.number for a in previous), default=0) + 1),
        preview=preview,
        state=IN_PROGRESS,
        started_at=now,
        deadline=min(deadlines) if deadlines else None,
        furthest_position=0,
        layout_json=json.dumps(layout),
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        winner = repository.in_progress_attempt(session, quiz.id, principal.user_id)
        if winner is None:
            raise Conflict(
                "Percobaan lain baru saja dimulai; muat ulang halaman.", code="attempt_conflict"
            ) from None
        return winner, False
    repository.mark_versions_used(session, [item["v"] for item in layout])
    if enrolment is not None:
        progress_service.get_or_start(session, enrolment.id, quiz.activity_id)
    return attempt, True


# --- attempts: reading and saving ---------------------------------------------------------------


def get_attempt(session: Session, attempt_id: int, principal: Principal, *, write: bool) -> Attempt:
    """The owner's attempt; staff who see results may read (never write) any. Otherwise 404, so a
    guessed id tells nothing."""
    attempt = repository.get_attempt(session, attempt_id)
    _ensure_access(attempt.user_id if attempt else None, principal, write=write)
    assert attempt is not None
    return attempt


def _ensure_access(owner_id: int | None, principal: Principal, *, write: bool) -> None:
    """The rule of `get_attempt` on the attempt's owner (None: no such attempt)."""
    if owner_id is not None and owner_id == principal.user_id:
        return
    if owner_id is not None and principal.has_any(*RESULT_VIEWERS):
        if not write:
            return
        raise Forbidden("Hanya peserta pemilik percobaan yang dapat mengubahnya.", code="not_owner")
    raise NotFound("Percobaan tidak ditemukan.", code="attempt_not_found")


def _layout_of(attempt: Attempt) -> list[dict[str, Any]]:
    return list(orjson.loads(attempt.layout_json))


def _attempt_questions(
    session: Session, attempt: Attempt
) -> list[tuple[dict[str, Any], StoredQuestion]]:
    return _layout_questions(session, attempt.layout_json)


def _layout_questions(
    session: Session, layout_json: str
) -> list[tuple[dict[str, Any], StoredQuestion]]:
    """An attempt's questions in its order. Versions an attempt shows are never edited, so they
    are cached by id and only the ones this process has not seen are read."""
    layout: list[dict[str, Any]] = orjson.loads(layout_json)
    missing = [item["v"] for item in layout if bank.cached(item["v"]) is None]
    for version in repository.versions_by_id(session, missing).values():
        bank.remember(stored_question(version))
    return [(item, _cached(item["v"])) for item in layout]


def _cached(version_id: int) -> StoredQuestion:
    stored = bank.cached(version_id)
    assert stored is not None
    return stored


def _question_out(number: int, item: Mapping[str, Any], stored: StoredQuestion) -> QuestionOut:
    q = stored.question
    out = QuestionOut(
        id=item["q"],
        number=number,
        type=q.type.value,
        text=q.text,
        html=render_rich(q.text, q.text_format),
        points=q.points,
    )
    if q.type in (QT.SINGLE, QT.MULTIPLE):
        texts = {cid: c.text for cid, c in zip(stored.choice_ids, q.choices, strict=True)}
        out.choices = [
            ChoiceOut(
                id=cid, text=texts[cid], html=render_rich(texts[cid], q.text_format, inline=True)
            )
            for cid in item["c"]
            if cid in texts
        ]
    elif q.type == QT.TRUEFALSE:
        out.choices = [
            ChoiceOut(id=TRUE_ID, text=_("Benar"), html=_("Benar")),
            ChoiceOut(id=FALSE_ID, text=_("Salah"), html=_("Salah")),
        ]
    elif q.type == QT.MATCHING:
        lefts = {pid: p.left for pid, p in zip(stored.pair_ids, q.pairs, strict=True) if p.left}
        out.pairs = [
            ChoiceOut(
                id=pid, text=lefts[pid], html=render_rich(lefts[pid], q.text_format, inline=True)
            )
            for pid in item["p"]
            if pid in lefts
        ]
        out.options = list(item["r"])
    return out


def _remaining(attempt: Attempt, now: dt.datetime) -> int | None:
    if attempt.deadline is None:
        return None
    return _seconds_left(attempt.deadline, now)


def _seconds_left(deadline: dt.datetime, now: dt.datetime) -> int:
    return max(0, math.floor((deadline - now).total_seconds()))


def _saved(answer: AttemptAnswer) -> SavedAnswer:
    data = orjson.loads(answer.response_json)
    return SavedAnswer(
        question_id=answer.question_id,
        choice_ids=data.get("choice_ids"),
        text=data.get("text"),
        pairs=[{"id": k, "right": v} for k, v in data["pairs"].items()]
        if "pairs" in data
        else None,
    )


def attempt_read(
    session: Session, attempt: Attempt, *, now: dt.datetime | None = None
) -> AttemptRead:
    """What the quiz page needs to show or restore an attempt: questions in the attempt's order
    (never a key, weight or feedback), the saved answers and the time left by the server clock."""
    now = _now(now)
    items = _attempt_questions(session, attempt)
    return AttemptRead(
        id=attempt.id,
        quiz_id=attempt.quiz_id,
        number=attempt.number,
        state=attempt.state,
        started_at=attempt.started_at,
        deadline=attempt.deadline,
        remaining_seconds=_remaining(attempt, now),
        sequential=_quiz_sequential(session, attempt),
        furthest_position=attempt.furthest_position,
        questions=[_question_out(i + 1, item, s) for i, (item, s) in enumerate(items)],
        answers=[_saved(a) for a in repository.answers_of(session, attempt.id)],
    )


def _quiz_sequential(session: Session, attempt: Attempt) -> bool:
    quiz = repository.get_quiz(session, attempt.quiz_id)
    return bool(quiz and quiz.sequential)


def _normalise_answer(raw: Any, stored: StoredQuestion) -> dict[str, Any]:
    """A response in the stored shape, checked against the question (422 naming the problem)."""
    q = stored.question
    if q.type in (QT.SINGLE, QT.MULTIPLE, QT.TRUEFALSE):
        ids = list(dict.fromkeys(raw.choice_ids or []))
        if raw.value is not None and q.type == QT.TRUEFALSE and not ids:
            truth = _truth(raw.value)
            ids = [] if truth is None else [TRUE_ID if truth else FALSE_ID]
        known = {TRUE_ID, FALSE_ID} if q.type == QT.TRUEFALSE else set(stored.choice_ids)
        if any(i not in known for i in ids):
            raise ValidationFailed(
                _("Pilihan tidak dikenal untuk soal %(question_id)s.")
                % {"question_id": raw.question_id},
                field="choice_ids",
            )
        if q.type != QT.MULTIPLE and len(ids) > 1:
            raise ValidationFailed(
                _("Soal %(question_id)s hanya menerima satu pilihan.")
                % {"question_id": raw.question_id},
                field="choice_ids",
            )
        return {"choice_ids": ids}
    if q.type == QT.MATCHING:
        known_pairs = set(stored.pair_ids)
        rights = {p.right for p in q.pairs}
        matches: dict[str, str] = {}
        for pair in raw.pairs or []:
            pid = pair.get("id") or pair.get("left") or ""
            right = pair.get("right", "")
            if pid not in known_pairs or (right and right not in rights):
                raise ValidationFailed(
                    _("Pasangan tidak dikenal untuk soal %(question_id)s.")
                    % {"question_id": raw.question_id},
                    field="pairs",
                )
            if right:
                matches[pid] = right
        return {"pairs": matches}
    text = raw.text if raw.text is not None else ("" if raw.value is None else str(raw.value))
    limit = 20_000 if q.type == QT.ESSAY else 500
    if len(text) > limit:
        raise ValidationFailed(
            _("Jawaban soal %(question_id)s terlalu panjang.") % {"question_id": raw.question_id},
            field="text",
        )
    return {"text": text}


def save_answers(
    session: Session,
    attempt: Attempt,
    data: AnswersIn,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> SaveResult:
    """Autosave: idempotent, last write wins per question. Refused (409) once the attempt is
    submitted or its deadline plus the grace period has passed; sequential quizzes refuse
    changes to questions before the furthest one shown."""
    target = repository.AnswerTarget(
        attempt.id, attempt.user_id, attempt.deadline, attempt.furthest_position,
        attempt.layout_json, None,
    )  # fmt: skip
    return _save(session, target, data, settings, _now(now), loaded=attempt)


def save_answers_of(
    session: Session,
    attempt_id: int,
    principal: Principal,
    data: AnswersIn,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> SaveResult:
    """`get_attempt(write=True)` + `save_answers` without loading the attempt: one read of the
    few columns autosave needs (and the quiz's sequential flag), the lock, the upsert."""
    target = repository.answer_target(session, attempt_id)
    _ensure_access(target.user_id if target else None, principal, write=True)
    assert target is not None
    return _save(session, target, data, settings, _now(now), loaded=None)


def _save(
    session: Session,
    target: repository.AnswerTarget,
    data: AnswersIn,
    settings: Settings,
    now: dt.datetime,
    *,
    loaded: Attempt | None,
) -> SaveResult:
    items = {
        item["q"]: (pos, s)
        for pos, (item, s) in enumerate(_layout_questions(session, target.layout_json))
    }
    sequential = target.sequential
    rows = []
    for raw in data.answers:
        if raw.question_id not in items:
            raise ValidationFailed(
                _("Soal %(question_id)s tidak ada dalam percobaan ini.")
                % {"question_id": raw.question_id},
                field="question_id",
            )
        pos, stored = items[raw.question_id]
        if target.furthest_position > pos:
            if sequential is None:
                quiz = repository.get_quiz(session, _attempt_quiz_id(session, target, loaded))
                sequential = bool(quiz and quiz.sequential)
            if sequential:
                raise Conflict(
                    "Navigasi berurutan: soal sebelumnya tidak dapat diubah.", code="sequential"
                )
        rows.append(
            {
                "attempt_id": target.id,
                "question_id": raw.question_id,
                "response_json": json.dumps(_normalise_answer(raw, stored), ensure_ascii=False),
                "saved_at": now,
            }
        )
    grace = dt.timedelta(seconds=settings.quiz_grace_seconds)
    if not repository.touch_open(session, target.id, now, now - grace, data.position):
        attempt = loaded or repository.get_attempt(session, target.id)
        assert attempt is not None
        finish_if_expired(session, attempt, settings, now=now)
        raise Conflict(
            "Percobaan sudah selesai atau waktunya habis; jawaban tidak disimpan.",
            code="attempt_closed",
        )
    repository.upsert_answers(session, rows)
    remaining = None if target.deadline is None else _seconds_left(target.deadline, now)
    return SaveResult(saved=len(rows), saved_at=now, remaining_seconds=remaining)


def _attempt_quiz_id(
    session: Session, target: repository.AnswerTarget, loaded: Attempt | None
) -> int:
    if loaded is not None:
        return loaded.quiz_id
    attempt = repository.get_attempt(session, target.id)
    assert attempt is not None
    return attempt.quiz_id


# --- grading ------------------------------------------------------------------------------------


def _answer(response: Mapping[str, Any], stored: StoredQuestion) -> scoring.Answer:
    q = stored.question
    if q.type == QT.TRUEFALSE:
        ids = response.get("choice_ids") or []
        return scoring.Answer(truth=(ids[0] == TRUE_ID) if ids else None)
    if q.type in (QT.SINGLE, QT.MULTIPLE):
        index = stored.choice_index()
        return scoring.Answer(
            choices=frozenset(index[c] for c in response.get("choice_ids") or [] if c in index)
        )
    if q.type == QT.MATCHING:
        index = stored.pair_index()
        return scoring.Answer(
            matches={index[k]: v for k, v in (response.get("pairs") or {}).items() if k in index}
        )
    return scoring.Answer(text=response.get("text"))


@dataclass(frozen=True, slots=True)
class _Graded:
    results: list[dict[str, Any]]
    points: float
    max_points: float
    needs_grading: bool


def _grade(
    items: Sequence[tuple[Mapping[str, Any], StoredQuestion]],
    answers: Mapping[int, repository.ResponseRow],
) -> _Graded:
    """Score every question of an attempt (pure apart from reading the rows given)."""
    results: list[dict[str, Any]] = []
    points = maximum = 0.0
    needs = False
    for item, stored in items:
        row = answers.get(item["q"])
        response = orjson.loads(row.response_json) if row else {}
        score = scoring.score_answer(stored.question, _answer(response, stored))
        awarded: float | None = score.points
        correct = score.correct
        if correct is None:  # essay
            if row is not None and row.manual_points is not None:
                awarded = min(row.manual_points, stored.question.points)
                correct = awarded >= stored.question.points
            else:
                awarded = None
                needs = True
        points += awarded or 0.0
        maximum += score.max_points
        results.append(
            {
                "q": item["q"],
                "v": stored.version_id,
                "points": awarded,
                "max": score.max_points,
                "correct": correct,
            }
        )
    return _Graded(results, round(points, 5), round(maximum, 5), needs)


def _grade_values(graded: _Graded, pass_score: float, now: dt.datetime) -> dict[str, Any]:
    """The attempt's columns after grading; an essay without points leaves it waiting for a
    grader (no pass/fail, no graded_at yet)."""
    percent = round(100 * graded.points / graded.max_points, 2) if graded.max_points else 0.0
    values: dict[str, Any] = {
        "results_json": orjson.dumps(graded.results).decode(),
        "score": graded.points,
        "max_score": graded.max_points,
        "percent": percent,
    }
    if graded.needs_grading:
        values.update(state=NEEDS_GRADING, passed=None)
    else:
        values.update(state=GRADED, passed=percent >= pass_score, graded_at=now)
    return values


@dataclass(slots=True)
class _Claimed:
    """A submitted attempt graded without loading it: the submit's facts and the grade."""

    facts: repository.GradingFacts
    state: str = "grading"
    score: float | None = None
    max_score: float | None = None
    percent: float | None = None
    passed: bool | None = None
    graded_at: dt.datetime | None = None
    results_json: str | None = None

    @property
    def id(self) -> int:
        return self.facts.id

    @property
    def layout_json(self) -> str:
        return self.facts.layout_json


def _apply_grade(
    session: Session,
    attempt: Attempt | _Claimed,
    quiz: Quiz | repository.GradingFacts,
    now: dt.datetime,
) -> None:
    """Grade an attempt with its saved answers, store the grade with one UPDATE (no unit of
    work) and update the quiz activity's progress. `attempt` is a loaded Attempt (lazy close,
    essay grading, regrade) or a submit's claim; either gets the columns written."""
    items = _layout_questions(session, attempt.layout_json)
    graded = _grade(items, repository.responses_of(session, attempt.id))
    values = _grade_values(graded, quiz.pass_score, now)
    repository.store_grade(session, attempt.id, values)
    if isinstance(attempt, Attempt):
        repository.mark_loaded(attempt, values)  # no reload, no second write
        facts = repository.grading_facts(session, attempt.id)
        assert facts is not None
    else:
        for name, value in values.items():
            setattr(attempt, name, value)
        facts = attempt.facts
    _update_progress(session, facts, attempt.state, attempt.passed)
    if attempt.state == GRADED and facts.enrolment_id is not None and not facts.preview:
        events.learning(session, events.LearningEvent(
            "graded", facts.enrolment_id, facts.activity_id, facts.user_id, ref_id=attempt.id,
            score=attempt.percent, passed=attempt.passed, at=attempt.graded_at,
        ))  # fmt: skip


def _update_progress(
    session: Session, facts: repository.GradingFacts, state: str, passed: bool | None
) -> None:
    """Completion: the quiz activity completes when the learner's quiz grade reaches the pass
    score (rule "quiz_passed") or on any finished attempt (rule "quiz_attempted"); it is never
    taken back. A single statement when it changes; none when it is complete already."""
    if facts.enrolment_id is None or facts.preview:
        return
    if facts.progress_status != progress_service.COMPLETED:
        if facts.completion_rule == CompletionRule.QUIZ_ATTEMPTED:
            done = state in (GRADED, NEEDS_GRADING)
        elif facts.grading == "highest":
            done = bool(passed)  # had an earlier attempt passed, it would be complete
        else:
            done = learner_outcome(session, facts.quiz_id, facts.user_id).passed
        if done and progress_service.complete_activity(
            session, facts.enrolment_id, facts.activity_id
        ):
            return  # the new completion was announced
        if not done and facts.progress_status is None:
            progress_service.start_activity(session, facts.enrolment_id, facts.activity_id)
    # A post-test grade is judged by the course's certification pass score, which may differ
    # from the quiz's: every graded post-test attempt is announced (certificates listen).
    if facts.kind == "posttest" and state == GRADED:
        events.enrolment_changed(session, facts.enrolment_id)


def _result(attempt: Attempt | _Claimed | repository.StoredResult) -> SubmitResult:
    state = attempt.state if attempt.state in (GRADED, NEEDS_GRADING) else NEEDS_GRADING
    return SubmitResult(
        id=attempt.id,
        score=attempt.score,
        max_score=attempt.max_score,
        percent=attempt.percent,
        passed=attempt.passed,
        state=state,
    )


def _submit(
    session: Session, facts: repository.GradingFacts, settings: Settings, now: dt.datetime
) -> tuple[SubmitResult, dict[str, Any] | None]:
    """Claim and grade: the result and the columns written (None when another submit had
    claimed the attempt first: its stored result is returned)."""
    grace = dt.timedelta(seconds=settings.quiz_grace_seconds)
    late = facts.deadline is not None and now > facts.deadline + grace
    claimed = {"state": "grading", "submitted_at": now, "auto_submitted": late}
    if not repository.claim(session, facts.id, claimed, before=None):
        return _result(repository.stored_result(session, facts.id)), None
    claim = _Claimed(facts)
    _apply_grade(session, claim, facts, now)
    written = {**claimed, "state": claim.state, "graded_at": claim.graded_at,
               "score": claim.score, "max_score": claim.max_score, "percent": claim.percent,
               "passed": claim.passed, "results_json": claim.results_json}  # fmt: skip
    return _result(claim), written


def submit(
    session: Session, attempt: Attempt, settings: Settings, *, now: dt.datetime | None = None
) -> SubmitResult:
    """Exactly once: the first submit claims the attempt and grades it; any later or concurrent
    submit (double click, second tab, retry) returns that same result. A submit arriving after
    the deadline plus grace is still accepted, graded with what was saved in time."""
    facts = repository.grading_facts(session, attempt.id)
    assert facts is not None
    result, written = _submit(session, facts, settings, _now(now))
    if written is None:
        session.refresh(attempt)
    else:
        repository.mark_loaded(attempt, written)  # what the UPDATEs wrote; no re-read
    return result


def submit_attempt(
    session: Session,
    attempt_id: int,
    principal: Principal,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> SubmitResult:
    """`get_attempt(write=True)` + `submit` without loading the attempt: one read (attempt,
    quiz, completion rule, progress), the claim, the answers, the grade, and a progress write
    only when it changes."""
    facts = repository.grading_facts(session, attempt_id)
    _ensure_access(facts.user_id if facts else None, principal, write=True)
    assert facts is not None
    return _submit(session, facts, settings, _now(now))[0]


def finish_if_expired(
    session: Session, attempt: Attempt, settings: Settings, *, now: dt.datetime | None = None
) -> Attempt:
    """Lazily grade an attempt left open past its deadline (plus grace) with its saved answers."""
    now = _now(now)
    if attempt.state != IN_PROGRESS or attempt.deadline is None:
        return attempt
    cutoff = now - dt.timedelta(seconds=settings.quiz_grace_seconds)
    if attempt.deadline >= cutoff:
        return attempt
    if repository.claim(
        session,
        attempt.id,
        {"state": "grading", "submitted_at": attempt.deadline, "auto_submitted": True},
        before=cutoff,
    ):
        session.refresh(attempt)
        _apply_grade(session, attempt, get_quiz(session, attempt.quiz_id), now)
    else:
        session.refresh(attempt)
    return attempt


def close_expired(session: Session, settings: Settings, *, now: dt.datetime | None = None) -> int:
    """The sweep: grade every attempt left open past its deadline. Returns how many it closed."""
    now = _now(now)
    cutoff = now - dt.timedelta(seconds=settings.quiz_grace_seconds)
    closed = 0
    for attempt_id in repository.expired_attempt_ids(session, cutoff, SWEEP_BATCH):
        attempt = repository.get_attempt(session, attempt_id)
        if (
            attempt is not None
            and finish_if_expired(session, attempt, settings, now=now).state != IN_PROGRESS
        ):
            closed += 1
    return closed


def regrade_question(
    session: Session, question_id: int, version: QuestionVersion, principal: Principal
) -> int:
    """Rescore finished attempts that showed an older version of this question with `version`,
    logging each attempt whose score changed. Returns the number of attempts rescored."""
    # Every quiz of the course: also those the question was taken out of after attempts used it.
    quiz_ids = [
        q.id for q in repository.quizzes_of_course(session, version_course(session, version))
    ]
    new = stored_question(version)
    count = 0
    for attempt in repository.attempts_using_versions(session, quiz_ids):
        layout = _layout_of(attempt)
        hit = [item for item in layout if item["q"] == question_id and item["v"] != version.id]
        if not hit:
            continue
        for item in hit:
            old_version = item["v"]
            item["v"] = version.id
            # Choices keep their ids across versions; any new ones are appended to the order.
            item["c"] = [c for c in item["c"] if c in new.choice_ids] + [
                c for c in new.choice_ids if c not in item["c"]
            ]
            item["p"] = [p for p in item["p"] if p in new.pair_ids] + [
                p for p in new.pair_ids if p not in item["p"]
            ]
            item["r"] = sorted({p.right for p in new.question.pairs})
        before = (attempt.score, attempt.percent, attempt.passed)
        attempt.layout_json = json.dumps(layout)
        quiz = get_quiz(session, attempt.quiz_id)
        _apply_grade(session, attempt, quiz, utcnow())
        count += 1
        repository.log(
            session,
            QuizAuditLog(
                quiz_id=attempt.quiz_id,
                attempt_id=attempt.id,
                question_id=question_id,
                action="regrade",
                actor_id=principal.user_id,
                detail_json=json.dumps(
                    {
                        "from_version": old_version,
                        "to_version": version.id,
                        "score_before": before[0],
                        "score_after": attempt.score,
                        "percent_before": before[1],
                        "percent_after": attempt.percent,
                        "passed_before": before[2],
                        "passed_after": attempt.passed,
                    }
                ),
            ),
        )
    repository.mark_versions_used(session, [version.id] if count else [])
    if count:
        audit.record(session, "quiz.grade_override", actor=principal,
                     target=("question", question_id),
                     after={"regraded_attempts": count, "to_version": version.id})  # fmt: skip
    session.flush()
    return count


def version_course(session: Session, version: QuestionVersion) -> int:
    question = repository.get_question(session, version.question_id)
    assert question is not None
    return question.course_id


def grade_essays(
    session: Session, attempt: Attempt, grades: Sequence[EssayGrade], principal: Principal
) -> SubmitResult:
    """A grader scores essay answers (0..points, with a comment); the attempt is graded once no
    essay is left without points."""
    if attempt.state == IN_PROGRESS:
        raise Conflict("Percobaan belum dikumpulkan.", code="attempt_open")
    waiting = attempt.state == NEEDS_GRADING
    was = {"state": attempt.state, "score": attempt.score, "percent": attempt.percent,
           "passed": attempt.passed}  # fmt: skip
    items = {item["q"]: s for item, s in _attempt_questions(session, attempt)}
    now = utcnow()
    for grade in grades:
        stored = items.get(grade.question_id)
        if stored is None or stored.question.type != QT.ESSAY:
            raise ValidationFailed(
                _("Soal %(question_id)s bukan soal esai dalam percobaan ini.")
                % {"question_id": grade.question_id},
                field="question_id",
            )
        if grade.points > stored.question.points:
            raise ValidationFailed(
                _("Nilai maksimal soal ini %(points)s.")
                % {"points": format(stored.question.points, "g")},
                field="points",
            )
        answer = repository.get_answer(session, attempt.id, grade.question_id)
        if answer is None:
            answer = AttemptAnswer(
                attempt_id=attempt.id,
                question_id=grade.question_id,
                response_json=json.dumps({"text": ""}),
                saved_at=now,
            )
            session.add(answer)
        answer.manual_points = grade.points
        answer.grader_comment = grade.comment.strip() or None
        answer.graded_by_id = principal.user_id
        answer.graded_at = now
        repository.log(
            session,
            QuizAuditLog(
                quiz_id=attempt.quiz_id,
                attempt_id=attempt.id,
                question_id=grade.question_id,
                action="essay_graded",
                actor_id=principal.user_id,
                detail_json=json.dumps({"points": grade.points}),
            ),
        )
    session.flush()
    quiz = get_quiz(session, attempt.quiz_id)
    _apply_grade(session, attempt, quiz, now)
    audit.record(session, "quiz.grade_override", actor=principal, target=("attempt", attempt.id),
                 before=was, after={"state": attempt.state, "score": attempt.score,
                                    "percent": attempt.percent, "passed": attempt.passed,
                                    "essays": {g.question_id: g.points for g in grades},
                                    "learner_id": attempt.user_id})  # fmt: skip
    if waiting and attempt.state == GRADED and not attempt.preview:
        _notify_graded(session, attempt, quiz)
    return _result(attempt)


def _notify_graded(session: Session, attempt: Attempt, quiz: Quiz) -> None:
    """Tell the learner their essays were graded (once per attempt)."""
    notifications.notify(
        session,
        NewNotification(
            event="essay_graded", user_id=attempt.user_id, key=f"essay_graded:{attempt.id}",
            context={"quiz_title": quiz_activity(session, quiz).title,
                     "course_title": courses_service.course_content(session, quiz.course_id).title,
                     "percent": attempt.percent, "passed": bool(attempt.passed)},
            url=f"/attempts/{attempt.id}/review",
        ),
    )  # fmt: skip


# --- review -------------------------------------------------------------------------------------


def _shows(
    quiz: Quiz, attempt: Attempt, staff: bool, now: dt.datetime, no_more: bool
) -> dict[str, bool]:
    """Which parts of the review the learner may see now. "after_close" means after the quiz's
    close time or, for a quiz that never closes, once the learner has no attempt left."""
    finished = attempt.state in (GRADED, NEEDS_GRADING)
    closed = (quiz.close_at is not None and now >= quiz.close_at) or (
        quiz.close_at is None and no_more
    )

    def allowed(when: str) -> bool:
        if staff:
            return True
        if not finished:
            return False
        return when == "after_submit" or (when == "after_close" and closed)

    return {
        "correctness": allowed(quiz.review_correctness),
        "points": allowed(quiz.review_points),
        "feedback": allowed(quiz.review_feedback),
        "answers": allowed(quiz.review_answers),
    }


def _response_text(response: Mapping[str, Any], stored: StoredQuestion) -> str:
    q = stored.question
    if q.type == QT.TRUEFALSE:
        ids = response.get("choice_ids") or []
        return (_("Benar") if ids[0] == TRUE_ID else _("Salah")) if ids else ""
    if q.type in (QT.SINGLE, QT.MULTIPLE):
        index = stored.choice_index()
        return "; ".join(
            q.choices[index[c]].text for c in response.get("choice_ids") or [] if c in index
        )
    if q.type == QT.MATCHING:
        index = stored.pair_index()
        return "; ".join(
            f"{q.pairs[index[k]].left} → {v}"
            for k, v in (response.get("pairs") or {}).items()
            if k in index
        )
    return str(response.get("text") or "")


def right_answer_text(q: Question) -> str:
    """The key as a sentence for the review and the results export."""
    match q.type:
        case QT.SINGLE | QT.MULTIPLE:
            return "; ".join(c.text for c in q.choices if c.weight > 0)
        case QT.TRUEFALSE:
            return _("Benar") if q.truefalse_key else _("Salah")
        case QT.SHORT:
            return " / ".join(a.text for a in q.answers if a.weight >= 100) or " / ".join(
                a.text for a in q.answers
            )
        case QT.NUMERIC:
            return " / ".join(
                f"{n.interval[0]:g}..{n.interval[1]:g}"
                if n.interval
                else (f"{n.value:g} ± {n.tolerance:g}" if n.tolerance else f"{n.value:g}")
                for n in q.numeric
                if n.weight >= 100
            )
        case QT.MATCHING:
            return "; ".join(f"{p.left} → {p.right}" for p in q.gradable_pairs)
        case _:
            return ""


def _feedback(q: Question, response: Mapping[str, Any], stored: StoredQuestion) -> list[str]:
    score = scoring.score_answer(q, _answer(response, stored))
    return [f for f in score.feedback if f]


def review(
    session: Session, attempt: Attempt, principal: Principal, *, now: dt.datetime | None = None
) -> ReviewRead:
    """An attempt's review, showing only what the quiz's review options allow at this moment
    (staff see everything)."""
    now = _now(now)
    quiz = get_quiz(session, attempt.quiz_id)
    staff = attempt.user_id != principal.user_id or principal.has_any(*RESULT_VIEWERS)
    if attempt.state == IN_PROGRESS and not staff:
        raise Conflict("Kumpulkan percobaan dulu untuk melihat pembahasan.", code="attempt_open")
    outcome = learner_outcome(session, quiz.id, attempt.user_id)
    no_more = quiz.max_attempts is not None and outcome.finished_attempts >= quiz.max_attempts
    shows = _shows(quiz, attempt, staff, now, no_more)
    results = {r["q"]: r for r in orjson.loads(attempt.results_json or "[]")}
    answers = {a.question_id: a for a in repository.answers_of(session, attempt.id)}
    items = []
    for number, (item, stored) in enumerate(_attempt_questions(session, attempt), start=1):
        q = stored.question
        row = answers.get(item["q"])
        response = orjson.loads(row.response_json) if row else {}
        result = results.get(item["q"], {})
        items.append(
            ReviewItem(
                question_id=item["q"],
                number=number,
                type=q.type.value,
                html=render_rich(q.text, q.text_format),
                points=q.points,
                response=_response_text(response, stored),
                correct=result.get("correct") if shows["correctness"] else None,
                awarded=result.get("points") if shows["points"] else None,
                feedback=_feedback(q, response, stored) if shows["feedback"] else [],
                right_answer=right_answer_text(q) if shows["answers"] else None,
                grader_comment=row.grader_comment if row and shows["feedback"] else None,
            )
        )
    result = _result(attempt)
    if not shows["points"]:
        result = result.model_copy(update={"score": None, "max_score": None})
    return ReviewRead(
        attempt=result,
        quiz_title=quiz_activity(session, quiz).title,
        number=attempt.number,
        started_at=attempt.started_at,
        submitted_at=attempt.submitted_at,
        auto_submitted=attempt.auto_submitted,
        shows=shows,
        items=items,
    )


# --- hooks for completion (the Progress/Certificates issue reads only these) --------------------


@dataclass(frozen=True, slots=True)
class QuizOutcome:
    """A learner's standing in a quiz: the official grade by the quiz's grading method."""

    quiz_id: int
    grade_percent: float | None
    best_percent: float | None
    passed: bool
    finished_attempts: int
    needs_grading: bool


def outcome_of(quiz: Quiz, attempts: Sequence[Attempt]) -> QuizOutcome:
    """The outcome from a learner's attempts at a quiz, in the order taken (previews ignored)."""
    mine = [a for a in attempts if not a.preview]
    graded = [a for a in mine if a.state == GRADED and a.percent is not None]
    grade = scoring.grade_for_learner(
        [a.percent for a in graded if a.percent is not None],
        quiz.grading,  # type: ignore[arg-type]
    )
    return QuizOutcome(
        quiz_id=quiz.id,
        grade_percent=None if grade is None else round(grade, 2),
        best_percent=max((a.percent for a in graded if a.percent is not None), default=None),
        passed=grade is not None and grade >= quiz.pass_score,
        finished_attempts=sum(1 for a in mine if a.state in (GRADED, NEEDS_GRADING)),
        needs_grading=any(a.state == NEEDS_GRADING for a in mine),
    )


def learner_outcome(session: Session, quiz_id: int, user_id: int) -> QuizOutcome:
    quiz = get_quiz(session, quiz_id)
    return outcome_of(quiz, repository.attempts_of(session, quiz_id, user_id))


def activity_passed(session: Session, activity_id: int, user_id: int) -> bool:
    """Whether the learner passed the quiz behind this activity."""
    quiz = repository.quiz_for_activity(session, activity_id)
    return quiz is not None and learner_outcome(session, quiz.id, user_id).passed


def outcomes_for_course(
    session: Session, course_id: int, user_ids: Sequence[int]
) -> dict[tuple[int, int], QuizOutcome]:
    """(quiz id, user id) -> outcome for every quiz of a course, in two queries (no N+1)."""
    quizzes = {q.id: q for q in repository.quizzes_of_course(session, course_id)}
    by_key: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for a in repository.attempts_of_users(session, list(quizzes), list(user_ids)):
        by_key[(a.quiz_id, a.user_id)].append(a)
    return {
        (qid, uid): outcome_of(quizzes[qid], by_key.get((qid, uid), []))
        for qid in quizzes
        for uid in user_ids
    }


def quizzes_by_activity(session: Session, activity_ids: Sequence[int]) -> dict[int, Quiz]:
    """Activity id -> its quiz, for the quiz activities among `activity_ids` (list pages of
    several runs: a fixed number of queries whatever the number of runs)."""
    return {q.activity_id: q for q in repository.quizzes_of_activities(session, activity_ids)}


def outcomes(
    session: Session, quizzes: Sequence[Quiz], user_ids: Sequence[int]
) -> dict[tuple[int, int], QuizOutcome]:
    """(quiz id, user id) -> outcome for every pair (no attempt: an empty outcome) of quizzes
    already read (`quizzes_by_activity`), in one query for the attempts (`outcomes_for_course`
    for chosen quizzes of any number of courses)."""
    if not quizzes or not user_ids:
        return {}
    by_key: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for a in repository.attempts_of_users(session, [q.id for q in quizzes], list(user_ids)):
        by_key[(a.quiz_id, a.user_id)].append(a)
    return {
        (quiz.id, uid): outcome_of(quiz, by_key.get((quiz.id, uid), []))
        for quiz in quizzes
        for uid in user_ids
    }


def posttest_percent(session: Session, course_id: int, user_id: int) -> float | None:
    """The official post-test grade (percent) for a course, or None without a graded post-test.
    With several post-tests, their mean."""
    posttests = [
        q for q in repository.quizzes_of_course(session, course_id) if q.kind == "posttest"
    ]
    grades = [learner_outcome(session, q.id, user_id).grade_percent for q in posttests]
    known = [g for g in grades if g is not None]
    return round(math.fsum(known) / len(known), 2) if known and len(known) == len(grades) else None


def pass_scores(session: Session, course_id: int) -> dict[int, float]:
    """Activity id -> the pass score (percent) of each quiz of a course, in one query (the
    course player writes the quiz's rule for done from it)."""
    return {q.activity_id: q.pass_score for q in repository.quizzes_of_course(session, course_id)}
