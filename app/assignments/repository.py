"""All SQL of the assignments domain: settings, rubrics, uploads, submissions and releases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import Row, and_, func, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.assignments.models import (
    Assignment,
    AssignmentGrader,
    AssignmentUpload,
    GradeRelease,
    Rubric,
    RubricCriterion,
    RubricLevel,
    RubricScore,
    Submission,
    SubmissionFile,
)
from app.courses.models import Activity, ContentFile, Course, Enrolment, Run, Section

# Versions a grader sees: the latest handed-in one of each learner (drafts and older versions not).
QUEUE_STATUSES = ("submitted", "graded")


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def add_all(session: Session, objs: Sequence[object]) -> None:
    session.add_all(objs)
    session.flush()


def delete(session: Session, obj: object) -> None:
    session.delete(obj)
    session.flush()


# --- assignments -------------------------------------------------------------------------------


def get_assignment(session: Session, activity_id: int) -> Assignment | None:
    return session.get(Assignment, activity_id)


def assignment_and_activity(session: Session, activity_id: int) -> Row[Assignment, Activity] | None:
    return session.execute(
        select(Assignment, Activity)
        .join(Activity, Activity.id == Assignment.activity_id)
        .where(Assignment.activity_id == activity_id)
    ).first()


def items_of_course(
    session: Session, course_id: int
) -> Sequence[Row[int, str, float, float | None, float]]:
    """(activity_id, title, max_points, pass_points, weight) of visible assignments, course order."""
    return session.execute(
        select(
            Activity.id, Activity.title, Assignment.max_points, Assignment.pass_points,
            Assignment.weight,
        )
        .join(Assignment, Assignment.activity_id == Activity.id)
        .join(Section, Section.id == Activity.section_id)
        .where(Activity.course_id == course_id, Activity.hidden.is_(False))
        .order_by(Section.position, Activity.position, Activity.id)
    ).all()  # fmt: skip


def released_grades(
    session: Session, run_id: int
) -> Sequence[Row[int, int, float | None, float | None]]:
    """(activity_id, user_id, points, max_points) of graded submissions whose grades are released."""
    return session.execute(
        select(Submission.activity_id, Submission.user_id, Submission.points, Submission.max_points)
        .join(
            GradeRelease,
            and_(
                GradeRelease.activity_id == Submission.activity_id,
                GradeRelease.run_id == Submission.run_id,
            ),
        )
        .where(Submission.run_id == run_id, Submission.status == "graded")
    ).all()


def deadlines(
    session: Session, run_ids: Collection[int]
) -> Sequence[Row[int, int, str, str, dt.datetime, dt.datetime | None]]:
    """(activity_id, run_id, course_title, title, due_at, cutoff_at) of the runs' visible
    assignments, earliest first."""
    if not run_ids:
        return []
    return session.execute(
        select(
            Activity.id, Run.id, Course.title, Activity.title, Assignment.due_at,
            Assignment.cutoff_at,
        )
        .join(Activity, Activity.course_id == Run.course_id)
        .join(Assignment, Assignment.activity_id == Activity.id)
        .join(Course, Course.id == Run.course_id)
        .where(Run.id.in_(list(run_ids)), Activity.hidden.is_(False))
        .order_by(Assignment.due_at, Activity.id, Run.id)
    ).all()  # fmt: skip


def grader_group(session: Session, activity_id: int) -> list[int]:
    return list(
        session.scalars(
            select(AssignmentGrader.user_id).where(AssignmentGrader.activity_id == activity_id)
        )
    )


def users_by_ids(session: Session, user_ids: Collection[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(user_ids))))}


# --- rubrics -----------------------------------------------------------------------------------


def get_rubric(session: Session, rubric_id: int) -> Rubric | None:
    return session.get(Rubric, rubric_id)


def list_rubrics(session: Session, *, archived: bool = False) -> Sequence[Rubric]:
    return session.scalars(
        select(Rubric).where(Rubric.archived.is_(archived)).order_by(Rubric.title, Rubric.id)
    ).all()


def rubric_cells(session: Session, rubric_id: int) -> Sequence[Row[RubricCriterion, RubricLevel]]:
    """Every (criterion, level) of a rubric in reading order, in one query."""
    return session.execute(
        select(RubricCriterion, RubricLevel)
        .join(RubricLevel, RubricLevel.criterion_id == RubricCriterion.id)
        .where(RubricCriterion.rubric_id == rubric_id)
        .order_by(RubricCriterion.position, RubricCriterion.id, RubricLevel.position)
    ).all()


def rubric_in_use(session: Session, rubric_id: int) -> bool:
    return (
        session.scalar(select(Assignment.activity_id).where(Assignment.rubric_id == rubric_id))
        is not None
    )


def scores_of(session: Session, submission_id: int) -> dict[int, RubricScore]:
    rows = session.scalars(select(RubricScore).where(RubricScore.submission_id == submission_id))
    return {r.criterion_id: r for r in rows}


def clear_scores(session: Session, submission_id: int) -> None:
    for row in session.scalars(
        select(RubricScore).where(RubricScore.submission_id == submission_id)
    ):
        session.delete(row)
    session.flush()


# --- uploads and files -------------------------------------------------------------------------


def owned_uploads(
    session: Session, user_id: int, activity_id: int, file_ids: Collection[int]
) -> dict[int, tuple[AssignmentUpload, ContentFile]]:
    """file id -> (the learner's upload record, the stored file) for the ids they uploaded."""
    if not file_ids:
        return {}
    rows = session.execute(
        select(AssignmentUpload, ContentFile)
        .join(ContentFile, ContentFile.id == AssignmentUpload.file_id)
        .where(
            AssignmentUpload.user_id == user_id,
            AssignmentUpload.activity_id == activity_id,
            AssignmentUpload.file_id.in_(list(file_ids)),
        )
        .order_by(AssignmentUpload.id)
    ).all()
    return {u.file_id: (u, f) for u, f in rows}


def files_of(session: Session, submission_ids: Collection[int]) -> dict[int, list[SubmissionFile]]:
    found: dict[int, list[SubmissionFile]] = {i: [] for i in submission_ids}
    if not submission_ids:
        return found
    for row in session.scalars(
        select(SubmissionFile)
        .where(SubmissionFile.submission_id.in_(list(submission_ids)))
        .order_by(SubmissionFile.id)
    ):
        found[row.submission_id].append(row)
    return found


def get_submission_file(
    session: Session, submission_id: int, row_id: int
) -> tuple[SubmissionFile, ContentFile] | None:
    found = session.execute(
        select(SubmissionFile, ContentFile)
        .join(ContentFile, ContentFile.id == SubmissionFile.file_id)
        .where(SubmissionFile.id == row_id, SubmissionFile.submission_id == submission_id)
    ).first()
    return (found[0], found[1]) if found else None


def clear_work_files(session: Session, submission_id: int) -> None:
    for row in session.scalars(
        select(SubmissionFile).where(
            SubmissionFile.submission_id == submission_id, SubmissionFile.feedback.is_(False)
        )
    ):
        session.delete(row)
    session.flush()


# --- submissions -------------------------------------------------------------------------------


def get_submission(
    session: Session, submission_id: int, *, lock: bool = False
) -> Submission | None:
    query = select(Submission).where(Submission.id == submission_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def versions(session: Session, activity_id: int, run_id: int, user_id: int) -> list[Submission]:
    """Every version of a learner's work in a run, newest first."""
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.activity_id == activity_id,
                Submission.run_id == run_id,
                Submission.user_id == user_id,
            )
            .order_by(Submission.version.desc())
        )
    )


