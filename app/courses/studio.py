"""Staff pages ("studio"): the course builder for content admins and run/enrolment management for
training officers. HTML routes only; every rule is the courses service's (or content's, for uploads).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Annotated, Any, Literal

from fastapi import Depends, File, Form, Query, Request, UploadFile
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app.accounts import service as accounts_service
from app.accounts.nip import NIPError, normalise_nip, parse_nip
from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core import clock, i18n
from app.core.config import get_settings
from app.core.errors import LMSError, PayloadTooLarge, ValidationFailed
from app.core.errors import pydantic_message as common_message
from app.core.i18n import gettext_ as _
from app.core.numbers import MAX_ROW_ID, ascii_int, strict_int
from app.core.tables import cell_text, read_table
from app.courses import content, service
from app.courses.constants import (
    ActivityKind,
    Category,
    CourseStatus,
    EnrolmentStatus,
    FundingSource,
    LearningMode,
    delivery_labels,
)
from app.courses.models import Run
from app.courses.schemas import (
    ActivityRead,
    ActivityUpdate,
    CourseCreate,
    CourseEditRead,
    CourseRead,
    CourseUpdate,
    EnrolRequest,
    EnrolResult,
    RunCreate,
    SectionCreate,
    SectionUpdate,
)
from app.web.params import RowId
from app.web.routing import Router
from app.web.templating import render

router = Router(prefix="/studio", tags=["pages"], include_in_schema=False)

Editor = Annotated[Principal, Depends(require_roles(*service.COURSE_EDITORS))]
RunManager = Annotated[Principal, Depends(require_roles(*service.RUN_MANAGERS))]
Staff = Annotated[Principal, Depends(require_roles(*service.STAFF))]
FormText = Annotated[str | None, Form()]
Direction = Annotated[Literal["up", "down"], Query(alias="dir")]
CodeList = Annotated[list[str] | None, Form()]

PER_PAGE = 50
# Kinds the builder's form offers; quizzes have their own builder (api-v1 /sections/{id}/quizzes).
FORM_KINDS = (
    ActivityKind.VIDEO,
    ActivityKind.DOCUMENT,
    ActivityKind.PAGE,
    ActivityKind.FILE,
    ActivityKind.LINK,
    ActivityKind.SCORM,
)
KIND_ICONS = {
    "video": "🎬", "document": "📄", "page": "📝", "file": "📎", "link": "🔗", "scorm": "📦",
    "quiz": "❓",
}  # fmt: skip
MAX_ENROL_ROWS = 20_000  # EnrolRequest.nips accepts at most this many
NIP_HEADERS = frozenset({"nip", "nip baru", "no nip", "nomor nip", "nomor induk pegawai"})
_NIP_DIGITS = re.compile(r"^[0-9]{18}$")
_SPLIT_LIST = re.compile(r"[\n\r,;]+")


# --- labels and messages ------------------------------------------------------------------------


def labels() -> dict[str, dict[str, str]]:
    """Display names of the stored vocabularies, in the request's language."""
    return {
        "status": {
            CourseStatus.DRAFT: _("Draf"),
            CourseStatus.PUBLISHED: _("Terbit"),
            CourseStatus.ARCHIVED: _("Arsip"),
        },
        "kind": {
            ActivityKind.VIDEO: _("Video"),
            ActivityKind.DOCUMENT: _("Dokumen"),
            ActivityKind.PAGE: _("Halaman"),
            ActivityKind.FILE: _("Berkas"),
            ActivityKind.LINK: _("Tautan"),
            ActivityKind.SCORM: _("Paket SCORM"),
            ActivityKind.QUIZ: _("Kuis"),
        },
        "category": {
            Category.MANAJERIAL: _("Manajerial"),
            Category.SOSIAL_KULTURAL: _("Sosial kultural"),
            Category.TEKNIS: _("Teknis"),
        },
        "mode": {
            LearningMode.E_LEARNING: _("E-learning"),
            LearningMode.BLENDED: _("Blended"),
            LearningMode.KLASIKAL: _("Klasikal"),
        },
        "funding": {
            FundingSource.APBD_KABUPATEN: _("APBD Kabupaten"),
            FundingSource.APBD_PROVINSI: _("APBD Provinsi"),
            FundingSource.APBN: _("APBN"),
            FundingSource.NON_ANGGARAN: _("Non-anggaran"),
        },
        "enrolment": {
            EnrolmentStatus.ACTIVE: _("Aktif"),
            EnrolmentStatus.WITHDRAWN: _("Dikeluarkan"),
            EnrolmentStatus.COMPLETED: _("Selesai"),
            EnrolmentStatus.WAITLISTED: _("Daftar tunggu"),
        },
    }


def _notice(key: str | None) -> str | None:
    """The success message a redirect asked for; only known keys, so no text comes from the URL."""
    messages = {
        "created": _("Kursus dibuat. Tambahkan bagian dan materinya."),
        "saved": _("Perubahan disimpan."),
        "published": _("Kursus diterbitkan; peserta sudah dapat melihatnya."),
        "archived": _("Kursus diarsipkan."),
        "section_added": _("Bagian ditambahkan."),
        "activity_added": _("Aktivitas ditambahkan."),
        "moved": _("Urutan diubah."),
        "hidden": _("Aktivitas disembunyikan dari peserta."),
        "shown": _("Aktivitas ditampilkan lagi untuk peserta."),
        "deleted": _("Aktivitas dihapus."),
        "run_created": _("Angkatan dibuat. Daftarkan pesertanya di bawah."),
        "withdrawn": _("Peserta dikeluarkan dari angkatan; riwayatnya tetap tersimpan."),
        "activity_saved": _("Aktivitas disimpan."),
        "file_replaced": _("Berkas diganti. Kemajuan peserta tetap tersimpan."),
        "section_renamed": _("Judul bagian diubah."),
        "section_deleted": _("Bagian dihapus."),
        "run_saved": _("Perubahan angkatan disimpan."),
        "staff_added": _("Pengajar ditambahkan."),
        "staff_saved": _("Peran pengajar disimpan."),
        "staff_removed": _("Pengajar dihapus dari angkatan."),
        "promoted": _("Peserta dinaikkan dari daftar tunggu."),
        "waitlist_removed": _("Peserta dihapus dari daftar tunggu."),
    }
    return messages.get(key or "")


