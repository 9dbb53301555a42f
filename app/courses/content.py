"""Course content: turning uploads into activities (files, SCORM packages) and serving them.

Bytes go through `app.storage`; type checks by content live in `filetypes`, streaming in `uploads`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from fastapi import Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.service import Principal
from app.core.config import Settings
from app.core.errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from app.core.i18n import gettext_ as _
from app.courses import repository, scorm, service, uploads
from app.courses.constants import ActivityKind, CompletionRule
from app.courses.models import Activity, Enrolment, ScormPackage, Section
from app.progress import service as progress_service
from app.progress.service import ActivityFacts
from app.storage.service import get_storage
from app.web.delivery import serve_object

FILE_KINDS = (ActivityKind.VIDEO, ActivityKind.DOCUMENT, ActivityKind.FILE)
INLINE_KINDS = (ActivityKind.VIDEO, ActivityKind.DOCUMENT)


def facts(activity: Activity) -> ActivityFacts:
    return ActivityFacts(
        id=activity.id,
        kind=activity.kind,
        completion_rule=activity.completion_rule,
        duration_minutes=activity.duration_minutes,
        min_view_seconds=activity.min_view_seconds or 0,
    )


def import_scorm(session: Session, stream: BinaryIO, settings: Settings) -> ScormPackage:
    """Check the archive completely, then unpack it under its own prefix; all or nothing."""
    info = scorm.inspect_package(stream, settings)
    storage = get_storage(settings)
    stream.seek(0)
    files = scorm.unpack(stream, storage, prefix="scorm", settings=settings)
    try:
        package = ScormPackage(
            sha256=info.sha256,
            version=info.version,
            title=info.title[:255],
            launch_href=info.launch_href,
            mastery_score=info.mastery_score,
            manifest_json=json.dumps(info.manifest_json(), ensure_ascii=False),
            file_count=len(files),
            total_size=sum(f.size for f in files),
        )
        repository.add(session, package)
        repository.add_scorm_files(
            session,
            [
                {
                    "package_id": package.id,
                    "path": f.path,
                    "storage_key": f.storage_key,
                    "size": f.size,
                    "content_type": f.content_type,
                }
                for f in files
            ],
        )
    except BaseException:
        for f in files:  # the database refused: leave nothing in storage either
            storage.delete(f.storage_key)
        raise
    return package


def create_activity(
    session: Session,
    section: Section,
    settings: Settings,
    *,
    kind: ActivityKind,
    title: str,
    duration_minutes: int = 0,
    required: bool = True,
    locked_until_previous: bool = False,
    completion_rule: CompletionRule | None = None,
    body: str | None = None,
    url: str | None = None,
    file_id: int | None = None,
    file_name: str | None = None,
    upload: UploadFile | None = None,
    min_view_seconds: int = 0,
    by: Principal | None = None,
    details: Mapping[str, Any] | None = None,
) -> Activity:
    """Validate the fields first, then store the bytes, then the row (nothing half-written)."""
    data = service.ActivityInput(
        by=by,
        details=details,
        kind=kind,
        title=title,
        duration_minutes=duration_minutes,
        required=required,
        locked_until_previous=locked_until_previous,
        completion_rule=completion_rule,
        body=body,
        url=url,
        min_view_seconds=min_view_seconds,
    )
    if kind in FILE_KINDS:
        if file_id is not None:
            stored = repository.get_file(session, file_id)
            if stored is None:
                raise ValidationFailed("Berkas unggahan tidak ditemukan.", field="file_id")
            data.file_id = stored.id
            data.file_name = (file_name or "").strip() or title
        elif upload is not None:
            stored = uploads.store_stream(
                session, get_storage(settings), upload.file, kind=kind.value, settings=settings
            )
            data.file_id, data.file_name = stored.id, upload.filename or title
    elif kind == ActivityKind.SCORM:
        if upload is None:
            raise ValidationFailed("Aktivitas SCORM memerlukan paket .zip.", field="file")
        data.scorm_package_id = _scorm_from_upload(session, upload, settings).id
    return service.add_activity(session, section, data)


def _scorm_from_upload(session: Session, upload: UploadFile, settings: Settings) -> ScormPackage:
    if upload.size is not None and upload.size > settings.max_scorm_bytes:
        raise PayloadTooLarge(
            _("Paket SCORM maksimal %(value)s MiB.")
            % {"value": settings.max_scorm_bytes // 1024**2},
            code="file_too_large",
        )
    return import_scorm(session, upload.file, settings)


@dataclass(frozen=True, slots=True)
class Replaced:
    """What a replacement did: the activity, and for SCORM how many attempts stay on the old
    package version."""

    activity: Activity
    attempts_on_old_version: int = 0


def replace_content(
    session: Session,
    activity: Activity,
    settings: Settings,
    *,
    upload: UploadFile | None = None,
    file_id: int | None = None,
    file_name: str | None = None,
    by: Principal | None = None,
) -> Replaced:
    """New bytes for a video, document, file or SCORM activity, checked like a new upload; the
    activity row, its position and its learners' progress stay."""
    kind = ActivityKind(activity.kind)
    if kind == ActivityKind.SCORM:
        if upload is None:
            raise ValidationFailed(_("Pilih paket SCORM (.zip) pengganti."), field="file")
        package = _scorm_from_upload(session, upload, settings)
        kept = service.replace_package(session, activity, package, by)
        return Replaced(activity, kept)
    if kind not in FILE_KINDS:
        raise ValidationFailed(_("Aktivitas jenis ini tidak memakai berkas."), field="file")
    if file_id is not None:
        stored = repository.get_file(session, file_id)
        if stored is None:
            raise ValidationFailed(_("Berkas unggahan tidak ditemukan."), field="file_id")
        name = (file_name or "").strip() or activity.title
    elif upload is not None:
        stored = uploads.store_stream(
            session, get_storage(settings), upload.file, kind=kind.value, settings=settings
        )
        name = upload.filename or activity.title
    else:
        raise ValidationFailed(_("Pilih berkas pengganti."), field="file")
    service.replace_file(session, activity, stored, name, by)
    return Replaced(activity)


