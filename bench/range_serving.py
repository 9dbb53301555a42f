"""Benchmark: 16 clients reading a 200 MiB stored file in 1 MiB ranges through `serve_object`.

    .venv/bin/python bench/range_serving.py [--mb 200] [--clients 16] [--seconds 20]

The file sits in a DiskStorage under a temporary directory; uvicorn serves one route calling
`serve_object` (the disk path: StreamingResponse over `open_range`) in a child process on
127.0.0.1. Each client thread keeps one HTTP/1.1 connection and asks for 1 MiB ranges at random
offsets until the time or the per-client count runs out; a sample of ranges is checked against
the file. The warm comparison reads the same (already cached) file with 1 MiB reads,
single-threaded and with as many threads as clients. `--cold` (root) also drops the page cache
and reads every 1 MiB range once, raw and then through the server: the disk-rate comparison.
"""

# No `from __future__ import annotations`: FastAPI must resolve the route's annotations, which
# are imported inside the child process's function.
import argparse
import hashlib
import http.client
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the app and the tests' server helpers

if TYPE_CHECKING:
    import psutil
MiB = 1024 * 1024
RANGE = 1 * MiB
MAX_RANGES_PER_CLIENT = 2000


def serve(root: str, key: str, port: int, workers: int = 1) -> None:
    """Child process: uvicorn with `workers` processes running `make_app` (as `lms serve` does)."""
    import uvicorn

    os.environ["BENCH_RANGE_ROOT"], os.environ["BENCH_RANGE_KEY"] = root, key
    uvicorn.run(
        "range_serving:make_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def make_app():  # type: ignore[no-untyped-def]
    """The smallest app that serves one object the way the LMS does."""
    from fastapi import FastAPI, Request
    from starlette.responses import Response

    from app.storage import DiskStorage
    from app.web.delivery import serve_object

    root, key = os.environ["BENCH_RANGE_ROOT"], os.environ["BENCH_RANGE_KEY"]
    storage = DiskStorage(f"file://{root}")
    app = FastAPI()

    @app.get("/f")
    def get_file(request: Request) -> Response:
        return serve_object(
            request,
            storage,
            key=key,
            filename="kuliah.mp4",
            content_type="video/mp4",
            inline=True,
            etag_hint=None,
        )

    @app.get("/file-response")
    def file_response(request: Request) -> Response:
        # Reference only: Starlette's own FileResponse on the same file (no storage layer).
        from starlette.responses import FileResponse

        return FileResponse(storage.root / key, media_type="video/mp4")

    return app


def make_file(root: Path, size: int) -> tuple[str, Path]:
    from app.storage import DiskStorage, new_key

    storage = DiskStorage(f"file://{root}")
    key = new_key("bench")
    block = hashlib.shake_256(b"range-bench").digest(MiB)

    class Blocks:
        def __init__(self) -> None:
            self.left = size
            self.counter = 0

        def read(self, n: int = -1) -> bytes:
            if self.left <= 0:
                return b""
            data = (self.counter.to_bytes(8, "big") + block[8:])[: min(n, self.left, MiB)]
            self.counter += 1
            self.left -= len(data)
            return data

    storage.put(key, Blocks(), content_type="video/mp4")
    return key, storage.root / key


def raw_read_rate(path: Path, threads: int, size: int, seconds: float) -> float:
    """MiB/s reading random 1 MiB blocks of the (cached) file with os.pread."""
    stop = time.monotonic() + seconds
    total = [0] * threads

    def reader(index: int) -> None:
        rng = random.Random(index)
        fd = os.open(path, os.O_RDONLY)
        try:
            while time.monotonic() < stop:
                offset = rng.randrange(0, size - RANGE + 1)
                total[index] += len(os.pread(fd, RANGE, offset))
        finally:
            os.close(fd)

    started = time.perf_counter()
    workers = [threading.Thread(target=reader, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(total) / MiB / (time.perf_counter() - started)


def client(
    port: int, route: str, path: Path, size: int, index: int, stop_at: float
) -> tuple[int, int, int]:
    """(bytes received, ranges, verified ranges) for one keep-alive connection."""
    rng = random.Random(1000 + index)
    received = ranges = verified = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    with path.open("rb") as reference:
        while time.monotonic() < stop_at and ranges < MAX_RANGES_PER_CLIENT:
            first = rng.randrange(0, size - RANGE + 1)
            last = first + RANGE - 1
            conn.request("GET", route, headers={"Range": f"bytes={first}-{last}"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 206 or len(body) != RANGE:
                raise RuntimeError(f"unexpected answer {response.status}, {len(body)} bytes")
            received += len(body)
            ranges += 1
            if ranges % 25 == 1:  # spot-check the bytes against the file itself
                reference.seek(first)
                if reference.read(RANGE) != body:
                    raise RuntimeError(f"wrong bytes for range {first}-{last}")
                verified += 1
    conn.close()
    return received, ranges, verified


def _tree_cpu(proc: "psutil.Process") -> float:
    """CPU seconds of the server and its worker processes."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        times = p.cpu_times()
        total += times.user + times.system
    return total


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only) so the next reads come from the disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def cold_raw_rate(path: Path, threads: int, size: int) -> float:
    """MiB/s reading every 1 MiB block once, in random order, with `threads` readers, cold."""
    offsets = list(range(0, size - RANGE + 1, RANGE))
    random.Random(7).shuffle(offsets)
    lock = threading.Lock()

    def reader() -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            while True:
                with lock:
                    if not offsets:
                        return
                    offset = offsets.pop()
                os.pread(fd, RANGE, offset)
        finally:
            os.close(fd)

    count = len(offsets)
    started = time.perf_counter()
    workers = [threading.Thread(target=reader) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count * RANGE / MiB / (time.perf_counter() - started)


def cold_served_rate(port: int, route: str, size: int, clients: int) -> float:
    """MiB/s fetching every 1 MiB range once over HTTP, in random order, from a cold cache."""
    offsets = list(range(0, size - RANGE + 1, RANGE))
    random.Random(7).shuffle(offsets)
    lock = threading.Lock()

    def fetch() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not offsets:
                    break
                first = offsets.pop()
            conn.request("GET", route, headers={"Range": f"bytes={first}-{first + RANGE - 1}"})
            response = conn.getresponse()
            if response.status != 206 or len(response.read()) != RANGE:
                raise RuntimeError(f"unexpected answer {response.status}")
        conn.close()

    count = len(offsets)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _i: fetch(), range(clients)))
    return count * RANGE / MiB / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--route",
        default="/f",
        choices=["/f", "/file-response"],
        help="/f = serve_object (default); /file-response = Starlette FileResponse, for reference",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="also compare against the disk: drop the page cache (root) and read every range once",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--serve", nargs=4, metavar=("ROOT", "KEY", "PORT", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], int(args.serve[2]), int(args.serve[3]))
        return 0

    import psutil

    size = args.mb * MiB
    with tempfile.TemporaryDirectory(
        prefix="lms-range-bench-", dir=REPO / "var" if (REPO / "var").is_dir() else None
    ) as tmp:
        root = Path(tmp) / "objects"
        key, path = make_file(root, size)
        raw_read_rate(path, 1, size, 2.0)  # warm the page cache
        raw_1 = raw_read_rate(path, 1, size, 5.0)
        raw_n = raw_read_rate(path, args.clients, size, 5.0)

        from tests.ports import free_port, wait_for_port

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(root), key, str(port), str(args.workers)],
            cwd=REPO,
        )
        try:
            wait_for_port(port, 30.0)
            proc = psutil.Process(server.pid)
            cpu_before = _tree_cpu(proc)
            started = time.perf_counter()
            stop_at = time.monotonic() + args.seconds
            with ThreadPoolExecutor(args.clients) as pool:
                results = list(
                    pool.map(
                        lambda i: client(port, args.route, path, size, i, stop_at),
                        range(args.clients),
                    )
                )
            elapsed = time.perf_counter() - started
            cpu_after = _tree_cpu(proc)
            rss = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
            cold: tuple[float, float] | None = None
            if args.cold and drop_page_cache():
                raw_cold = cold_raw_rate(path, args.clients, size)
                drop_page_cache()
                cold = (raw_cold, cold_served_rate(port, args.route, size, args.clients))
        finally:
            server.terminate()
            server.wait(10)

    received = sum(r[0] for r in results)
    ranges = sum(r[1] for r in results)
    verified = sum(r[2] for r in results)
    served = received / MiB / elapsed
    server_cpu = cpu_after - cpu_before
    print(f"file {args.mb} MiB, {args.clients} clients, 1 MiB ranges, {elapsed:.1f} s")
    print(
        f"served by {'serve_object' if args.route == '/f' else 'FileResponse':<18}: {served:8.0f} MiB/s  ({ranges} ranges, {verified} verified)"
    )
    print(f"raw pread, 1 thread (warm)  : {raw_1:8.0f} MiB/s  -> served/raw = {served / raw_1:.2f}")
    print(
        f"raw pread, {args.clients} threads (warm) : {raw_n:8.0f} MiB/s  -> served/raw = {served / raw_n:.2f}"
    )
    print(
        f"server CPU {server_cpu:.1f} s over {elapsed:.1f} s wall ({server_cpu / elapsed * 100:.0f}% of one core); RSS at end {rss / MiB:.0f} MiB"
    )
    print(
        f"latency per 1 MiB range (mean over clients): {elapsed * args.clients / max(ranges, 1) * 1000:.1f} ms"
    )
    if cold is not None:
        print(
            f"cold (page cache dropped, every range once): raw pread {cold[0]:.0f} MiB/s, "
            f"served {cold[1]:.0f} MiB/s -> served/raw = {cold[1] / cold[0]:.2f}"
        )
    elif args.cold:
        print("cold: could not drop the page cache (needs root); skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
