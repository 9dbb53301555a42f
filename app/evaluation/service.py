"""Rules of the post-course survey (evaluasi penyelenggaraan) and the RTL (rencana tindak lanjut):
who answers, what a valid answer is, the aggregated report; completion listens through events.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.core import events
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.i18n import gettext_ as _
from app.core.numbers import ascii_int
from app.courses import service as courses_service
from app.courses.models import Enrolment, Run
from app.evaluation import repository
from app.evaluation.constants import (
    DEFAULT_QUESTIONS,
    LIKERT_MAX,
    LIKERT_MIN,
    MAX_TEXT_ANSWER_CHARS,
    RTL_MAX_PLAN_CHARS,
    RTL_MIN_PLAN_CHARS,
    QuestionKind,
    QuestionTarget,
)
from app.evaluation.models import Rtl, SurveyQuestion, SurveyResponse
from app.evaluation.schemas import (
    AnswerIn,
    AnswerRead,
    InstructorStat,
    ItemStat,
    RtlIn,
    RtlRead,
    SurveyConfigIn,
    SurveyConfigRead,
    SurveyForm,
    SurveyQuestionRead,
    SurveyReport,
    SurveySubmit,
    SurveySubmitted,
    TextAnswers,
)

ANSWERING = ("active", "completed")  # enrolment statuses that may answer


# --- question sets ------------------------------------------------------------------------------


def instructors_of(raw: str | None) -> list[str]:
    """Run.instructors holds one name per line; blanks and repeats are dropped, order kept."""
    seen: dict[str, None] = {}
    for line in (raw or "").splitlines():
        name = " ".join(line.split())[:255]
        if name and name.casefold() not in {n.casefold() for n in seen}:
            seen[name] = None
    return list(seen)


def run_instructors(session: Session, run: Run) -> list[str]:
    """Who the survey rates: the run's facilitators (widyaiswara first, app.courses.runs), or
    the free-text list of a run made before run staff existed; blanks and repeats dropped."""
    from app.courses import runs as course_runs

    return instructors_of("\n".join(course_runs.instructor_names(session, run)))


def _read(q: SurveyQuestion) -> SurveyQuestionRead:
    return SurveyQuestionRead(
        id=q.id, position=q.position, kind=q.kind, target=q.target, text=q.text, required=q.required
    )


def default_set(session: Session) -> list[SurveyQuestion]:
    """The institution's default questions, seeded from DEFAULT_QUESTIONS on first use."""
    questions = list(repository.questions_of(session, None))
    if questions:
        return questions
    repository.lock_default_set(session)
    questions = list(repository.questions_of(session, None))  # another transaction seeded it
    if questions:
        return questions
    for position, (kind, target, text, required) in enumerate(DEFAULT_QUESTIONS, start=1):
        session.add(
            SurveyQuestion(
                course_id=None,
                position=position,
                kind=kind.value,
                target=target.value,
                text=text,
                required=required,
            )
        )
    session.flush()
    return list(repository.questions_of(session, None))


def question_set(session: Session, course_id: int) -> tuple[list[SurveyQuestion], bool]:
    """Rule: a course's own questions when it has any, else the institution's default set.
    Returns (questions, uses_default)."""
    own = list(repository.questions_of(session, course_id))
    if own:
        return own, False
    return default_set(session), True


def survey_config(session: Session, course_id: int | None) -> SurveyConfigRead:
    """A course's survey (or the institution default with `course_id` None) as editors see it."""
    if course_id is None:
        questions, uses_default = default_set(session), True
    else:
        questions, uses_default = question_set(session, course_id)
    return SurveyConfigRead(
        course_id=course_id, uses_default=uses_default, questions=[_read(q) for q in questions]
    )


def update_survey_config(
    session: Session, course_id: int | None, data: SurveyConfigIn
) -> SurveyConfigRead:
    """Replace the question set. Answers already sent keep their own copy of each question, so
    reports of earlier runs do not change. An empty list returns a course to the default set;
    the default set itself cannot be empty."""
    if course_id is None and not data.questions:
        raise ValidationFailed(
            "Set pertanyaan bawaan harus berisi sedikitnya satu pertanyaan.", field="questions"
        )
    for index, q in enumerate(data.questions, start=1):
        if not q.text.strip():
            raise ValidationFailed(
                _("Pertanyaan %(index)s: teks wajib diisi.") % {"index": index},
                field=f"questions.{index - 1}.text",
            )
    if course_id is None:
        default_set(session)  # seeded first, so that a concurrent first use does not add more
    repository.delete_questions(session, course_id)
    for position, q in enumerate(data.questions, start=1):
        session.add(
            SurveyQuestion(
                course_id=course_id,
                position=position,
                kind=q.kind.value,
                target=q.target.value,
                text=" ".join(q.text.split()),
                required=q.required,
            )
        )
    session.flush()
    return survey_config(session, course_id)


