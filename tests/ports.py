"""Loopback ports and child processes for the servers tests and benchmarks start (moto, the
OpenID Connect provider, the LMS, uvicorn children)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port, or raise after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def http_answers(url: str) -> bool:
    """True when something answers HTTP at `url` (any status: the server is up)."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own http:// URL
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child server, killing it when it does not stop within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
