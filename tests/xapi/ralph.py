"""Ralph, the open-source xAPI learning record store, for the tests and the benchmark: started from
its own venv (.venv-ralph, made by scripts/ralph.sh) on 127.0.0.1 with the file-system backend
(RALPH_RUNSERVER_BACKEND=fs) in a temporary folder, with Basic-auth credentials made by
`ralph auth ... -w`; it can be stopped and started again on the same port and folder (an LRS
outage). Also: reading statements back, and validating statements with Ralph's xAPI models."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

from tests.ports import free_port, http_answers, stop_process

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("RALPH_VENV", ROOT / ".venv-ralph"))
SERVER = Path(__file__).with_name("ralph_server.py")
VALIDATOR = Path(__file__).with_name("ralph_validate.py")
USERNAME = "lms-diklat"
VERSION = {"X-Experience-API-Version": "1.0.3"}


def ralph_python() -> Path:
    python = VENV / "bin" / "python"
    if not (VENV / "bin" / "ralph").exists():  # the suite installs it (scripts/test.sh)
        subprocess.run(["bash", str(ROOT / "scripts" / "ralph.sh")], check=True)
    return python


class Ralph:
    """One Ralph LRS on 127.0.0.1; `endpoint` ends in /xAPI/ as LMS_XAPI_ENDPOINT wants."""

    def __init__(self, password: str | None = None) -> None:
        self.password = password or "lrs-key-" + secrets.token_hex(12)  # unique: greppable
        self.folder = Path(tempfile.mkdtemp(prefix="ralph-"))
        self.data = self.folder / "data"
        self.data.mkdir()
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self._env = {
            **os.environ,
            "RALPH_APP_DIR": str(self.folder),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.data),
            "RALPH_BACKENDS__DATA__FS__DEFAULT_DIRECTORY_PATH": str(self.data),
            "RALPH_SENTRY_DSN": "",
        }
        python = ralph_python()
        subprocess.run(
            [str(python.with_name("ralph")), "auth", "-u", USERNAME, "-p", self.password, "-s", "all",
             "-A", USERNAME, "http://127.0.0.1", "-w"],
            env=self._env, cwd=self.folder, check=True, capture_output=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.url + "/xAPI/"

    @property
    def statements_file(self) -> Path:
        return self.data / "fs_lrs.jsonl"

    def start(self, timeout: float = 60.0) -> Ralph:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [str(ralph_python()), "-P", str(SERVER), "127.0.0.1", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            env=self._env, cwd=self.folder,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if http_answers(self.url + "/__heartbeat__"):
                return self
            time.sleep(0.1)
        output = self.output()
        self.stop()
        raise RuntimeError(f"Ralph did not start on {self.url}:\n{output[-4000:]}")

    def output(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Ralph:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- reading back ------------------------------------------------------------------------

    def get(self, **params: str) -> list[dict[str, Any]]:
        """GET /xAPI/statements with filters (verb, agent as JSON, registration...), all pages."""
        found: list[dict[str, Any]] = []
        url: str | None = self.endpoint + "statements"
        with httpx.Client(auth=(USERNAME, self.password), headers=VERSION, timeout=30) as http:
            query: dict[str, str] | None = params
            while url:
                response = http.get(url, params=query)
                response.raise_for_status()
                body = response.json()
                found.extend(body["statements"])
                more = body.get("more")
                url, query = (self.url + more, None) if more else (None, None)
        return found

    def stored(self) -> list[dict[str, Any]]:
        """Every statement in the LRS's file (for counts too large for GET's pages)."""
        if not self.statements_file.exists():
            return []
        with self.statements_file.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


def validate(statements: list[dict[str, Any]]) -> list[str]:
    """Validate statements with Ralph's xAPI models (in .venv-ralph): the errors, [] when valid."""
    done = subprocess.run(
        [str(ralph_python()), "-P", str(VALIDATOR)], input=json.dumps(statements).encode(),
        capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr.decode(errors="replace")[-4000:])
    errors: list[str] = json.loads(done.stdout or b"[]")
    return errors
