"""Benchmark: a 1 GiB upload through the app to disk storage: server memory and throughput vs cp.

    .venv/bin/python bench/upload_disk.py [--mb 1024] [--paths stream,multipart]

A uvicorn child process on 127.0.0.1 (its own SQLite database and object directory in a
temporary folder on the same disk) offers the two ways a route can take a browser upload:

  stream     the body is the file (application/octet-stream); the route awaits
             `uploads.store_request_body(..., request.stream())`, which hands >= 1 MiB blocks to
             `store_stream` in a worker thread: memory stays flat and the disk sees the bytes once.
  multipart  a classic form post read with `UploadFile` (python-multipart spools the file to a
             temporary file first), then `store_stream(upload.file)`: flat memory, two writes.

The client (this process) sends the file with http.client from disk. The server's RSS is sampled
with psutil every 5 ms; the figure is the peak minus the RSS after a small warm-up upload.
Throughput is compared with `cp` of the same file on the same disk, with and without an fsync
(DiskStorage.put fsyncs, so "cp + fsync" is the fair comparison).
"""

# No `from __future__ import annotations`: FastAPI must resolve the child's route annotations.

import argparse
import hashlib
import http.client
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the app and the tests' server helpers
MiB = 1024 * 1024
BOUNDARY = "lms-bench-" + uuid.uuid4().hex


def serve(port: int) -> None:
    """Child process: migrated database, disk storage, the two upload routes."""
    import uvicorn
    from fastapi import FastAPI, File, Request, UploadFile
    from fastapi.concurrency import run_in_threadpool

    from app.cli import upgrade_database
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.courses import uploads
    from app.storage import get_storage

    upgrade_database()
    settings = get_settings()
    storage = get_storage(settings)
    app = FastAPI()

    @app.post("/stream")
    async def stream(request: Request) -> dict[str, object]:
        length = request.headers.get("content-length")
        with session_scope() as session:
            row = await uploads.store_request_body(
                session,
                storage,
                request.stream(),
                kind="video",
                settings=settings,
                declared_size=int(length) if length else None,
            )
            return {"file_id": row.id, "sha256": row.sha256, "size": row.size}

    @app.post("/multipart")
    async def multipart(file: UploadFile = File(...)) -> dict[str, object]:
        def store() -> dict[str, object]:
            with session_scope() as session:
                row = uploads.store_stream(
                    session, storage, file.file, kind="video", settings=settings
                )
                return {"file_id": row.id, "sha256": row.sha256, "size": row.size}

        return await run_in_threadpool(store)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def make_source(path: Path, size: int) -> str:
    """An MP4-headed file of `size` bytes (so kind=video accepts it); returns its sha256."""
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp41"
    block = hashlib.shake_256(b"upload-bench").digest(MiB)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        written, counter = 0, 0
        while written < size:
            data = (counter.to_bytes(8, "big") + block[8:])[: min(MiB, size - written)]
            if counter == 0:
                data = ftyp + data[len(ftyp) :]
            out.write(data)
            digest.update(data)
            written += len(data)
            counter += 1
    return digest.hexdigest()


class PeakRss:
    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(0.005)

    def __enter__(self) -> "PeakRss":
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _multipart_body(path: Path) -> tuple[Iterator[bytes], int]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="kuliah.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb") as source:
            while chunk := source.read(MiB):
                yield chunk
        yield tail

    return body(), len(head) + path.stat().st_size + len(tail)


def upload(port: int, mode: str, path: Path) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=MiB)
    if mode == "stream":
        with path.open("rb") as source:
            conn.request(
                "POST",
                "/stream",
                body=source,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(path.stat().st_size),
                },
            )
            response = conn.getresponse()
    else:
        body, length = _multipart_body(path)
        conn.request(
            "POST",
            "/multipart",
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(length),
            },
        )
        response = conn.getresponse()
    payload = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{mode}: HTTP {response.status}: {payload[:300]!r}")
    result: dict[str, object] = json.loads(payload)
    return result


