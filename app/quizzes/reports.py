"""Quiz reports for staff: results per learner (with CSV/XLSX export), the essay grading queue, item
analysis (an adapter from stored attempts to the pure `analysis` module) and the pre-test/post-test
comparison of a run. Also the few quiz-builder reads the studio pages need.

Every report loads a quiz's (or run's) attempts in one query and the learners in another, so the
number of SQL statements does not grow with the number of learners.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Opd, User
from app.core import clock
from app.core.i18n import gettext_ as _
from app.core.markdown import render_rich
from app.core.tables import csv_safe, sheet_title, xlsx_safe
from app.courses import service as courses_service
from app.courses.constants import EnrolmentStatus
from app.courses.models import Activity, Enrolment, Run
from app.quizzes import analysis, repository, scoring, service
from app.quizzes.bank import FALSE_ID, TRUE_ID, StoredQuestion
from app.quizzes.models import (
    Attempt,
    AttemptAnswer,
    BankQuestion,
    QuestionCategory,
    QuestionVersion,
    Quiz,
    QuizSlot,
)
from app.quizzes.questions import QuestionType as QT
from app.quizzes.schemas import ResultRow

NOT_STARTED = "not_started"
RESULT_STATES = (NOT_STARTED, service.IN_PROGRESS, service.NEEDS_GRADING, service.GRADED)
SNIPPET_CHARS = 120
RESULT_COLUMNS = ("NIP", "Nama", "OPD", "Percobaan", "Nilai (%)", "Lulus", "Status")


def csv_headers() -> tuple[str, ...]:
    """The export's columns; the submit time is local, so its header names the zone."""
    return (*RESULT_COLUMNS, f"Dikumpulkan ({clock.tz_label()})")


STATE_TEXT = {
    NOT_STARTED: "Belum mengerjakan",
    service.IN_PROGRESS: "Sedang mengerjakan",
    service.NEEDS_GRADING: "Menunggu penilaian",
    service.GRADED: "Selesai dinilai",
}
_TAG = re.compile(r"<[^>]+>")


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Plain text of a question for lists: tags and markup dropped, whitespace collapsed."""
    plain = " ".join(_TAG.sub(" ", text).replace("**", "").split())
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


# --- people -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    nip: str
    name: str
    opd: str


def _people(session: Session, user_filter: Any) -> dict[int, Person]:
    """Users matching a SQL condition, with their OPD's name, in one query."""
    rows = session.execute(
        select(User.id, User.nip, User.name, Opd.code, Opd.name)
        .outerjoin(Opd, Opd.id == User.opd_id)
        .where(user_filter)
    ).all()
    return {
        uid: Person(uid, nip or "", name, opd_name or opd_code or "")
        for uid, nip, name, opd_code, opd_name in rows
    }


def _roster_query(course_id: int, run_id: int | None) -> Any:
    """User ids enrolled (active or completed: not withdrawn, not waiting) in the run, or in any
    run of the course."""
    query = (
        select(Enrolment.user_id)
        .join(Run, Run.id == Enrolment.run_id)
        .where(
            Run.course_id == course_id,
            Enrolment.status.in_(
                (EnrolmentStatus.ACTIVE.value, EnrolmentStatus.COMPLETED.value)
            ),
        )
    )
    if run_id is not None:
        query = query.where(Enrolment.run_id == run_id)
    return query


# --- results ------------------------------------------------------------------------------------


def _attempt_query(quiz_id: int, run_id: int | None) -> Any:
    query = select(Attempt.user_id).where(Attempt.quiz_id == quiz_id, Attempt.preview.is_(False))
    if run_id is not None:
        query = query.where(Attempt.run_id == run_id)
    return query


