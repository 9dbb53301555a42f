"""Background bulk issuance on the job queue (app.jobs.queue): create the items, issue in batches
(a block of numbers per batch under the counter lock, Core bulk inserts, one commit per batch,
counters for the progress bar), then render the PDFs still missing. Resumable: a job whose
heartbeat went stale (its process died) is taken over by the worker start-up hook or
`lms certificates resume`; every step is idempotent (pending items only, certificates without a
PDF only).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError, OperationalError

from app.audit import service as audit
from app.certificates import auto_issue as _auto_issue  # noqa: F401 - the auto-issue outbox handler
from app.certificates import delivery as _delivery  # the PDF outbox handler is registered
from app.certificates import eligibility, numbering, repository, rules
from app.certificates import service as cert_service
from app.certificates.models import RunCompletion
from app.core.config import Settings, get_settings
from app.core.db import session_factory, session_scope, utcnow
from app.core.logging import logged_job
from app.jobs import queue
from app.jp import service as jp_service
from app.notifications import service as notifications

log = logging.getLogger(__name__)

ISSUE_TASK = "certificates.issue_job"


@queue.task(ISSUE_TASK)
def _run_job_task(job_id: str) -> None:
    run_job(job_id, get_settings())


def enqueue(job_id: str) -> None:
    """Queue a job (the caller has committed it)."""
    queue.enqueue(ISSUE_TASK, job_id)


# --- the job -------------------------------------------------------------------------------------


def _stale_before(settings: Settings) -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=settings.cert_job_stale_seconds)


@logged_job(ISSUE_TASK + ".run", kind="certificates", job_id=lambda job_id, *_a, **_k: job_id,
            outcome=lambda ok: "ok" if ok else "incomplete")  # fmt: skip
def run_job(
    job_id: str,
    settings: Settings | None = None,
    *,
    render: bool = True,
    workers: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> bool:
    """Run (or resume) a job to its end; False when another runner holds it or it failed."""
    settings = settings or get_settings()
    with session_scope() as session:
        if not repository.claim_job(session, job_id, utcnow(), _stale_before(settings)):
            return False
        job = repository.get_job(session, job_id)
        assert job is not None
        job.started_at = job.started_at or utcnow()
    try:
        if not _issue_pending(job_id, settings, on_batch):
            return False
        if render and not _render_pending(job_id, settings, workers):
            return False
        with session_scope() as session:
            job = repository.get_job(session, job_id)
            assert job is not None
            job.state, job.finished_at, job.error = "done", utcnow(), None
            job.rendered_count = repository.count_rendered(session, job_id)
        return True
    except Exception as exc:
        log.exception("certificate job %s failed", job_id)
        with session_scope() as session:
            job = repository.get_job(session, job_id)
            if job is not None:
                job.state, job.error, job.finished_at = "failed", str(exc)[:2000], utcnow()
        return False


def _issue_pending(job_id: str, settings: Settings, on_batch: Callable[[int], None] | None) -> bool:
    with session_scope() as session:
        job = repository.get_job(session, job_id)
        assert job is not None
        pending = repository.pending_user_ids(session, job_id)
        if not pending:
            return True
        ctx = cert_service._context(session, job.run_id, settings)
        learners = cert_service._run_learners(session, ctx, pending)
        by = job.created_by_id
    curriculum = cert_service._curriculum_json(ctx)
    size = settings.cert_job_batch
    for start in range(0, len(pending), size):
        if queue.stopping.is_set():
            return False  # shutting down: the heartbeat goes stale and a sweep resumes it
        batch = pending[start : start + size]
        for attempt in range(3):
            try:
                with session_scope() as session:
                    _issue_batch(session, job_id, ctx, learners, batch, by, curriculum, settings)
                break
            except (IntegrityError, OperationalError):
                # Someone issued for one of these learners meanwhile (or a lock timed out):
                # read their state again and retry the batch.
                if attempt == 2:
                    raise
                with session_scope() as session:
                    learners.update(cert_service._run_learners(session, ctx, batch))
        if on_batch is not None:
            on_batch(start + len(batch))
    return True


def _issue_batch(
    session: Any,
    job_id: str,
    ctx: cert_service.RunContext,
    learners: dict[int, cert_service.Learner],
    batch: Sequence[int],
    by: int | None,
    curriculum: str | None,
    settings: Settings,
) -> None:
    items: list[dict[str, Any]] = []
    chosen: list[cert_service.Learner] = []
    certified = 0
    for uid in batch:
        learner = learners.get(uid)
        if learner is None:
            not_enrolled = eligibility.Check("enrolled", False)
            items.append({"job_id": job_id, "user_id": uid, "state": "ineligible",
                          "message": eligibility.encode_reasons([not_enrolled])})  # fmt: skip
            continue
        assert learner.result is not None
        cert = learner.certificate
        if not learner.result.eligible:
            if cert is not None and eligibility.already_certified(learner.result, cert.status):
                items.append({"job_id": job_id, "user_id": uid, "state": "certified",
                              "certificate_id": cert.id, "message": cert.number})  # fmt: skip
                certified += 1
                continue
            # Stored as codes: the progress page describes them in the officer's language.
            reasons = eligibility.encode_reasons(learner.result.missing)
            items.append({"job_id": job_id, "user_id": uid, "state": "ineligible",
                          "message": reasons})  # fmt: skip
            continue
        chosen.append(learner)
    issued = 0
    if chosen:
        now = utcnow()
        issued_on = cert_service.today()
        first = numbering.allocate(session, issued_on.year, len(chosen))
        completions = [
            {
                "enrolment_id": lr.facts.enrolment_id,
                "run_id": ctx.run.id,
                "user_id": lr.facts.user_id,
                "completed_at": now,
                "final_score": lr.score,
                "predikat": rules.predikat(
                    lr.score, ctx.rules.predikat_bands, ctx.rules.predikat_lowest
                ),
            }
            for lr in chosen
            if lr.completion is None
        ]
        if completions:
            session.execute(insert(RunCompletion), completions)
        rows = [
            cert_service.certificate_row(
                ctx,
                lr,
                seq=first + i,
                issued_at=now,
                issued_on=issued_on,
                by=by,
                settings=settings,
                version=(lr.certificate.version + 1) if lr.certificate else 1,
                previous_id=lr.certificate.id if lr.certificate else None,
                job_id=job_id,
                curriculum=curriculum,
            )
            for i, lr in enumerate(chosen)
        ]
        ids = repository.insert_certificates(session, rows)
        jp_service.credit_many(
            session, [cert_service.jp_credit_row(r, i) for r, i in zip(rows, ids, strict=True)]
        )
        notifications.notify_many(  # one call per batch: a few queries whatever its size
            session,
            [cert_service.issued_notice(r, i) for r, i in zip(rows, ids, strict=True)],
            settings,
        )
        audit.record_many(  # one head lock and one insert per batch
            session, [cert_service.issued_audit(r, i, by) for r, i in zip(rows, ids, strict=True)]
        )
        for lr, row, cid in zip(chosen, rows, ids, strict=True):
            items.append({"job_id": job_id, "user_id": lr.facts.user_id, "state": "issued",
                          "certificate_id": cid, "message": row["number"]})  # fmt: skip
        issued = len(chosen)
    repository.update_items(session, items)
    repository.bump_job(
        session, job_id, utcnow(), issued_count=issued, certified_count=certified,
        ineligible_count=len(items) - issued - certified,
    )  # fmt: skip


def _render_pending(job_id: str, settings: Settings, workers: int | None = None) -> bool:
    """PDFs for the job's certificates that have none yet (H3's produce_many: a process pool,
    results committed every few hundred, so a crash loses little and a resume continues)."""
    from app.certificates import documents

    with session_scope() as session:
        ids = repository.unrendered_of_job(session, job_id, 10**9)
    if not ids or queue.stopping.is_set():
        return not ids

    def progress(_done: int) -> None:
        with session_scope() as session:
            count = repository.count_rendered(session, job_id)
            repository.bump_job(session, job_id, utcnow())
            job = repository.get_job(session, job_id)
            if job is not None:
                job.rendered_count = count

    try:
        result = documents.produce_many(
            session_factory(), ids, settings, workers=workers, on_progress=progress
        )
    except Exception:  # e.g. the signing keys are missing: the outbox makes them later
        with session_scope() as session:
            _delivery.schedule_ids(session, ids)
        raise
    if result.failed:
        # The outbox makes them once the fault clears (keys back, storage reachable).
        with session_scope() as session:
            _delivery.schedule_ids(session, sorted(result.failed))
        raise RuntimeError(
            f"{len(result.failed)} PDF gagal dibuat, mis. sertifikat "
            f"{next(iter(result.failed))}: {next(iter(result.failed.values()))}"
        )
    return True


# --- resuming ------------------------------------------------------------------------------------


def stale_jobs(settings: Settings) -> list[str]:
    with session_scope() as session:
        return repository.stale_jobs(session, _stale_before(settings))


def resume_stale(settings: Settings, *, inline: bool = False, include_failed: bool = False,
                 job_id: str | None = None) -> list[str]:  # fmt: skip
    """Queue (or run here) every job whose runner died; returns their ids."""
    if include_failed or job_id:
        with session_scope() as session:
            for jid in [job_id] if job_id else []:
                job = repository.get_job(session, jid)
                if job is not None and job.state in ("failed", "running"):
                    job.state, job.heartbeat_at = "queued", None
    ids = [job_id] if job_id else stale_jobs(settings)
    for jid in ids:
        if inline:
            run_job(jid, settings)
        else:
            enqueue(jid)
    return ids


@queue.on_worker_start
def _resume_on_start(settings: Settings) -> None:
    """A worker starting resumes the jobs a crashed process left behind."""
    resume_stale(settings)


@queue.every_minute("certificates.resume_stale")
def _resume_stale_tick() -> None:
    """Every minute: a job whose runner died while the other workers kept running (or a worker
    restarted before the heartbeat went stale) is resumed once its heartbeat is stale. Running it
    twice is harmless: only one runner can claim a job."""
    resume_stale(get_settings())
