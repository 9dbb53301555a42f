"""HTML pages of assignments: the learner's hand-in form (posted from the activity page), the
grading queue, the grading page with the rubric, grade release, the ZIP of a run's work and
the rubric library with its marking guide. Rules are the service's; routes parse and render."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response, StreamingResponse

from app.assignments import archive, repository, service
from app.assignments import kind as _kind  # noqa: F401 - registers the activity kind
from app.assignments.schemas import CriterionIn, GradeIn, LevelIn, RubricCreate, RubricPick
from app.auth.dependencies import CurrentPrincipal, SessionDep, SettingsDep
from app.auth.service import Principal
from app.core.errors import LMSError, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import service as courses_service
from app.courses import staff, uploads
from app.storage.service import get_storage
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(include_in_schema=False)


async def posted_form(request: Request) -> FormData:
    """The posted form, files included (CSRF was checked already by the principal dependency)."""
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _refused(request: Request, exc: LMSError, back: str) -> Response:
    return render(
        request, "assignments/refused.html", {"message": exc.detail, "back": back},
        status_code=exc.status_code,
    )  # fmt: skip


def state_labels() -> dict[str, str]:
    return {
        "ungraded": _("Belum dinilai"),
        "late": _("Terlambat"),
        "graded": _("Sudah dinilai"),
        "all": _("Semua"),
    }


# --- the learner's hand-in ---------------------------------------------------------------------


@router.post("/assignments/{activity_id}/submit")
def submit_page(
    request: Request,
    activity_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    form: Form,
) -> Response:
    """Save the draft (new files are added to it) or hand it in ("action" = draft | submit)."""
    back = f"/activities/{activity_id}"
    try:
        assignment = None
        new_ids: list[int] = []
        for upload in form.getlist("files"):
            if not isinstance(upload, UploadFile) or not upload.filename:
                continue
            assignment = assignment or service.check_upload_allowed(db, activity_id, principal)
            stored = uploads.store_stream(
                db, get_storage(settings), upload.file, kind="file", settings=settings
            )
            service.record_upload(db, assignment, principal, stored, upload.filename)
            new_ids.append(stored.id)
        keep = [int(v) for v in form.getlist("keep_file") if isinstance(v, str) and v.isdigit()]
        text = form.get("text")
        row = service.save(
            db, activity_id, principal, file_ids=keep + new_ids,
            text=text if isinstance(text, str) else None, draft=_text(form, "action") == "draft",
        )  # fmt: skip
    except LMSError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        db.rollback()
        return _refused(request, exc, back)
    done = "draft" if row.status == "draft" else "submitted"
    return RedirectResponse(f"{back}?asg={done}#tugas", status_code=303)


# --- grading -----------------------------------------------------------------------------------


@router.get("/assignments/{activity_id}/grading")
def queue_page(
    request: Request,
    activity_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    run_id: Annotated[int, Query(ge=1)],
    state: Annotated[str, Query(pattern="^(ungraded|late|graded|all)$")] = "ungraded",
    done: str | None = None,
) -> Response:
    """The grading queue of one run: the latest version of each learner, filtered."""
    queue = service.grading_queue(db, principal, activity_id, run_id, state)
    _assignment, activity = service.get_assignment(db, activity_id)
    run = courses_service.get_run(db, run_id)
    return render(
        request, "assignments/queue.html",
        {"q": queue, "activity": activity, "run": run, "states": state_labels(), "done": done,
         "can_release": staff.access(db, principal, run_id).can(staff.TEACH)},
    )  # fmt: skip


@router.post("/assignments/{activity_id}/release")
def release_page(
    request: Request,
    activity_id: RowId,
    db: SessionDep,
    principal: CurrentPrincipal,
    run_id: Annotated[int, Query(ge=1)],
) -> Response:
    back = f"/assignments/{activity_id}/grading?run_id={run_id}"
    try:
        service.release(db, principal, activity_id, run_id)
    except LMSError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        db.rollback()
        return _refused(request, exc, back)
    return RedirectResponse(f"{back}&state=all&done=released", status_code=303)


def _grade_context(db: SessionDep, principal: Principal, submission_id: int) -> dict[str, Any]:
    found = service.submission_access(db, principal, submission_id, grade=True)
    row = found.submission
    assignment, activity = service.get_assignment(db, row.activity_id)
    learner = repository.users_by_ids(db, [row.user_id]).get(row.user_id)
    rubric = service.rubric_read(db, assignment.rubric_id) if assignment.rubric_id else None
    return {
        "sub": service.read_submission(db, principal, submission_id),
        "assignment": assignment,
        "activity": activity,
        "learner": learner,
        "rubric": rubric,
        "picked": {c: s.level_id for c, s in repository.scores_of(db, row.id).items()},
        "released": found.released,
    }


@router.get("/submissions/{submission_id}/grade")
def grade_page(
    request: Request, submission_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The submission with its files and text, and the rubric or points form."""
    return render(request, "assignments/grade.html", _grade_context(db, principal, submission_id))