def pydantic_message(err: ErrorDetails) -> str:
    """Indonesian text for the schema errors a form can produce (Pydantic's own are English)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return _("Wajib diisi.")
    if kind == "string_too_short":
        return _("Minimal %(n)s karakter.") % {"n": ctx.get("min_length")}
    if kind == "string_too_long":
        return _("Maksimal %(n)s karakter.") % {"n": ctx.get("max_length")}
    if kind == "string_pattern_mismatch":
        return _("Hanya huruf, angka, titik, garis bawah, dan tanda hubung.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Isi dengan bilangan bulat.")
    if kind == "greater_than_equal":
        return _("Minimal %(n)s.") % {"n": ctx.get("ge")}
    if kind == "less_than_equal":
        return _("Maksimal %(n)s.") % {"n": ctx.get("le")}
    if kind.startswith("date_"):
        return _("Tanggal tidak sah.")
    if kind in ("enum", "literal_error"):
        return _("Pilih salah satu pilihan yang tersedia.")
    if kind == "too_long":
        return _("Terlalu banyak isian.")
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return common_message(err)


def _form_error(exc: LMSError | ValidationError) -> tuple[str, dict[str, str], int]:
    """Page message, per-field messages and HTTP status for a domain or schema error."""
    if isinstance(exc, ValidationError):
        fields: dict[str, str] = {}
        for err in exc.errors():
            message = pydantic_message(err)
            name = str(err["loc"][0]) if err["loc"] else ""
            if not name:  # a model validator says "field: message" (see RunCreate)
                name, sep, rest = message.partition(": ")
                name, message = (name, rest) if sep and " " not in name else ("", message)
            if name == "competency_levels":  # typed in the competencies field as code:level
                name = "competencies"
            fields.setdefault(name or "__all__", message)
        general = fields.pop("__all__", None)
        return general or _("Periksa kembali isian yang ditandai."), fields, 422
    errors = getattr(exc, "errors", None) or []
    fields = {e["field"]: e["message"] for e in errors if e.get("field")}
    if exc.code == "duplicate_course":
        fields["code"] = exc.detail
    return exc.detail, fields, exc.status_code


def _present(values: dict[str, str | None]) -> dict[str, str]:
    """Form values with blanks dropped, so optional fields stay unset and required ones 'missing'."""
    return {k: v.strip() for k, v in values.items() if v is not None and v.strip()}


def _codes(text: str | None) -> list[str]:
    """Competency tags typed comma-separated (also ';' or new lines), each `code` or
    `code:level` (the target level); the codes only."""
    return [c.split(":", 1)[0].strip() for c in re.split(r"[,;\n]", text or "") if c.strip()]


def _levels(text: str | None) -> dict[str, int | str]:
    """The target levels of the `code:level` tags (a non-number is left for the schema to
    refuse with its message)."""
    levels: dict[str, int | str] = {}
    for item in re.split(r"[,;\n]", text or ""):
        code, _sep, level = item.partition(":")
        if code.strip() and level.strip():
            number = ascii_int(level, minimum=0, maximum=1000)
            levels[code.strip()] = number if number is not None else level.strip()
    return levels


EMPTY_COMPETENCY_ROWS = 2  # blank pickers under the chosen ones (more after saving)


def _picked(
    codes: list[str] | None, levels: list[str] | None
) -> tuple[list[str], dict[str, int | str]]:
    """The competencies chosen in the picker rows (a select of the catalog and a level select
    per row), as codes and target levels; blank rows are ignored."""
    chosen: list[str] = []
    targets: dict[str, int | str] = {}
    for i, code in enumerate(codes or []):
        code = code.strip()
        if not code or code in chosen:
            continue
        chosen.append(code)
        level = (levels or [])[i].strip() if i < len(levels or []) else ""
        if level:
            number = ascii_int(level, minimum=0, maximum=1000)
            targets[code] = number if number is not None else level
    return chosen, targets


def _rows(codes: list[str], levels: Mapping[str, int | str | None]) -> list[dict[str, str]]:
    rows = [{"code": c, "level": str(levels.get(c) or "")} for c in codes]
    return rows + [{"code": "", "level": ""}] * EMPTY_COMPETENCY_ROWS


def _competency_choices(db: Session) -> dict[str, Any]:
    """The catalog for the competency picker: options grouped by competency group, the level
    options, and code -> name for showing chosen tags."""
    from app.competency import service as competency_service

    catalog = competency_service.list_competencies(db)
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in catalog:
        groups.setdefault(c.group, []).append((c.code, c.name))
    top = max((c.max_level for c in catalog), default=5)
    group_names = dict(competency_service.group_choices())
    return {
        "competency_groups": [(group_names.get(g, g), items) for g, items in groups.items()],
        "competency_levels": [str(n) for n in range(1, top + 1)],
        "competency_names": {c.code: c.name for c in catalog},
    }


def _checked(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "on", "yes", "ya")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _choices() -> dict[str, Any]:
    """Labels and (value, label) options for the selects of every studio page."""
    names = labels()
    return {
        "labels": names,
        "kinds": [k.value for k in FORM_KINDS],
        "kind_icons": KIND_ICONS,
        "kind_options": [(k.value, names["kind"][k]) for k in FORM_KINDS],
        "category_options": [(c.value, names["category"][c]) for c in Category],
        "mode_options": [(m.value, names["mode"][m]) for m in LearningMode],
        "funding_options": [(f.value, names["funding"][f]) for f in FundingSource],
        "delivery_options": list(delivery_labels().items()),
    }


# --- course list and creation -------------------------------------------------------------------


def _course_list(
    request: Request, db: Session, principal: Principal, *, q: str = "", page: int = 1,
    values: dict[str, Any] | None = None, error: str | None = None,
    field_errors: dict[str, str] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    page = max(page, 1)
    total, courses = service.catalog(
        db, principal, q=q or None, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    return render(
        request,
        "studio/courses.html",
        {
            "courses": courses, "total": total, "q": q, "page": page,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "can_edit": principal.has_any(*service.COURSE_EDITORS),
            "can_run": principal.has_any(*service.RUN_MANAGERS),
            "values": values or {"category": Category.TEKNIS.value, "jp": "2",
                                 "competency_rows": _rows([], {})},
            "error": error, "field_errors": field_errors or {}, **_choices(),
            **(_competency_choices(db) if principal.has_any(*service.COURSE_EDITORS) else {}),
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("")
def courses_page(
    request: Request, db: SessionDep, principal: Staff, q: str = "", page: int = 1
) -> Response:
    """Every course (drafts, published, archived); editors get the builder, officers the runs."""
    return _course_list(request, db, principal, q=q.strip(), page=page)


@router.post("/courses")
def create_course_page(
    request: Request, db: SessionDep, principal: Editor,
    code: FormText = None, title: FormText = None, summary: FormText = None,
    description: FormText = None, jp: FormText = None, category: FormText = None,
    learning_mode: FormText = None, competencies: FormText = None,
    competency_code: CodeList = None, competency_level: CodeList = None,
) -> Response:  # fmt: skip
    raw: dict[str, Any] = {
        "code": code, "title": title, "summary": summary, "description": description, "jp": jp,
        "category": category, "learning_mode": learning_mode,
    }  # fmt: skip
    codes, levels = _tags_from_form(competencies, competency_code, competency_level)
    try:
        data = CourseCreate.model_validate(
            {**_present(raw), "competencies": codes, "competency_levels": levels}
        )
        course = service.create_course(db, data, principal)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields, status = _form_error(exc)
        raw["competency_rows"] = _rows(codes, levels)
        return _course_list(request, db, principal, values=raw, error=message,
                            field_errors=fields, status_code=status)  # fmt: skip
    return _redirect(f"/studio/courses/{course.id}?notice=created")


# --- course builder -----------------------------------------------------------------------------


def _tags_from_form(
    text: str | None, codes: list[str] | None, levels: list[str] | None
) -> tuple[list[str], dict[str, int | str]]:
    """Competencies from the picker rows; `code:level` text (older forms, scripts) still works."""
    if text is not None and text.strip():
        return _codes(text), _levels(text)
    return _picked(codes, levels)


def _course_values(course: CourseRead) -> dict[str, Any]:
    return {
        "title": course.title, "summary": course.summary or "",
        "description": course.description or "", "jp": str(course.jp),
        "category": course.category, "learning_mode": course.learning_mode,
        "competency_rows": _rows(course.competencies, dict(course.competency_levels)),
    }  # fmt: skip


_NO_VALUES = frozenset({"added", "deleted", "moved", "body", "description"})


def present_edits(
    edits: Iterable[CourseEditRead], competency_names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Edit log entries as a person reads them: field names, yes/no, local times, labels and
    competency names instead of stored values."""
    names, fields = labels(), edit_labels()

    def show(field: str, value: str | None) -> str:
        if value in (None, ""):
            return "—"
        assert value is not None
        if value in ("true", "false"):
            return _("ya") if value == "true" else _("tidak")
        if field in ("available_from", "available_until"):
            return i18n.local_datetime(dt.datetime.fromisoformat(value))
        if field == "category":
            return names["category"].get(value, value)
        if field == "learning_mode":
            return names["mode"].get(value, value)
        if field == "competencies":
            parts = []
            for tag in value.split(", "):
                code, _sep, level = tag.partition(":")
                name = competency_names.get(code, code)
                parts.append(f"{name} ({_('level %(n)s') % {'n': level}})" if level else name)
            return ", ".join(parts)
        if field == "duration_minutes":
            return _("%(n)s menit") % {"n": value}
        return value

    out = []
    for e in edits:
        what = fields.get(e.field, e.field)
        if e.field == "activity_deleted":
            what = f"{what}: {e.old_value}"
        out.append(
            {
                "at": e.at, "user_name": e.user_name, "target_title": e.target_title,
                "what": what, "show_values": e.field not in _NO_VALUES
                and e.field != "activity_deleted",
                "old": show(e.field, e.old_value), "new": show(e.field, e.new_value),
            }
        )  # fmt: skip
    return out