# --- the learner's survey -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A learner's enrolment in a run, with what the forms show."""

    run: Run
    enrolment: Enrolment
    course_title: str


def _place(session: Session, run_id: int, principal: Principal) -> Place:
    """Only a learner enrolled in the run (active or completed) answers; 403 for anyone else."""
    run = courses_service.get_run(session, run_id)
    try:
        enrolment = courses_service.get_enrolment(session, run_id, principal.user_id)
    except NotFound:
        enrolment = None
    if enrolment is None or enrolment.status not in ANSWERING:
        raise Forbidden("Anda tidak terdaftar di angkatan ini.", code="not_enrolled")
    course = courses_service.get_course(session, run.course_id, principal)
    return Place(run, enrolment, course.title)


def _stored_answers(response: SurveyResponse | None) -> list[dict[str, Any]]:
    if response is None:
        return []
    answers: list[dict[str, Any]] = json.loads(response.answers_json)
    return answers


def survey_form(session: Session, run_id: int, principal: Principal) -> SurveyForm:
    place = _place(session, run_id, principal)
    questions, _default = question_set(session, place.run.course_id)
    response = repository.get_response(session, place.enrolment.id)
    return SurveyForm(
        run_id=run_id,
        run_name=place.run.name,
        course_title=place.course_title,
        instructors=run_instructors(session, place.run),
        questions=[_read(q) for q in questions],
        submitted=response is not None,
        submitted_at=response.submitted_at if response else None,
        answers=[
            AnswerRead(
                question_id=a["question_id"], instructor=a.get("instructor"), value=a["value"]
            )
            for a in _stored_answers(response)
        ],
    )


def field_name(question_id: int, instructor_index: int | None = None) -> str:
    """The form field (and error field) of an item: `q12`, or `q12_i0` for the first instructor."""
    return f"q{question_id}" if instructor_index is None else f"q{question_id}_i{instructor_index}"


def _label(number: int, q: SurveyQuestion, instructor: str | None) -> str:
    short = q.text if len(q.text) <= 80 else q.text[:77] + "…"
    about = f" tentang pengajar {instructor}" if instructor else ""
    return f'Pertanyaan {number}{about} ("{short}")'


def _likert(value: int | str | None) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return ascii_int(value, minimum=0)
    return None


def validate_answers(
    questions: Sequence[SurveyQuestion], instructors: Sequence[str], answers: Iterable[AnswerIn]
) -> list[dict[str, Any]]:
    """The answers to store, one per item (instructor items once per instructor), each with a
    copy of its question. Rules: required items answered; Likert a whole number 1..5; text at
    most MAX_TEXT_ANSWER_CHARS; no unknown question, instructor or duplicate. Every problem is
    listed, each naming its question."""
    by_id = {q.id: (number, q) for number, q in enumerate(questions, start=1)}
    given: dict[tuple[int, str | None], int | str | None] = {}
    errors: list[dict[str, Any]] = []
    folded = {name.casefold(): name for name in instructors}
    for a in answers:
        found = by_id.get(a.question_id)
        if found is None:
            errors.append(
                {"field": f"q{a.question_id}", "message": f"Pertanyaan {a.question_id} tidak ada."}
            )
            continue
        _number, q = found
        instructor = None
        if q.target == QuestionTarget.INSTRUCTOR:
            instructor = folded.get((a.instructor or "").strip().casefold())
            if instructor is None:
                errors.append(
                    {
                        "field": field_name(q.id),
                        "message": f'Pengajar "{a.instructor or ""}" tidak ada di angkatan ini.',
                    }
                )
                continue
        key = (q.id, instructor)
        if key in given:
            errors.append(
                {
                    "field": field_name(q.id),
                    "message": f"{_label(_number, q, instructor)} dijawab dua kali.",
                }
            )
            continue
        given[key] = a.value
    stored: list[dict[str, Any]] = []
    for number, q in enumerate(questions, start=1):
        targets: list[tuple[str | None, int | None]] = (
            [(name, i) for i, name in enumerate(instructors)]
            if q.target == QuestionTarget.INSTRUCTOR
            else [(None, None)]
        )
        for instructor, index in targets:
            raw = given.get((q.id, instructor))
            label = _label(number, q, instructor)
            field = field_name(q.id, index)
            blank = raw is None or (isinstance(raw, str) and not raw.strip())
            if blank:
                if q.required:
                    errors.append({"field": field, "message": f"{label} wajib dijawab."})
                continue
            value: int | str
            if q.kind == QuestionKind.LIKERT:
                number_value = _likert(raw)
                if number_value is None or not LIKERT_MIN <= number_value <= LIKERT_MAX:
                    errors.append(
                        {
                            "field": field,
                            "message": f"{label}: pilih nilai {LIKERT_MIN} sampai {LIKERT_MAX}.",
                        }
                    )
                    continue
                value = number_value
            else:
                value = str(raw).strip()
                if len(value) > MAX_TEXT_ANSWER_CHARS:
                    errors.append(
                        {
                            "field": field,
                            "message": f"{label}: paling banyak {MAX_TEXT_ANSWER_CHARS:,} karakter.",
                        }
                    )
                    continue
            entry: dict[str, Any] = {
                "question_id": q.id,
                "kind": q.kind,
                "target": q.target,
                "text": q.text,
                "value": value,
            }
            if instructor is not None:
                entry["instructor"] = instructor
            stored.append(entry)
    if errors:
        raise ValidationFailed(errors[0]["message"], field=errors[0]["field"], errors=errors)
    return stored


