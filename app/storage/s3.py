"""S3-compatible object storage through boto3 (`s3://bucket[/prefix]` URLs; AWS, MinIO, Ceph...).

Owns streamed multipart writes, presigned download/part-upload URLs and botocore error mapping.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.core.errors import NotFound, PayloadTooLarge, ServiceUnavailable, ValidationFailed
from app.storage.base import (
    CHUNK_SIZE,
    STORAGE_DOWN,
    ListedObject,
    MeteredReader,
    ObjectInfo,
    RangeNotSatisfiable,
    ReadableStream,
    Storage,
    StorageUnavailable,
    StoredObject,
    check_range,
    content_disposition,
    validate_content_type,
    validate_key,
)

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024
MAX_PARTS = 10_000
# copy_object refuses sources above 5 GiB; past that the sha256 rewrite needs a multipart copy.
COPY_SINGLE_LIMIT = 5 * 1024**3
COPY_PART_SIZE = 512 * 1024 * 1024
_DEFAULT_CONTENT_TYPE = "application/octet-stream"
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_MISSING_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// storage URL: {url!r}")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    if not bucket:
        raise ValueError(f"s3:// storage URL needs a bucket: {url!r}")
    if prefix:
        validate_key(prefix)
    return bucket, prefix


def make_s3_client(*, endpoint_url: str | None, region: str) -> S3Client:
    """A client using boto3's default credential chain (AWS_* variables, profiles, roles)."""
    options: dict[str, Any] = {
        "signature_version": "s3v4",
        "connect_timeout": 5,
        "read_timeout": 60,
        "retries": {"max_attempts": 3, "mode": "standard"},
    }
    if endpoint_url:
        # MinIO, SeaweedFS and Ceph behind one hostname rarely have wildcard DNS per bucket.
        options["s3"] = {"addressing_style": "path"}
        # Newer botocore adds CRC trailers by default that several S3 clones reject.
        for name in ("request_checksum_calculation", "response_checksum_validation"):
            if name in Config.OPTION_DEFAULTS:
                options[name] = "when_required"
    # A private session: the default one is shared global state and not thread-safe to create.
    session = boto3.session.Session()
    return session.client(
        "s3", endpoint_url=endpoint_url or None, region_name=region, config=Config(**options)
    )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _translate_errors(key: str | None = None) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = _error_code(exc)
        if code in _MISSING_CODES:
            raise NotFound("Stored object not found.", key=key) from exc
        if code == "NoSuchUpload":
            raise NotFound("Upload not found.", code="upload_not_found", key=key) from exc
        if code == "InvalidRange":
            raise RangeNotSatisfiable("Requested range is not satisfiable.", key=key) from exc
        if code in {"InvalidPart", "InvalidPartOrder", "EntityTooSmall"}:
            raise ValidationFailed("Invalid upload parts.", field="parts", code=code) from exc
        raise StorageUnavailable(STORAGE_DOWN, s3_code=code) from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(STORAGE_DOWN) from exc


