"""API routes for uploads: S3 presigned multipart straight from the browser, or a streamed body
on disk storage. The result is a stored file id that an activity form then refers to.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.auth.dependencies import SessionDep, SettingsDep, require_roles
from app.auth.service import Principal
from app.core.errors import ValidationFailed
from app.core.numbers import ascii_int
from app.courses import service, uploads
from app.courses.filetypes import UploadKind
from app.courses.models import ContentFile
from app.storage.service import get_storage
from app.web.routing import Router

router = Router(prefix="/api/v1/uploads", tags=["uploads"])
# Browser-direct uploads exist on S3 storage only; on disk storage they answer 501 (use /stream).
DIRECT_ONLY: dict[int | str, dict[str, str]] = {
    501: {"description": "Not implemented: the storage is local disk (upload through /stream)"}
}

Editor = Annotated[Principal, Depends(require_roles(*service.COURSE_EDITORS))]


class UploadStart(BaseModel):
    kind: UploadKind
    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=1)
    last_modified: int | None = None


class UploadStarted(BaseModel):
    upload_id: str
    part_size: int
    part_count: int


class SignRequest(BaseModel):
    part_numbers: list[int] = Field(min_length=1, max_length=100)


class SignedParts(BaseModel):
    urls: dict[str, str]


class PartRead(BaseModel):
    part_number: int
    etag: str
    size: int


class PartList(BaseModel):
    parts: list[PartRead]


class PartDone(BaseModel):
    part_number: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=200)


class CompleteRequest(BaseModel):
    parts: list[PartDone] | None = None


class StoredFile(BaseModel):
    file_id: int
    size: int
    content_type: str
    sha256: str


def _stored(row: ContentFile) -> StoredFile:
    return StoredFile(
        file_id=row.id, size=row.size, content_type=row.content_type, sha256=row.sha256
    )


@router.post("", status_code=201, response_model=UploadStarted, responses=DIRECT_ONLY)
def start(
    data: UploadStart, db: SessionDep, settings: SettingsDep, principal: Editor
) -> UploadStarted:
    """Open a multipart upload on S3 (501 on disk storage: use /stream there)."""
    upload = uploads.start_upload(
        db,
        get_storage(settings),
        user_id=principal.user_id,
        kind=data.kind,
        filename=data.filename,
        size=data.size,
        settings=settings,
    )
    return UploadStarted(
        upload_id=upload.id, part_size=upload.part_size, part_count=uploads.part_count(upload)
    )


@router.post("/stream", status_code=201, response_model=StoredFile)
async def stream(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    _editor: Editor,
    kind: Annotated[UploadKind, Query()],
) -> StoredFile:
    """Disk storage: the raw body (application/octet-stream) is streamed, checked and stored."""
    declared = request.headers.get("content-length")
    declared_size = ascii_int(declared, minimum=0) if declared is not None else None
    if declared is not None and declared_size is None:
        raise ValidationFailed("Content-Length tidak sah.", field="content-length")
    unquote(request.headers.get("x-file-name", ""))  # the name is kept by the activity form
    row = await uploads.store_request_body(
        db,
        get_storage(settings),
        request.stream(),
        kind=kind,
        settings=settings,
        declared_size=declared_size,
    )
    return _stored(row)


@router.post("/{upload_id}/sign", response_model=SignedParts, responses=DIRECT_ONLY)
def sign(
    upload_id: str, data: SignRequest, db: SessionDep, settings: SettingsDep, principal: Editor
) -> SignedParts:
    urls = uploads.sign_parts(
        db,
        get_storage(settings),
        upload_id,
        principal.user_id,
        data.part_numbers,
        settings=settings,
    )
    return SignedParts(urls={str(n): url for n, url in urls.items()})


@router.get("/{upload_id}/parts", response_model=PartList, responses=DIRECT_ONLY)
def parts(upload_id: str, db: SessionDep, settings: SettingsDep, principal: Editor) -> PartList:
    """Parts already in S3, so a broken upload resumes with only the missing ones."""
    done = uploads.list_uploaded_parts(
        db, get_storage(settings), upload_id, principal.user_id, settings=settings
    )
    return PartList(parts=[PartRead(part_number=p.number, etag=p.etag, size=p.size) for p in done])


@router.post("/{upload_id}/complete", status_code=201, response_model=StoredFile, responses=DIRECT_ONLY)
def complete(
    upload_id: str, data: CompleteRequest, db: SessionDep, settings: SettingsDep, principal: Editor
) -> StoredFile:
    upload = uploads.owned_upload(db, upload_id, principal.user_id, settings)
    row = uploads.complete_upload(
        db,
        get_storage(settings),
        upload_id,
        principal.user_id,
        [(p.part_number, p.etag) for p in data.parts] if data.parts is not None else None,
        upload.kind,
        settings,
    )
    return _stored(row)


@router.delete("/{upload_id}", status_code=204, responses=DIRECT_ONLY)
def abort(upload_id: str, db: SessionDep, settings: SettingsDep, principal: Editor) -> Response:
    uploads.abort_upload(db, get_storage(settings), upload_id, principal.user_id, settings=settings)
    return Response(status_code=204)
