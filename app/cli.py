"""The `lms` command: serve, database migrations, accounts, demo and synthetic data.

Each command runs in one unit of work (committed at the end, rolled back on error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.core.config import get_settings
from app.core.logging import configure_logging

cli = typer.Typer(help="LMS Diklat ASN", no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="Database schema (Alembic)", no_args_is_help=True)
users_cli = typer.Typer(help="ASN accounts", no_args_is_help=True)
dev_cli = typer.Typer(help="Development data", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(dev_cli, name="dev")

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"


def alembic_config() -> object:
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["configure_logger"] = False
    return config


def upgrade_database() -> None:
    """Bring the schema to the newest migration (the only way tables are made)."""
    from alembic import command

    command.upgrade(alembic_config(), "head")  # type: ignore[arg-type]


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    upgrade_database()
    typer.echo("database: up to date")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (default or 0: one per CPU core this process may use)", min=0
        ),
    ] = None,
    migrate: Annotated[bool, typer.Option(help="Run migrations first")] = True,
    content_port: Annotated[
        int | None,
        typer.Option(help="Also listen here for LMS_CONTENT_ORIGIN (default: its port when it "
                     "is a local address; 0: never)"),
    ] = None,
) -> None:
    """Run the web server (uvicorn with uvloop and httptools; bench/servers.py)."""
    if not workers:
        from app.core.cpus import usable_cores

        workers = usable_cores()
    if migrate:
        upgrade_database()
    settings = get_settings()
    typer.echo(
        f"LMS Diklat ASN ({settings.institution_name}) at http://{host}:{port}/ "
        f"({workers} worker{'s' if workers > 1 else ''})"
    )
    if settings.environment == "development":
        problem = base_url_mismatch(settings.base_url, host, port)
        if problem:
            warn_base_url(problem)
    from app.courses import content_origin

    content_required = content_port is not None
    if content_port is None:
        content_port = content_origin.embedded_port(settings, port)
    if content_port:
        typer.echo(f"SCORM content ({settings.content_origin}) on port {content_port}")
    if isolation := content_origin.problem(settings):
        typer.secho(f"WARNING: {isolation}", fg=typer.colors.YELLOW, err=True)
    metrics_dir = _metrics_multiprocess_dir(workers)
    try:
        content_origin.run_server(
            host=host, port=port, workers=workers, content_port=content_port or None,
            proxy_headers=settings.trust_forwarded_for, content_required=content_required,
        )  # fmt: skip
    finally:
        if metrics_dir is not None:
            import os
            import shutil

            from app.web.metrics import MULTIPROC_ENV

            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)  # named the folder just removed


def _metrics_multiprocess_dir(workers: int) -> str | None:
    """Several processes: /metrics adds up every process's request metrics from files in
    PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode). A fresh temporary folder
    unless the operator names one (emptied here); returns the folder this run made."""
    import os
    import tempfile

    from app.web.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    if os.environ.get(MULTIPROC_ENV):
        prepare_multiprocess_dir(os.environ[MULTIPROC_ENV])
        return None
    if workers <= 1:
        return None
    made = tempfile.mkdtemp(prefix="lms-metrics-")
    os.environ[MULTIPROC_ENV] = made
    return made


_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
_ANY = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 - compared with, never bound to


def base_url_mismatch(base_url: str, host: str, port: int) -> str | None:
    """Why LMS_BASE_URL does not point at the address being served (None when it does): links in
    e-mails and the QR codes on certificates are made from LMS_BASE_URL, so a mismatch sends
    every one of them to the wrong place. Checked in development only (production sits behind
    a proxy whose public address differs by design)."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    base_host = (parts.hostname or "").lower()
    try:
        base_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"LMS_BASE_URL={base_url} has no valid port"
    bound = host.strip().lower()
    if base_port != port:
        return (
            f"LMS_BASE_URL={base_url} points at port {base_port}, but the server listens on "
            f"port {port}"
        )
    if bound in _ANY or bound == base_host:
        return None
    if bound in _LOOPBACK and base_host in _LOOPBACK:
        return None
    return f"LMS_BASE_URL={base_url} names host {base_host}, but the server listens on {host}"