def serve_activity_file(
    request: Request, session: Session, settings: Settings, activity: Activity, *, download: bool
) -> Response:
    if activity.file_id is None:
        raise NotFound("Aktivitas ini tidak punya berkas.", code="no_file")
    stored = repository.get_file(session, activity.file_id)
    if stored is None:
        raise NotFound("Berkas tidak ditemukan.", code="no_file")
    return serve_object(
        request,
        get_storage(settings),
        key=stored.storage_key,
        filename=activity.file_name or activity.title,
        content_type=stored.content_type,
        inline=not download and activity.kind in INLINE_KINDS,
        etag_hint=stored.sha256,
    )


def get_package(session: Session, package_id: int) -> ScormPackage:
    package = repository.get_package(session, package_id)
    if package is None:
        raise NotFound("Paket SCORM tidak ditemukan.", code="package_not_found")
    return package


def scorm_launch_url(
    session: Session, settings: Settings, principal: Principal, package_id: int
) -> str:
    """The SCO's own address on the content origin (no SCORM API there: for apps and
    download tools; the course player uses the launcher)."""
    from app.courses import content_origin

    package = get_package(session, package_id)
    token = content_origin.mint(principal.user_id, package.id, settings)
    return content_origin.file_url(token, package.id, package.launch_href, settings)


def scorm_player_context(
    session: Session,
    settings: Settings,
    activity: Activity,
    enrolment: Enrolment | None,
    principal: Principal,
) -> dict[str, object]:
    """What templates/courses/_scorm_player.html needs for one launch: the launcher on the
    content origin with a capability for this user and package (app/courses/content_origin.py)."""
    from app.courses import content_origin

    package = get_package(session, attempt_package_id(session, enrolment, activity))
    manifest = json.loads(package.manifest_json)
    cmi = progress_service.scorm_launch(
        session,
        enrolment.id if enrolment else None,
        activity.id,
        student_id=str(principal.user_id),
        student_name=principal.name,
        mastery_score=package.mastery_score,
        launch_data=manifest.get("launch_data"),
    )
    return {
        "activity_id": activity.id,
        "launch_url": content_origin.launcher_url(
            content_origin.mint(principal.user_id, package.id, settings), settings
        ),
        "content_origin": content_origin.content_origin(settings),
        "cmi_json": json.dumps(cmi, ensure_ascii=False),
        "commit_url": f"/api/v1/activities/{activity.id}/scorm" if enrolment else "",
        "launch_id": secrets.token_urlsafe(12),
    }


def attempt_package_id(session: Session, enrolment: Enrolment | None, activity: Activity) -> int:
    """The package a launch runs: the version the learner's attempt began on, else the
    activity's current one."""
    pinned = progress_service.scorm_attempt_package(
        session, enrolment.id if enrolment else None, activity.id
    )
    return pinned or activity.scorm_package_id or 0


def ensure_package_access(session: Session, principal: Principal, package_id: int) -> None:
    """Staff, or a learner enrolled in a course with a visible activity using this package, or
    whose attempt runs on this (older) version of it."""
    if service.is_staff(principal):
        return
    for activity in repository.activities_using_package(session, package_id):
        if activity.hidden:
            continue
        if repository.active_enrolment_for_course(session, principal.user_id, activity.course_id):
            return
    mine = [e.id for e, _run, _course in service.user_enrolments(session, principal.user_id)]
    if progress_service.has_attempt_on_package(session, package_id, mine):
        return
    raise Forbidden("Anda belum terdaftar di kursus yang memakai materi ini.", code="not_enrolled")
