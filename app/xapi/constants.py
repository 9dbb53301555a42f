"""Every xAPI IRI, path and header the LMS uses, in one place: verbs (ADL's registry where one
exists), activity types, extension IRIs, the outbox topic and the LRS resource."""

from __future__ import annotations

from typing import Final

XAPI_VERSION: Final = "1.0.3"
VERSION_HEADER: Final = "X-Experience-API-Version"
STATEMENTS_RESOURCE: Final = "statements"  # POST/GET {LMS_XAPI_ENDPOINT}statements
TOPIC: Final = "xapi"  # the outbox topic
KEY_PREFIX: Final = "xapi:"  # outbox key: xapi:<statement id> (idempotent production)
LANG: Final = "id-ID"
PLATFORM: Final = "LMS Diklat ASN"

ADL: Final = "http://adlnet.gov/expapi/verbs/"


class Verb:
    LAUNCHED: Final = ADL + "launched"
    PROGRESSED: Final = ADL + "progressed"
    COMPLETED: Final = ADL + "completed"
    PASSED: Final = ADL + "passed"
    FAILED: Final = ADL + "failed"
    ATTENDED: Final = ADL + "attended"
    EARNED: Final = "http://id.tincanapi.com/verb/earned"
    CONFIRMED: Final = "http://activitystrea.ms/schema/1.0/confirm"


VERB_DISPLAY: Final[dict[str, str]] = {
    Verb.LAUNCHED: "launched",
    Verb.PROGRESSED: "progressed",
    Verb.COMPLETED: "completed",
    Verb.PASSED: "passed",
    Verb.FAILED: "failed",
    Verb.ATTENDED: "attended",
    Verb.EARNED: "earned",
    Verb.CONFIRMED: "confirmed",
}

ACT: Final = "http://adlnet.gov/expapi/activities/"


class ActivityType:
    COURSE: Final = ACT + "course"
    LESSON: Final = ACT + "lesson"
    ASSESSMENT: Final = ACT + "assessment"
    MEETING: Final = ACT + "meeting"
    MEDIA: Final = ACT + "media"
    FILE: Final = ACT + "file"
    LINK: Final = ACT + "link"
    INTERACTION: Final = ACT + "interaction"
    RUN: Final = "http://id.tincanapi.com/activitytype/school-class"  # an angkatan
    CERTIFICATE: Final = "http://id.tincanapi.com/activitytype/certificate"
    MENTORING: Final = "http://id.tincanapi.com/activitytype/meeting"


ACTIVITY_KIND_TYPES: Final[dict[str, str]] = {
    "quiz": ActivityType.ASSESSMENT,
    "live_session": ActivityType.MEETING,
    "video": ActivityType.MEDIA,
    "file": ActivityType.FILE,
    "document": ActivityType.FILE,
    "page": ActivityType.LESSON,
    "link": ActivityType.LINK,
    "assignment": ActivityType.ASSESSMENT,
    "scorm": ActivityType.LESSON,
}

# Extensions: one vocabulary for every installation (provinces aggregate across LMSs).
VOCABULARY: Final = "https://w3id.org/lms-diklat-asn/xapi/"


class Extension:
    JP: Final = VOCABULARY + "extensions/jp"  # jam pelajaran earned (number)
    OPD: Final = VOCABULARY + "extensions/opd"  # {"code", "name"} of the learner's OPD
    RUN: Final = VOCABULARY + "extensions/run"  # the angkatan's name
    CERTIFICATE_NUMBER: Final = VOCABULARY + "extensions/certificate-number"
    COMPETENCY: Final = VOCABULARY + "extensions/competency"
    # cmi5's progress (0-100) for "progressed".
    PROGRESS: Final = "https://w3id.org/xapi/cmi5/result/extensions/progress"


# LMS paths that make activity ids (IRIs under LMS_BASE_URL).
COURSE_PATH: Final = "/courses/{id}"
ACTIVITY_PATH: Final = "/activities/{id}"
RUN_PATH: Final = "/runs/{id}"
CERTIFICATE_PATH: Final = "/certificates/{id}"
MENTORING_PATH: Final = "/mentoring/sessions/{id}"
