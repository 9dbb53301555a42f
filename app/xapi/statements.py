"""xAPI 1.0.3 statements built from the LMS's facts, as plain JSON-ready dicts.

Rules: every statement's id is a uuid5 of the fact it reports (the same fact always gives the
same id, so a repeat is harmless: the LRS keeps the first and answers 204/409); the actor is an
account on the LMS's home page named by the user id, or by the NIP when LMS_XAPI_ACTOR=nip
(personal data: off by default); the context names the enrolment (registration, a uuid5 of the
enrolment), the course (parent), the run (grouping) and the learner's OPD (extension)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from app.xapi.constants import (
    ACTIVITY_KIND_TYPES,
    ACTIVITY_PATH,
    CERTIFICATE_PATH,
    COURSE_PATH,
    LANG,
    MENTORING_PATH,
    PLATFORM,
    RUN_PATH,
    VERB_DISPLAY,
    ActivityType,
    Extension,
    Verb,
)

Statement = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Learner:
    user_id: int
    nip: str | None
    opd_code: str | None
    opd_name: str | None


@dataclass(frozen=True, slots=True)
class Place:
    """Where a learner learns: the enrolment, its run and course."""

    enrolment_id: int
    run_id: int
    run_name: str
    course_id: int
    course_title: str


@dataclass(frozen=True, slots=True)
class Thing:
    """The object of a statement: an activity of a course, a certificate, a mentoring session."""

    id: int
    title: str
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Setup:
    """What the statements depend on besides the facts (from the settings)."""

    base_url: str
    actor: str = "id"  # "id" | "nip"

    @property
    def home(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def namespace(self) -> uuid.UUID:
        """The installation's uuid5 namespace: ids are stable per LMS, distinct across LMSs."""
        return uuid.uuid5(uuid.NAMESPACE_URL, self.home + "/xapi")

    def iri(self, path: str, ident: int) -> str:
        return self.home + path.format(id=ident)


def statement_id(setup: Setup, fact: str) -> str:
    """The stable statement id of a fact ("completed:e12:a34")."""
    return str(uuid.uuid5(setup.namespace, "statement:" + fact))


def registration(setup: Setup, enrolment_id: int) -> str:
    """The stable registration UUID of an enrolment (one learner in one run)."""
    return str(uuid.uuid5(setup.namespace, f"enrolment:{enrolment_id}"))