def direct_floor(work: Path, source: Path) -> tuple[float, float]:
    """(seconds, CPU seconds) of store_stream reading the file itself: no HTTP, the floor."""
    code = f"""
import os, sys, time, json
sys.path.insert(0, {str(REPO)!r})
from app.cli import upgrade_database
from app.core.config import get_settings
from app.core.db import session_scope
from app.courses import uploads
from app.storage import get_storage
upgrade_database()
settings = get_settings()
storage = get_storage(settings)
cpu0, t0 = time.process_time(), time.perf_counter()
with open({str(source)!r}, "rb") as f, session_scope() as session:
    uploads.store_stream(session, storage, f, kind="video", settings=settings)
print(json.dumps([time.perf_counter() - t0, time.process_time() - cpu0]))
"""
    env = {
        **os.environ,
        "LMS_DATABASE_URL": f"sqlite:///{work / 'direct.db'}",
        "LMS_STORAGE_URL": f"file://{work / 'direct-objects'}",
        "LMS_MAX_VIDEO_BYTES": str(4 * 1024**3),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    seconds, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return float(seconds), float(cpu)


def timed_cp(source: Path, target: Path, *, fsync: bool) -> float:
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    if fsync:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--paths", default="stream,multipart")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    size = args.mb * MiB
    modes = [m.strip() for m in args.paths.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="lms-upload-bench-") as tmp:
        work = Path(tmp)
        source = work / "kuliah.mp4"
        expected = make_source(source, size)
        small = work / "small.mp4"
        make_source(small, 2 * MiB)
        cp_plain = timed_cp(source, work / "copy.bin", fsync=False)
        cp_sync = timed_cp(source, work / "copy.bin", fsync=True)
        direct_s, direct_cpu = direct_floor(work, source)

        from tests.ports import free_port, wait_for_port

        port = free_port()
        env = {
            **os.environ,
            "LMS_ENVIRONMENT": "development",
            "LMS_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "LMS_STORAGE_URL": f"file://{work / 'objects'}",
            "LMS_LOG_LEVEL": "WARNING",
            "LMS_MAX_VIDEO_BYTES": str(max(size * 2, 2 * 1024**3)),
        }
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)], cwd=REPO, env=env
        )
        rows = []
        try:
            wait_for_port(port, 60.0)
            for mode in modes:
                upload(port, mode, small)  # warm-up: imports, thread pool, SQLite connection
                sampler = PeakRss(server.pid)
                baseline = sampler.rss()
                cpu_before = sampler.process.cpu_times()
                with sampler:
                    started = time.perf_counter()
                    result = upload(port, mode, source)
                    elapsed = time.perf_counter() - started
                cpu_after = sampler.process.cpu_times()
                cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
                if result["sha256"] != expected or result["size"] != size:
                    raise RuntimeError(f"{mode}: stored bytes differ from the source")
                rows.append((mode, elapsed, (sampler.peak - baseline) / MiB, cpu))
        finally:
            server.terminate()
            server.wait(10)

    print(
        f"{args.mb} MiB upload, uvicorn on 127.0.0.1, disk storage on the same disk as the source"
    )
    print(f"{'path':<22}{'seconds':>9}{'MiB/s':>9}{'peak RSS growth':>18}{'server CPU':>13}")
    for mode, elapsed, growth, cpu in rows:
        print(
            f"{mode:<22}{elapsed:>9.2f}{args.mb / elapsed:>9.0f}{growth:>15.1f} MiB{cpu:>11.2f} s"
        )
    print(
        f"{'store_stream(file)':<22}{direct_s:>9.2f}{args.mb / direct_s:>9.0f}{'':>18}{direct_cpu:>11.2f} s"
        "   <- no HTTP: hashing + write + fsync floor"
    )
    print(f"{'cp':<22}{cp_plain:>9.2f}{args.mb / cp_plain:>9.0f}")
    print(f"{'cp + fsync':<22}{cp_sync:>9.2f}{args.mb / cp_sync:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