@router.post("/submissions/{submission_id}/grade")
def grade_post(
    request: Request,
    submission_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    form: Form,
) -> Response:
    picks = [
        RubricPick(criterion_id=int(k[5:]), level_id=int(v))
        for k, v in form.multi_items()
        if k.startswith("crit_") and k[5:].isdigit() and isinstance(v, str) and v.isdigit()
    ]
    points_text = _text(form, "points").replace(",", ".").strip()
    try:
        try:
            points = float(points_text) if points_text else None
        except ValueError:
            raise ValidationFailed(_("Nilai harus angka."), field="points") from None
        data = GradeIn(points=points, rubric=picks or None, feedback=_text(form, "feedback"))
        row, _released = service.grade(db, principal, submission_id, data)
        upload = form.get("feedback_file")
        if isinstance(upload, UploadFile) and upload.filename:
            stored = uploads.store_stream(
                db, get_storage(settings), upload.file, kind="file", settings=settings
            )
            service.add_feedback_file(db, principal, submission_id, stored, upload.filename)
    except LMSError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        db.rollback()
        context = _grade_context(db, principal, submission_id)
        context["error"] = exc.detail
        return render(request, "assignments/grade.html", context, status_code=exc.status_code)
    return RedirectResponse(
        f"/assignments/{row.activity_id}/grading?run_id={row.run_id}&done=graded", status_code=303
    )


@router.get("/runs/{run_id}/submissions.zip")
def submissions_zip(
    run_id: RowId,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    activity_id: Annotated[int, Query(ge=1)],
) -> Response:
    """Every learner's latest version as "NIP_Nama/filename", streamed in constant memory."""
    name, entries = service.zip_plan(db, principal, run_id, activity_id)
    db.close()  # the plan is plain data: no connection held while the archive streams
    return StreamingResponse(
        archive.stream_zip(get_storage(settings), entries),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


# --- rubric library ----------------------------------------------------------------------------


def parse_rubric_text(title: str, description: str, text: str) -> RubricCreate:
    """The page's rubric form: a line "# Criterion | description" starts a criterion, each
    following line "points | level | description" is one of its levels."""
    criteria: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            head, _sep, desc = line.lstrip("#").partition("|")
            current = {"title": head.strip(), "description": desc.strip() or None, "levels": []}
            criteria.append(current)
            continue
        parts = [p.strip() for p in line.split("|")]
        if current is None or len(parts) < 2:
            raise ValidationFailed(
                _('Baris %(n)d: tulis "poin | tingkat | deskripsi" di bawah "# Kriteria".')
                % {"n": number},
                field="criteria",
            )
        try:
            points = float(parts[0].replace(",", "."))
        except ValueError:
            raise ValidationFailed(
                _("Baris %(n)d: poin harus angka.") % {"n": number}, field="criteria"
            ) from None
        current["levels"].append(
            LevelIn(points=points, title=parts[1], description=" | ".join(parts[2:]) or None)
        )
    try:
        return RubricCreate(
            title=title,
            description=description or None,
            criteria=[CriterionIn.model_validate(c) for c in criteria],
        )
    except ValueError:
        raise ValidationFailed(
            _("Isi judul dan sedikitnya satu kriteria dengan satu tingkat."), field="criteria"
        ) from None


@router.get("/rubrics")
def rubrics_page(request: Request, db: SessionDep, principal: CurrentPrincipal) -> Response:
    return render(
        request, "assignments/rubrics.html",
        {"rubrics": service.list_rubrics(db, principal),
         "can_edit": service.may_edit_rubrics(db, principal), "values": {}},
    )  # fmt: skip


@router.post("/rubrics")
def rubric_create_page(
    request: Request, db: SessionDep, principal: CurrentPrincipal, form: Form
) -> Response:
    values = {k: _text(form, k) for k in ("title", "description", "criteria")}
    try:
        data = parse_rubric_text(values["title"], values["description"], values["criteria"])
        rubric = service.create_rubric(db, principal, data)
    except ValidationFailed as exc:
        db.rollback()
        return render(
            request, "assignments/rubrics.html",
            {"rubrics": service.list_rubrics(db, principal), "can_edit": True, "values": values,
             "error": exc.detail},
            status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"/rubrics/{rubric.id}", status_code=303)


@router.get("/rubrics/{rubric_id}")
def rubric_page(
    request: Request, rubric_id: RowId, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The rubric as a printable marking guide."""
    rubric = service.rubric_for_staff(db, principal, rubric_id)
    return render(request, "assignments/rubric.html", {"rubric": rubric})


@router.get("/rubrics/{rubric_id}/guide.csv")
def rubric_csv(rubric_id: RowId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    """The marking guide as CSV (opens in a spreadsheet)."""
    rubric = service.rubric_for_staff(db, principal, rubric_id)
    out = io.StringIO()
    csv.writer(out).writerows(service.guide_rows(rubric))
    name = service.safe_part(rubric.title)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="panduan-{name}.csv"'},
    )
