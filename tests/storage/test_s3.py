"""S3 specifics against a real S3 HTTP server: presigned URLs, direct multipart uploads, errors."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from app.core.config import Settings
from app.core.errors import NotFound, PayloadTooLarge, ServiceUnavailable, ValidationFailed
from app.storage import S3Storage, content_disposition, get_storage, new_key, s3
from app.storage.s3 import parse_s3_url

from .test_contract import GeneratedStream

MiB = 1024 * 1024


def fetch(url: str, *, method: str = "GET", data: bytes | None = None) -> tuple[bytes, Any]:
    # urllib would label a body as a form, which moto's server then tries to parse as one.
    headers = {"Content-Type": "application/octet-stream"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - presigned http
        return response.read(), response.headers


def pending_uploads(storage: S3Storage) -> list[Any]:
    return storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])


def test_url_parsing() -> None:
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    assert parse_s3_url("s3://bucket/") == ("bucket", "")
    assert parse_s3_url("s3://bucket/lms/prod/") == ("bucket", "lms/prod")
    for bad in ["s3://", "http://bucket", "s3://bucket/../x"]:
        with pytest.raises((ValueError, ValidationFailed)):
            parse_s3_url(bad)


def test_objects_live_under_the_prefix_with_sha256_metadata(s3_storage: S3Storage) -> None:
    key = new_key("materials")
    s3_storage.put(key, io.BytesIO(b"payload"), content_type="text/plain")
    listed = s3_storage.client.list_objects_v2(Bucket=s3_storage.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"lms/{key}"]
    head = s3_storage.client.head_object(Bucket=s3_storage.bucket, Key=f"lms/{key}")
    assert head["Metadata"]["sha256"] == hashlib.sha256(b"payload").hexdigest()


def test_streamed_put_uses_8_mib_parts_and_records_sha256(
    s3_storage: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    part_sizes: list[tuple[int, int]] = []
    real_upload_part = s3_storage.client.upload_part

    def spy(**kwargs: Any) -> Any:
        part_sizes.append((kwargs["PartNumber"], len(kwargs["Body"])))
        return real_upload_part(**kwargs)

    monkeypatch.setattr(s3_storage.client, "upload_part", spy)
    stream = GeneratedStream(20 * MiB + 1, seed=3)
    key = new_key("video")
    s3_storage.put(key, stream, content_type="video/mp4")

    assert part_sizes == [(1, 8 * MiB), (2, 8 * MiB), (3, 4 * MiB + 1)]
    assert pending_uploads(s3_storage) == []
    head = s3_storage.client.head_object(Bucket=s3_storage.bucket, Key=f"lms/{key}")
    assert head["Metadata"] == {"sha256": stream.sha256}
    assert head["ContentType"] == "video/mp4"


def test_large_object_metadata_rewrite_uses_multipart_copy(
    s3_storage: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shrink the copy_object ceiling so the >5 GiB path runs on a 20 MiB object.
    monkeypatch.setattr(s3, "COPY_SINGLE_LIMIT", 8 * MiB)
    monkeypatch.setattr(s3, "COPY_PART_SIZE", 5 * MiB)
    copied: list[str] = []
    real = s3_storage.client.upload_part_copy

    def spy(**kwargs: Any) -> Any:
        copied.append(kwargs["CopySourceRange"])
        return real(**kwargs)

    monkeypatch.setattr(s3_storage.client, "upload_part_copy", spy)
    stream = GeneratedStream(20 * MiB, seed=11)
    key = new_key("video")
    s3_storage.put(key, stream, content_type="video/mp4")

    assert len(copied) == 4
    info = s3_storage.stat(key)
    assert (info.sha256, info.content_type, info.size) == (stream.sha256, "video/mp4", 20 * MiB)
    digest = hashlib.sha256()
    for chunk in s3_storage.open_range(key):
        digest.update(chunk)
    assert digest.hexdigest() == stream.sha256


def test_too_large_multipart_put_aborts_upload(s3_storage: S3Storage) -> None:
    key = new_key("video")
    with pytest.raises(PayloadTooLarge):
        s3_storage.put(key, GeneratedStream(30 * MiB), content_type="video/mp4", max_bytes=17 * MiB)
    assert pending_uploads(s3_storage) == []
    assert not s3_storage.exists(key)


def test_stream_error_mid_upload_aborts(s3_storage: S3Storage) -> None:
    class Broken:
        def __init__(self) -> None:
            self.sent = 0

        def read(self, size: int = -1) -> bytes:
            if self.sent >= 10 * MiB:
                raise ConnectionResetError("client went away")
            self.sent += size
            return b"b" * size

    key = new_key("video")
    with pytest.raises(ConnectionResetError):
        s3_storage.put(key, Broken(), content_type="video/mp4")
    assert pending_uploads(s3_storage) == []
    assert not s3_storage.exists(key)


def test_presigned_get_downloads_bytes_with_disposition(s3_storage: S3Storage) -> None:
    data = os.urandom(300_000)
    key = new_key("certificates")
    s3_storage.put(key, io.BytesIO(data), content_type="application/octet-stream")
    filename = "Materi Pelatihan – Ω ü.pdf"

    url = s3_storage.presigned_get_url(
        key, filename=filename, content_type="application/pdf", inline=False, expires_seconds=60
    )

    assert url is not None
    assert url.startswith(s3_storage.client.meta.endpoint_url + f"/{s3_storage.bucket}/lms/")
    body, headers = fetch(url)
    assert body == data
    expected = (
        'attachment; filename="Materi Pelatihan u.pdf"; '
        "filename*=UTF-8''Materi%20Pelatihan%20%E2%80%93%20%CE%A9%20%C3%BC.pdf"
    )
    assert headers["Content-Disposition"] == expected
    assert headers["Content-Type"] == "application/pdf"


def test_presigned_get_inline_without_filename(s3_storage: S3Storage) -> None:
    key = new_key("video")
    s3_storage.put(key, io.BytesIO(b"frames"), content_type="video/mp4")
    url = s3_storage.presigned_get_url(key, inline=True)
    assert url is not None
    assert "X-Amz-Expires=300" in url  # the settings default
    body, headers = fetch(url)
    assert body == b"frames"
    assert headers["Content-Disposition"] == "inline"
    assert headers["Content-Type"] == "video/mp4"


def test_direct_multipart_upload_with_presigned_parts(s3_storage: S3Storage) -> None:
    assert s3_storage.supports_presigned_upload is True
    part1, part2 = os.urandom(5 * MiB), os.urandom(1234)
    key = new_key("uploads")
    upload_id = s3_storage.create_multipart_upload(key, "video/mp4")

    parts = []
    for number, data in [(2, part2), (1, part1)]:  # browsers may finish parts out of order
        url = s3_storage.presign_upload_part(key, upload_id, number, expires_seconds=120)
        _, headers = fetch(url, method="PUT", data=data)
        parts.append((number, headers["ETag"]))
    s3_storage.complete_multipart_upload(key, upload_id, parts)

    assert b"".join(s3_storage.open_range(key)) == part1 + part2
    info = s3_storage.stat(key)
    assert (info.size, info.content_type) == (len(part1) + len(part2), "video/mp4")
    assert info.sha256 is None  # nobody streamed it through us
    assert pending_uploads(s3_storage) == []


def test_multipart_abort_and_bad_completion(s3_storage: S3Storage) -> None:
    key = new_key("uploads")
    upload_id = s3_storage.create_multipart_upload(key, "video/mp4")
    with pytest.raises(ValidationFailed):
        s3_storage.complete_multipart_upload(key, upload_id, [])
    with pytest.raises(ValidationFailed):
        s3_storage.complete_multipart_upload(key, upload_id, [(1, "a"), (1, "b")])
    with pytest.raises(ValidationFailed):
        s3_storage.presign_upload_part(key, upload_id, 0)
    s3_storage.abort_multipart_upload(key, upload_id)
    s3_storage.abort_multipart_upload(key, upload_id)  # idempotent
    assert pending_uploads(s3_storage) == []
    # S3 answers NoSuchUpload (-> NotFound); moto's server answers a bare 500 here.
    with pytest.raises((NotFound, ServiceUnavailable)):
        s3_storage.complete_multipart_upload(key, upload_id, [(1, '"etag"')])
    assert not s3_storage.exists(key)


def test_ping_fails_for_missing_bucket(make_s3_storage: Callable[..., S3Storage]) -> None:
    missing = make_s3_storage(create=False)
    with pytest.raises(ServiceUnavailable):
        missing.ping()
    missing.ensure_bucket()
    missing.ping()
    missing.ensure_bucket()  # idempotent


def test_unreachable_endpoint_is_service_unavailable(s3_endpoint: str) -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    storage = S3Storage("s3://bucket", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(ServiceUnavailable):
        storage.ping()
    with pytest.raises(ServiceUnavailable):
        storage.stat(new_key("x"))
    with pytest.raises(ServiceUnavailable):
        storage.put(new_key("x"), io.BytesIO(b"x"), content_type="text/plain")


def test_factory_returns_cached_s3_backend(s3_endpoint: str) -> None:
    settings = Settings(storage_url="s3://cached/x", s3_endpoint_url=s3_endpoint)
    storage = get_storage(settings)
    assert isinstance(storage, S3Storage)
    assert storage.prefix == "x"
    same = Settings(storage_url="s3://cached/x", s3_endpoint_url=s3_endpoint)
    assert get_storage(same) is storage


@pytest.mark.parametrize(
    ("filename", "inline", "expected"),
    [
        (None, True, "inline"),
        (None, False, "attachment"),
        ("rekap.xlsx", False, "attachment; filename=\"rekap.xlsx\"; filename*=UTF-8''rekap.xlsx"),
        (
            'a "quoted"\r\nname.pdf',
            True,
            'inline; filename="a _quoted___name.pdf"; '
            "filename*=UTF-8''a%20%22quoted%22%0D%0Aname.pdf",
        ),
        ("Ω", False, "attachment; filename=\"download\"; filename*=UTF-8''%CE%A9"),
    ],
)
def test_content_disposition(filename: str | None, inline: bool, expected: str) -> None:
    assert content_disposition(filename, inline=inline) == expected
