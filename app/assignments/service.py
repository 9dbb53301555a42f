"""Rules of assignments: settings of an assignment activity, learners' drafts and submissions
(every version kept), grading by points or rubric, grade release and what it completes.

Other domains call the functions of the first section (gradebook, calendar) with plain data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.assignments import repository
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
from app.assignments.schemas import (
    CriterionRead,
    FileRead,
    GradeIn,
    LevelRead,
    QueueRead,
    QueueRow,
    RubricCreate,
    RubricRead,
    RubricScoreRead,
    SubmissionRead,
)
from app.audit import service as audit
from app.auth.service import Principal
from app.core import clock
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import filetypes, staff
from app.courses import repository as courses_repository
from app.courses import service as courses_service
from app.courses.constants import CompletionRule, StaffRole
from app.courses.models import Activity, ContentFile, Enrolment
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.progress import service as progress_service

# --- what other domains read (contracts.md) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssignmentItem:
    activity_id: int
    title: str
    max_points: float
    pass_points: float | None
    weight: float


@dataclass(frozen=True, slots=True)
class Deadline:
    activity_id: int
    run_id: int
    course_title: str
    title: str
    due_at: dt.datetime  # aware UTC
    cutoff_at: dt.datetime | None


def assignment_items(session: Session, course_id: int) -> list[AssignmentItem]:
    """The course's visible assignments in course order, with points, pass mark and weight."""
    return [
        AssignmentItem(int(a), str(t), float(mx), None if p is None else float(p), float(w))
        for a, t, mx, p, w in repository.items_of_course(session, course_id)
    ]


def released_percent(session: Session, run_id: int) -> dict[tuple[int, int], float]:
    """(activity_id, user_id) -> released grade as % of the maximum (0-100); grades not yet
    released are absent (learners and the gradebook see them only after release)."""
    found: dict[tuple[int, int], float] = {}
    for activity_id, user_id, points, maximum in repository.released_grades(session, run_id):
        if points is None or not maximum:
            continue
        found[(int(activity_id), int(user_id))] = round(100.0 * points / maximum, 2)
    return found


def deadlines_for_runs(session: Session, run_ids: list[int]) -> list[Deadline]:
    """Every visible assignment's due date for each of the runs (calendar feed)."""
    return [
        Deadline(int(a), int(r), str(c), str(t), due, cut)
        for a, r, c, t, due, cut in repository.deadlines(session, run_ids)
    ]


# --- settings of an assignment activity (app.courses.kinds hooks) ------------------------------

LATE_POLICIES = ("accept", "refuse")  # accept and flag late | refuse after the cut-off
DEFAULT_MAX_FILE_MB = 20

# Extensions people type for "allowed types", as the MIME type the content check finds.
_EXTENSION_MIME: dict[str, str] = {
    t.extension: filetypes.base_mime(t.mime)
    for t in (
        filetypes.PDF, filetypes.PNG, filetypes.JPEG, filetypes.GIF, filetypes.WEBP,
        filetypes.MP3, filetypes.M4A, filetypes.ZIP, filetypes.DOCX, filetypes.XLSX,
        filetypes.PPTX, filetypes.TEXT, filetypes.CSV,
    )
}  # fmt: skip
_EXTENSION_MIME.update(
    {
        "jpeg": "image/jpeg",
        "odt": "application/vnd.oasis.opendocument.text",
        "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation",
    }
)


def parse_moment(value: object, field: str) -> dt.datetime | None:
    """ISO 8601; without an offset it is the institution's local time. Stored as aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationFailed(_("Tanggal dan jam tidak sah."), field=field) from None
    return clock.from_local(moment)


def allowed_mimes(allowed_types: str | None) -> frozenset[str] | None:
    """The MIME types an "allowed types" list names (extensions or MIME types); None: any type
    the upload check accepts."""
    if not allowed_types or not allowed_types.strip():
        return None
    mimes: set[str] = set()
    for token in re.split(r"[\s,;]+", allowed_types.strip().lower()):
        token = token.lstrip("*").lstrip(".")
        if not token:
            continue
        if "/" in token:
            mimes.add(token)
        elif token in _EXTENSION_MIME:
            mimes.add(_EXTENSION_MIME[token])
        else:
            raise ValidationFailed(
                _("Jenis berkas tidak dikenal: %(t)s.") % {"t": token}, field="allowed_types"
            )
    return frozenset(mimes)


def type_allowed(content_type: str, mimes: frozenset[str] | None) -> bool:
    """Whether a stored file's detected type is in the list ("image/*" matches any image)."""
    if mimes is None:
        return True
    mime = filetypes.base_mime(content_type)
    return mime in mimes or f"{mime.split('/', 1)[0]}/*" in mimes


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on", "ya")