def queue(
    session: Session, activity_id: int, run_id: int, *, state: str
) -> Sequence[Row[Submission, str, str | None]]:
    """(submission, name, nip) of the latest handed-in version of each learner: "ungraded",
    "late" or "all"; oldest hand-in first (one query)."""
    query = (
        select(Submission, User.name, User.nip)
        .join(User, User.id == Submission.user_id)
        .where(
            Submission.activity_id == activity_id,
            Submission.run_id == run_id,
            Submission.status.in_(QUEUE_STATUSES),
        )
        .order_by(Submission.submitted_at, Submission.id)
    )
    if state == "ungraded":
        query = query.where(Submission.status == "submitted")
    elif state == "late":
        query = query.where(Submission.late.is_(True))
    return session.execute(query).all()


def queue_counts(session: Session, activity_id: int, run_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Submission.status, Submission.late, func.count())
        .where(
            Submission.activity_id == activity_id,
            Submission.run_id == run_id,
            Submission.status.in_(QUEUE_STATUSES),
        )
        .group_by(Submission.status, Submission.late)
    ).all()
    counts = {"all": 0, "ungraded": 0, "late": 0, "graded": 0}
    for status, late, n in rows:
        counts["all"] += n
        counts["ungraded" if status == "submitted" else "graded"] += n
        if late:
            counts["late"] += n
    return counts


def active_learners(session: Session, run_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.run_id == run_id, Enrolment.status.in_(("active", "completed")))
        )
        or 0
    )


def graded_in_run(session: Session, activity_id: int, run_id: int) -> Sequence[Submission]:
    return session.scalars(
        select(Submission).where(
            Submission.activity_id == activity_id,
            Submission.run_id == run_id,
            Submission.status == "graded",
        )
    ).all()


def zip_rows(
    session: Session, activity_id: int, run_id: int
) -> Sequence[Row[int, str | None, str, str | None, str | None, str | None]]:
    """(submission id, nip, name, text, file name, storage key) of the latest handed-in versions;
    file columns are None for a text-only submission."""
    return session.execute(
        select(
            Submission.id, User.nip, User.name, Submission.text, SubmissionFile.filename,
            ContentFile.storage_key,
        )
        .join(User, User.id == Submission.user_id)
        .outerjoin(
            SubmissionFile,
            and_(SubmissionFile.submission_id == Submission.id, SubmissionFile.feedback.is_(False)),
        )
        .outerjoin(ContentFile, ContentFile.id == SubmissionFile.file_id)
        .where(
            Submission.activity_id == activity_id,
            Submission.run_id == run_id,
            Submission.status.in_(QUEUE_STATUSES),
        )
        .order_by(User.nip, Submission.id, SubmissionFile.id)
    ).all()  # fmt: skip


# --- releases ----------------------------------------------------------------------------------


def get_release(session: Session, activity_id: int, run_id: int) -> GradeRelease | None:
    return session.get(GradeRelease, (activity_id, run_id))


def released_runs(session: Session, activity_id: int, run_ids: Collection[int]) -> set[int]:
    if not run_ids:
        return set()
    return set(
        session.scalars(
            select(GradeRelease.run_id).where(
                GradeRelease.activity_id == activity_id, GradeRelease.run_id.in_(list(run_ids))
            )
        )
    )
