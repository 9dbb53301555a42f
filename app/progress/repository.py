"""All SQL for activity progress and SCORM tracking data."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.progress.models import ActivityProgress, ScormTrack


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def get_progress(session: Session, enrolment_id: int, activity_id: int) -> ActivityProgress | None:
    return session.scalar(
        select(ActivityProgress).where(
            ActivityProgress.enrolment_id == enrolment_id,
            ActivityProgress.activity_id == activity_id,
        )
    )


def progress_of_enrolment(session: Session, enrolment_id: int) -> dict[int, ActivityProgress]:
    rows = session.scalars(
        select(ActivityProgress).where(ActivityProgress.enrolment_id == enrolment_id)
    )
    return {p.activity_id: p for p in rows}


def activity_has_progress(session: Session, activity_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(ActivityProgress.activity_id == activity_id)
                | exists().where(ScormTrack.activity_id == activity_id)
            )
        )
    )


def get_track(session: Session, enrolment_id: int, activity_id: int) -> ScormTrack | None:
    return session.scalar(
        select(ScormTrack).where(
            ScormTrack.enrolment_id == enrolment_id, ScormTrack.activity_id == activity_id
        )
    )