def warn_base_url(problem: str) -> None:
    """One clear warning line on the console and in the log."""
    import logging

    line = (
        f"WARNING: {problem}: verification QR codes and links in messages will point to the "
        "wrong address. Set LMS_BASE_URL to the address people open (e.g. "
        "LMS_BASE_URL=http://127.0.0.1:8001)."
    )
    logging.getLogger("app.cli").warning(line)
    typer.secho(line, fg=typer.colors.YELLOW, err=True)


@users_cli.command("create")
def users_create(
    name: Annotated[str, typer.Option(help="Full name")],
    nip: Annotated[str | None, typer.Option(help="18-digit NIP")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option(help="WhatsApp number, e.g. 0812-3456-7890")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Role (repeat for several)")] = None,
    password: Annotated[str | None, typer.Option(prompt=True, hide_input=True)] = None,
    opd: Annotated[str | None, typer.Option(help="OPD code")] = None,
    employment: Annotated[str | None, typer.Option(help="PNS or PPPK")] = None,
    pangkat: Annotated[str | None, typer.Option(help="e.g. III/a")] = None,
) -> None:
    """Create one account."""
    from app.accounts import service
    from app.accounts.schemas import UserCreate
    from app.core.db import session_scope
    from app.core.errors import LMSError

    try:
        with session_scope() as session:
            data = UserCreate.model_validate({
                "nip": nip, "name": name, "email": email, "phone": phone, "password": password,
                "roles": role or ["learner"], "opd_code": opd, "employment": employment,
                "pangkat_golongan": pangkat,
            })  # fmt: skip
            user = service.create_user(session, data, get_settings())
            typer.echo(
                f"created user {user.id}: {user.name} ({', '.join(sorted(user.role_names))})"
            )
    except LMSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None


@users_cli.command("import")
def users_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the good rows")
    ] = False,
) -> None:
    """Import the roster (CSV/XLSX); upsert by NIP; any bad row imports nothing by default."""
    from app.accounts import roster
    from app.core.db import session_scope
    from app.core.errors import LMSError

    try:
        with session_scope() as session, file.open("rb") as handle:
            result = roster.import_roster(
                session, handle, skip_invalid=skip_invalid, file_name=file.name
            )
    except LMSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    for err in result.errors:
        typer.echo(f"row {err.row}, {err.field}: {err.message}", err=True)
    typer.echo(f"created {result.created}, updated {result.updated}, invalid rows {result.skipped}")
    if result.import_id:
        typer.echo(f"import id {result.import_id} (send activation: /studio/activation)")
    if result.errors and not skip_invalid:
        typer.echo("nothing imported: fix the rows above or use --skip-invalid", err=True)
        raise typer.Exit(1)


