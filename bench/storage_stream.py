"""Benchmark: stream a generated N MiB object into each storage backend and back out.

Reports elapsed time, MiB/s and peak RSS growth; the target is < 64 MiB growth for 200 MiB.

    .venv/bin/python bench/storage_stream.py [--mb 200] [--backends disk,s3]

Each backend runs in a fresh child process so one run's memory high-water mark cannot hide
another's; the S3 backend talks to moto's server in yet another process, whose in-memory
object store is therefore not counted.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the app and the tests' server helpers
MiB = 1024 * 1024
TARGET_MIB = 64
BLOCK = 1 * MiB


class GeneratedStream:
    """A file-like object over a generator: `size` bytes, never more than a block held."""

    def __init__(self, size: int, seed: int = 42) -> None:
        self._blocks = self._generate(size, seed)
        self._pending = b""

    @staticmethod
    def _generate(size: int, seed: int) -> Iterator[bytes]:
        base = hashlib.shake_256(seed.to_bytes(8, "big")).digest(BLOCK)
        counter = 0
        while size > 0:
            # A counter in every block so misplaced or repeated blocks change the hash.
            block = (counter.to_bytes(8, "big") + base[8:])[: min(BLOCK, size)]
            size -= len(block)
            counter += 1
            yield block

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise ValueError("refusing to read the whole stream into memory")
        while len(self._pending) < size:
            block = next(self._blocks, None)
            if block is None:
                break
            self._pending += block
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


class PeakSampler:
    """Samples this process's RSS every few milliseconds; `peak` is the highest seen."""

    def __init__(self, interval: float = 0.002) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        return int(self._process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def run_child(backend: str, mb: int, endpoint: str | None, workdir: str) -> dict[str, Any]:
    from app.storage import DiskStorage, S3Storage, Storage, new_key

    size = mb * MiB
    expected = hashlib.sha256()
    reference = GeneratedStream(size)
    while chunk := reference.read(BLOCK):
        expected.update(chunk)

    storage: Storage
    if backend == "disk":
        storage = DiskStorage(f"file://{workdir}/objects")
    else:
        s3 = S3Storage(f"s3://bench-{uuid.uuid4().hex[:12]}/bench", endpoint_url=endpoint)
        s3.ensure_bucket()
        storage = s3
    # Warm-up: lazy imports, botocore's service model and the HTTP pool belong to the baseline.
    warm = new_key("bench")
    storage.put(warm, GeneratedStream(1024), content_type="application/octet-stream")
    b"".join(storage.open_range(warm))
    storage.delete(warm)
    gc.collect()

    baseline = PeakSampler().rss()
    key = new_key("bench")
    with PeakSampler() as write_mem:
        started = time.perf_counter()
        stored = storage.put(key, GeneratedStream(size), content_type="video/mp4")
        write_s = time.perf_counter() - started

    digest = hashlib.sha256()
    with PeakSampler() as read_mem:
        started = time.perf_counter()
        read_bytes = 0
        for chunk in storage.open_range(key):
            digest.update(chunk)
            read_bytes += len(chunk)
        read_s = time.perf_counter() - started
    info = storage.stat(key)
    storage.delete(key)

    ok = (
        stored.size == size == info.size == read_bytes
        and stored.sha256 == expected.hexdigest() == info.sha256 == digest.hexdigest()
    )
    return {
        "backend": backend,
        "mib": mb,
        "write_s": write_s,
        "read_s": read_s,
        "write_peak_mib": (write_mem.peak - baseline) / MiB,
        "read_peak_mib": (read_mem.peak - baseline) / MiB,
        "maxrss_bound_mib": (_maxrss_bytes() - baseline) / MiB,
        "verified": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=int, default=200, help="object size in MiB (default 200)")
    parser.add_argument("--backends", default="disk,s3", help="comma list of disk,s3")
    parser.add_argument("--child", choices=["disk", "s3"], help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_child(args.child, args.mb, args.endpoint, args.workdir)))
        return 0

    from tests import s3server

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    endpoint, stop = s3server.start_s3_server() if "s3" in backends else (None, lambda: None)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="lms-bench-") as workdir:
            for backend in backends:
                cmd = [sys.executable, __file__, "--child", backend, "--mb", str(args.mb)]
                cmd += ["--workdir", workdir, "--endpoint", endpoint or ""]
                env = {**os.environ, **s3server.FAKE_AWS_ENV}
                out = subprocess.run(
                    cmd, env=env, cwd=REPO, check=True, capture_output=True, text=True
                ).stdout
                results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        stop()

    header = (
        f"{'backend':<8}{'MiB':>6}{'write s':>9}{'write MiB/s':>13}{'write +RSS':>12}"
        f"{'read s':>8}{'read MiB/s':>12}{'read +RSS':>11}{'maxrss bound':>14}{'sha256':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['backend']:<8}{r['mib']:>6}{r['write_s']:>9.2f}{r['mib'] / r['write_s']:>13.1f}"
            f"{r['write_peak_mib']:>11.1f}M{r['read_s']:>8.2f}{r['mib'] / r['read_s']:>12.1f}"
            f"{r['read_peak_mib']:>10.1f}M{r['maxrss_bound_mib']:>13.1f}M"
            f"{'ok' if r['verified'] else 'BAD':>8}"
        )
    worst = max(max(r["write_peak_mib"], r["read_peak_mib"]) for r in results)
    passed = worst < TARGET_MIB and all(r["verified"] for r in results)
    print(
        f"\n+RSS = peak resident-set growth over the post-warm-up baseline, sampled every 2 ms;"
        f"\nmaxrss bound = ru_maxrss at exit minus that baseline (an upper bound)."
        f"\ntarget: peak growth < {TARGET_MIB} MiB -> {'PASS' if passed else 'FAIL'}"
        f" (worst {worst:.1f} MiB)"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
