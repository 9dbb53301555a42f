"""`kill -9` of the jobs worker during the notification sender (the outbox) and during a bulk
certificate issue. A new worker takes over: every notification arrives, certificate numbers stay
gapless with no duplicate, every certificate gets its PDF in S3.

Exactly once, precisely: SMTP cannot be exactly-once across a crash that falls between the mail
server's "250 OK" and the commit that marks the item sent, so the contract checked here is that
every notification arrives, each under its own stable Message-ID (a mail system deduplicates by
it), and a second copy exists only of a message whose SMTP transaction the kill cut (at most one
per dispatcher thread). The outbox records each message as sent the moment the server accepted it
(`outbox.confirmer`), so a kill resends nothing the batch had already sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter
from typing import Any

from tests.production.journey import (
    LEARNER_PASSWORD,
    create_course,
    create_learners,
    enrol,
    expect,
    pass_posttest,
    staff,
)
from tests.production.stack import ProdStack, wait_until

LEARNERS = 25
DOMAIN = "pekerja.prod.example"
WORKER_THREADS = 2  # `lms jobs worker --workers 2` in stack.py
STALE = 5  # LMS_CERT_JOB_STALE_SECONDS of the stack


def _slow_sink(stack: ProdStack, seconds: float) -> None:
    """Make the SMTP sink take `seconds` per message, so a kill lands mid-sending."""
    stack.mail.on_message = (lambda _message: time.sleep(seconds)) if seconds else None


def _delivered(stack: ProdStack, subject_word: str) -> dict[str, list[str]]:
    """address -> Message-IDs of the messages to our learners whose subject names the event."""
    out: dict[str, list[str]] = {}
    for message, rcpt in zip(list(stack.mail.messages), list(stack.mail.envelopes), strict=True):
        for address in rcpt:
            if address.endswith("@" + DOMAIN) and subject_word in str(message["Subject"]).lower():
                out.setdefault(address, []).append(str(message["Message-ID"]))
    return out


def _check_once(per_address: dict[str, list[str]], addresses: list[str]) -> list[str]:
    """Every address got its one notification (one Message-ID each); returns the Message-IDs
    that arrived more than once."""
    assert sorted(per_address) == sorted(addresses), "a notification is missing"
    distinct = {a: set(ids) for a, ids in per_address.items()}
    assert all(len(ids) == 1 for ids in distinct.values()), "two different messages for one event"
    ids = [next(iter(s)) for s in distinct.values()]
    assert len(set(ids)) == len(ids)
    copies = Counter(i for ids in per_address.values() for i in ids)
    return [i for i, n in copies.items() if n > 1]


def test_worker_killed_while_sending(prod_stack: ProdStack) -> None:
    admin, officer, author = staff(prod_stack)
    course = create_course(prod_stack, author, officer)
    users = create_learners(admin, 1983, LEARNERS, email_domain=DOMAIN)
    addresses = [u["email"] for u in users]
    assert prod_stack.worker_running
    _slow_sink(prod_stack, 0.2)
    try:
        enrol(officer, course.run_id, [u["nip"] for u in users])  # one commit: an outbox row each
        wait_until(lambda: len(_delivered(prod_stack, "terdaftar")) >= 5, timeout=60,
                   message="the first enrolment e-mails")  # fmt: skip
        prod_stack.kill_worker()
        assert len(_delivered(prod_stack, "terdaftar")) < LEARNERS, "sent all before the kill"
        prod_stack.start_worker()
        _slow_sink(prod_stack, 0)
        # The dead worker's claim expires (LMS_OUTBOX_LEASE_SECONDS), the minute tick sends.
        wait_until(lambda: len(_delivered(prod_stack, "terdaftar")) == LEARNERS, timeout=150,
                   interval=1, message="every enrolment e-mail after the restart")  # fmt: skip
    finally:
        _slow_sink(prod_stack, 0)
        if not prod_stack.worker_running:
            prod_stack.start_worker()
    time.sleep(1)  # a straggler copy would arrive now
    resent = _check_once(_delivered(prod_stack, "terdaftar"), addresses)
    states = prod_stack.rows(
        "SELECT state, count(*) FROM outbox_item WHERE user_id = ANY(:u) GROUP BY state",
        u=[u["id"] for u in users],
    )  # fmt: skip
    assert set(dict(states)) <= {"sent"}, states  # nothing pending, failed or dead
    for api in (admin, officer, author):
        api.close()
    assert len(resent) <= WORKER_THREADS, f"{len(resent)} e-mail(s) sent twice after kill -9"


def test_worker_killed_during_bulk_issue(prod_stack: ProdStack) -> None:
    admin, officer, author = staff(prod_stack)
    course = create_course(prod_stack, author, officer, auto_issue=False)
    users = create_learners(admin, 1984, LEARNERS)
    enrol(officer, course.run_id, [u["nip"] for u in users])
    for user in users:
        learner = prod_stack.api(user["nip"], LEARNER_PASSWORD)
        assert pass_posttest(learner, course.quiz_id)["passed"] is True
        learner.close()
    assert prod_stack.worker_running
    started = expect(officer.post(f"/api/v1/runs/{course.run_id}/certificates"), 202)
    job_id = started["job_id"]

    def progressed() -> dict[str, Any] | None:
        job = expect(officer.get(f"/api/v1/jobs/{job_id}"), 200)
        return job if job["issued_count"] >= 5 or job["rendered_count"] >= 1 else None

    try:
        at_kill = wait_until(progressed, timeout=90, interval=0.1, message="the job to start")
        prod_stack.kill_worker()
        assert at_kill["state"] != "done" and at_kill["rendered_count"] < LEARNERS, at_kill
        time.sleep(STALE + 1)  # its heartbeat goes stale: the next worker to start takes it over
    finally:
        prod_stack.start_worker()

    def finished() -> dict[str, Any] | None:
        job = expect(officer.get(f"/api/v1/jobs/{job_id}"), 200)
        return job if job["state"] in ("done", "failed") else None

    job = wait_until(finished, timeout=150, interval=1, message="the resumed job to finish")
    assert job["state"] == "done", job
    assert (job["issued_count"], job["failed_count"], job["rendered_count"]) == (
        LEARNERS, 0, LEARNERS), job  # fmt: skip

    # One certificate per learner, numbers gapless and unique for the year, each PDF in S3.
    certs = prod_stack.rows(
        "SELECT user_id, number, pdf_key, pdf_sha256 FROM certificate WHERE run_id = :r",
        r=course.run_id,
    )  # fmt: skip
    assert sorted(c[0] for c in certs) == sorted(u["id"] for u in users)
    year = dt.date.today().year
    numbers = [row[0] for row in prod_stack.rows("SELECT number FROM certificate")]
    seqs = sorted(int(n.split("/")[0]) for n in numbers if n.endswith(f"/{year}"))
    assert seqs == list(range(1, len(seqs) + 1)), "a certificate number is missing or repeated"
    assert prod_stack.scalar("SELECT last_seq FROM certificate_counter WHERE year = :y",
                             y=year) == len(seqs)  # fmt: skip
    s3 = prod_stack.s3_client()
    for _user_id, _number, key, sha in certs:
        assert key and sha
        body = s3.get_object(Bucket=prod_stack.s3_bucket, Key=key)["Body"].read()
        assert body.startswith(b"%PDF-") and hashlib.sha256(body).hexdigest() == sha
    for api in (admin, officer, author):
        api.close()