class S3Storage(Storage):
    supports_presigned_upload = True

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        presign_seconds: int = 300,
        client: S3Client | None = None,
    ) -> None:
        super().__init__(url)
        self.bucket, self.prefix = parse_s3_url(url)
        self.region = region
        self.presign_seconds = presign_seconds
        self.client = client or make_s3_client(endpoint_url=endpoint_url, region=region)

    def _object_key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    # -- writes ---------------------------------------------------------------------------

    def put(
        self,
        key: str,
        stream: ReadableStream,
        *,
        content_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        obj_key = self._object_key(key)
        validate_content_type(content_type)
        reader = MeteredReader(stream, max_bytes=max_bytes)
        chunks: list[bytes] = []
        filled = 0
        upload_id: str | None = None
        parts: list[CompletedPartTypeDef] = []
        try:
            with _translate_errors(key):
                for chunk in reader:
                    chunks.append(chunk)
                    filled += len(chunk)
                    if filled < PART_SIZE:
                        continue
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=obj_key, ContentType=content_type
                        )["UploadId"]
                    parts.append(self._upload_part(obj_key, upload_id, len(parts) + 1, chunks))
                    filled = 0
                if upload_id is None:
                    body = b"".join(chunks)
                    chunks.clear()
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=obj_key,
                        Body=body,
                        ContentType=content_type,
                        Metadata={"sha256": reader.sha256},
                    )
                    return StoredObject(key, reader.size, reader.sha256, content_type)
                if chunks:
                    parts.append(self._upload_part(obj_key, upload_id, len(parts) + 1, chunks))
                etag = self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=obj_key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )["ETag"]
                upload_id = None
        except BaseException:
            if upload_id is not None:
                self._abort_quietly(obj_key, upload_id)
            raise
        self._attach_sha256(key, obj_key, content_type, reader.sha256, reader.size, etag)
        return StoredObject(key, reader.size, reader.sha256, content_type)

    def _upload_part(
        self, obj_key: str, upload_id: str, number: int, chunks: list[bytes]
    ) -> CompletedPartTypeDef:
        if number > MAX_PARTS:
            raise PayloadTooLarge("The file is too large for object storage.")
        body = b"".join(chunks)
        chunks.clear()  # Release the pieces before the network call to keep one part in memory.
        etag = self.client.upload_part(
            Bucket=self.bucket, Key=obj_key, UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        return {"PartNumber": number, "ETag": etag}

    def _attach_sha256(
        self, key: str, obj_key: str, content_type: str, sha256: str, size: int, etag: str
    ) -> None:
        """Rewrite the object's metadata in place, since a multipart upload learns its hash last."""
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": obj_key}
        try:
            with _translate_errors(key):
                if size <= COPY_SINGLE_LIMIT:
                    self.client.copy_object(
                        Bucket=self.bucket,
                        Key=obj_key,
                        CopySource=source,
                        CopySourceIfMatch=etag,
                        ContentType=content_type,
                        Metadata={"sha256": sha256},
                        MetadataDirective="REPLACE",
                    )
                else:
                    self.client.copy(
                        source,
                        self.bucket,
                        obj_key,
                        ExtraArgs={
                            "ContentType": content_type,
                            "Metadata": {"sha256": sha256},
                            "MetadataDirective": "REPLACE",
                        },
                        Config=TransferConfig(
                            multipart_threshold=COPY_SINGLE_LIMIT,
                            multipart_chunksize=COPY_PART_SIZE,
                        ),
                    )
        except BaseException:
            # A put either fully succeeds or leaves nothing; an object without its hash is neither.
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.delete_object(Bucket=self.bucket, Key=obj_key)
            raise

    def _abort_quietly(self, obj_key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=obj_key, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            # The original error matters more; an abort-incomplete-uploads lifecycle rule is the backstop.
            log.warning("could not abort multipart upload %s of %s", upload_id, obj_key)

    def delete(self, key: str) -> None:
        obj_key = self._object_key(key)
        with _translate_errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=obj_key)

    # -- reads ----------------------------------------------------------------------------

    def stat(self, key: str) -> ObjectInfo:
        obj_key = self._object_key(key)
        with _translate_errors(key):
            head = self.client.head_object(Bucket=self.bucket, Key=obj_key)
        return ObjectInfo(
            key=key,
            size=head["ContentLength"],
            content_type=head.get("ContentType") or _DEFAULT_CONTENT_TYPE,
            etag=head["ETag"].strip('"'),
            last_modified=head["LastModified"],
            sha256=head.get("Metadata", {}).get("sha256"),
        )

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except NotFound:
            return False
        return True

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        obj_key = self._object_key(key)
        check_range(start, end)
        try:
            with _translate_errors(key):
                if start == 0 and end is None:
                    response = self.client.get_object(Bucket=self.bucket, Key=obj_key)
                else:
                    byte_range = f"bytes={start}-{'' if end is None else end}"
                    response = self.client.get_object(
                        Bucket=self.bucket, Key=obj_key, Range=byte_range
                    )
        except RangeNotSatisfiable:
            # S3 refuses any range on an empty object; the disk backend yields nothing for 0-.
            if start == 0 and self.stat(key).size == 0:
                return iter(())
            raise
        return self._iter_body(key, response["Body"])

    @staticmethod
    def _iter_body(key: str, body: StreamingBody) -> Iterator[bytes]:
        try:
            with _translate_errors(key):
                yield from body.iter_chunks(CHUNK_SIZE)
        finally:
            body.close()

    def presigned_get_url(
        self,
        key: str,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
        expires_seconds: int | None = None,
    ) -> str | None:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._object_key(key),
            "ResponseContentDisposition": content_disposition(filename, inline=inline),
        }
        if content_type is not None:
            params["ResponseContentType"] = validate_content_type(content_type)
        with _translate_errors(key):
            return self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_seconds or self.presign_seconds
            )

    # -- direct (browser) multipart uploads ---------------------------------------------

    def create_multipart_upload(self, key: str, content_type: str) -> str:
        obj_key = self._object_key(key)
        validate_content_type(content_type)
        with _translate_errors(key):
            return self.client.create_multipart_upload(
                Bucket=self.bucket, Key=obj_key, ContentType=content_type
            )["UploadId"]

    def presign_upload_part(
        self, key: str, upload_id: str, part_number: int, expires_seconds: int | None = None
    ) -> str:
        if not 1 <= part_number <= MAX_PARTS:
            raise ValidationFailed("Invalid part number.", field="part_number")
        params = {
            "Bucket": self.bucket,
            "Key": self._object_key(key),
            "UploadId": upload_id,
            "PartNumber": part_number,
        }
        with _translate_errors(key):
            return self.client.generate_presigned_url(
                "upload_part", Params=params, ExpiresIn=expires_seconds or self.presign_seconds
            )

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        obj_key = self._object_key(key)
        numbers = [number for number, _ in parts]
        if not parts or len(set(numbers)) != len(numbers):
            raise ValidationFailed("Upload parts are missing or repeated.", field="parts")
        if not all(1 <= n <= MAX_PARTS for n in numbers):
            raise ValidationFailed("Invalid part number.", field="parts")
        completed: list[CompletedPartTypeDef] = [
            {"PartNumber": number, "ETag": etag} for number, etag in sorted(parts)
        ]
        with _translate_errors(key):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=obj_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": completed},
            )

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        obj_key = self._object_key(key)
        try:
            with _translate_errors(key):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=obj_key, UploadId=upload_id
                )
        except NotFound:
            pass  # Already aborted or completed: aborting is cleanup, so it is idempotent.

    # -- operations -----------------------------------------------------------------------

    def iter_objects(self) -> Iterator[ListedObject]:
        """Pages of 1,000 through list_objects_v2, fetched as the caller iterates."""
        start = f"{self.prefix}/" if self.prefix else ""
        pages = iter(self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        ))  # fmt: skip
        while True:
            # Only the listing call is translated, not whatever the caller does between pages.
            with _translate_errors():
                page = next(pages, None)
            if page is None:
                return
            for item in page.get("Contents", []):
                key = item["Key"].removeprefix(start)
                try:
                    validate_key(key)
                except ValidationFailed:
                    continue  # not written by the LMS (e.g. "folder/" markers)
                yield ListedObject(key, item["Size"])

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable(
                "Object storage bucket is not reachable.", code="storage_unavailable"
            ) from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing; for tests and development setups."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _MISSING_BUCKET_CODES:
                raise ServiceUnavailable(
                    "Object storage bucket is not reachable.", code="storage_unavailable"
                ) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(
                "Object storage is unreachable.", code="storage_unavailable"
            ) from exc
        with _translate_errors():
            try:
                if self.region == "us-east-1":
                    self.client.create_bucket(Bucket=self.bucket)
                else:
                    self.client.create_bucket(
                        Bucket=self.bucket,
                        CreateBucketConfiguration={
                            "LocationConstraint": cast("BucketLocationConstraintType", self.region)
                        },
                    )
            except ClientError as exc:
                if _error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise
