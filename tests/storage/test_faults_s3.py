"""The object store unreachable during an upload (a real S3 server: moto, the app pointed at a
dead port and back): a clear 503 naming the storage with Retry-After, no database row pointing
at a missing object, and the same upload succeeds once the storage is back."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from app.core.config import get_settings
from app.core.db import session_scope
from app.courses.models import ContentFile, UploadSession
from tests.courses.conftest import pdf_bytes
from tests.factories import api_token, make_user
from tests.storage.faults import S3Fault, app_on_s3


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Fault]:
    with app_on_s3(get_settings(), s3_endpoint, monkeypatch) as fault:
        yield fault


async def _editor(client: httpx.AsyncClient) -> dict[str, str]:
    return await api_token(client, make_user(roles=("content_admin",)).email or "")


def _rows() -> tuple[int, list[str]]:
    with session_scope() as session:
        count = session.scalar(select(func.count()).select_from(ContentFile)) or 0
        keys = list(session.scalars(select(ContentFile.storage_key)))
    return count, keys


def _assert_storage_down(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"] == "storage_unavailable"
    assert "Penyimpanan berkas" in body["detail"] and "coba lagi" in body["detail"]
    assert int(response.headers["retry-after"]) > 0


def _put_part(url: str, data: bytes) -> str:
    request = urllib.request.Request(  # noqa: S310 - moto on 127.0.0.1
        url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(response.headers["ETag"])


async def test_streamed_upload_with_s3_down_is_a_503_and_keeps_nothing(
    client: httpx.AsyncClient, s3: S3Fault
) -> None:
    headers = {**await _editor(client), "Content-Type": "application/octet-stream"}
    data = pdf_bytes(text="Modul saat S3 mati")
    s3.down()
    down = await client.post("/api/v1/uploads/stream?kind=document", headers=headers, content=data)
    _assert_storage_down(down)
    assert _rows() == (0, [])
    s3.up()
    assert s3.object_keys() == []  # nothing half-written in the bucket either
    again = await client.post("/api/v1/uploads/stream?kind=document", headers=headers, content=data)
    assert again.status_code == 201, again.text
    count, keys = _rows()
    assert count == 1 and [f"{s3.storage.prefix}/{keys[0]}"] == s3.object_keys()
    assert s3.storage.stat(keys[0]).sha256 == again.json()["sha256"]


async def test_multipart_complete_with_s3_down_keeps_the_session_to_retry(
    client: httpx.AsyncClient, s3: S3Fault
) -> None:
    headers = await _editor(client)
    data = pdf_bytes(text="Modul unggah langsung")
    started = await client.post("/api/v1/uploads", headers=headers, json={
        "kind": "document", "filename": "modul.pdf", "size": len(data)})  # fmt: skip
    assert started.status_code == 201, started.text
    upload_id = started.json()["upload_id"]
    signed = await client.post(f"/api/v1/uploads/{upload_id}/sign", headers=headers,
                               json={"part_numbers": [1]})  # fmt: skip
    etag = _put_part(signed.json()["urls"]["1"], data)  # the browser talks to S3 directly

    s3.down()
    body = {"parts": [{"part_number": 1, "etag": etag}]}
    down = await client.post(f"/api/v1/uploads/{upload_id}/complete", headers=headers, json=body)
    _assert_storage_down(down)
    assert _rows() == (0, [])  # no row for an object that may not exist
    with session_scope() as session:
        upload = session.get(UploadSession, upload_id)
        assert upload is not None and upload.status == "open"  # the browser may try again

    s3.up()
    done = await client.post(f"/api/v1/uploads/{upload_id}/complete", headers=headers, json=body)
    assert done.status_code == 201, done.text
    count, keys = _rows()
    assert count == 1 and s3.storage.exists(keys[0])


async def test_starting_a_multipart_upload_with_s3_down_records_nothing(
    client: httpx.AsyncClient, s3: S3Fault
) -> None:
    headers = await _editor(client)
    s3.down()
    down = await client.post("/api/v1/uploads", headers=headers, json={
        "kind": "document", "filename": "modul.pdf", "size": 1000})  # fmt: skip
    _assert_storage_down(down)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(UploadSession)) == 0
