"""Auto-issue after the learner's action: the quiz submit, last activity or survey that completes
a course commits the completion and one outbox item "certificate.issue"; the outbox issues the
certificate right after that commit, in batches (one dispatch issues every learner who completed
meanwhile: the year's number counter is locked once per run and batch, not once per learner
inside their requests, where a crowd finishing a post-test together queued behind it).

The handler re-checks eligibility when it issues (a profile or rule may have changed), and does
what an officer's issue does: number, record, JP credit, the holder's notice, audit and the PDF's
outbox item. An item whose learner holds a certificate already is done; one whose learner is no
longer eligible or enrolled is cancelled with the reason (the completion stays; an officer can
issue later); a fault (a number clash, the database) leaves it pending and the dispatcher retries.

Registered on the outbox when this module is imported (app.certificates.tasks imports it).
"""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.certificates import service
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.i18n import gettext_ as _
from app.outbox import service as outbox
from app.outbox.models import OutboxItem
from app.outbox.service import Cancelled, Failed, Outcome, Sent, register

log = logging.getLogger(__name__)

TOPIC_ISSUE = "certificate.issue"
BATCH = 100  # issuing is a few statements per learner; a batch is one transaction


def _key_prefix(run_id: int, user_id: int) -> str:
    return f"{TOPIC_ISSUE}:{run_id}:{user_id}:"


def schedule(session: Session, run_id: int, user_id: int, enrolment_id: int) -> None:
    """Ask for the certificate of a completion stored in the caller's transaction. Keyed by the
    run, the learner and the moment, so a completion dropped by a rule change and stored again
    later gets its own item."""
    outbox.add(
        session, TOPIC_ISSUE, {"run_id": run_id, "user_id": user_id, "enrolment_id": enrolment_id},
        key=f"{_key_prefix(run_id, user_id)}{utcnow().timestamp():.6f}", label=f"run {run_id}",
        user_id=user_id,
    )  # fmt: skip


def pending(session: Session, run_id: int, user_id: int) -> bool:
    """True while the learner's certificate of this run is waiting to be issued."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    OutboxItem.user_id == user_id,
                    OutboxItem.topic == TOPIC_ISSUE,
                    OutboxItem.state.in_(("pending", "sending")),
                    OutboxItem.key.startswith(_key_prefix(run_id, user_id), autoescape=True),
                )
            )
        )
    )


@register(TOPIC_ISSUE, batch=BATCH, label=lambda: _("Penerbitan sertifikat otomatis"))
def issue_completed(
    session: Session, items: list[OutboxItem], settings: Settings
) -> dict[int, Outcome]:
    """Issue the certificates of the items' completions, one `service.issue` per run."""
    by_run: dict[int, list[OutboxItem]] = defaultdict(list)
    for item in items:
        by_run[int(item.payload.get("run_id", 0))].append(item)
    outcomes: dict[int, Outcome] = {}
    for run_id, group in by_run.items():
        outcomes.update(_issue_run(session, run_id, group, settings))
    return outcomes


def _issue_run(
    session: Session, run_id: int, group: list[OutboxItem], settings: Settings
) -> dict[int, Outcome]:
    user_ids = [int(i.payload.get("user_id", 0)) for i in group]
    try:
        with session.begin_nested():
            result = service.issue(session, run_id, user_ids, None, settings, inline_max=BATCH)
    except NotFound as exc:
        return {i.id: Cancelled(f"angkatan tidak ditemukan: {exc.detail}") for i in group}
    except IntegrityError as exc:  # a number or certificate written meanwhile: try again later
        log.warning("run %s: auto-issue of %d certificate(s) retried later (%s)", run_id,
                    len(group), exc.orig)  # fmt: skip
        return {i.id: Failed(f"bentrok saat menerbitkan: {exc.orig}") for i in group}
    done = {i.user_id for i in result.issued} | {i.user_id for i in result.already_certified}
    refused = {i.user_id: i for i in result.ineligible}
    outcomes: dict[int, Outcome] = {}
    for item, uid in zip(group, user_ids, strict=True):
        if uid in done:
            outcomes[item.id] = Sent()
        else:
            checks = refused[uid].checks if uid in refused else []
            codes = ", ".join(c.name for c in checks if not c.passed) or "-"
            outcomes[item.id] = Cancelled(f"tidak lagi memenuhi syarat: {codes}")
    return outcomes
