"""`lms doctor`: checks the configuration and whether everything it names answers, and says what
to fix, one line per check: `OK|WARN|FAIL <check>: <what>`. Any FAIL makes the command exit
non-zero, so a deployment script can stop on it.

Checks: configuration (the settings load; secret key strength), base URL scheme, database
connection, migrations at head, object storage (write, read and delete a probe object), the job
queue, signing keys (present, loadable with their password, not the development ones in
production), the certificate signer (not the demo person in production), SMTP when configured,
and the separate content origin when set. Nothing is created or changed except the probe object,
which is deleted again.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from app.core.config import DEV_SECRET_KEY, Settings

Level = Literal["OK", "WARN", "FAIL"]


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    check: str
    text: str

    def line(self) -> str:
        return f"{self.level} {self.check}: {self.text}"


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, without a driver's doubled spaces."""
    text = str(getattr(exc, "orig", None) or exc)
    return re.sub(r"\s+", " ", text).strip()[:400] or type(exc).__name__


def _production(settings: Settings) -> bool:
    return settings.environment == "production"


# --- configuration -------------------------------------------------------------------------------


def load_settings() -> tuple[Settings | None, list[Finding]]:
    """Fresh settings from the environment; the validation errors as FAIL lines otherwise."""
    try:
        settings = Settings()
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            name = f"LMS_{where.upper()}: " if where else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            found.append(Finding("FAIL", "config", f"{name}{message}"))
        return None, found
    return settings, [
        Finding("OK", "config", f"settings load (environment {settings.environment})")
    ]


def check_secret_key(settings: Settings) -> Iterator[Finding]:
    key = settings.secret_key
    if key == DEV_SECRET_KEY:
        level: Level = "FAIL" if _production(settings) else "WARN"
        yield Finding(level, "secret_key", "the development default: set LMS_SECRET_KEY to a "
                      "random value of 32+ characters (e.g. `python -c 'import secrets; "
                      "print(secrets.token_urlsafe(48))'`)")  # fmt: skip
    elif len(key) < 32 or len(set(key)) < 10:
        level = "FAIL" if _production(settings) else "WARN"
        yield Finding(level, "secret_key", f"weak ({len(key)} characters, {len(set(key))} "
                      "different): set LMS_SECRET_KEY to a random value of 32+ characters")  # fmt: skip
    else:
        yield Finding("OK", "secret_key", f"{len(key)} characters")


