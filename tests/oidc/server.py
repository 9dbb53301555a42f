"""A real OpenID Connect provider for tests: panva's `oidc-provider` (npm, pinned in package.json)
in a node child process on 127.0.0.1, configured with the clients and accounts a test passes.

`with oidc_provider(clients=[...], accounts={...}) as issuer:` — the issuer is
http://127.0.0.1:<port>; its discovery document is at issuer + "/.well-known/openid-configuration".
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.ports import free_port, http_answers, stop_process

OIDC_DIR = Path(__file__).resolve().parent
START_TIMEOUT = 30.0


def ensure_installed() -> None:
    """`npm ci` from the committed lock file when node_modules is missing (scripts/test.sh does it
    too; this covers running pytest directly)."""
    if (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("node and npm are needed for the SSO tests (apt-get install nodejs npm)")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=OIDC_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"npm ci in {OIDC_DIR} failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def oidc_provider(
    *, clients: list[dict[str, Any]], accounts: dict[str, dict[str, Any]]
) -> Iterator[str]:
    """Run the provider until the block ends; yields its issuer URL."""
    ensure_installed()
    node = shutil.which("node")
    assert node is not None
    config = json.dumps({"clients": clients, "accounts": accounts})
    output = ""
    for _attempt in range(3):  # another process may take the free port before node binds it
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        proc = subprocess.Popen(
            [node, "provider.js"],
            cwd=OIDC_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PORT": str(port), "OIDC_TEST_CONFIG": config},
        )
        discovery = issuer + "/.well-known/openid-configuration"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None and not http_answers(discovery):
            time.sleep(0.1)
        if proc.poll() is None and http_answers(discovery):
            try:
                yield issuer
            finally:
                stop_process(proc)
                log.close()
            return
        stop_process(proc)
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    raise RuntimeError(f"oidc-provider did not start on 127.0.0.1:\n{output[-4000:]}")