def _row(quiz: Quiz, person: Person, attempts: Sequence[Attempt]) -> ResultRow:
    """One learner's line: the official grade by the quiz's grading method, as the service
    computes it (graded attempts only, in the order taken)."""
    outcome = service.outcome_of(quiz, attempts)
    grade = outcome.grade_percent
    if not attempts:
        state = NOT_STARTED
    elif any(a.state == service.NEEDS_GRADING for a in attempts):
        state = service.NEEDS_GRADING
    else:
        state = attempts[-1].state if attempts[-1].state in RESULT_STATES else service.IN_PROGRESS
    submitted = [a.submitted_at for a in attempts if a.submitted_at is not None]
    return ResultRow(
        user_id=person.user_id,
        nip=person.nip,
        name=person.name,
        opd=person.opd,
        attempts=len(attempts),
        grade_percent=grade,
        passed=None if grade is None else outcome.passed,
        state=state,
        last_attempt_id=attempts[-1].id if attempts else None,
        submitted_at=max(submitted) if submitted else None,
    )


def _matches(row: ResultRow, q: str | None, state: str | None, passed: bool | None) -> bool:
    if state and row.state != state:
        return False
    if passed is not None and row.passed is not passed:
        return False
    if q:
        digits = "".join(q.split())
        in_nip = digits.isdigit() and digits in row.nip
        if not in_nip and scoring.normalise_text(q) not in scoring.normalise_text(row.name):
            return False
    return True


def results(
    session: Session,
    quiz: Quiz,
    run_id: int | None = None,
    *,
    q: str | None = None,
    state: str | None = None,
    passed: bool | None = None,
) -> list[ResultRow]:
    """Every learner of the run (or of every run of the quiz's course) with their standing in
    the quiz, including those who never started ("not_started"), sorted by name.

    Filters: `q` (part of the name, or digits of the NIP), `state` (one of `RESULT_STATES`),
    `passed` (True: graded and at or above the pass score; False: graded and below it)."""
    attempts = repository.attempts_of_quiz(session, quiz.id, run_id)  # ordered by user, number
    by_user: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_user[attempt.user_id].append(attempt)
    people = _people(
        session,
        or_(
            User.id.in_(_roster_query(quiz.course_id, run_id)),
            User.id.in_(_attempt_query(quiz.id, run_id)),
        ),
    )
    rows = [_row(quiz, person, by_user.get(uid, [])) for uid, person in people.items()]
    rows = [r for r in rows if _matches(r, (q or "").strip() or None, state or None, passed)]
    rows.sort(key=lambda r: (scoring.normalise_text(r.name), r.nip, r.user_id))
    return rows


def _passed_text(passed: bool | None) -> str:
    return "" if passed is None else ("Ya" if passed else "Tidak")


