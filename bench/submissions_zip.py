"""Benchmark: GET /runs/{run_id}/submissions.zip of 300 submissions of 5 MB each streams in
constant memory.

    .venv/bin/python bench/submissions_zip.py [--learners 300] [--mb 5] [--database-url ...]

Seeds like bench/grading_queue.py (one assignment; every submission carries one stored 5 MB
file: the object is read once per entry, so the archive is learners x MB long while the disk
holds one copy), runs the app under uvicorn (one worker process) on 127.0.0.1, downloads the
ZIP (discarding it) and samples the server process's RSS with psutil every 50 ms. Prints the
archive size, the time, the throughput and the RSS before, at peak and the growth (the aim:
under 64 MiB).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import grading_queue as common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--mb", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lms-bench-zip-"))
    env = common.configure(args.database_url, work)
    common.reset(args.database_url)
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + os.urandom(args.mb * 1024 * 1024 - 15)
    ids = common.seed(args.learners, 1, file_bytes=body)

    import httpx
    import psutil

    port = common.free_port()
    with common.server(env, port, work / "server.log") as proc:
        server = psutil.Process(proc.pid)
        url = (f"http://127.0.0.1:{port}/runs/{ids['run']}/submissions.zip"
               f"?activity_id={ids['activities'][0]}")  # fmt: skip
        headers = {"Authorization": f"Bearer {ids['token']}"}
        httpx.get(f"http://127.0.0.1:{port}/healthz")
        before = server.memory_info().rss
        peak = before
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, server.memory_info().rss)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        size = 0
        start = time.perf_counter()
        with httpx.stream("GET", url, headers=headers, timeout=600) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes(1024 * 1024):
                size += len(chunk)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    mib = 1024 * 1024
    print(f"{args.learners} submissions x {args.mb} MB: ZIP {size / mib:,.0f} MiB in "
          f"{seconds:.1f} s ({size / mib / seconds:,.0f} MiB/s)")  # fmt: skip
    print(f"server RSS before {before / mib:.1f} MiB, peak {peak / mib:.1f} MiB, "
          f"growth {(peak - before) / mib:.1f} MiB (aim < 64 MiB)")  # fmt: skip
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