def edit_labels() -> dict[str, str]:
    """Names of the fields the edit log records, in the request's language."""
    return {
        "title": _("judul"), "summary": _("ringkasan"), "description": _("deskripsi"),
        "jp": _("JP"), "category": _("kategori"), "learning_mode": _("moda"),
        "competencies": _("kompetensi"), "section_order": _("urutan bagian"),
        "body": _("isi halaman"), "url": _("alamat tautan"), "duration_minutes": _("durasi"),
        "required": _("wajib"), "hidden": _("tersembunyi"),
        "locked_until_previous": _("terkunci sampai sebelumnya selesai"),
        "min_view_seconds": _("waktu baca minimal"), "available_from": _("tersedia mulai"),
        "available_until": _("tersedia sampai"), "file": _("berkas"),
        "package": _("paket SCORM"), "added": _("ditambahkan"), "deleted": _("dihapus"),
        "activity_deleted": _("aktivitas dihapus"), "moved": _("dipindah"),
    }  # fmt: skip


def edit_page(
    request: Request, db: Session, principal: Principal, course_id: int, *,
    notice: str | None = None, error: str | None = None, details: dict[str, Any] | None = None,
    field_errors: dict[str, str] | None = None, section_form: dict[str, Any] | None = None,
    activity_form: dict[str, Any] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    """The builder page; a failed form comes back open with its values and field messages."""
    course = service.course_detail(db, course_id, principal)
    return render(
        request,
        "studio/course_edit.html",
        {
            "course": course, "notice": _notice(notice), "error": error,
            **(choices := _competency_choices(db)),
            "minutes_per_jp": get_settings().minutes_per_jp,
            "edits": present_edits(service.course_edits(db, course.id, limit=50),
                                   choices["competency_names"]),
            "details": details or _course_values(course),
            "details_errors": field_errors if details is not None else {},
            "details_open": details is not None,
            "section_form": section_form or {"values": {}, "field_errors": {}},
            "activity_form": activity_form or {"section_id": None, "values": {},
                                               "field_errors": {}},
            "can_run": principal.has_any(*service.RUN_MANAGERS), **_choices(),
            "breadcrumbs": [(_("Studio"), "/studio"), (course.title, None)],
        },
        status_code=status_code,
    )  # fmt: skip


def _failed(
    request: Request, db: Session, principal: Principal, course_id: int, exc: LMSError
) -> Response:
    """Roll back and show the builder with the service's message and its status."""
    db.rollback()
    message, _fields, status = _form_error(exc)
    return edit_page(request, db, principal, course_id, error=message, status_code=status)


@router.get("/courses/{course_id}")
def courseedit_page(
    request: Request, course_id: RowId, db: SessionDep, principal: Editor, notice: str | None = None
) -> Response:
    return edit_page(request, db, principal, course_id, notice=notice)


@router.post("/courses/{course_id}")
def update_course_page(
    request: Request, course_id: RowId, db: SessionDep, principal: Editor,
    title: FormText = None, summary: FormText = None, description: FormText = None,
    jp: FormText = None, category: FormText = None, learning_mode: FormText = None,
    competencies: FormText = None, competency_code: CodeList = None,
    competency_level: CodeList = None,
) -> Response:  # fmt: skip
    raw: dict[str, Any] = {
        "title": title, "summary": summary, "description": description, "jp": jp,
        "category": category, "learning_mode": learning_mode,
    }  # fmt: skip
    codes, levels = _tags_from_form(competencies, competency_code, competency_level)
    course = service.get_course(db, course_id, principal)
    try:
        # Summary and description may be emptied on purpose; the other fields are required here.
        data = CourseUpdate.model_validate(
            {
                **_present(raw),
                "summary": (summary or "").strip(),
                "description": description or "",
                "competencies": codes,
                "competency_levels": levels,
            }
        )
        for name in ("title", "jp", "category"):
            if getattr(data, name) is None:
                raise ValidationFailed(_("Wajib diisi."), field=name)
        service.update_course(db, course, data, principal)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields, status = _form_error(exc)
        raw["competency_rows"] = _rows(codes, levels)
        return edit_page(request, db, principal, course_id, error=message, details=raw,
                          field_errors=fields, status_code=status)  # fmt: skip
    return _redirect(f"/studio/courses/{course_id}?notice=saved")


@router.post("/courses/{course_id}/publish")
def publish_page(request: Request, course_id: RowId, db: SessionDep, principal: Editor) -> Response:
    """An empty course is refused with the service's message (409)."""
    try:
        service.publish(db, service.get_course(db, course_id, principal))
    except LMSError as exc:
        return _failed(request, db, principal, course_id, exc)
    return _redirect(f"/studio/courses/{course_id}?notice=published")


@router.post("/courses/{course_id}/archive")
def archive_page(request: Request, course_id: RowId, db: SessionDep, principal: Editor) -> Response:
    try:
        service.archive(db, service.get_course(db, course_id, principal))
    except LMSError as exc:
        return _failed(request, db, principal, course_id, exc)
    return _redirect(f"/studio/courses/{course_id}?notice=archived")


@router.post("/courses/{course_id}/sections")
def add_section_page(
    request: Request, course_id: RowId, db: SessionDep, principal: Editor, title: FormText = None
) -> Response:
    course = service.get_course(db, course_id, principal)
    try:
        data = SectionCreate.model_validate(_present({"title": title}))
        section = service.add_section(db, course, data.title)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields, status = _form_error(exc)
        form = {"values": {"title": title or ""}, "field_errors": fields}
        return edit_page(request, db, principal, course_id, error=message, section_form=form,
                          status_code=status)  # fmt: skip
    return _redirect(f"/studio/courses/{course_id}?notice=section_added#section-{section.id}")


@router.post("/sections/{section_id}/move")
def move_section_page(
    section_id: RowId, db: SessionDep, principal: Editor, direction: Direction
) -> Response:
    section = service.get_section(db, section_id)
    service.move_section(db, section, -1 if direction == "up" else 1, principal)
    return _redirect(f"/studio/courses/{section.course_id}?notice=moved#section-{section.id}")


@router.post("/sections/{section_id}/activities")
def add_activity_page(
    request: Request, section_id: RowId, db: SessionDep, settings: SettingsDep, principal: Editor,
    kind: FormText = None, title: FormText = None, duration_minutes: FormText = None,
    required: FormText = None, locked_until_previous: FormText = None, body: FormText = None,
    url: FormText = None, file_id: FormText = None, file_name: FormText = None,
    min_view_seconds: FormText = None, file: Annotated[UploadFile | None, File()] = None,
) -> Response:  # fmt: skip
    """Multipart form: a page's markdown, a link's URL, or a file (413 too large, 415 wrong type).

    `file_id` is set instead of `file` when the browser already uploaded the bytes straight to S3
    (static/js/uploader.js, the `data-uploader` hook in the template).
    """
    section = service.get_section(db, section_id)
    is_required, is_locked = _checked(required), _checked(locked_until_previous)
    values = {
        "kind": kind or "", "title": title or "", "duration_minutes": duration_minutes or "0",
        "required": is_required, "locked_until_previous": is_locked,
        "body": body or "", "url": url or "", "min_view_seconds": min_view_seconds or "0",
    }  # fmt: skip
    try:
        if kind not in {k.value for k in FORM_KINDS}:
            raise ValidationFailed(_("Pilih jenis aktivitas."), field="kind")
        try:
            minutes = strict_int(duration_minutes or "0")
        except ValueError:
            raise ValidationFailed(
                _("Isi dengan bilangan bulat."), field="duration_minutes"
            ) from None
        try:
            view_seconds = strict_int(min_view_seconds or "0")
        except ValueError:
            raise ValidationFailed(
                _("Isi dengan bilangan bulat."), field="min_view_seconds"
            ) from None
        if not 0 <= view_seconds <= 86_400:
            raise ValidationFailed(_("Isi antara 0 dan 86400 detik."), field="min_view_seconds")
        try:
            stored_id = (
                strict_int(file_id, maximum=MAX_ROW_ID) if file_id and file_id.strip() else None
            )
        except ValueError:
            raise ValidationFailed(_("Berkas unggahan tidak ditemukan."), field="file") from None
        content.create_activity(
            db, section, settings, kind=ActivityKind(kind), title=title or "",
            duration_minutes=minutes, required=is_required, locked_until_previous=is_locked,
            body=body, url=url, min_view_seconds=view_seconds,
            file_id=stored_id, file_name=file_name, upload=file, by=principal,
        )  # fmt: skip
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields, status = _form_error(exc)
        if "file_id" in fields:
            fields["file"] = fields.pop("file_id")
        form = {"section_id": section_id, "values": values, "field_errors": fields}
        return edit_page(request, db, principal, section.course_id, error=message,
                          activity_form=form, status_code=status)  # fmt: skip
    return _redirect(
        f"/studio/courses/{section.course_id}?notice=activity_added#section-{section.id}"
    )


@router.post("/activities/{activity_id}/move")
def move_activity_page(
    activity_id: RowId, db: SessionDep, principal: Editor, direction: Direction
) -> Response:
    activity = service.get_activity(db, activity_id)
    service.move_activity(db, activity, -1 if direction == "up" else 1, principal)
    return _redirect(f"/studio/courses/{activity.course_id}?notice=moved#activity-{activity.id}")


@router.post("/activities/{activity_id}/hide")
def hide_activity_page(activity_id: RowId, db: SessionDep, principal: Editor) -> Response:
    activity = service.get_activity(db, activity_id)
    service.set_hidden(db, activity, True, principal)
    return _redirect(f"/studio/courses/{activity.course_id}?notice=hidden#activity-{activity.id}")


@router.post("/activities/{activity_id}/show")
def show_activity_page(activity_id: RowId, db: SessionDep, principal: Editor) -> Response:
    activity = service.get_activity(db, activity_id)
    service.set_hidden(db, activity, False, principal)
    return _redirect(f"/studio/courses/{activity.course_id}?notice=shown#activity-{activity.id}")


@router.post("/activities/{activity_id}/delete")
def delete_activity_page(
    request: Request, activity_id: RowId, db: SessionDep, principal: Editor
) -> Response:
    """Refused (409, the service's message) once a learner has progress in it."""
    activity = service.get_activity(db, activity_id)
    course_id, section_id = activity.course_id, activity.section_id
    try:
        service.delete_activity(db, activity, principal)
    except LMSError as exc:
        return _failed(request, db, principal, course_id, exc)
    return _redirect(f"/studio/courses/{course_id}?notice=deleted#section-{section_id}")


# --- editing sections and activities ------------------------------------------------------------


@router.post("/sections/{section_id}/rename")
def rename_section_page(
    request: Request, section_id: RowId, db: SessionDep, principal: Editor, title: FormText = None
) -> Response:
    section = service.get_section(db, section_id)
    course_id = section.course_id
    try:
        data = SectionUpdate.model_validate(_present({"title": title}))
        service.rename_section(db, section, data.title, principal)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, _fields, status = _form_error(exc)
        return edit_page(request, db, principal, course_id, error=message, status_code=status)
    return _redirect(f"/studio/courses/{course_id}?notice=section_renamed#section-{section_id}")


def _section_delete_page(
    request: Request, db: Session, principal: Principal, section_id: int, status_code: int = 200
) -> Response:
    section = service.get_section(db, section_id)
    course = service.course_detail(db, section.course_id, principal)
    return render(
        request,
        "studio/section_delete.html",
        {"course": course, "loss": service.section_deletion(db, section), **_choices()},
        status_code=status_code,
    )


@router.get("/sections/{section_id}/delete")
def section_delete_page(
    request: Request, section_id: RowId, db: SessionDep, principal: Editor
) -> Response:
    """The confirmation: which activities go and how many learners lose their progress."""
    return _section_delete_page(request, db, principal, section_id)


@router.post("/sections/{section_id}/delete")
def delete_section_page(
    request: Request, section_id: RowId, db: SessionDep, principal: Editor, confirm: FormText = None
) -> Response:
    section = service.get_section(db, section_id)
    course_id = section.course_id
    try:
        service.delete_section(db, section, confirm=_checked(confirm), by=principal)
    except LMSError:
        db.rollback()
        return _section_delete_page(request, db, principal, section_id, status_code=409)
    return _redirect(f"/studio/courses/{course_id}?notice=section_deleted")


def _local_input(value: dt.datetime | None) -> str:
    """A stored UTC moment as the value of a datetime-local input (institution time)."""
    local = clock.to_local(value)
    return local.strftime("%Y-%m-%dT%H:%M") if local else ""


def _parse_local(text: str | None, field: str) -> dt.datetime | None:
    if not (text or "").strip():
        return None
    try:
        naive = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(_("Tanggal dan jam tidak sah."), field=field) from None
    return clock.from_local(naive.replace(tzinfo=None))


def _activity_values(a: ActivityRead) -> dict[str, Any]:
    return {
        "title": a.title, "body": a.body or "", "url": a.url or "",
        "duration_minutes": str(a.duration_minutes) if a.duration_manual else "",
        "required": a.required, "hidden": a.hidden,
        "locked_until_previous": a.locked_until_previous,
        "min_view_seconds": str(a.min_view_seconds),
        "available_from": _local_input(a.available_from),
        "available_until": _local_input(a.available_until),
    }  # fmt: skip


def _activity_page(
    request: Request, db: Session, principal: Principal, activity_id: int, *,
    values: dict[str, Any] | None = None, error: str | None = None,
    field_errors: dict[str, str] | None = None, notice: str | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    activity = service.get_activity(db, activity_id)
    course = service.course_detail(db, activity.course_id, principal)
    item = service.activity_read(activity, with_body=True)
    section = next(s for s in course.sections if any(a.id == item.id for a in s.activities))
    return render(
        request,
        "studio/activity_edit.html",
        {
            "course": course, "section": section, "a": item,
            "values": values or _activity_values(item), "error": error,
            "field_errors": field_errors or {}, "notice": _notice(notice),
            "edits": present_edits([e for e in service.course_edits(db, course.id, limit=200)
                                    if e.target == "activity" and e.target_id == item.id][:20],
                                   {}),
            **_choices(),
            "breadcrumbs": [(_("Studio"), "/studio"), (course.title, f"/studio/courses/{course.id}"),
                            (item.title, None)],
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("/activities/{activity_id}/edit")
def activity_edit_page(
    request: Request, activity_id: RowId, db: SessionDep, principal: Editor,
    notice: str | None = None,
) -> Response:  # fmt: skip
    return _activity_page(request, db, principal, activity_id, notice=notice)


@router.post("/activities/{activity_id}/edit")
def update_activity_page(
    request: Request, activity_id: RowId, db: SessionDep, principal: Editor,
    title: FormText = None, body: FormText = None, url: FormText = None,
    duration_minutes: FormText = None, required: FormText = None, hidden: FormText = None,
    locked_until_previous: FormText = None, min_view_seconds: FormText = None,
    available_from: FormText = None, available_until: FormText = None,
) -> Response:  # fmt: skip
    """Save the activity's fields; an empty duration follows the media again."""
    activity = service.get_activity(db, activity_id)
    values: dict[str, Any] = {
        "title": title or "", "body": body or "", "url": url or "",
        "duration_minutes": duration_minutes or "", "required": _checked(required),
        "hidden": _checked(hidden), "locked_until_previous": _checked(locked_until_previous),
        "min_view_seconds": min_view_seconds or "0", "available_from": available_from or "",
        "available_until": available_until or "",
    }  # fmt: skip
    try:
        fields: dict[str, Any] = {
            "title": title or "", "duration_minutes": (duration_minutes or "").strip() or None,
            "required": _checked(required), "hidden": _checked(hidden),
            "locked_until_previous": _checked(locked_until_previous),
            "available_from": _parse_local(available_from, "available_from"),
            "available_until": _parse_local(available_until, "available_until"),
        }  # fmt: skip
        if activity.kind == ActivityKind.PAGE:
            fields["body"] = body or ""
        if activity.kind == ActivityKind.LINK:
            fields["url"] = url or ""
        if activity.kind in (ActivityKind.PAGE, ActivityKind.DOCUMENT):
            fields["min_view_seconds"] = (min_view_seconds or "0").strip() or "0"
        data = ActivityUpdate.model_validate(fields)
        service.update_activity(db, activity, data, principal)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, errors, status = _form_error(exc)
        return _activity_page(request, db, principal, activity_id, values=values,
                              error=message, field_errors=errors, status_code=status)  # fmt: skip
    return _redirect(f"/studio/activities/{activity_id}/edit?notice=activity_saved")


@router.post("/activities/{activity_id}/file")
def replace_file_page(
    request: Request, activity_id: RowId, db: SessionDep, settings: SettingsDep,
    principal: Editor, file_id: FormText = None, file_name: FormText = None,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:  # fmt: skip
    """New bytes for the activity (checked like a new upload); progress stays."""
    activity = service.get_activity(db, activity_id)
    try:
        try:
            stored_id = (
                strict_int(file_id, maximum=MAX_ROW_ID) if file_id and file_id.strip() else None
            )
        except ValueError:
            raise ValidationFailed(_("Berkas unggahan tidak ditemukan."), field="file") from None
        upload = file if file is not None and file.filename else None
        content.replace_content(
            db, activity, settings, upload=upload, file_id=stored_id, file_name=file_name,
            by=principal,
        )  # fmt: skip
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, errors, status = _form_error(exc)
        if "file_id" in errors:
            errors["file"] = errors.pop("file_id")
        return _activity_page(request, db, principal, activity_id, error=message,
                              field_errors=errors, status_code=status)  # fmt: skip
    return _redirect(f"/studio/activities/{activity_id}/edit?notice=file_replaced")


# --- runs (angkatan) ----------------------------------------------------------------------------


def _runs_page(
    request: Request, db: Session, principal: Principal, course_id: int, *,
    values: dict[str, Any] | None = None, error: str | None = None,
    field_errors: dict[str, str] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    course = service.course_detail(db, course_id, principal)
    return render(
        request,
        "studio/runs.html",
        {
            "course": course, "values": values or {"funding_source": "apbd_kabupaten",
                                                   "self_enrol": True, "waitlist": True,
                                                   "delivery_mode": "online"},
            "error": error, "field_errors": field_errors or {},
            "can_edit": principal.has_any(*service.COURSE_EDITORS), **_choices(),
            "breadcrumbs": [(_("Studio"), "/studio"), (course.title, None)],
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("/courses/{course_id}/runs")
def runs_page(request: Request, course_id: RowId, db: SessionDep, principal: RunManager) -> Response:
    return _runs_page(request, db, principal, course_id)


@router.post("/courses/{course_id}/runs")
def create_run_page(
    request: Request, course_id: RowId, db: SessionDep, principal: RunManager,
    name: FormText = None, starts_on: FormText = None, ends_on: FormText = None,
    enrol_opens_on: FormText = None, enrol_closes_on: FormText = None,
    capacity: FormText = None, funding_source: FormText = None, organiser: FormText = None,
    self_enrol: FormText = None, instructors: FormText = None, delivery_mode: FormText = None,
    waitlist: FormText = None,
) -> Response:  # fmt: skip
    raw: dict[str, Any] = {
        "name": name, "starts_on": starts_on, "ends_on": ends_on,
        "enrol_opens_on": enrol_opens_on, "enrol_closes_on": enrol_closes_on,
        "capacity": capacity, "funding_source": funding_source, "organiser": organiser,
        "instructors": instructors, "delivery_mode": delivery_mode,
    }  # fmt: skip
    course = service.get_course(db, course_id, principal)
    names = [line.strip() for line in (instructors or "").splitlines() if line.strip()]
    try:
        data = RunCreate.model_validate(
            {**_present(raw), "self_enrol": _checked(self_enrol), "instructors": names,
             "waitlist": _checked(waitlist)}
        )  # fmt: skip
        run = service.create_run(db, course, data, principal)
    except (LMSError, ValidationError) as exc:
        db.rollback()
        message, fields, status = _form_error(exc)
        return _runs_page(request, db, principal, course_id,
                          values={**raw, "self_enrol": _checked(self_enrol),
                                  "waitlist": _checked(waitlist)}, error=message,
                          field_errors=fields, status_code=status)  # fmt: skip
    return _redirect(f"/studio/runs/{run.id}?notice=run_created")


# --- enrolment ----------------------------------------------------------------------------------


@dataclass(slots=True)
class SkipRow:
    """One line of the enrolment report: where it came from (file row), which NIP, and why."""

    reason: str
    nip: str | None = None
    row: int | None = None


@dataclass(slots=True)
class EnrolReport:
    enrolled: int = 0
    skipped: list[SkipRow] = field(default_factory=list)
    source: str = ""  # "nips", "opd" or "file"
    waitlisted: int = 0  # put on the waiting list (the run was full)
    filename: str | None = None


def _nip_problem(nip: str) -> str | None:
    """Why a typed NIP cannot be anyone's (NIP rules, e.g. wrong length), else None."""
    if _NIP_DIGITS.match(nip):
        return None
    try:
        parse_nip(nip)
    except NIPError as exc:
        return str(exc)
    return _("NIP tidak sah.")


def split_nips(text: str) -> list[str]:
    """NIPs typed one per line or separated by commas or spaces.

    A NIP written with spaces ('19850315 201001 1 001') stays one NIP: a piece between commas or
    line breaks is split at spaces only when it is not a single NIP as a whole.
    """
    found: list[str] = []
    for piece in _SPLIT_LIST.split(text):
        if not piece.strip():
            continue
        whole = normalise_nip(piece)
        found.extend([whole] if _NIP_DIGITS.match(whole) else piece.split())
    return found


def header_key(value: Any) -> str:
    return " ".join(str(value or "").replace("_", " ").replace(".", " ").lower().split())


def read_nip_file(data: IO[bytes]) -> tuple[list[tuple[int, str]], list[SkipRow]]:
    """(row number, NIP) for each row of a CSV/XLSX file with a NIP column, and rows unusable as
    they stand. Rows are numbered as the spreadsheet shows them (the header is row 1).

    A file without a header whose first cell is already a NIP is read from its first column.
    """
    rows = iter(enumerate(read_table(data, error_code="unsupported_enrol_format"), start=1))
    first = next(rows, None)
    if first is None:
        raise ValidationFailed(_("Berkas kosong."), field="file", code="empty_file")
    header = first[1]
    column = next((i for i, c in enumerate(header) if header_key(c) in NIP_HEADERS), None)
    pending: Iterable[tuple[int, list[Any]]] = rows
    if column is None:
        if header and _NIP_DIGITS.match(normalise_nip(cell_text(header[0]))):
            column, pending = 0, [first, *rows]
        else:
            raise ValidationFailed(
                _("Kolom NIP tidak ditemukan. Baris pertama berkas harus berisi judul kolom NIP."),
                field="file",
                code="missing_columns",
            )
    found: list[tuple[int, str]] = []
    problems: list[SkipRow] = []
    for number, cells in pending:
        value = cells[column] if column < len(cells) else None
        text = cell_text(value)
        if not text:
            if any(cell_text(c) for c in cells):
                problems.append(SkipRow(row=number, reason=_("NIP kosong.")))
            continue
        if isinstance(value, float) and abs(value) >= 1e15:
            # Excel keeps 15 significant digits: an 18-digit NIP typed as a number lost its tail.
            problems.append(
                SkipRow(row=number, nip=text, reason=_(
                    "NIP tersimpan sebagai angka sehingga digit terakhirnya hilang. Format kolom "
                    "NIP sebagai Teks lalu ketik ulang."
                ))
            )  # fmt: skip
            continue
        found.append((number, normalise_nip(text)))
        if len(found) > MAX_ENROL_ROWS:
            raise ValidationFailed(
                _("Berkas melebihi %(n)s baris; bagi menjadi beberapa berkas.")
                % {"n": MAX_ENROL_ROWS},
                field="file",
            )
    return found, problems


def enrol_nip_rows(
    db: Session, run: Run, principal: Principal, rows: list[tuple[int | None, str]],
    problems: list[SkipRow],
) -> EnrolReport:  # fmt: skip
    """Check each NIP's form, drop repeats, enrol the rest in one call and map every skip back
    to the row it came from."""
    report = EnrolReport(skipped=list(problems))
    first_row: dict[str, int | None] = {}
    wanted: list[str] = []
    for row, nip in rows:
        if nip in first_row:
            where = first_row[nip]
            reason = (
                _("NIP sama dengan baris %(row)s.") % {"row": where}
                if where is not None
                else _("NIP tercantum lebih dari sekali.")
            )
            report.skipped.append(SkipRow(row=row, nip=nip, reason=reason))
            continue
        first_row[nip] = row
        problem = _nip_problem(nip)
        if problem:
            report.skipped.append(SkipRow(row=row, nip=nip, reason=problem))
        else:
            wanted.append(nip)
    if len(wanted) > MAX_ENROL_ROWS:
        raise ValidationFailed(
            _("Paling banyak %(n)s NIP sekali daftar; bagi menjadi beberapa kali.")
            % {"n": MAX_ENROL_ROWS},
            field="nips",
        )
    if wanted:
        result = service.enrol_many(db, run, EnrolRequest(nips=wanted), principal)
        report.enrolled = len(result.enrolled)
        report.waitlisted = len(result.waitlisted)
        report.skipped += [
            SkipRow(row=first_row.get(s.nip or ""), nip=s.nip, reason=s.reason)
            for s in result.skipped
        ]
    elif not report.skipped:
        raise ValidationFailed(_("Tidak ada NIP yang diisi."), field="nips")
    report.skipped.sort(key=lambda s: (s.row is None, s.row or 0))
    return report


def _from_result(result: EnrolResult, source: str) -> EnrolReport:
    return EnrolReport(
        enrolled=len(result.enrolled),
        waitlisted=len(result.waitlisted),
        skipped=[SkipRow(nip=s.nip, reason=s.reason) for s in result.skipped],
        source=source,
    )


def _run_page(
    request: Request, db: Session, principal: Principal, run_id: int, *,
    notice: str | None = None, report: EnrolReport | None = None, error: str | None = None,
    field_errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
    status_code: int = 200, extra: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    from app.courses import run_pages  # edit form, staff, waiting list, history (issue 16)

    run = service.get_run(db, run_id)
    db.expire(run)  # seats are counted by UPDATE statements; read the current enrolled_count
    course = service.course_detail(db, run.course_id, principal)
    brief = next(r for r in course.runs if r.id == run.id)
    enrolments = service.run_enrolments(db, run)
    active = sum(1 for e in enrolments if e.status == EnrolmentStatus.ACTIVE)
    return render(
        request,
        "studio/run.html",
        {
            "course": course, "run": brief, "enrolments": enrolments, "active_count": active,
            "opds": accounts_service.list_opds(db), "report": report,
            "notice": _notice(notice), "error": error, "field_errors": field_errors or {},
            "values": values or {}, "nip_headers": sorted(NIP_HEADERS), **_choices(),
            "breadcrumbs": [(_("Studio"), "/studio"),
                            (course.title, f"/studio/courses/{course.id}/runs"), (brief.name, None)],
            **run_pages.studio_context(request, db, run), **(extra or {}),
        },
        status_code=status_code,
    )  # fmt: skip


def _enrol_failed(
    request: Request, db: Session, principal: Principal, run_id: int, exc: LMSError,
    values: dict[str, Any],
) -> Response:  # fmt: skip
    db.rollback()
    message, fields, status = _form_error(exc)
    return _run_page(request, db, principal, run_id, error=message, field_errors=fields,
                     values=values, status_code=status)  # fmt: skip


@router.get("/runs/{run_id}")
def run_page(
    request: Request, run_id: RowId, db: SessionDep, principal: RunManager, notice: str | None = None
) -> Response:
    return _run_page(request, db, principal, run_id, notice=notice)


@router.post("/runs/{run_id}/enrol/nips")
def enrol_nips_page(
    request: Request, run_id: RowId, db: SessionDep, principal: RunManager, nips: FormText = None
) -> Response:
    run = service.get_run(db, run_id)
    try:
        rows: list[tuple[int | None, str]] = [(None, n) for n in split_nips(nips or "")]
        report = enrol_nip_rows(db, run, principal, rows, [])
    except LMSError as exc:
        return _enrol_failed(request, db, principal, run_id, exc, {"nips": nips or ""})
    report.source = "nips"
    return _run_page(request, db, principal, run_id, report=report)


@router.post("/runs/{run_id}/enrol/opd")
def enrol_opd_page(
    request: Request, run_id: RowId, db: SessionDep, principal: RunManager, opd_code: FormText = None
) -> Response:
    run = service.get_run(db, run_id)
    try:
        if not (opd_code or "").strip():
            raise ValidationFailed(_("Pilih OPD."), field="opd_code")
        result = service.enrol_many(db, run, EnrolRequest(opd_code=opd_code), principal)
    except LMSError as exc:
        return _enrol_failed(request, db, principal, run_id, exc, {"opd_code": opd_code or ""})
    return _run_page(request, db, principal, run_id, report=_from_result(result, "opd"))


@router.post("/runs/{run_id}/enrol/file")
def enrol_file_page(
    request: Request, run_id: RowId, db: SessionDep, settings: SettingsDep, principal: RunManager,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:  # fmt: skip
    """CSV or XLSX with a NIP column; the report names the spreadsheet row of every skip."""
    run = service.get_run(db, run_id)
    try:
        if file is None:
            raise ValidationFailed(_("Pilih berkas CSV atau XLSX."), field="file")
        if file.size is not None and file.size > settings.max_roster_bytes:
            raise PayloadTooLarge(_("Berkas terlalu besar."), code="file_too_large")
        rows, problems = read_nip_file(file.file)
        numbered: list[tuple[int | None, str]] = list(rows)
        report = enrol_nip_rows(db, run, principal, numbered, problems)
    except LMSError as exc:
        return _enrol_failed(request, db, principal, run_id, exc, {})
    report.source, report.filename = "file", file.filename
    return _run_page(request, db, principal, run_id, report=report)


@router.post("/runs/{run_id}/enrolments/{user_id}/withdraw")
def withdraw_page(
    request: Request, run_id: RowId, user_id: RowId, db: SessionDep, principal: RunManager
) -> Response:
    """The enrolment row stays (status withdrawn) so the history is kept."""
    try:
        service.withdraw(db, service.get_enrolment(db, run_id, user_id))
    except LMSError as exc:
        return _enrol_failed(request, db, principal, run_id, exc, {})
    return _redirect(f"/studio/runs/{run_id}?notice=withdrawn")
