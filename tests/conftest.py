"""Test harness: one migrated database per run (SQLite file, or PostgreSQL from
LMS_TEST_DATABASE_URL), emptied after every test; API tests through httpx + ASGITransport.
"""

from __future__ import annotations

import inspect
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

_TMP = Path(tempfile.mkdtemp(prefix="lms-test-"))


def _own_database(url: str) -> str:
    """Under pytest-xdist on PostgreSQL each worker gets a database of its own, `<name>_gwN`
    (made when missing), since every run drops and re-makes the public schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if found.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


TEST_DATABASE_URL = _own_database(
    os.environ.get("LMS_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
)

# Settings are read from the environment: set it before any app module builds them.
os.environ.update(
    {
        "LMS_ENVIRONMENT": "test",
        "LMS_DATABASE_URL": TEST_DATABASE_URL,
        "LMS_STORAGE_URL": f"file://{_TMP / 'objects'}",
        "LMS_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
        "LMS_BASE_URL": "http://testserver",
        "LMS_LOG_LEVEL": "WARNING",
        "LMS_QUIZ_SWEEP_SECONDS": "0",
        # Jobs run in the calling process; keys are made on first use in a per-run folder.
        "LMS_JOBS_URL": "immediate",
        "LMS_JOBS_IN_PROCESS_WORKER": "false",
        "LMS_KEYS_DIR": str(_TMP / "keys"),  # no sweep thread; tests call app.quizzes.tasks
        # Cheap argon2 for speed; production keeps the RFC 9106 profile (tested in tests/accounts).
        "LMS_ARGON2_TIME_COST": "1",
        "LMS_ARGON2_MEMORY_KIB": "8192",
        # The outbox is delivered when a test calls `deliver()` (tests/notifications/helpers).
        "LMS_OUTBOX_KICK": "false",
        "LMS_SMTP_URL": "",
        "LMS_WHATSAPP_URL": "",
    }
)

from app import main as _composition_root  # noqa: E402, F401 - every domain's listeners, tasks, handlers
from app.auth import principals  # noqa: E402
from app.cli import upgrade_database  # noqa: E402
from app.core import readcache  # noqa: E402
from app.core.config import get_settings  # noqa: E402
from app.core.db import get_engine, reset_engine  # noqa: E402
from app.core.registry import Base  # noqa: E402
from app.quizzes import bank as quiz_bank  # noqa: E402


def _reset_postgres_schema(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def pytest_report_header() -> str:
    return f"database: {re.sub(r'//[^@/]*@', '//***@', TEST_DATABASE_URL)}"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Every `async def` test runs under anyio (asyncio backend); marked before parametrising."""
    if collector.funcnamefilter(name) and inspect.iscoroutinefunction(obj):  # type: ignore[attr-defined]
        pytest.mark.anyio(obj)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> Iterator[str]:
    """Alembic makes the schema, as in production (never `create_all`)."""
    get_settings.cache_clear()
    reset_engine()
    if TEST_DATABASE_URL.startswith("postgresql"):
        _reset_postgres_schema(TEST_DATABASE_URL)
    upgrade_database()
    _snapshot_seeded_rows()
    yield TEST_DATABASE_URL
    reset_engine()


# Rows the migrations seed (the PermenPANRB 38/2017 competency catalog): every test starts with
# them, as a fresh installation does, so the wipe after each test puts them back.
SEEDED_TABLES = ("competency",)
_seeded_rows: dict[str, list[dict[str, object]]] = {}


def _snapshot_seeded_rows() -> None:
    with get_engine().connect() as conn:
        for name in SEEDED_TABLES:
            table = Base.metadata.tables[name]
            _seeded_rows[name] = [dict(r._mapping) for r in conn.execute(table.select())]


def _restore_seeded_rows() -> None:
    with get_engine().begin() as conn:
        for name in SEEDED_TABLES:
            if _seeded_rows.get(name):
                conn.execute(Base.metadata.tables[name].insert(), _seeded_rows[name])
                if conn.dialect.name == "postgresql":  # ids were given: move the sequence on
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )


@pytest.fixture(autouse=True)
def _empty_tables(migrated_database: str) -> Iterator[None]:
    yield
    quiz_bank.forget_all()  # ids restart after the wipe; the cache assumes they never do
    principals.cache.clear()  # the wipe is no unit of work: the caches are not told of it
    readcache.clear_all()
    engine = get_engine()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        _restore_seeded_rows()
        return
    with engine.connect() as conn:
        # Self-references (OPD parents) would need a row order; checks are off for the wipe only.
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        for name in tables:
            conn.execute(text(f'DELETE FROM "{name}"'))
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()
    _restore_seeded_rows()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Request rate limits (app/web/ratelimit.py) count from zero in every test."""
    from app.web import ratelimit

    ratelimit.reset()
    yield


@pytest.fixture
def settings():  # type: ignore[no-untyped-def]
    return get_settings()


@pytest.fixture(scope="session")
def _shared_app():  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app()


@pytest.fixture
def app(_shared_app):  # type: ignore[no-untyped-def]
    """The ASGI app, built once per run: it holds no state between requests (settings are read
    per request), and FastAPI prepares each router's routes on first use, about a second for
    the whole app, which a new app per test would pay again and again."""
    return _shared_app


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def db() -> Iterator:  # type: ignore[type-arg]
    """A session for arranging data; committed when the test body's block ends."""
    from app.core.db import session_scope

    with session_scope() as session:
        yield session


# --- real message servers: an SMTP sink (aiosmtpd) and a WhatsApp gateway stand-in -----------


@pytest.fixture(scope="session")
def _mail_server() -> Iterator[object]:
    from tests.mailsink import MailSink

    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mail(_mail_server, settings, monkeypatch):  # type: ignore[no-untyped-def]
    """The SMTP sink, emptied, with the LMS's LMS_SMTP_URL pointing at it."""
    _mail_server.clear()
    if _mail_server._controller is None:  # a test stopped it
        _mail_server.start()
    monkeypatch.setattr(settings, "smtp_url", _mail_server.url)
    return _mail_server


@pytest.fixture(scope="session")
def _whatsapp_server() -> Iterator[object]:
    from tests.wagateway import WhatsAppGateway

    gateway = WhatsAppGateway().start()
    yield gateway
    gateway.stop()


@pytest.fixture
def whatsapp(_whatsapp_server, settings, monkeypatch):  # type: ignore[no-untyped-def]
    """The WhatsApp gateway stand-in, emptied, configured, quiet hours off."""
    _whatsapp_server.clear()
    _whatsapp_server.status = 200
    monkeypatch.setattr(settings, "whatsapp_url", _whatsapp_server.url)
    monkeypatch.setattr(settings, "whatsapp_token", "uji-token-wa")
    monkeypatch.setattr(settings, "whatsapp_quiet_start", "00:00")
    monkeypatch.setattr(settings, "whatsapp_quiet_end", "00:00")
    return _whatsapp_server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a real S3 HTTP server (moto, its own process, started on first use and shared by
    the run) with fake credentials in the environment."""
    from tests.s3server import FAKE_AWS_ENV, start_s3_server

    endpoint, stop = start_s3_server()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_AWS_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        try:
            yield endpoint
        finally:
            stop()