def submit_survey(
    session: Session, run_id: int, principal: Principal, data: SurveySubmit
) -> SurveySubmitted:
    """Answered once per learner and run: a second submit is 409 (survey_already_sent)."""
    place = _place(session, run_id, principal)
    if repository.get_response(session, place.enrolment.id) is not None:
        raise _already_sent()
    questions, _default = question_set(session, place.run.course_id)
    stored = validate_answers(questions, run_instructors(session, place.run), data.answers)
    response = SurveyResponse(
        enrolment_id=place.enrolment.id,
        run_id=run_id,
        answers_json=json.dumps(stored, ensure_ascii=False),
        submitted_at=utcnow(),
    )
    try:
        with session.begin_nested():  # a concurrent submit from another tab loses here
            repository.add(session, response)
    except IntegrityError:
        raise _already_sent() from None
    events.enrolment_changed(session, place.enrolment.id)
    return SurveySubmitted(run_id=run_id, submitted_at=response.submitted_at)


def _already_sent() -> Conflict:
    return Conflict(
        "Evaluasi penyelenggaraan untuk angkatan ini sudah Anda kirim.", code="survey_already_sent"
    )


# --- the report ---------------------------------------------------------------------------------


def aggregate(
    answer_sets: Iterable[list[dict[str, Any]]],
) -> tuple[list[ItemStat], list[InstructorStat], list[TextAnswers]]:
    """Per Likert item (per instructor for instructor items): count, mean and the 1..5
    distribution; per instructor the mean of all their items; free texts as written. Items are
    keyed by the question copy in each answer, so later edits of the set change nothing."""
    likert: dict[tuple[int, str | None], list[int]] = {}
    texts: dict[tuple[int, str | None], list[str]] = {}
    meta: dict[tuple[int, str | None], tuple[str, str]] = {}
    order: dict[tuple[int, str | None], int] = {}
    per_instructor: dict[str, list[int]] = {}
    for answers in answer_sets:
        for a in answers:
            key = (int(a["question_id"]), a.get("instructor"))
            meta.setdefault(key, (a["text"], a["target"]))
            order.setdefault(key, len(order))
            if a["kind"] == QuestionKind.LIKERT:
                likert.setdefault(key, []).append(int(a["value"]))
                if key[1] is not None:
                    per_instructor.setdefault(key[1], []).append(int(a["value"]))
            else:
                texts.setdefault(key, []).append(str(a["value"]))

    def _sorted(keys: Iterable[tuple[int, str | None]]) -> list[tuple[int, str | None]]:
        return sorted(keys, key=lambda k: (k[0], order[k]))

    items = [
        ItemStat(
            question_id=key[0],
            text=meta[key][0],
            target=meta[key][1],
            instructor=key[1],
            count=len(values),
            mean=round(statistics.fmean(values), 2) if values else None,
            distribution={str(v): values.count(v) for v in range(LIKERT_MIN, LIKERT_MAX + 1)},
        )
        for key in _sorted(likert)
        for values in [likert[key]]
    ]
    instructors = [
        InstructorStat(name=name, count=len(values), mean=round(statistics.fmean(values), 2))
        for name, values in per_instructor.items()
    ]
    text_items = [
        TextAnswers(question_id=key[0], text=meta[key][0], instructor=key[1], answers=texts[key])
        for key in _sorted(texts)
    ]
    return items, instructors, text_items