def timestamp(at: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and "Z" (a naive time is taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor(setup: Setup, learner: Learner) -> dict[str, Any]:
    name = learner.nip if setup.actor == "nip" and learner.nip else str(learner.user_id)
    return {"objectType": "Agent", "account": {"homePage": setup.home, "name": name}}


def verb(iri: str) -> dict[str, Any]:
    return {"id": iri, "display": {"en-US": VERB_DISPLAY[iri]}}


def activity(iri: str, kind: str, name: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": iri,
        "definition": {"type": kind, "name": {LANG: name or "-"}},
    }


def course_object(setup: Setup, place: Place) -> dict[str, Any]:
    return activity(setup.iri(COURSE_PATH, place.course_id), ActivityType.COURSE,
                    place.course_title)  # fmt: skip


def activity_object(setup: Setup, thing: Thing) -> dict[str, Any]:
    kind = ACTIVITY_KIND_TYPES.get(thing.kind, ActivityType.LESSON)
    return activity(setup.iri(ACTIVITY_PATH, thing.id), kind, thing.title)


def _opd(learner: Learner) -> dict[str, Any]:
    if not learner.opd_code and not learner.opd_name:
        return {}
    return {Extension.OPD: {"code": learner.opd_code, "name": learner.opd_name}}


def context(setup: Setup, learner: Learner, place: Place | None, *, parent: bool = True
            ) -> dict[str, Any]:  # fmt: skip
    """Registration (the enrolment), parent (the course), grouping (the run), the OPD."""
    found: dict[str, Any] = {"platform": PLATFORM, "language": LANG}
    extensions = _opd(learner)
    if place is not None:
        found["registration"] = registration(setup, place.enrolment_id)
        activities: dict[str, Any] = {
            "grouping": [activity(setup.iri(RUN_PATH, place.run_id), ActivityType.RUN,
                                  place.run_name)],
        }  # fmt: skip
        if parent:
            activities["parent"] = [course_object(setup, place)]
        found["contextActivities"] = activities
        extensions[Extension.RUN] = place.run_name
    if extensions:
        found["extensions"] = extensions
    return found


def _statement(
    setup: Setup, fact: str, learner: Learner, verb_iri: str, obj: dict[str, Any],
    at: dt.datetime, ctx: dict[str, Any], result: dict[str, Any] | None = None,
) -> Statement:  # fmt: skip
    found: Statement = {
        "id": statement_id(setup, fact),
        "actor": actor(setup, learner),
        "verb": verb(verb_iri),
        "object": obj,
        "timestamp": timestamp(at),
        "context": ctx,
    }
    if result is not None:
        found["result"] = result
    return found


# --- one builder per fact ------------------------------------------------------------------------


def launched(setup: Setup, learner: Learner, place: Place, at: dt.datetime) -> Statement:
    """The learner opened the course for the first time (one per enrolment)."""
    return _statement(setup, f"launched:e{place.enrolment_id}", learner, Verb.LAUNCHED,
                      course_object(setup, place), at,
                      context(setup, learner, place, parent=False))  # fmt: skip


def activity_started(
    setup: Setup, learner: Learner, place: Place, thing: Thing, at: dt.datetime
) -> Statement:
    """An activity is in progress (its first progress record; never per heartbeat)."""
    return _statement(setup, f"progressed:e{place.enrolment_id}:a{thing.id}", learner,
                      Verb.PROGRESSED, activity_object(setup, thing), at,
                      context(setup, learner, place),
                      {"completion": False, "extensions": {Extension.PROGRESS: 0}})  # fmt: skip


def activity_completed(
    setup: Setup, learner: Learner, place: Place, thing: Thing, at: dt.datetime
) -> Statement:
    """An activity is complete (never taken back: one per enrolment and activity)."""
    return _statement(setup, f"completed:e{place.enrolment_id}:a{thing.id}", learner,
                      Verb.COMPLETED, activity_object(setup, thing), at,
                      context(setup, learner, place), {"completion": True})  # fmt: skip


def course_progressed(
    setup: Setup, learner: Learner, place: Place, thing: Thing, percent: int, at: dt.datetime
) -> Statement:
    """The course's progress moved because `thing` completed: percent of required activities."""
    return _statement(setup, f"progressed:e{place.enrolment_id}:after-a{thing.id}", learner,
                      Verb.PROGRESSED, course_object(setup, place), at,
                      context(setup, learner, place, parent=False),
                      {"completion": percent >= 100,
                       "extensions": {Extension.PROGRESS: max(0, min(100, percent))}})  # fmt: skip


def quiz_graded(
    setup: Setup, learner: Learner, place: Place, thing: Thing, attempt_id: int,
    percent: float, passed: bool, at: dt.datetime,
) -> Statement:  # fmt: skip
    """A graded quiz attempt: passed or failed, with the score (one per attempt)."""
    scaled = round(max(0.0, min(100.0, percent)) / 100.0, 4)
    return _statement(
        setup, f"graded:attempt{attempt_id}", learner, Verb.PASSED if passed else Verb.FAILED,
        activity_object(setup, thing), at, context(setup, learner, place),
        {"score": {"scaled": scaled, "raw": round(percent, 2), "min": 0, "max": 100},
         "success": passed, "completion": True},
    )  # fmt: skip


def session_attended(
    setup: Setup, learner: Learner, place: Place, thing: Thing, at: dt.datetime
) -> Statement:
    """The learner attended a live session (present or late; one per enrolment and session)."""
    return _statement(setup, f"attended:e{place.enrolment_id}:a{thing.id}", learner,
                      Verb.ATTENDED, activity_object(setup, thing), at,
                      context(setup, learner, place))  # fmt: skip


def certificate_earned(
    setup: Setup, learner: Learner, place: Place, certificate: Thing, number: str, jp: float,
    at: dt.datetime,
) -> Statement:  # fmt: skip
    """A certificate issued: the JP it credits as a result extension (one per certificate)."""
    jp_value: float | int = int(jp) if float(jp).is_integer() else jp
    obj = activity(setup.iri(CERTIFICATE_PATH, certificate.id), ActivityType.CERTIFICATE,
                   certificate.title)  # fmt: skip
    ctx = context(setup, learner, place)
    ctx.setdefault("extensions", {})[Extension.CERTIFICATE_NUMBER] = number
    return _statement(setup, f"earned:certificate{certificate.id}", learner, Verb.EARNED, obj,
                      at, ctx, {"completion": True, "success": True,
                                "extensions": {Extension.JP: jp_value}})  # fmt: skip


def mentoring_confirmed(
    setup: Setup, learner: Learner, mentoring: Thing, competency: str, assignment_id: int,
    at: dt.datetime,
) -> Statement:  # fmt: skip
    """The mentee confirmed a mentoring session took place (one per session)."""
    ctx = context(setup, learner, None)
    ctx["registration"] = str(uuid.uuid5(setup.namespace, f"mentoring:{assignment_id}"))
    ctx.setdefault("extensions", {})[Extension.COMPETENCY] = competency
    obj = activity(setup.iri(MENTORING_PATH, mentoring.id), ActivityType.MENTORING,
                   mentoring.title)  # fmt: skip
    return _statement(setup, f"confirmed:mentoring{mentoring.id}", learner, Verb.CONFIRMED,
                      obj, at, ctx)  # fmt: skip
