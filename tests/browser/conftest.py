"""Browser tests: the real server (`lms serve`) in a subprocess with its own database, driven by
Debian's chromium through Playwright's sync API.

The server gets its OWN environment (not the in-process test settings of tests/conftest.py):
a SQLite file and object store in a temporary directory, a random secret key and the demo
accounts from `lms demo`. Playwright never downloads a browser here: /usr/bin/chromium must exist
(CI installs it with apt; scripts/test.sh does too).

Screenshots go to test-artifacts/ at the repository root (git-ignored); a failing test leaves
one there as well.
"""

from __future__ import annotations

import os
import random
import secrets
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from app.dev.seed import synthetic_nip
from tests.browser.helpers import ARTIFACTS, PASSWORD, Account, save_screenshot
from tests.mailsink import MailSink
from tests.ports import free_port, stop_process
from tests.wagateway import WhatsAppGateway

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
START_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class LiveServer:
    base_url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    mail: MailSink  # the SMTP server the LMS sends to (read messages back from it)
    whatsapp: WhatsAppGateway  # the WhatsApp gateway stand-in (read requests back)

    def log_tail(self, lines: int = 40) -> str:
        return _log_tail(self.log_path, lines)


def _lms_command() -> list[str]:
    """The venv's `lms` script, else the module (same code either way)."""
    script = Path(sys.executable).parent / "lms"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _server_env(
    data_dir: Path, port: int, mail: MailSink, whatsapp: WhatsAppGateway
) -> dict[str, str]:
    """The process environment minus every LMS_ variable of the in-process tests, plus the
    server's: its own database, storage and secret, and real SMTP and WhatsApp peers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    alphabet = string.ascii_letters + string.digits
    env.update(
        {
            "LMS_ENVIRONMENT": "test",
            "LMS_DATABASE_URL": f"sqlite:///{data_dir / 'browser.db'}",
            "LMS_STORAGE_URL": f"file://{data_dir / 'objects'}",
            "LMS_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(40)),
            "LMS_BASE_URL": f"http://127.0.0.1:{port}",
            # SCORM runs on another host name (cookies are not isolated by port); `lms serve`
            # listens on this port too (app/courses/content_origin.py).
            "LMS_CONTENT_ORIGIN": f"http://localhost:{free_port()}",
            "LMS_LOG_LEVEL": "WARNING",
            "LMS_SMTP_URL": mail.url,
            "LMS_WHATSAPP_URL": whatsapp.url,
            "LMS_WHATSAPP_QUIET_START": "00:00",  # no quiet hours for the tests
            "LMS_WHATSAPP_QUIET_END": "00:00",
            "LMS_OUTBOX_BACKOFF_SECONDS": "2",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        }
    )
    return env


def run_lms(*args: str, env: dict[str, str], cwd: Path) -> str:
    """Run one `lms` command with the server's environment; its output, or the test fails."""
    done = subprocess.run(
        [*_lms_command(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"`lms {' '.join(args[:2])}` failed ({done.returncode}):\n"
                    f"{done.stdout}\n{done.stderr}")  # fmt: skip
    return done.stdout


def _log_tail(log_path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"`lms serve` exited with code {process.returncode} before answering "
                f"{url}:\n{_log_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own server
                if response.status == 200:
                    return
                last_error = f"status {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = repr(exc)
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer in {START_TIMEOUT:.0f}s ({last_error}):\n"
                f"{_log_tail(log_path)}")  # fmt: skip


@contextmanager
def serving(port: int, data_dir: Path, env: dict[str, str]) -> Iterator[None]:
    """`lms serve` on 127.0.0.1:port (cwd data_dir, so a developer's ./.env cannot change its
    settings), until the block ends; its output goes to data_dir/server.log."""
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_lms_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate", "--workers", "1"],
            cwd=data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/healthz", process, log_path)
        yield
    finally:
        stop_process(process)


@contextmanager
def demo_server(data_dir: Path, mail: MailSink, whatsapp: WhatsAppGateway) -> Iterator[LiveServer]:
    """`lms demo` then `lms serve` on a free port with its data in `data_dir`; stopped on exit."""
    port = free_port()
    env = _server_env(data_dir, port, mail, whatsapp)
    run_lms("demo", env=env, cwd=data_dir)
    with serving(port, data_dir, env):
        yield LiveServer(
            base_url=f"http://127.0.0.1:{port}", data_dir=data_dir,
            log_path=data_dir / "server.log", env=env, mail=mail, whatsapp=whatsapp,
        )  # fmt: skip


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory,
    _mail_server: MailSink,
    _whatsapp_server: WhatsAppGateway,
) -> Iterator[LiveServer]:
    """The demo server the browser tests share; stopped when the session ends."""
    data_dir = tmp_path_factory.mktemp("browser-server")
    with demo_server(data_dir, _mail_server, _whatsapp_server) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def _fresh_failure_screenshots() -> None:
    """Failure screenshots of an earlier run would mislead: remove them."""
    for old in ARTIFACTS.glob("FAILED-*.png"):
        old.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless. Missing chromium is a failure, never a silent skip.

    Module scope, not session: Playwright's sync API keeps its own asyncio loop running while it
    is started, and anyio cannot run the async tests of later modules next to it.
    """
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests drive Debian's chromium and never download "
            "one. Install it with `apt-get install chromium` (scripts/test.sh does this) or "
            "deselect them with `-m 'not browser'`.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Callable[..., BrowserContext]]:
    """Factory for fresh browser contexts (own cookies); Indonesian like the users' phones.

    Each context is closed at the end of the test; on failure its pages are saved as screenshots.
    """
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(
            **{"base_url": live_server.base_url, "locale": "id-ID", **options}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    for index, context in enumerate(contexts):
        if failed:
            for number, page in enumerate(context.pages):
                save_screenshot(page, f"FAILED-{request.node.name}-{index}-{number}")
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page in a fresh context (desktop size)."""
    return new_context(viewport={"width": 1280, "height": 800}).new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report on the test item so fixtures can see whether it failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def fresh_learner(live_server: LiveServer) -> Iterator[Callable[[], Account]]:
    """Factory: a new learner account (DISKOMINFO, PNS III/a) made by `lms users create`."""
    env = live_server.env  # same database and storage as the server
    rng = random.Random(secrets.randbits(64))

    def make() -> Account:
        while True:
            nip, employment = synthetic_nip(rng, rng.randrange(999))
            if employment == "PNS":
                break
        account = Account(
            nip=nip, email=f"uji.{nip}@demo.lms.go.id", name=f"Peserta Uji {nip[-4:]}"
        )
        run_lms(
            "users", "create", "--name", account.name, "--nip", nip, "--email", account.email,
            "--role", "learner", "--password", PASSWORD, "--opd", "DISKOMINFO",
            "--employment", "PNS", "--pangkat", "III/a", env=env, cwd=live_server.data_dir,
        )  # fmt: skip
        return account

    yield make