def _time_text(value: dt.datetime | None) -> str:
    local = clock.to_local(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def results_csv(rows: Iterable[ResultRow]) -> bytes:
    """UTF-8 CSV with a byte order mark (so Excel reads the accents), one learner per line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_headers())
    for r in rows:
        writer.writerow(
            [
                r.nip,
                csv_safe(r.name),
                csv_safe(r.opd),
                r.attempts,
                "" if r.grade_percent is None else f"{r.grade_percent:g}",
                _passed_text(r.passed),
                STATE_TEXT.get(r.state, r.state),
                _time_text(r.submitted_at),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def results_xlsx(rows: Iterable[ResultRow], title: str = "Hasil kuis") -> bytes:
    """The results as a workbook: the NIP is a text cell (Excel would round an 18-digit number),
    the grade a number, the submit time a date in the institution's zone."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Hasil"
    sheet.append(list(csv_headers()))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, r in enumerate(rows, start=2):
        local = clock.to_local(r.submitted_at)
        values: list[Any] = [
            r.nip,
            xlsx_safe(r.name),
            xlsx_safe(r.opd),
            r.attempts,
            r.grade_percent,
            _passed_text(r.passed),
            STATE_TEXT.get(r.state, r.state),
            local.replace(tzinfo=None) if local else None,
        ]
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=number, column=column, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, even when a name starts with "="
        sheet.cell(row=number, column=1).number_format = "@"
        sheet.cell(row=number, column=8).number_format = "yyyy-mm-dd hh:mm"
    for letter, width in zip("ABCDEFGH", (22, 32, 32, 11, 11, 8, 20, 20), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.title = sheet_title(title, "Hasil")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- essay grading queue ------------------------------------------------------------------------


@dataclass(slots=True)
class EssayItem:
    question_id: int
    number: int
    html: str
    points: float
    response: str


@dataclass(slots=True)
class EssayQueueRow:
    attempt_id: int
    quiz_id: int
    quiz_title: str
    user_id: int
    nip: str
    name: str
    number: int
    run_id: int | None
    submitted_at: dt.datetime | None
    essays: list[EssayItem] = field(default_factory=list)


def _quiz_titles(session: Session, quiz_ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(
        select(Quiz.id, Activity.title)
        .join(Activity, Activity.id == Quiz.activity_id)
        .where(Quiz.id.in_(quiz_ids))
    ).all()
    return {qid: title for qid, title in rows}


def essay_queue(
    session: Session, quiz_ids: Sequence[int], run_id: int | None = None
) -> list[EssayQueueRow]:
    """Attempts waiting for a grader (oldest submission first), each with its essay questions
    that have no points yet and the learner's answer to them."""
    if not quiz_ids:
        return []
    query = select(Attempt).where(
        Attempt.quiz_id.in_(quiz_ids),
        Attempt.state == service.NEEDS_GRADING,
        Attempt.preview.is_(False),
    )
    if run_id is not None:
        query = query.where(Attempt.run_id == run_id)
    attempts = session.scalars(query.order_by(Attempt.submitted_at, Attempt.id)).all()
    if not attempts:
        return []
    answer_query = (
        select(AttemptAnswer)
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .where(Attempt.id.in_(query.with_only_columns(Attempt.id)))
    )
    answers = {(a.attempt_id, a.question_id): a for a in session.scalars(answer_query)}
    layouts = {a.id: json.loads(a.layout_json) for a in attempts}
    versions = repository.versions_by_id(
        session, [item["v"] for layout in layouts.values() for item in layout]
    )
    people = _people(session, User.id.in_(query.with_only_columns(Attempt.user_id)))
    titles = _quiz_titles(session, list(quiz_ids))
    out: list[EssayQueueRow] = []
    for attempt in attempts:
        person = people.get(attempt.user_id, Person(attempt.user_id, "", "?", ""))
        row = EssayQueueRow(
            attempt_id=attempt.id,
            quiz_id=attempt.quiz_id,
            quiz_title=titles.get(attempt.quiz_id, ""),
            user_id=attempt.user_id,
            nip=person.nip,
            name=person.name,
            number=attempt.number,
            run_id=attempt.run_id,
            submitted_at=attempt.submitted_at,
        )
        for number, item in enumerate(layouts[attempt.id], start=1):
            version = versions.get(item["v"])
            if version is None or version.type != QT.ESSAY.value:
                continue
            answer = answers.get((attempt.id, item["q"]))
            if answer is not None and answer.manual_points is not None:
                continue
            response = json.loads(answer.response_json) if answer else {}
            row.essays.append(
                EssayItem(
                    question_id=item["q"],
                    number=number,
                    html=render_rich(version.text, version.text_format),
                    points=version.points,
                    response=str(response.get("text") or ""),
                )
            )
        if row.essays:
            out.append(row)
    return out


# --- item analysis ------------------------------------------------------------------------------


@dataclass(slots=True)
class FrequencyRow:
    text: str
    count: int
    percent: float
    correct: bool


@dataclass(slots=True)
class ItemRow:
    question_id: int
    number: int | None  # position in the quiz; None for a question no longer in it
    title: str
    snippet: str
    type: str
    attempts: int
    facility_index: float
    sd: float | None
    discrimination_index: float | None
    discriminative_efficiency: float | None
    no_response: int
    flags: list[str]
    flag_labels: list[str]
    frequencies: list[FrequencyRow]


@dataclass(slots=True)
class AnalysisReport:
    quiz_id: int
    run_id: int | None
    all_attempts: bool
    attempts_graded: int  # graded attempts found (before keeping first attempts only)
    attempts_analysed: int
    learners: int
    test: analysis.TestStats
    items: list[ItemRow]
    max_band: int


def _picked(stored: StoredQuestion, response: Mapping[str, Any]) -> tuple[str, ...]:
    """What a learner gave, as `analysis.ItemResult.picked`: choice ids, or normalised text."""
    q = stored.question
    if q.type in (QT.SINGLE, QT.MULTIPLE, QT.TRUEFALSE):
        return tuple(str(c) for c in response.get("choice_ids") or [])
    if q.type == QT.MATCHING:
        lefts = {pid: p.left for pid, p in zip(stored.pair_ids, q.pairs, strict=True)}
        return tuple(
            f"{lefts[k]} → {v}" for k, v in (response.get("pairs") or {}).items() if k in lefts
        )
    text = str(response.get("text") or "")
    if not scoring.normalise_text(text):
        return ()
    if q.type == QT.NUMERIC:
        number = scoring.parse_number(text)
        if number is not None:
            return (format(number.normalize(), "f"),)
    if q.type == QT.ESSAY:
        return ("essay",)
    return (scoring.normalise_text(text),)


def _catalogue(stored: StoredQuestion) -> tuple[list[tuple[str, str]], set[str]]:
    """(response id, text) in display order and the ids that are (part of) the key."""
    q = stored.question
    if q.type in (QT.SINGLE, QT.MULTIPLE):
        pairs = list(zip(stored.choice_ids, q.choices, strict=True))
        return [(cid, c.text) for cid, c in pairs], {cid for cid, c in pairs if c.weight > 0}
    if q.type == QT.TRUEFALSE:
        key = TRUE_ID if q.truefalse_key else FALSE_ID
        return [(TRUE_ID, _("Benar")), (FALSE_ID, _("Salah"))], {key}
    if q.type == QT.SHORT:
        accepted = [(scoring.normalise_text(a.text), a.text) for a in q.answers]
        return accepted, {aid for aid, _text in accepted}
    if q.type == QT.MATCHING:
        right = [(f"{p.left} → {p.right}",) * 2 for p in q.gradable_pairs]
        return right, {rid for rid, _text in right}
    if q.type == QT.ESSAY:
        return [("essay", "Dijawab")], set()
    return [], set()


def _graded_query(quiz_id: int, run_id: int | None) -> Any:
    query = select(Attempt).where(
        Attempt.quiz_id == quiz_id,
        Attempt.state == service.GRADED,
        Attempt.preview.is_(False),
        Attempt.results_json.is_not(None),
    )
    if run_id is not None:
        query = query.where(Attempt.run_id == run_id)
    return query


@dataclass(frozen=True, slots=True)
class SlotRow:
    """A question of a quiz as the studio lists it."""

    position: int
    slot_id: int
    question_id: int | None
    version: int | None
    version_id: int | None
    used: bool
    type: str
    title: str
    snippet: str
    points: float
    category: str
    draw_count: int


def quiz_slots(session: Session, quiz: Quiz) -> list[SlotRow]:
    """The quiz's slots in order with each fixed question's current version, in one query
    (random draws show their category and how many they draw)."""
    rows = session.execute(
        select(QuizSlot, QuestionVersion, QuestionCategory.name)
        .outerjoin(BankQuestion, BankQuestion.id == QuizSlot.question_id)
        .outerjoin(
            QuestionVersion,
            (QuestionVersion.question_id == BankQuestion.id)
            & (QuestionVersion.version == BankQuestion.current_version),
        )
        .outerjoin(QuestionCategory, QuestionCategory.id == BankQuestion.category_id)
        .where(QuizSlot.quiz_id == quiz.id)
        .order_by(QuizSlot.position, QuizSlot.id)
    ).all()
    categories: dict[int, str] = {}
    draw_ids = [s.category_id for s, _v, _c in rows if s.question_id is None and s.category_id]
    if draw_ids:
        categories = {
            c.id: c.name
            for c in session.scalars(
                select(QuestionCategory).where(QuestionCategory.id.in_(draw_ids))
            )
        }
    out: list[SlotRow] = []
    for position, (slot, version, category) in enumerate(rows, start=1):
        if slot.question_id is not None and version is not None:
            out.append(
                SlotRow(
                    position=position,
                    slot_id=slot.id,
                    question_id=slot.question_id,
                    version=version.version,
                    version_id=version.id,
                    used=version.used,
                    type=version.type,
                    title=version.title,
                    snippet=snippet(version.text),
                    points=version.points,
                    category=category or "",
                    draw_count=1,
                )
            )
        elif slot.category_id is not None:
            out.append(
                SlotRow(
                    position=position,
                    slot_id=slot.id,
                    question_id=None,
                    version=None,
                    version_id=None,
                    used=False,
                    type="random",
                    title="",
                    snippet="",
                    points=0.0,
                    category=categories.get(slot.category_id, ""),
                    draw_count=slot.draw_count,
                )
            )
    return out


def item_analysis(
    session: Session, quiz: Quiz, run_id: int | None = None, *, all_attempts: bool = False
) -> AnalysisReport:
    """Item and test statistics over the quiz's graded attempts (each learner's first attempt
    unless `all_attempts`), with response frequencies labelled from the question versions."""
    query = _graded_query(quiz.id, run_id)
    attempts = session.scalars(query.order_by(Attempt.user_id, Attempt.number)).all()
    answer_rows = session.scalars(
        select(AttemptAnswer).where(
            AttemptAnswer.attempt_id.in_(query.with_only_columns(Attempt.id))
        )
    ).all()
    responses: dict[tuple[int, int], dict[str, Any]] = {
        (a.attempt_id, a.question_id): json.loads(a.response_json) for a in answer_rows
    }
    results_of = {a.id: list(json.loads(a.results_json or "[]")) for a in attempts}
    slots = quiz_slots(session, quiz)
    version_ids = {r["v"] for rs in results_of.values() for r in rs}
    version_ids |= {s.version_id for s in slots if s.version_id is not None}
    versions = repository.versions_by_id(session, version_ids)
    stored = {vid: service.stored_question(v) for vid, v in versions.items()}

    built: list[analysis.AttemptResult] = []
    for attempt in attempts:
        items: dict[int, analysis.ItemResult] = {}
        for r in results_of[attempt.id]:
            sq = stored.get(r["v"])
            if sq is None or r.get("points") is None:
                continue
            items[r["q"]] = analysis.ItemResult(
                points=float(r["points"]),
                max_points=float(r.get("max") or 0.0),
                picked=_picked(sq, responses.get((attempt.id, r["q"]), {})),
            )
        built.append(
            analysis.AttemptResult(
                attempt_id=attempt.id,
                user_id=attempt.user_id,
                total=math.fsum(i.points for i in items.values()),
                max_total=math.fsum(i.max_points for i in items.values()),
                items=items,
            )
        )
    used = built if all_attempts else analysis.first_attempts(built)

    # The newest version seen of each question labels it; catalogues merge every version seen.
    latest: dict[int, QuestionVersion] = {}
    seen: dict[int, list[QuestionVersion]] = defaultdict(list)
    for v in sorted(versions.values(), key=lambda v: (v.question_id, v.version)):
        latest[v.question_id] = v
        seen[v.question_id].append(v)
    catalogues: dict[int, list[tuple[str, str]]] = {}
    keys: dict[int, set[str]] = {}
    for qid, vs in seen.items():
        merged: dict[str, str] = {}
        key: set[str] = set()
        for v in reversed(vs):  # newest first: its texts win
            entries, right = _catalogue(stored[v.id])
            for cid, text in entries:
                merged.setdefault(cid, text)
            if v is vs[-1]:
                key = right
        catalogues[qid] = list(merged.items())
        keys[qid] = key

    numbers = {s.question_id: s.position for s in slots if s.question_id is not None}
    stats = analysis.item_statistics(used, catalogues)
    rows: list[ItemRow] = []
    for st in stats:
        version = latest.get(st.question_id)
        rows.append(
            ItemRow(
                question_id=st.question_id,
                number=numbers.get(st.question_id),
                title=version.title if version else "",
                snippet=snippet(version.text) if version else "",
                type=version.type if version else "",
                attempts=st.attempts,
                facility_index=st.facility_index,
                sd=st.sd,
                discrimination_index=st.discrimination_index,
                discriminative_efficiency=st.discriminative_efficiency,
                no_response=st.no_response,
                flags=list(st.flags),
                flag_labels=[analysis.FLAG_LABELS[f] for f in st.flags],
                frequencies=[
                    FrequencyRow(
                        f.text, f.count, f.percent, f.choice_id in keys.get(st.question_id, set())
                    )
                    for f in st.choice_frequencies
                ],
            )
        )
    rows.sort(key=lambda r: (r.number is None, r.number or 0, r.question_id))
    test = analysis.test_statistics(used)
    return AnalysisReport(
        quiz_id=quiz.id,
        run_id=run_id,
        all_attempts=all_attempts,
        attempts_graded=len(built),
        attempts_analysed=len(used),
        learners=len({a.user_id for a in used}),
        test=test,
        items=rows,
        max_band=max((count for _low, _high, count in test.bands), default=0),
    )


# --- pre-test / post-test -----------------------------------------------------------------------


@dataclass(slots=True)
class PrePostLearner:
    user_id: int
    nip: str
    name: str
    opd: str
    pre: float | None
    post: float | None
    gain: float | None
    normalised_gain: float | None


@dataclass(slots=True)
class QuizRef:
    id: int
    title: str


@dataclass(slots=True)
class PrePostReport:
    run_id: int
    course_id: int
    pretests: list[QuizRef]
    posttests: list[QuizRef]
    summary: analysis.PrePostSummary
    learners: list[PrePostLearner]


def _mean_grade(
    outcomes: Mapping[tuple[int, int], service.QuizOutcome], quiz_ids: Sequence[int], uid: int
) -> float | None:
    """A learner's official grade over quizzes of one kind: the mean, once all are graded (as
    `service.posttest_percent` does)."""
    grades = [outcomes[(qid, uid)].grade_percent for qid in quiz_ids if (qid, uid) in outcomes]
    if not quiz_ids or len(grades) != len(quiz_ids) or any(g is None for g in grades):
        return None
    return round(math.fsum(g for g in grades if g is not None) / len(grades), 2)


def prepost(session: Session, run_id: int) -> PrePostReport:
    """The run's learners on the course's pre-test(s) and post-test(s): each learner's official
    grade (the quiz's grading method), then the gain summary of `analysis.prepost_gain`."""
    run = courses_service.get_run(session, run_id)
    quizzes = session.execute(
        select(Quiz.id, Quiz.kind, Activity.title)
        .join(Activity, Activity.id == Quiz.activity_id)
        .where(Quiz.course_id == run.course_id, Quiz.kind.in_(("pretest", "posttest")))
        .order_by(Activity.position, Quiz.id)
    ).all()
    pretests = [QuizRef(qid, title) for qid, kind, title in quizzes if kind == "pretest"]
    posttests = [QuizRef(qid, title) for qid, kind, title in quizzes if kind == "posttest"]
    people = _people(session, User.id.in_(_roster_query(run.course_id, run.id)))
    user_ids = sorted(people)
    outcomes = (
        service.outcomes_for_course(session, run.course_id, user_ids)
        if quizzes and user_ids
        else {}
    )
    pre: dict[int, float] = {}
    post: dict[int, float] = {}
    for uid in user_ids:
        p = _mean_grade(outcomes, [q.id for q in pretests], uid)
        s = _mean_grade(outcomes, [q.id for q in posttests], uid)
        if p is not None:
            pre[uid] = p
        if s is not None:
            post[uid] = s
    summary = analysis.prepost_gain(pre, post)
    by_user = {r.user_id: r for r in summary.rows}
    learners = [
        PrePostLearner(
            user_id=uid,
            nip=people[uid].nip,
            name=people[uid].name,
            opd=people[uid].opd,
            pre=pre.get(uid),
            post=post.get(uid),
            gain=by_user[uid].gain if uid in by_user else None,
            normalised_gain=by_user[uid].normalised_gain if uid in by_user else None,
        )
        for uid in user_ids
    ]
    learners.sort(key=lambda r: (scoring.normalise_text(r.name), r.nip))
    return PrePostReport(
        run_id=run.id,
        course_id=run.course_id,
        pretests=pretests,
        posttests=posttests,
        summary=summary,
        learners=learners,
    )


# --- builder helpers (candidates for the quizzes service) ---------------------------------------


def runs_of_course(session: Session, course_id: int) -> list[tuple[int, str]]:
    """(run id, name) of a course's runs, newest first, for the report filters."""
    rows = session.execute(
        select(Run.id, Run.name)
        .where(Run.course_id == course_id)
        .order_by(Run.starts_on.desc(), Run.id.desc())
    ).all()
    return [(rid, name) for rid, name in rows]
