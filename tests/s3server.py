"""A real S3 HTTP endpoint for tests and benchmarks: moto's server in a child process on 127.0.0.1.

Reuse it from any test package: `endpoint_url, stop = start_s3_server()`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import IO

from tests.ports import free_port, http_answers, stop_process

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Keep a developer's ~/.aws out of the picture.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def _stopper(proc: subprocess.Popen[bytes], log: IO[bytes]) -> Callable[[], None]:
    def stop() -> None:
        stop_process(proc)
        log.close()

    return stop


def start_s3_server(timeout: float = 30.0) -> tuple[str, Callable[[], None]]:
    """Start `python -m moto.server` in its own process (its memory is not ours) and wait for it.

    Returns the endpoint URL and a callable that stops the server.
    """
    output = ""
    # moto's CLI has no "port 0", so pick a free port and retry if another process grabs it.
    for _attempt in range(3):
        port = free_port()
        log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **FAKE_AWS_ENV},
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if http_answers(endpoint + "/moto-api/"):
                break
            time.sleep(0.1)

        if proc.poll() is None and http_answers(endpoint + "/moto-api/"):
            return endpoint, _stopper(proc, log)

        proc.kill()
        proc.wait()
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    raise RuntimeError(f"moto server did not start on 127.0.0.1:\n{output[-4000:]}")


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    endpoint, stop = start_s3_server()
    try:
        yield endpoint
    finally:
        stop()