def check_base_url(settings: Settings) -> Iterator[Finding]:
    parts = urlsplit(settings.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        yield Finding("FAIL", "base_url", f"LMS_BASE_URL={settings.base_url!r} is not an "
                      "http(s) address: set it to the address people open")  # fmt: skip
    elif parts.scheme != "https":
        level: Level = "FAIL" if _production(settings) else "OK"
        hint = (
            "set LMS_BASE_URL to the https:// address (cookies and HSTS need it)"
            if level == "FAIL" else "http is fine outside production"
        )  # fmt: skip
        yield Finding(level, "base_url", f"{settings.base_url}: {hint}")
    else:
        yield Finding("OK", "base_url", settings.base_url)


# --- database --------------------------------------------------------------------------------------


def check_database(settings: Settings) -> tuple[Any, list[Finding]]:
    """Connects; returns the engine (None when it failed) and the finding."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    try:
        url = make_url(settings.database_url)
    except Exception as exc:
        return None, [Finding("FAIL", "database", f"LMS_DATABASE_URL not understood: "
                              f"{_one_line(exc)}")]  # fmt: skip
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        path = settings.sqlite_path()
        if path is not None and not path.exists():
            return None, [Finding("FAIL", "database", f"{shown}: the file does not exist: run "
                                  "`lms db upgrade` (or fix LMS_DATABASE_URL)")]  # fmt: skip
        connect_args: dict[str, Any] = {}
    else:
        connect_args = {"connect_timeout": 5}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            version = conn.dialect.server_version_info
    except Exception as exc:
        engine.dispose()
        return None, [Finding("FAIL", "database", f"cannot connect to {shown}: "
                              f"{_one_line(exc)}: check LMS_DATABASE_URL (host, port, user, "
                              "password, database name)")]  # fmt: skip
    about = f" (server {'.'.join(str(v) for v in version)})" if version else ""
    return engine, [Finding("OK", "database", f"connected to {shown}{about}")]


def check_migrations(engine: Any) -> Iterator[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from app.cli import alembic_config

    if engine is None:
        yield Finding("WARN", "migrations", "not checked: the database is unreachable")
        return
    script = ScriptDirectory.from_config(alembic_config())  # type: ignore[arg-type]
    heads = set(script.get_heads())
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        yield Finding("FAIL", "migrations", f"cannot read the schema version: {_one_line(exc)}")
        return
    if current == heads:
        yield Finding("OK", "migrations", f"at head ({', '.join(sorted(heads))})")
    elif not current:
        yield Finding("FAIL", "migrations", "the database has no tables yet: run `lms db upgrade`")
    else:
        yield Finding("FAIL", "migrations", f"database at {', '.join(sorted(current))}, the code "
                      f"expects {', '.join(sorted(heads))}: run `lms db upgrade`")  # fmt: skip


# --- storage ---------------------------------------------------------------------------------------


def _s3_bucket_problem(settings: Settings) -> str | None:
    """A precise reason when the bucket cannot be used (missing, forbidden, unreachable)."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    from app.storage.s3 import make_s3_client, parse_s3_url

    bucket, _prefix = parse_s3_url(settings.storage_url)
    client = make_s3_client(endpoint_url=settings.s3_endpoint_url, region=settings.s3_region)
    where = settings.s3_endpoint_url or "AWS S3"
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return (f"bucket {bucket!r} does not exist at {where}: create it or fix "
                    "LMS_STORAGE_URL")  # fmt: skip
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return (f"access to bucket {bucket!r} denied ({code}): check the S3 credentials "
                    "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and the bucket policy")  # fmt: skip
        return f"bucket {bucket!r} at {where}: {code or _one_line(exc)}"
    except EndpointConnectionError:
        return f"cannot reach {where}: check LMS_S3_ENDPOINT_URL and the network"
    except BotoCoreError as exc:
        return f"{where}: {_one_line(exc)} (check the S3 credentials and LMS_S3_ENDPOINT_URL)"
    return None


def check_storage(settings: Settings) -> Iterator[Finding]:
    from app.storage.service import storage_from_url

    url = settings.storage_url
    try:
        storage = storage_from_url(url, settings)
    except Exception as exc:
        yield Finding("FAIL", "storage", f"LMS_STORAGE_URL={url}: {_one_line(exc)}")
        return
    if url.startswith("s3://"):
        problem = _s3_bucket_problem(settings)
        if problem:
            yield Finding("FAIL", "storage", problem)
            return
    key = f"doctor/probe-{secrets.token_hex(8)}"
    data = b"lms doctor probe"
    step = "write"
    try:
        storage.put(key, io.BytesIO(data), content_type="text/plain")
        step = "read"
        read = b"".join(storage.open_range(key))
        if read != data:
            raise ValueError("read back different bytes")
        step = "delete"
        storage.delete(key)
        if storage.exists(key):
            raise ValueError("the probe object is still there after delete")
    except Exception as exc:
        hint = (
            "check that the folder exists and the server's user may write to it"
            if url.startswith("file://")
            else "check the S3 credentials' permissions (put, get, delete)"
        )
        yield Finding("FAIL", "storage", f"{step} of a probe object in {url} failed: "
                      f"{_one_line(exc.__cause__ or exc)}: {hint}")  # fmt: skip
        return
    yield Finding("OK", "storage", f"write, read and delete in {url}")


# --- jobs ------------------------------------------------------------------------------------------


def check_job_queue(settings: Settings) -> Iterator[Finding]:
    url = settings.jobs_url
    if url == "immediate":
        level: Level = "WARN" if _production(settings) else "OK"
        yield Finding(level, "job_queue", "immediate: jobs run inside the request that makes "
                      "them (set LMS_JOBS_URL=redis://... in production)")  # fmt: skip
    elif url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        shown = re.sub(r"//[^@/]*@", "//***@", url)
        try:
            client.ping()
        except Exception as exc:
            yield Finding("FAIL", "job_queue", f"cannot reach Redis at {shown}: "
                          f"{_one_line(exc)}: check LMS_JOBS_URL and that Redis runs")  # fmt: skip
            return
        finally:
            client.close()
        yield Finding("OK", "job_queue", f"Redis at {shown} answers"
                      + ("" if settings.jobs_in_process_worker else
                         " (run `lms jobs worker` to consume it)"))  # fmt: skip
    elif url.startswith("sqlite:///"):
        folder = Path(url[len("sqlite:///") :]).expanduser().resolve().parent
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            yield Finding("FAIL", "job_queue", f"{folder} is not writable: fix LMS_JOBS_URL or "
                          "the folder's permissions")  # fmt: skip
        else:
            yield Finding("OK", "job_queue", f"{url} (embedded; use Redis with several servers)")
    else:
        yield Finding("FAIL", "job_queue", f"LMS_JOBS_URL={url!r} not understood "
                      "(immediate, sqlite:///..., redis://...)")  # fmt: skip


# --- signing keys and signer -----------------------------------------------------------------------


def check_signing_keys(settings: Settings) -> Iterator[Finding]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import pkcs12

    from app.certificates import keys

    paths = keys.key_paths(settings)
    production = _production(settings)
    missing_level: Level = "FAIL" if production else "WARN"
    made_later = "" if production else " (outside production they are made on first use)"
    if not paths.signing_p12.exists():
        yield Finding(missing_level, "signing_key", f"missing {paths.signing_p12}: run "
                      f"`lms keys init` or set LMS_SIGNING_PKCS12_PATH{made_later}")  # fmt: skip
    else:
        try:
            password = keys.signing_password(settings)
            key, cert, _chain = pkcs12.load_key_and_certificates(
                paths.signing_p12.read_bytes(), password
            )
            if key is None or cert is None:
                raise ValueError("it holds no private key and certificate")
        except Exception as exc:
            yield Finding("FAIL", "signing_key", f"cannot open {paths.signing_p12}: "
                          f"{_one_line(exc)}: check LMS_SIGNING_PKCS12_PASSWORD (or the "
                          "signing.p12.password file)")  # fmt: skip
        else:
            now = dt.datetime.now(dt.UTC)
            left = cert.not_valid_after_utc - now
            subject = cert.subject.rfc4514_string()
            if left.total_seconds() <= 0:
                yield Finding("FAIL", "signing_key", f"the signing certificate ({subject}) "
                              f"expired on {cert.not_valid_after_utc:%Y-%m-%d}: renew it")  # fmt: skip
            elif left < dt.timedelta(days=30):
                yield Finding("WARN", "signing_key", f"the signing certificate ({subject}) "
                              f"expires on {cert.not_valid_after_utc:%Y-%m-%d}: renew it")  # fmt: skip
            elif production and settings.signing_pkcs12_path is None:
                yield Finding("WARN", "signing_key", "the local CA made by `lms keys init` "
                              "signs the PDFs: readers will not trust it; set "
                              "LMS_SIGNING_PKCS12_PATH to the agency's certificate (BSrE)")  # fmt: skip
            else:
                yield Finding("OK", "signing_key", f"{paths.signing_p12} ({subject}, valid "
                              f"until {cert.not_valid_after_utc:%Y-%m-%d})")  # fmt: skip
    if not paths.credential_key.exists():
        yield Finding(missing_level, "credential_key", f"missing {paths.credential_key}: run "
                      f"`lms keys init` or set LMS_CREDENTIAL_KEY_PATH{made_later}")  # fmt: skip
        return
    try:
        loaded = serialization.load_pem_private_key(paths.credential_key.read_bytes(), None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
    except Exception as exc:
        yield Finding("FAIL", "credential_key", f"cannot load {paths.credential_key}: "
                      f"{_one_line(exc)}: it must be an unencrypted Ed25519 key (PEM)")  # fmt: skip
        return
    yield Finding("OK", "credential_key", f"{paths.credential_key} (Ed25519)")


def check_signer(settings: Settings) -> Iterator[Finding]:
    defaults = Settings.model_fields
    demo = [
        name for name in ("cert_signer_name", "cert_signer_nip")
        if getattr(settings, name) == defaults[name].default
    ]  # fmt: skip
    if not demo:
        yield Finding("OK", "cert_signer", settings.cert_signer_name)
        return
    names = " and ".join(f"LMS_{n.upper()}" for n in demo)
    if _production(settings):
        yield Finding("FAIL", "cert_signer", f"{names} still name the fictional demo signer: "
                      "set the real official's name, NIP and jabatan")  # fmt: skip
    else:
        yield Finding("OK", "cert_signer", f"the demo signer ({names}; set the real one "
                      "before production)")  # fmt: skip


# --- mail and content origin -----------------------------------------------------------------------


def check_smtp(settings: Settings) -> Iterator[Finding]:
    from app.notifications import channels
    from app.outbox.service import ChannelDown

    if not settings.smtp_url:
        level: Level = "WARN" if _production(settings) else "OK"
        yield Finding(level, "smtp", "not configured: e-mails wait in the outbox (set "
                      "LMS_SMTP_URL to send them)")  # fmt: skip
        return
    try:
        target = channels.parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        yield Finding("FAIL", "smtp", str(exc))
        return
    quick = settings.model_copy(update={"smtp_timeout_seconds": 5})
    try:
        with channels.smtp_connection(quick):
            pass
    except ChannelDown as exc:
        yield Finding("FAIL", "smtp", f"{_one_line(exc)}: check LMS_SMTP_URL (host, port, "
                      "user, password) and that the server accepts this machine")  # fmt: skip
        return
    yield Finding("OK", "smtp", f"{target.host}:{target.port} ({target.security}"
                  + (", signed in" if target.username else "") + ")")  # fmt: skip


def check_content_origin(settings: Settings) -> Iterator[Finding]:
    origin = getattr(settings, "content_origin", None)
    if not origin:
        return
    content, base = urlsplit(str(origin)), urlsplit(settings.base_url)
    if not content.hostname or content.scheme not in ("http", "https"):
        yield Finding("FAIL", "content_origin", f"LMS_CONTENT_ORIGIN={origin!r} is not an "
                      "http(s) origin")  # fmt: skip
    elif (content.scheme, content.hostname, content.port) == (base.scheme, base.hostname,
                                                               base.port):  # fmt: skip
        yield Finding("FAIL", "content_origin", f"{origin} is the LMS's own origin: SCORM "
                      "packages would run with the learners' session; use another host name")  # fmt: skip
    elif content.hostname == base.hostname:
        level: Level = "FAIL" if _production(settings) else "WARN"
        yield Finding(level, "content_origin", f"{origin} differs from LMS_BASE_URL "
                      "only by port or scheme; cookies do not separate ports: set "
                      "LMS_CONTENT_ORIGIN to another host name (e.g. "
                      "https://konten.example.go.id)")  # fmt: skip
    elif _production(settings) and content.scheme != "https":
        yield Finding("FAIL", "content_origin", f"{origin}: use https in production")
    else:
        yield Finding("OK", "content_origin", f"{origin} (separate from {settings.base_url})")


# --- all together ----------------------------------------------------------------------------------


def run_checks(settings: Settings) -> list[Finding]:
    """Every check, in the order an operator fixes things."""
    found: list[Finding] = []
    simple: list[Callable[[Settings], Iterator[Finding]]] = [check_secret_key, check_base_url]
    for check in simple:
        found.extend(check(settings))
    engine, db_found = check_database(settings)
    found.extend(db_found)
    try:
        found.extend(check_migrations(engine))
    finally:
        if engine is not None:
            engine.dispose()
    for check in (check_storage, check_job_queue, check_signing_keys, check_signer, check_smtp,
                  check_content_origin):  # fmt: skip
        try:
            found.extend(check(settings))
        except Exception as exc:  # a check's own failure is a finding, never a traceback
            found.append(Finding("FAIL", check.__name__.removeprefix("check_"), _one_line(exc)))
    return found


def doctor(settings: Settings | None = None) -> list[Finding]:
    """Load the settings (fresh from the environment unless given) and run every check."""
    if settings is None:
        settings, found = load_settings()
        if settings is None:
            return found
    else:
        found = [Finding("OK", "config", f"settings load (environment {settings.environment})")]
    return found + run_checks(settings)