def survey_report(session: Session, run_id: int, principal: Principal) -> SurveyReport:
    """The aggregated answers of a run, for staff; never who answered what."""
    run = courses_service.get_run(session, run_id)
    course = courses_service.get_course(session, run.course_id, principal)
    responses = repository.responses_of_run(session, run_id)
    items, instructors, texts = aggregate(_stored_answers(r) for r in responses)
    listed = run_instructors(session, run)
    instructors.sort(key=lambda i: listed.index(i.name) if i.name in listed else len(listed))
    return SurveyReport(
        run_id=run_id,
        run_name=run.name,
        course_title=course.title,
        enrolled=run.enrolled_count,
        responses=len(responses),
        items=items,
        instructors=instructors,
        texts=texts,
    )


# --- RTL ----------------------------------------------------------------------------------------


def check_rtl(plan: str, target_date: dt.date, today: dt.date) -> list[dict[str, str]]:
    """RTL rules: a plan of RTL_MIN_PLAN_CHARS..RTL_MAX_PLAN_CHARS characters and a target date
    that is not in the past."""
    errors = []
    length = len(plan.strip())
    if length < RTL_MIN_PLAN_CHARS:
        errors.append(
            {
                "field": "plan",
                "message": f"Rencana tindak lanjut terlalu singkat (minimal {RTL_MIN_PLAN_CHARS} "
                "karakter): tuliskan apa yang akan Anda lakukan.",
            }
        )
    elif length > RTL_MAX_PLAN_CHARS:
        errors.append(
            {
                "field": "plan",
                "message": f"Rencana tindak lanjut paling banyak {RTL_MAX_PLAN_CHARS:,} karakter.",
            }
        )
    if target_date < today:
        errors.append(
            {"field": "target_date", "message": "Tanggal target tidak boleh sebelum hari ini."}
        )
    return errors


def rtl_editable(run: Run, today: dt.date) -> bool:
    """An RTL can be changed until the run's last day (inclusive)."""
    return today <= run.ends_on


def _rtl_read(run: Run, rtl: Rtl, today: dt.date) -> RtlRead:
    return RtlRead(
        run_id=run.id,
        plan=rtl.plan,
        target_date=rtl.target_date,
        submitted_at=rtl.submitted_at,
        updated_at=rtl.updated_at,
        editable=rtl_editable(run, today),
    )


def get_rtl(session: Session, run_id: int, principal: Principal) -> tuple[Place, RtlRead | None]:
    place = _place(session, run_id, principal)
    rtl = repository.get_rtl(session, place.enrolment.id)
    today = courses_service.today()
    return place, (_rtl_read(place.run, rtl, today) if rtl else None)


def save_rtl(session: Session, run_id: int, principal: Principal, data: RtlIn) -> RtlRead:
    """Send or change the RTL: the first one any time while enrolled (so that a late learner can
    still complete), changes only until the run ends (409 rtl_closed)."""
    place = _place(session, run_id, principal)
    today = courses_service.today()
    rtl = repository.get_rtl(session, place.enrolment.id)
    if rtl is not None and not rtl_editable(place.run, today):
        raise Conflict(
            "Angkatan sudah berakhir; rencana tindak lanjut tidak dapat diubah lagi.",
            code="rtl_closed",
        )
    errors = check_rtl(data.plan, data.target_date, today)
    if errors:
        raise ValidationFailed(errors[0]["message"], field=errors[0]["field"], errors=errors)
    now = utcnow()
    if rtl is None:
        rtl = Rtl(
            enrolment_id=place.enrolment.id,
            plan=data.plan.strip(),
            target_date=data.target_date,
            submitted_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                repository.add(session, rtl)
        except IntegrityError:  # sent at the same moment from another tab: keep that one
            raise Conflict("Rencana tindak lanjut sudah terkirim.", code="rtl_exists") from None
    else:
        rtl.plan = data.plan.strip()
        rtl.target_date = data.target_date
        rtl.updated_at = now
        session.flush()
    events.enrolment_changed(session, place.enrolment.id)
    return _rtl_read(place.run, rtl, today)


# --- for other domains (completion rules, run monitor) ------------------------------------------


def submissions(session: Session, enrolment_ids: Sequence[int]) -> dict[int, tuple[bool, bool]]:
    """Enrolment id -> (survey sent, RTL sent), in two queries."""
    surveyed = repository.surveyed(session, enrolment_ids)
    planned = repository.with_rtl(session, enrolment_ids)
    return {eid: (eid in surveyed, eid in planned) for eid in enrolment_ids}


def survey_sent(session: Session, enrolment_id: int) -> bool:
    return repository.get_response(session, enrolment_id) is not None


def rtl_sent(session: Session, enrolment_id: int) -> bool:
    return repository.get_rtl(session, enrolment_id) is not None