@users_cli.command("set-password")
def users_set_password(
    login: Annotated[str, typer.Argument(help="NIP or email")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set an account's password (for accounts made by the roster import)."""
    from app.accounts import service
    from app.core.db import session_scope
    from app.core.errors import LMSError

    try:
        with session_scope() as session:
            user = service.find_login_user(session, login)
            if user is None:
                typer.echo(f"error: no account for {login}", err=True)
                raise typer.Exit(2)
            service.set_password(user, password, get_settings())
    except LMSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo("password set")


@cli.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve", help="Start the server afterwards")
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Load the demo OPDs and accounts (idempotent) and print how to log in."""
    from app.core.db import session_scope
    from app.courses import content_import
    from app.dev.seed import DEMO_PASSWORD, load_demo, load_demo_development
    from app.dev.seed_blended import COURSE_TITLE, load_demo_blended

    upgrade_database()
    with session_scope() as session:
        accounts = load_demo(session, get_settings())
    with session_scope() as session:
        for report in content_import.import_all(session, get_settings(), CONTENT_DIR):
            typer.echo(f"demo course: {report}")
    with session_scope() as session:
        if load_demo_development(session, get_settings()):
            typer.echo(
                "demo competency development: standards, assessments, one mentoring assignment"
            )
    with session_scope() as session:
        if load_demo_blended(session, get_settings()):
            typer.echo(f"demo blended course: {COURSE_TITLE} (run, sessions, assignment, forum)")
    typer.echo("Demo accounts (log in with NIP or email), password for all: " + DEMO_PASSWORD)
    for acc in accounts:
        typer.echo(f"  {', '.join(r.value for r in acc.roles):<22} {acc.nip}  {acc.email}")
    if serve_after:
        serve(host=host, port=port, workers=1, migrate=False)


content_cli = typer.Typer(help="Courses as code (content/ folders)", no_args_is_help=True)
cli.add_typer(content_cli, name="content")


@content_cli.command("import")
def content_import_cmd(
    folder: Annotated[
        Path,
        typer.Argument(exists=True, file_okay=False, help="A course folder, or content/ for all"),
    ] = CONTENT_DIR,
) -> None:
    """Create or update courses from folders (idempotent)."""
    from app.core.db import session_scope
    from app.core.errors import LMSError
    from app.courses import content_import

    upgrade_database()
    try:
        with session_scope() as session:
            if (folder / "course.yaml").exists():
                reports = [content_import.import_course(session, get_settings(), folder)]
            else:
                reports = content_import.import_all(session, get_settings(), folder)
    except LMSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    for report in reports:
        typer.echo(str(report))
        for note in report.notes:
            typer.echo(f"  note: {note}")


@dev_cli.command("seed")
def dev_seed(
    size: Annotated[str, typer.Option(help="XS, S, M or L (L = 10,000 ASN in 40 OPDs)")] = "S",
) -> None:
    """Synthetic regency data for development and benchmarks: ASN, courses, enrolments and a year
    of progress, certificates, JP, assessments, mentoring and external training."""
    from app.core.db import session_scope
    from app.dev.seed import SIZES, seed

    size = size.upper()
    if size not in SIZES:
        typer.echo(f"error: size must be one of {', '.join(SIZES)}", err=True)
        raise typer.Exit(2)
    from app.dev.seed import seed_courses
    from app.dev.seed_year import seed_year

    upgrade_database()
    with session_scope() as session:
        result = seed(session, get_settings(), size)
        result |= seed_courses(session, size)
        result |= seed_year(session, get_settings(), size)
    typer.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


quizzes_cli = typer.Typer(help="Quizzes and attempts", no_args_is_help=True)
cli.add_typer(quizzes_cli, name="quizzes")


@quizzes_cli.command("close-expired")
def quizzes_close_expired() -> None:
    """Grade attempts left open past their deadline plus grace (cron; safe beside the server)."""
    from app.quizzes.tasks import close_expired_once

    closed = close_expired_once(get_settings())
    typer.echo(f"graded {closed} expired attempt(s)")


keys_cli = typer.Typer(help="Signing keys (certificate PDFs and credentials)", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")


@keys_cli.command("init")
def keys_init(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace existing keys (old PDFs stay valid only if their CA is still trusted)",
        ),
    ] = False,
    keys_dir: Annotated[Path | None, typer.Option(help="Folder (default: LMS_KEYS_DIR)")] = None,
) -> None:
    """Make a local root CA, a PAdES signing certificate (PKCS#12) and an Ed25519 credential key."""
    from app.certificates import keys

    settings = get_settings()
    folder = keys_dir or Path(settings.keys_dir)
    written = keys.init_keys(
        folder,
        settings.institution_name,
        force=force,
        pkcs12_password=settings.signing_pkcs12_password,
    )
    if not written:
        typer.echo(f"keys: already present in {folder} (use --force to replace them)")
        return
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"trust anchor for verifiers: {folder / keys.CA_CERT}")


certificates_cli = typer.Typer(help="Certificates: bulk issue, resume", no_args_is_help=True)
cli.add_typer(certificates_cli, name="certificates")
jobs_cli = typer.Typer(help="Background jobs (huey)", no_args_is_help=True)
cli.add_typer(jobs_cli, name="jobs")

from app.backup.commands import backup_cli  # noqa: E402 - imports nothing heavy

cli.add_typer(backup_cli, name="backup")


@certificates_cli.command("issue-run")
def certificates_issue_run(
    run_id: Annotated[int, typer.Argument(help="The run (angkatan)")],
    user: Annotated[list[int] | None, typer.Option("--user", help="User id (repeat)")] = None,
    workers: Annotated[int | None, typer.Option(help="PDF processes (default: cores)")] = None,
) -> None:
    """Issue certificates for a run in this process (everyone eligible, or --user ...)."""
    from app.certificates import service as cert_service
    from app.certificates import tasks
    from app.core.db import session_scope
    from app.core.errors import LMSError

    settings = get_settings()
    try:
        with session_scope() as session:
            job_id = cert_service.create_issue_job(session, run_id, user or None, None)
    except LMSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"job {job_id}")
    ok = tasks.run_job(job_id, settings, workers=workers,
                       on_batch=lambda n: typer.echo(f"  {n} peserta diproses"))  # fmt: skip
    _print_job(job_id)
    if not ok:
        raise typer.Exit(1)


def _print_job(job_id: str) -> None:
    from app.certificates import service as cert_service
    from app.core.db import session_scope

    with session_scope() as session:
        job = cert_service.job_status(session, job_id, with_items=False)
    typer.echo(
        f"{job.state}: issued {job.issued_count}, ineligible {job.ineligible_count}, "
        + (f"already certified {job.certified_count}, " if job.certified_count else "")
        + f"failed {job.failed_count}, PDFs {job.rendered_count}"
        + (f" — {job.error}" if job.error else "")
    )


@certificates_cli.command("resume")
def certificates_resume(
    job_id: Annotated[str | None, typer.Argument(help="One job (also a failed one)")] = None,
) -> None:
    """Finish jobs whose process died (stale heartbeat), here and now."""
    from app.certificates import tasks

    ids = tasks.resume_stale(get_settings(), inline=True, job_id=job_id)
    if not ids:
        typer.echo("no job to resume")
    for jid in ids:
        _print_job(jid)


@jobs_cli.command("worker")
def jobs_worker(
    workers: Annotated[int, typer.Option(help="Worker threads")] = 1,
) -> None:
    """Consume background jobs and run the minute tick (production; LMS_JOBS_URL=redis://...
    or sqlite:///...)."""
    from app.jobs import queue

    queue.load_tasks()
    settings = get_settings()
    configure_logging(settings.log_level)  # JSON lines with each job's id, as the web process
    huey = queue.get_huey()
    queue.run_startup_hooks(settings)
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


@jobs_cli.command("run-due")
def jobs_run_due(
    job: Annotated[str | None, typer.Option(help="Only this job")] = None,
    force: Annotated[bool, typer.Option(help="Run even before its time (with --job)")] = False,
    outbox: Annotated[bool, typer.Option(help="Also deliver the outbox")] = True,
) -> None:
    """Run the scheduled jobs that are due now and deliver what the outbox holds (for cron,
    every minute, instead of a worker)."""
    from app.jobs import queue, service
    from app.outbox import service as outbox_service

    queue.load_tasks()
    settings = get_settings()
    configure_logging(settings.log_level)
    for outcome in service.run_due(settings, only=job, force=force and job is not None):
        typer.echo(f"{outcome.job} [{outcome.period}]: {outcome.state} — {outcome.result}")
    if outbox:
        stats = outbox_service.dispatch(settings)
        typer.echo(
            f"outbox: {stats.sent} sent, {stats.failed} to retry, {stats.dead} dead, "
            f"{stats.cancelled} cancelled"
        )


@jobs_cli.command("list")
def jobs_list() -> None:
    """The scheduled jobs with their last run."""
    from app.core.db import session_scope
    from app.jobs import queue, service

    queue.load_tasks()
    with session_scope() as session:
        for row in service.status(session, get_settings()):
            last = f"{row.last_state} {row.last_period}" if row.last_state else "never run"
            typer.echo(f"{row.name:32} {row.cadence:8} {last}: {row.last_result or ''}")


audit_cli = typer.Typer(help="The audit log (hash chain)", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")


@audit_cli.command("verify")
def audit_verify(
    expect: Annotated[
        str | None,
        typer.Option(help="ID:HASH of a head noted earlier: it must still be in the chain"),
    ] = None,
) -> None:
    """Recompute the audit chain; report the first edited, inserted or deleted row (exit 1)."""
    from app.audit import service as audit
    from app.core.db import session_scope

    expected: tuple[int, str] | None = None
    if expect:
        number, _sep, digest = expect.partition(":")
        if not number.isascii() or not number.isdigit() or len(digest) != 64:
            typer.echo("error: --expect must be ID:HASH (a 64-digit sha256)", err=True)
            raise typer.Exit(2)
        expected = (int(number), digest.lower())
    with session_scope() as session:
        result = audit.verify(session, expect=expected)
    if not result.ok:
        typer.echo(f"audit chain BROKEN after {result.checked} good row(s): {result.problem}",
                   err=True)  # fmt: skip
        raise typer.Exit(1)
    typer.echo(f"audit chain ok: {result.checked} row(s) after anchor {result.anchor_id}; "
               f"head {result.head_id}:{result.head_hash}")  # fmt: skip


@audit_cli.command("prune")
def audit_prune(
    days: Annotated[int | None, typer.Option(help="Keep this many days (default: setting)")] = None,
) -> None:
    """Delete entries older than LMS_AUDIT_RETENTION_DAYS (the daily job does this too)."""
    from app.audit import service as audit
    from app.core.db import session_scope, utcnow

    keep = days if days is not None else get_settings().audit_retention_days
    if keep < 1:
        typer.echo("error: --days must be at least 1", err=True)
        raise typer.Exit(2)
    with session_scope() as session:
        count = audit.prune(session, now=utcnow(), retention_days=keep)
    typer.echo(f"pruned {count} audit row(s) older than {keep} day(s)")


@cli.command("compress-static")
def compress_static() -> None:
    """Write brotli and gzip siblings of the text assets in static/ (build step: the server then
    never compresses a static file); skips those already up to date."""
    from app.web.static import precompress_assets

    written = precompress_assets()
    typer.echo(f"{len(written)} compressed file(s) written")


@cli.command()
def doctor() -> None:
    """Check configuration and reachability (database, migrations, storage, job queue, keys,
    signer, SMTP): one line per check, OK|WARN|FAIL; exit code 1 on any FAIL."""
    from app.core.doctor import doctor as run_doctor

    colours = {"OK": typer.colors.GREEN, "WARN": typer.colors.YELLOW, "FAIL": typer.colors.RED}
    found = run_doctor()
    for finding in found:
        typer.secho(finding.line(), fg=colours[finding.level])
    if any(f.level == "FAIL" for f in found):
        raise typer.Exit(1)


xapi_cli = typer.Typer(help="xAPI learning records to the LRS", no_args_is_help=True)
cli.add_typer(xapi_cli, name="xapi")


@xapi_cli.command("resend")
def xapi_resend(
    since: Annotated[str, typer.Option(help="Date (YYYY-MM-DD, institution time zone)")],
    deliver: Annotated[bool, typer.Option(help="Deliver now instead of at the next tick")] = True,
) -> None:
    """Send again every statement produced since DATE (the LRS keeps one per id)."""
    import datetime as dt

    from app.core import clock
    from app.core.db import session_scope
    from app.jobs import queue
    from app.outbox import service as outbox_service
    from app.xapi import service as xapi_service
    from app.xapi.constants import TOPIC

    try:
        day = dt.date.fromisoformat(since)
    except ValueError:
        raise typer.BadParameter("--since must be YYYY-MM-DD") from None
    settings = get_settings()
    moment = clock.start_of_day(day)
    queue.load_tasks()
    with session_scope() as session:
        n = xapi_service.resend_since(session, moment)
    typer.echo(f"{n} statement(s) queued again")
    if deliver and n and settings.xapi_endpoint:
        stats = outbox_service.dispatch(settings, only=[TOPIC])
        typer.echo(f"xapi: {stats.sent} sent, {stats.failed} to retry, {stats.dead} dead")


@xapi_cli.command("status")
def xapi_status() -> None:
    """The statement queue: pending, sent, failed, the last error."""
    from app.core.db import session_scope
    from app.xapi import service as xapi_service

    with session_scope() as session:
        state = xapi_service.queue_state(session, get_settings())
    typer.echo(f"endpoint: {state.endpoint or 'off'}")
    typer.echo(f"pending {state.pending}, sent {state.sent}, failed {state.failed}")
    if state.last_error:
        typer.echo(f"last error: {state.last_error}")


tte_cli = typer.Typer(help="BSrE TTE (Esign Client Service)", no_args_is_help=True)
cli.add_typer(tte_cli, name="tte")


@tte_cli.command("check")
def tte_check(nik: Annotated[str, typer.Argument(help="The signer's NIK (16 digits)")]) -> None:
    """The signer's BSrE certificate state (only ISSUE may sign); exit code 1 otherwise."""
    from app.core.errors import LMSError
    from app.tte import tasks as tte_tasks
    from app.tte.client import BsreError

    if len(nik) != 16 or not nik.isdigit():
        raise typer.BadParameter("NIK must be 16 digits")
    try:
        status, code, message = tte_tasks.check(nik, get_settings())
    except (BsreError, LMSError) as exc:
        typer.secho(f"FAIL {getattr(exc, 'message', None) or exc}", fg=typer.colors.RED)
        raise typer.Exit(2) from None
    typer.echo(f"{status} (status_code {code or '-'})" + (f": {message}" if message else ""))
    if status != "ISSUE":
        raise typer.Exit(1)


siasn_cli = typer.Typer(help="SIASN (BKN) push of riwayat kursus/diklat", no_args_is_help=True)
cli.add_typer(siasn_cli, name="siasn")


@siasn_cli.command("push")
def siasn_push(
    max_seconds: Annotated[float, typer.Option(help="Stop after this long")] = 600.0,
) -> None:
    """Push every due record to SIASN now (what the job does after each commit)."""
    from app.siasn import service as siasn_service
    from app.siasn.client import configured

    settings = get_settings()
    if not configured(settings):
        typer.secho("SIASN is off: set LMS_SIASN_API_URL", fg=typer.colors.YELLOW)
        raise typer.Exit(1)
    stats = siasn_service.push_due(settings, max_seconds=max_seconds)
    typer.echo(f"siasn: {stats.pushed} pushed, {stats.deleted} deleted, {stats.failed} failed, "
               f"{stats.waiting} waiting, {stats.skipped} skipped ({stats.calls} calls)")  # fmt: skip


@siasn_cli.command("status")
def siasn_status() -> None:
    """Records per state, and the latest failures with SIASN's message."""
    from app.core.db import session_scope
    from app.siasn import service as siasn_service
    from app.siasn.client import configured

    settings = get_settings()
    with session_scope() as session:
        counts = siasn_service.counts(session)
        _total, failed = siasn_service.listing(session, state="failed", per_page=10)
    typer.echo(f"SIASN: {settings.siasn_api_url if configured(settings) else 'off'}")
    typer.echo(", ".join(f"{state} {n}" for state, n in counts.items()))
    for row in failed:
        typer.echo(f"  #{row.id} {row.source} {row.source_id}: {row.last_error}")


@siasn_cli.command("reconcile")
def siasn_reconcile(nip: Annotated[str, typer.Argument(help="The ASN's NIP (18 digits)")]) -> None:
    """One ASN's records here and in SIASN (rw-kursus, rw-diklat), side by side."""
    from app.core.db import session_scope
    from app.core.errors import LMSError
    from app.siasn import service as siasn_service
    from app.siasn.client import SiasnError

    if len(nip) != 18 or not nip.isdigit():
        raise typer.BadParameter("NIP must be 18 digits")
    try:
        with session_scope() as session:
            view = siasn_service.reconcile(session, nip, get_settings())
    except (SiasnError, LMSError) as exc:
        typer.secho(f"FAIL {getattr(exc, 'message', None) or exc}", fg=typer.colors.RED)
        raise typer.Exit(2) from None
    typer.echo(f"{view.name} ({view.nip})")
    marks = {"both": "=", "lms": "+ only in LMS", "siasn": "- only in SIASN"}
    for line in view.lines:
        typer.echo(f"{marks[line.where]:>16}  {line.number or '-'}  {line.name or line.siasn_name}"
                   f"  [{line.siasn_id or '-'}]")  # fmt: skip


def main() -> None:
    # Domain event listeners (completion -> certificates) must be registered in every process,
    # and so must the activity kinds other domains own (app.courses.kinds).
    from app.assignments import kind as _assignment_kind  # noqa: F401
    from app.certificates import service as _certificates  # noqa: F401
    from app.live import service as _live  # noqa: F401
    from app.siasn import service as _siasn  # noqa: F401 - JP ledger -> SIASN sync rows
    from app.xapi import listeners as _xapi  # noqa: F401

    cli(prog_name="lms")


if __name__ == "__main__":
    main()