def _number(value: object, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(str(value))
    except ValueError:
        raise ValidationFailed(_("Angka tidak sah."), field=field) from None


def settings_from(session: Session, details: Mapping[str, Any]) -> dict[str, Any]:
    """The assignment's settings from the activity form, checked (422 names the field)."""
    due_at = parse_moment(details.get("due_at"), "due_at")
    if due_at is None:
        raise ValidationFailed(_("Batas waktu pengumpulan wajib diisi."), field="due_at")
    opens_at = parse_moment(details.get("opens_at"), "opens_at")
    cutoff_at = parse_moment(details.get("cutoff_at"), "cutoff_at")
    if opens_at is not None and opens_at >= due_at:
        raise ValidationFailed(_("Waktu dibuka harus sebelum batas waktu."), field="opens_at")
    if cutoff_at is not None and cutoff_at < due_at:
        raise ValidationFailed(
            _("Batas akhir (cut-off) tidak boleh sebelum batas waktu."), field="cutoff_at"
        )
    policy = str(details.get("late_policy") or "accept")
    if policy not in LATE_POLICIES:
        raise ValidationFailed(_("Kebijakan terlambat tidak dikenal."), field="late_policy")
    max_files = (
        int(_number(details.get("max_files"), "max_files") or 0)
        if details.get("max_files") not in (None, "")
        else 1
    )
    online_text = _flag(details.get("online_text"))
    if not 0 <= max_files <= 20:
        raise ValidationFailed(_("Jumlah berkas 0 sampai 20."), field="max_files")
    if max_files == 0 and not online_text:
        raise ValidationFailed(
            _("Izinkan berkas atau teks daring (atau keduanya)."), field="max_files"
        )
    max_file_mb = int(_number(details.get("max_file_mb"), "max_file_mb") or DEFAULT_MAX_FILE_MB)
    if not 1 <= max_file_mb <= 2048:
        raise ValidationFailed(_("Ukuran berkas 1 sampai 2048 MB."), field="max_file_mb")
    allowed = str(details.get("allowed_types") or "").strip() or None
    allowed_mimes(allowed)
    rubric_id = details.get("rubric_id")
    max_points = _number(details.get("max_points"), "max_points")
    if rubric_id:
        rubric = rubric_read(session, int(rubric_id))
        if rubric.archived:
            raise ValidationFailed(_("Rubrik ini sudah diarsipkan."), field="rubric_id")
        max_points = rubric.max_points
    if max_points is None:
        max_points = 100.0
    if not 0 < max_points <= 1000:
        raise ValidationFailed(_("Nilai maksimum harus lebih dari 0."), field="max_points")
    pass_points = _number(details.get("pass_points"), "pass_points")
    if pass_points is not None and not 0 <= pass_points <= max_points:
        raise ValidationFailed(_("Nilai lulus harus 0 sampai nilai maksimum."), field="pass_points")
    weight = _number(details.get("weight"), "weight")
    return {
        "instructions_md": str(details.get("instructions") or ""),
        "opens_at": opens_at, "due_at": due_at, "cutoff_at": cutoff_at, "late_policy": policy,
        "max_files": max_files, "max_file_mb": max_file_mb, "allowed_types": allowed,
        "online_text": online_text, "max_points": float(max_points),
        "rubric_id": int(rubric_id) if rubric_id else None, "pass_points": pass_points,
        "weight": 1.0 if weight is None else weight,
        "resubmit_after_grading": _flag(details.get("resubmit_after_grading")),
    }  # fmt: skip


def check_details(session: Session, details: Mapping[str, Any]) -> None:
    """Kind hook: refuse a bad assignment before the activity is stored."""
    settings_from(session, details)
    graders = [int(g) for g in details.get("grader_ids") or []]
    found = courses_repository.users_by_ids(session, graders) if graders else {}
    unknown = [g for g in graders if g not in found or not found[g].is_active]
    if unknown:
        raise ValidationFailed(
            _("Penilai tidak ditemukan atau nonaktif: %(ids)s.")
            % {"ids": ", ".join(map(str, unknown))},
            field="grader_ids",
        )


def attach_details(
    session: Session, activity: Activity, details: Mapping[str, Any], by: Principal | None
) -> None:
    """Kind hook: store the assignment's settings (and its grader group) with the activity."""
    values = settings_from(session, details)
    repository.add(session, Assignment(activity_id=activity.id, **values))
    graders = details.get("grader_ids")
    if graders:
        set_grader_group(session, activity.id, [int(g) for g in graders])


def set_grader_group(session: Session, activity_id: int, user_ids: Sequence[int]) -> None:
    """Only these staff (plus facilitators and run managers) grade the assignment; empty: all."""
    for user_id in repository.grader_group(session, activity_id):
        if user_id not in user_ids:
            row = session.get(AssignmentGrader, (activity_id, user_id))
            if row is not None:
                repository.delete(session, row)
    existing = set(repository.grader_group(session, activity_id))
    repository.add_all(
        session,
        [AssignmentGrader(activity_id=activity_id, user_id=u) for u in dict.fromkeys(user_ids)
         if u not in existing],
    )  # fmt: skip


def get_assignment(session: Session, activity_id: int) -> tuple[Assignment, Activity]:
    found = repository.assignment_and_activity(session, activity_id)
    if found is None:
        raise NotFound(_("Penugasan tidak ditemukan."), code="assignment_not_found")
    return found[0], found[1]


def window_state(assignment: Assignment, now: dt.datetime) -> str:
    """ "not_open" before opens_at; "open" until due; "late" after due (accepted, flagged);
    "closed" after the cut-off when the policy refuses late work."""
    if assignment.opens_at is not None and now < assignment.opens_at:
        return "not_open"
    if now <= assignment.due_at:
        return "open"
    if assignment.late_policy == "refuse":
        if assignment.cutoff_at is None or now > assignment.cutoff_at:
            return "closed"
        return "late"
    if assignment.cutoff_at is not None and now > assignment.cutoff_at:
        return "closed"
    return "late"


def now() -> dt.datetime:
    """The moment submissions are judged against (tests move it)."""
    return utcnow()


# --- learners: uploads, drafts, submissions ----------------------------------------------------


def learner_enrolment(session: Session, principal: Principal, activity: Activity) -> Enrolment:
    """The caller's active enrolment in a run of the activity's course (403 otherwise)."""
    enrolment = courses_service.ensure_content_access(session, principal, activity)
    if enrolment is None:
        raise Forbidden(_("Hanya peserta terdaftar yang mengumpulkan tugas."), code="not_enrolled")
    return enrolment


def check_upload_allowed(session: Session, activity_id: int, principal: Principal) -> Assignment:
    """Before an upload starts: the caller is an enrolled learner and the assignment takes files."""
    assignment, activity = get_assignment(session, activity_id)
    learner_enrolment(session, principal, activity)
    if assignment.max_files == 0:
        raise ValidationFailed(_("Tugas ini hanya menerima teks daring."), field="file")
    return assignment


def max_bytes(assignment: Assignment) -> int:
    return assignment.max_file_mb * 1024 * 1024


def record_upload(
    session: Session,
    assignment: Assignment,
    principal: Principal,
    stored: ContentFile,
    filename: str,
) -> AssignmentUpload:
    """A stored file becomes the learner's for this assignment once it passes the assignment's
    own size and type rules (a refusal rolls back and the stored object is removed)."""
    if stored.size > max_bytes(assignment):
        raise PayloadTooLarge(
            _("Berkas melebihi batas %(mb)s MB tugas ini.") % {"mb": assignment.max_file_mb},
            max_bytes=max_bytes(assignment),
        )
    if not type_allowed(stored.content_type, allowed_mimes(assignment.allowed_types)):
        raise ValidationFailed(
            _("Jenis berkas ini tidak diizinkan untuk tugas ini (%(types)s).")
            % {"types": assignment.allowed_types},
            field="file",
            code="type_not_allowed",
        )
    row = AssignmentUpload(
        activity_id=assignment.activity_id,
        user_id=principal.user_id,
        file_id=stored.id,
        filename=_safe_name(filename),
    )
    repository.add(session, row)
    return row


def _safe_name(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    return (cleaned or "berkas")[-255:]


def _current_draft(versions: Sequence[Submission]) -> Submission | None:
    return versions[0] if versions and versions[0].status == "draft" else None


def _latest_handed_in(versions: Sequence[Submission]) -> Submission | None:
    return next((v for v in versions if v.status in ("submitted", "graded")), None)


def may_resubmit(assignment: Assignment, latest: Submission | None) -> bool:
    """Resubmission is allowed until the work is graded, or always with the setting."""
    return latest is None or latest.status != "graded" or assignment.resubmit_after_grading


def _fill(
    session: Session,
    assignment: Assignment,
    submission: Submission,
    principal: Principal,
    file_ids: Sequence[int] | None,
    text: str | None,
) -> None:
    """Put the files and text into a draft, checking the learner owns each file."""
    if text is not None:
        if text.strip() and not assignment.online_text:
            raise ValidationFailed(_("Tugas ini tidak menerima teks daring."), field="text")
        submission.text = text if text.strip() else None
    if file_ids is None:
        return
    wanted = list(dict.fromkeys(file_ids))
    if len(wanted) > assignment.max_files:
        raise ValidationFailed(
            _("Paling banyak %(n)d berkas.") % {"n": assignment.max_files}, field="file_ids"
        )
    owned = repository.owned_uploads(session, principal.user_id, assignment.activity_id, wanted)
    missing = [f for f in wanted if f not in owned]
    if missing:
        raise Forbidden(_("Berkas ini bukan unggahan Anda untuk tugas ini."), code="file_not_owned")
    repository.clear_work_files(session, submission.id)
    repository.add_all(
        session,
        [
            SubmissionFile(
                submission_id=submission.id, file_id=f, filename=owned[f][0].filename,
                feedback=False, size=owned[f][1].size, content_type=owned[f][1].content_type,
            )
            for f in wanted
        ],
    )  # fmt: skip


def save(
    session: Session,
    activity_id: int,
    principal: Principal,
    *,
    file_ids: Sequence[int] | None = None,
    text: str | None = None,
    draft: bool = False,
) -> Submission:
    """Save the learner's draft and, unless `draft`, hand it in: a new version (every version
    kept); late after due_at; refused before opening, after the cut-off with "refuse", and once
    graded unless resubmission after grading is allowed (409)."""
    assignment, activity = get_assignment(session, activity_id)
    enrolment = learner_enrolment(session, principal, activity)
    moment = now()
    state = window_state(assignment, moment)
    if state == "not_open":
        raise Conflict(_("Tugas belum dibuka."), code="assignment_not_open")
    if state == "closed":
        raise Conflict(_("Batas akhir pengumpulan sudah lewat."), code="assignment_closed")
    versions = repository.versions(session, activity_id, enrolment.run_id, principal.user_id)
    if not may_resubmit(assignment, _latest_handed_in(versions)):
        raise Conflict(_("Tugas sudah dinilai; tidak dapat dikumpulkan ulang."), code="graded")
    current = _current_draft(versions)
    if current is None:
        current = Submission(
            activity_id=activity_id, run_id=enrolment.run_id, user_id=principal.user_id,
            enrolment_id=enrolment.id, version=(versions[0].version + 1) if versions else 1,
            status="draft", late=False,
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(current)
        except IntegrityError:
            raise Conflict(_("Tugas sedang disimpan; coba lagi."), code="busy") from None
    _fill(session, assignment, current, principal, file_ids, text)
    if draft:
        session.flush()
        return current
    files = repository.files_of(session, [current.id])[current.id]
    if not files and not (current.text or "").strip():
        raise ValidationFailed(_("Unggah berkas atau tulis jawaban dulu."), field="file_ids")
    for older in versions:
        if older.status == "submitted":
            older.status = "superseded"
    current.status = "submitted"
    current.submitted_at = moment
    current.late = state == "late"
    session.flush()
    if activity.completion_rule == CompletionRule.ASSIGNMENT_SUBMITTED.value:
        progress_service.complete_activity(session, enrolment.id, activity_id)
    return current


def my_versions(session: Session, activity_id: int, principal: Principal) -> list[SubmissionRead]:
    """The learner's own versions in their run, newest first (grades only once released)."""
    _assignment, activity = get_assignment(session, activity_id)
    enrolment = learner_enrolment(session, principal, activity)
    rows = repository.versions(session, activity_id, enrolment.run_id, principal.user_id)
    released = repository.get_release(session, activity_id, enrolment.run_id) is not None
    files = repository.files_of(session, [r.id for r in rows])
    return [_read(session, r, files[r.id], show_grade=released, released=released) for r in rows]


def file_read(row: SubmissionFile) -> FileRead:
    return FileRead(
        id=row.id, file_id=row.file_id, filename=row.filename, size=row.size, content_type=row.content_type,
        url=f"/api/v1/submissions/{row.submission_id}/files/{row.id}",
    )  # fmt: skip


def _read(
    session: Session,
    row: Submission,
    files: Sequence[SubmissionFile],
    *,
    show_grade: bool,
    released: bool,
) -> SubmissionRead:
    out = SubmissionRead(
        id=row.id, activity_id=row.activity_id, run_id=row.run_id, user_id=row.user_id,
        version=row.version, status=row.status if show_grade or row.status != "graded"
        else "submitted", late=row.late, text=row.text, submitted_at=row.submitted_at,
        files=[file_read(f) for f in files if not f.feedback], released=released,
    )  # fmt: skip
    if show_grade and row.status == "graded":
        out.points, out.max_points, out.feedback = row.points, row.max_points, row.feedback
        out.graded_at = row.graded_at
        out.feedback_files = [file_read(f) for f in files if f.feedback]
        out.rubric = [
            RubricScoreRead(criterion_id=s.criterion_id, level_id=s.level_id, points=s.points)
            for s in repository.scores_of(session, row.id).values()
        ]
    return out


@dataclass(frozen=True, slots=True)
class SubmissionAccess:
    submission: Submission
    staff: bool  # the caller grades it (else: its own learner)
    released: bool


def submission_access(
    session: Session, principal: Principal, submission_id: int, *, grade: bool = False
) -> SubmissionAccess:
    """Its learner (reading only), or staff of its run who may grade it; 403 for anyone else
    (a learner of another run, another learner, a facilitator of another run); 404 unknown."""
    row = repository.get_submission(session, submission_id)
    if row is None:
        raise NotFound(_("Pengumpulan tidak ditemukan."), code="submission_not_found")
    if row.user_id == principal.user_id and not grade:
        released = repository.get_release(session, row.activity_id, row.run_id) is not None
        return SubmissionAccess(row, staff=False, released=released)
    found = staff.require_staff(session, principal, row.run_id, staff.GRADE)
    if found.staff_role == StaffRole.GRADER.value:
        group = repository.grader_group(session, row.activity_id)
        if group and principal.user_id not in group:
            raise Forbidden(_("Anda tidak termasuk kelompok penilai tugas ini."), code="not_grader")
    if row.status == "draft":
        raise NotFound(_("Pengumpulan tidak ditemukan."), code="submission_not_found")
    released = repository.get_release(session, row.activity_id, row.run_id) is not None
    return SubmissionAccess(row, staff=True, released=released)


def read_submission(session: Session, principal: Principal, submission_id: int) -> SubmissionRead:
    """A learner reads their own (grade only once released); graders read any of their runs."""
    found = submission_access(session, principal, submission_id)
    row = found.submission
    files = repository.files_of(session, [row.id])[row.id]
    return _read(
        session, row, files, show_grade=found.staff or found.released, released=found.released
    )


def submission_file(
    session: Session, principal: Principal, submission_id: int, row_id: int
) -> tuple[SubmissionFile, ContentFile]:
    """A file of a submission, to its learner or its graders (a feedback file to the learner
    only once released)."""
    found = submission_access(session, principal, submission_id)
    pair = repository.get_submission_file(session, submission_id, row_id)
    if pair is None or (pair[0].feedback and not (found.staff or found.released)):
        raise NotFound(_("Berkas tidak ditemukan."), code="file_not_found")
    return pair


# --- grading -----------------------------------------------------------------------------------


def rubric_points(rubric: RubricRead, picks: Mapping[int, int]) -> float:
    """The sum of the picked level's points of every criterion; each criterion exactly once."""
    total = 0.0
    for criterion in rubric.criteria:
        level_id = picks.get(criterion.id)
        level = next((lv for lv in criterion.levels if lv.id == level_id), None)
        if level is None:
            raise ValidationFailed(
                _("Pilih satu tingkat untuk kriteria %(c)s.") % {"c": criterion.title},
                field="rubric",
            )
        total += level.points
    if set(picks) - {c.id for c in rubric.criteria}:
        raise ValidationFailed(_("Kriteria bukan bagian rubrik tugas ini."), field="rubric")
    return total


def passed(points: float, pass_points: float | None) -> bool:
    """Passed when the grade reaches the pass mark; without a pass mark any grade passes."""
    return pass_points is None or points >= pass_points - 1e-9


def grade(
    session: Session, principal: Principal, submission_id: int, data: GradeIn
) -> tuple[Submission, bool]:
    """Grade the latest handed-in version (points or rubric, feedback). Returns the row and
    whether the run's grades are released (then the learner is told and completion evaluated
    at once)."""
    found = submission_access(session, principal, submission_id, grade=True)
    row = found.submission
    if row.status not in ("submitted", "graded"):
        raise Conflict(_("Versi ini sudah digantikan versi yang lebih baru."), code="superseded")
    assignment, activity = get_assignment(session, row.activity_id)
    repository.clear_scores(session, row.id)
    if assignment.rubric_id is not None:
        if not data.rubric:
            raise ValidationFailed(_("Tugas ini dinilai dengan rubrik."), field="rubric")
        rubric = rubric_read(session, assignment.rubric_id)
        picks = {p.criterion_id: p.level_id for p in data.rubric}
        if len(picks) != len(data.rubric):
            raise ValidationFailed(_("Setiap kriteria dinilai sekali."), field="rubric")
        points = rubric_points(rubric, picks)
        levels = {lv.id: lv.points for c in rubric.criteria for lv in c.levels}
        repository.add_all(
            session,
            [RubricScore(submission_id=row.id, criterion_id=c, level_id=lv, points=levels[lv])
             for c, lv in picks.items()],
        )  # fmt: skip
        maximum = rubric.max_points
    else:
        if data.points is None:
            raise ValidationFailed(_("Isi nilai."), field="points")
        if data.points > assignment.max_points:
            raise ValidationFailed(
                _("Nilai paling tinggi %(m)s.") % {"m": assignment.max_points}, field="points"
            )
        points, maximum = data.points, assignment.max_points
    before = {"points": row.points, "status": row.status}
    row.points, row.max_points = round(points, 2), maximum
    row.feedback = (data.feedback or "").strip() or None
    row.status = "graded"
    row.graded_by_id = principal.user_id
    row.graded_at = utcnow()
    session.flush()
    audit.record(
        session, "assignment.graded", target=("submission", row.id), before=before,
        after={"points": row.points, "max_points": maximum},
    )  # fmt: skip
    if found.released:
        _after_release(session, assignment, activity, [row])
    return row, found.released


def add_feedback_file(
    session: Session, principal: Principal, submission_id: int, stored: ContentFile, filename: str
) -> SubmissionFile:
    """A grader attaches a file (annotated work) to the feedback."""
    found = submission_access(session, principal, submission_id, grade=True)
    row = SubmissionFile(
        submission_id=found.submission.id, file_id=stored.id, filename=_safe_name(filename),
        feedback=True, size=stored.size, content_type=stored.content_type,
    )  # fmt: skip
    repository.add(session, row)
    return row


def _after_release(
    session: Session, assignment: Assignment, activity: Activity, graded: Sequence[Submission]
) -> tuple[int, int]:
    """Tell each learner their grade is out and complete "assignment passed" for those at or
    above the pass mark. Returns (notified, completed)."""
    completed = 0
    if activity.completion_rule == CompletionRule.ASSIGNMENT_PASSED.value:
        for row in graded:
            if row.points is not None and passed(row.points, assignment.pass_points):
                completed += progress_service.complete_activity(
                    session, row.enrolment_id, activity.id
                )
    course = courses_repository.get_course(session, activity.course_id)
    notices = [
        NewNotification(
            event=GRADED_EVENT, user_id=row.user_id,
            key=f"{GRADED_EVENT}:{row.id}:{row.graded_at.isoformat() if row.graded_at else ''}",
            context={
                "assignment_title": activity.title,
                "course_title": course.title if course else "",
                "points": row.points, "max_points": row.max_points,
                "passed": row.points is not None and passed(row.points, assignment.pass_points),
            },
            url=f"/activities/{activity.id}",
        )
        for row in graded
    ]  # fmt: skip
    notified = notifications.notify_many(session, notices)
    return notified, completed


def release(
    session: Session, principal: Principal, activity_id: int, run_id: int
) -> tuple[GradeRelease, int, int]:
    """The facilitator releases the run's grades of the assignment: learners see them, are
    told, and "assignment passed" completes. Releasing twice changes nothing more (409)."""
    staff.require_staff(session, principal, run_id, staff.TEACH)
    assignment, activity = get_assignment(session, activity_id)
    run = courses_service.get_run(session, run_id)
    if run.course_id != activity.course_id:
        raise NotFound(_("Penugasan tidak ada di angkatan ini."), code="assignment_not_found")
    if repository.get_release(session, activity_id, run_id) is not None:
        raise Conflict(_("Nilai angkatan ini sudah dirilis."), code="already_released")
    row = GradeRelease(activity_id=activity_id, run_id=run_id, released_by_id=principal.user_id)
    repository.add(session, row)
    graded = repository.graded_in_run(session, activity_id, run_id)
    notified, completed = _after_release(session, assignment, activity, graded)
    audit.record(
        session, "assignment.released", target=("activity", activity_id),
        after={"run_id": run_id, "graded": len(graded)},
    )  # fmt: skip
    return row, notified, completed


GRADED_EVENT = "assignment_graded"  # declared in app.notifications.constants


# --- the grading queue -------------------------------------------------------------------------

QUEUE_STATES = ("ungraded", "late", "graded", "all")


def grading_queue(
    session: Session, principal: Principal, activity_id: int, run_id: int, state: str = "ungraded"
) -> QueueRead:
    """Staff of the run who grade: the latest handed-in version of each learner, filtered."""
    staff.require_staff(session, principal, run_id, staff.GRADE)
    _assignment, activity = get_assignment(session, activity_id)
    run = courses_service.get_run(session, run_id)
    if run.course_id != activity.course_id:
        raise NotFound(_("Penugasan tidak ada di angkatan ini."), code="assignment_not_found")
    if state not in QUEUE_STATES:
        raise ValidationFailed(_("Saringan tidak dikenal."), field="state")
    rows = repository.queue(session, activity_id, run_id, state=state)
    return QueueRead(
        activity_id=activity_id, run_id=run_id, state=state,
        released=repository.get_release(session, activity_id, run_id) is not None,
        learners=run.enrolled_count,
        counts=repository.queue_counts(session, activity_id, run_id),
        rows=[
            QueueRow(
                submission_id=s.id, user_id=s.user_id, name=name, nip=nip, version=s.version,
                status=s.status, late=s.late, submitted_at=s.submitted_at, points=s.points,
            )
            for s, name, nip in rows
        ],
    )  # fmt: skip


def zip_plan(
    session: Session, principal: Principal, run_id: int, activity_id: int
) -> tuple[str, list[tuple[str, str | None, str | None]]]:
    """(archive name, [(entry name, storage key or None, text or None)]) of the run's latest
    handed-in versions: entries "NIP_Nama/filename" with safe, unique names."""
    staff.require_staff(session, principal, run_id, staff.GRADE)
    _assignment, activity = get_assignment(session, activity_id)
    run = courses_service.get_run(session, run_id)
    if run.course_id != activity.course_id:
        raise NotFound(_("Penugasan tidak ada di angkatan ini."), code="assignment_not_found")
    entries: list[tuple[str, str | None, str | None]] = []
    used: set[str] = set()
    texts_done: set[int] = set()
    for sid, nip, name, text, filename, key in repository.zip_rows(session, activity_id, run_id):
        folder = safe_part(f"{nip or sid}_{name}")
        if text and sid not in texts_done:
            texts_done.add(sid)
            entries.append((_unique(f"{folder}/teks-daring.txt", used), None, text))
        if filename and key:
            entries.append((_unique(f"{folder}/{safe_part(filename)}", used), key, None))
    return f"{safe_part(activity.title)}_{safe_part(run.name)}.zip", entries


_UNSAFE = re.compile(r"[^0-9A-Za-z._ -]+")


def safe_part(text: str) -> str:
    """A name safe in any archive tool: letters, digits, ". _ -" and spaces, no leading dots."""
    cleaned = _UNSAFE.sub("_", text).strip().lstrip(".").strip()
    cleaned = re.sub(r"\s+", " ", cleaned)
    return (cleaned or "berkas")[:120]


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem} ({n}).{ext}" if dot and "/" not in ext else f"{name} ({n})"
    used.add(candidate.lower())
    return candidate


# --- rubrics -----------------------------------------------------------------------------------

RUBRIC_EDITORS = courses_service.COURSE_EDITORS


def may_edit_rubrics(session: Session, principal: Principal) -> bool:
    """Content admins and admins, and facilitators of any run (the rubric library)."""
    if principal.has_any(*RUBRIC_EDITORS) or staff.is_manager(principal):
        return True
    roles = staff.staff_run_ids(session, principal).values()
    return StaffRole.FACILITATOR.value in roles


def require_rubric_editor(session: Session, principal: Principal) -> None:
    if not may_edit_rubrics(session, principal):
        raise Forbidden(_("Anda tidak berwenang mengelola rubrik."), code="forbidden_role")


def may_read_rubrics(session: Session, principal: Principal) -> bool:
    """Rubric editors and any run staff (graders read the marking guide)."""
    return may_edit_rubrics(session, principal) or bool(staff.staff_run_ids(session, principal))


def create_rubric(session: Session, principal: Principal, data: RubricCreate) -> Rubric:
    """A rubric of criteria x levels; each criterion needs at least one level."""
    require_rubric_editor(session, principal)
    rubric = Rubric(
        title=" ".join(data.title.split()), description=data.description,
        owner_id=principal.user_id or None,
    )  # fmt: skip
    repository.add(session, rubric)
    for ci, c in enumerate(data.criteria, start=1):
        criterion = RubricCriterion(
            rubric_id=rubric.id, position=ci, title=c.title.strip(), description=c.description
        )
        repository.add(session, criterion)
        repository.add_all(
            session,
            [RubricLevel(criterion_id=criterion.id, position=li, title=lv.title.strip(),
                         description=lv.description, points=lv.points)
             for li, lv in enumerate(c.levels, start=1)],
        )  # fmt: skip
    return rubric


def rubric_read(session: Session, rubric_id: int) -> RubricRead:
    rubric = repository.get_rubric(session, rubric_id)
    if rubric is None:
        raise NotFound(_("Rubrik tidak ditemukan."), code="rubric_not_found")
    criteria: dict[int, CriterionRead] = {}
    for criterion, level in repository.rubric_cells(session, rubric_id):
        found = criteria.setdefault(
            criterion.id,
            CriterionRead(
                id=criterion.id, title=criterion.title, description=criterion.description,
                levels=[],
            ),
        )  # fmt: skip
        found.levels.append(
            LevelRead(id=level.id, title=level.title, points=level.points,
                      description=level.description)
        )  # fmt: skip
    items = list(criteria.values())
    return RubricRead(
        id=rubric.id, title=rubric.title, description=rubric.description,
        max_points=round(sum(c.best for c in items), 2), archived=rubric.archived,
        criteria=items,
    )  # fmt: skip


def rubric_for_staff(session: Session, principal: Principal, rubric_id: int) -> RubricRead:
    if not may_read_rubrics(session, principal):
        raise Forbidden(_("Anda tidak berwenang membuka rubrik."), code="forbidden_role")
    found = rubric_read(session, rubric_id)
    found.in_use = repository.rubric_in_use(session, rubric_id)
    return found


def list_rubrics(session: Session, principal: Principal) -> list[Rubric]:
    if not may_read_rubrics(session, principal):
        raise Forbidden(_("Anda tidak berwenang membuka rubrik."), code="forbidden_role")
    return list(repository.list_rubrics(session))


def archive_rubric(session: Session, principal: Principal, rubric_id: int) -> Rubric:
    """Archived rubrics stay on the assignments that use them but are not offered for new ones."""
    require_rubric_editor(session, principal)
    rubric = repository.get_rubric(session, rubric_id)
    if rubric is None:
        raise NotFound(_("Rubrik tidak ditemukan."), code="rubric_not_found")
    rubric.archived = True
    session.flush()
    return rubric


def guide_rows(rubric: RubricRead) -> list[list[str]]:
    """The marking guide as rows (criterion, level, points, description) for CSV export."""
    rows = [[_("Kriteria"), _("Tingkat"), _("Poin"), _("Deskripsi")]]
    for c in rubric.criteria:
        for lv in c.levels:
            rows.append([c.title, lv.title, f"{lv.points:g}", lv.description or ""])
    return rows
