"""Benchmark: app-side CPU of a 1 GiB browser-direct (presigned multipart) upload to S3.

    .venv/bin/python bench/s3_multipart_cpu.py [--mb 1024]

moto's S3 server runs in its own process (tests/s3server.py); the "browser" is another child
process that PUTs the parts to the presigned URLs. This process is the app alone: it runs
`start_upload`, `sign_parts` for every part and `complete_upload` against a temporary SQLite
database, and its CPU time (time.process_time: user + system of this process only) is reported
per step. `complete_upload` includes one streamed read of the object to compute the sha256 for
deduplication; that pass is also timed on its own so its share can be seen. Target: < 1 s of
app CPU for the whole upload.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the app and the tests' server helpers
MiB = 1024 * 1024


def part_data(number: int, part_size: int, size: int) -> bytes:
    """Part `number` of a deterministic file whose first bytes are an MP4 ftyp box."""
    start = (number - 1) * part_size
    length = min(part_size, size - start)
    seed = hashlib.shake_256(b"s3-bench-%d" % number).digest(MiB)
    data = (seed * (length // MiB + 1))[:length]
    if number == 1:
        ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp41"
        data = ftyp + data[len(ftyp) :]
    return data


def run_client() -> int:
    """Child process: the browser. Reads {urls, part_size, size} on stdin, prints ETags + sha256."""
    job = json.load(sys.stdin)
    part_size, size = job["part_size"], job["size"]

    def put(item: tuple[str, str]) -> tuple[int, str]:
        number, url = int(item[0]), item[1]
        request = urllib.request.Request(  # noqa: S310 - moto on 127.0.0.1
            url,
            data=part_data(number, part_size, size),
            method="PUT",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
            return number, str(response.headers["ETag"])

    with ThreadPoolExecutor(4) as pool:
        etags = dict(pool.map(put, job["urls"].items()))
    digest = hashlib.sha256()
    for number in sorted(etags):
        digest.update(part_data(number, part_size, size))
    print(json.dumps({"etags": etags, "sha256": digest.hexdigest()}))
    return 0


class CpuClock:
    def __init__(self) -> None:
        self.steps: list[tuple[str, float, float]] = []

    def measure(self, name: str, fn: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn()
        self.steps.append((name, time.process_time() - cpu, time.perf_counter() - wall))
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        return run_client()

    from tests import s3server

    endpoint, stop = s3server.start_s3_server()
    tmp = tempfile.TemporaryDirectory(prefix="lms-s3-bench-")
    try:
        os.environ.update(s3server.FAKE_AWS_ENV)
        os.environ.update(
            {
                "LMS_ENVIRONMENT": "development",
                "LMS_DATABASE_URL": f"sqlite:///{tmp.name}/bench.db",
                "LMS_STORAGE_URL": "s3://bench-uploads/lms",
                "LMS_S3_ENDPOINT_URL": endpoint,
                "LMS_LOG_LEVEL": "WARNING",
                "LMS_MAX_VIDEO_BYTES": str(max(2 * 1024**3, args.mb * MiB * 2)),
            }
        )
        return run(args.mb)
    finally:
        stop()
        tmp.cleanup()


def run(mb: int) -> int:
    from app.accounts import service as accounts_service
    from app.accounts.schemas import UserCreate
    from app.cli import upgrade_database
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses import uploads
    from app.storage import S3Storage, get_storage

    upgrade_database()
    settings = get_settings()
    storage = get_storage(settings)
    assert isinstance(storage, S3Storage)
    storage.ensure_bucket()
    with session_scope() as session:
        user = accounts_service.create_user(
            session,
            UserCreate(
                nip="199001012015031001",
                name="Bench",
                email="bench@example.go.id",
                password=None,
                roles=["content_admin"],  # type: ignore[list-item]
                employment="PNS",
            ),
            settings,
        )
        user_id = user.id
    # Warm-up outside the clock: botocore loads its service model on the first call.
    storage.presign_upload_part("warm/up", "x", 1)
    storage.exists("warm/up")

    size = mb * MiB
    clock = CpuClock()

    def start() -> tuple[str, int, int]:
        with session_scope() as session:
            upload = uploads.start_upload(
                session,
                storage,
                user_id=user_id,
                kind="video",
                filename="kuliah.mp4",
                size=size,
                settings=settings,
            )
            return upload.id, upload.part_size, uploads.part_count(upload)

    upload_id, part_size, count = clock.measure("start_upload", start)

    def sign_all() -> dict[int, str]:
        urls: dict[int, str] = {}
        numbers = list(range(1, count + 1))
        with session_scope() as session:
            for i in range(0, count, uploads.MAX_SIGN_BATCH):
                batch = numbers[i : i + uploads.MAX_SIGN_BATCH]
                urls |= uploads.sign_parts(
                    session, storage, upload_id, user_id, batch, settings=settings
                )
        return urls

    urls = clock.measure(f"sign_parts x{count}", sign_all)

    wall = time.perf_counter()
    job = json.dumps(
        {"urls": {str(n): u for n, u in urls.items()}, "part_size": part_size, "size": size}
    )
    out = subprocess.run(
        [sys.executable, __file__, "--client"],
        input=job,
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    ).stdout
    client = json.loads(out.strip().splitlines()[-1])
    put_seconds = time.perf_counter() - wall

    def complete() -> Any:
        with session_scope() as session:
            parts = sorted((int(n), etag) for n, etag in client["etags"].items())
            row = uploads.complete_upload(
                session, storage, upload_id, user_id, parts, "video", settings
            )
            return row.sha256, row.storage_key

    sha256, key = clock.measure("complete_upload (all)", complete)
    if sha256 != client["sha256"]:
        raise RuntimeError("the stored object's sha256 differs from what the client sent")

    def hash_pass() -> str:
        digest = hashlib.sha256()
        for chunk in storage.open_range(key):
            digest.update(chunk)
        return digest.hexdigest()

    clock.measure("  of which: sha256 pass (re-run alone)", hash_pass)

    print(
        f"{mb} MiB via presigned multipart ({count} parts of {part_size // MiB} MiB) to moto on 127.0.0.1"
    )
    print(f"browser side (child process, not counted): {put_seconds:.1f} s to PUT all parts")
    print(f"{'app step':<42}{'CPU s':>8}{'wall s':>9}")
    for name, cpu, wall_s in clock.steps:
        print(f"{name:<42}{cpu:>8.3f}{wall_s:>9.2f}")
    total = sum(cpu for name, cpu, _ in clock.steps if not name.startswith("  "))
    hashing = clock.steps[-1][1]
    print(f"{'total app CPU':<42}{total:>8.3f}")
    print(f"{'total app CPU without the sha256 pass':<42}{total - hashing:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
