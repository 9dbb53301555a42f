"""Side effects never fail a learner's action, on the production stack (two apps, a worker,
PostgreSQL, Redis, SeaweedFS): SeaweedFS is stopped while a learner's post-test submit completes
the course. The submit succeeds, the certificate is issued and verifiable at once, its PDF
endpoint says "being prepared" (409 + Retry-After); the outbox retries the render and, once
SeaweedFS is back, the PDF lands in S3 — one certificate, one outbox item, one object."""

from __future__ import annotations

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

BIRTH_YEAR = 1979  # NIPs of this module's learners (prod uses 1981-1984)


def _certificates(stack: ProdStack, user_id: int, run_id: int) -> list[dict[str, Any]]:
    rows = stack.rows(
        "SELECT id, number, code, year, pdf_key, pdf_sha256 FROM certificate "
        "WHERE user_id = :u AND run_id = :r",
        u=user_id, r=run_id,
    )  # fmt: skip
    return [dict(r._mapping) for r in rows]


def _certificate(stack: ProdStack, user_id: int, run_id: int) -> dict[str, Any]:
    rows = _certificates(stack, user_id, run_id)
    assert len(rows) == 1, rows  # never a duplicate
    return rows[0]


def _pdf_item(stack: ProdStack, cert_id: int) -> dict[str, Any]:
    rows = stack.rows(
        "SELECT state, attempts, last_error FROM outbox_item WHERE key = :k",
        k=f"certificate.pdf:{cert_id}",
    )
    assert len(rows) == 1, rows
    return dict(rows[0]._mapping)


def test_s3_down_while_a_learner_completes_the_course(prod_stack: ProdStack) -> None:
    admin, officer, author = staff(prod_stack)
    learner = None
    try:
        course = create_course(prod_stack, author, officer, auto_issue=True)
        [user] = create_learners(admin, BIRTH_YEAR, 1, start=len(prod_stack.rows(
            "SELECT id FROM user_account WHERE nip LIKE :p", p=f"{BIRTH_YEAR}%")))  # fmt: skip
        enrol(officer, course.run_id, [user["nip"]])
        learner = prod_stack.api(user["nip"], LEARNER_PASSWORD)

        prod_stack.stop_s3()
        try:
            result = pass_posttest(learner, course.quiz_id)  # completes the course
            assert result["passed"] is True and result["state"] == "graded"
            # The job worker's outbox issues it right after the submit (S3 plays no part).
            wait_until(
                lambda: _certificates(prod_stack, user["id"], course.run_id) != [],
                timeout=30, message="the auto-issued certificate never appeared",
            )  # fmt: skip
            cert = _certificate(prod_stack, user["id"], course.run_id)
            assert cert["pdf_key"] is None
            record = expect(learner.get(f"/api/v1/certificates/{cert['id']}"), 200)
            assert record["status"] == "valid" and record["pdf_ready"] is False
            pending = learner.get(f"/api/v1/certificates/{cert['id']}/pdf")
            assert pending.status_code == 409 and pending.json()["error"] == "pdf_not_ready"
            assert int(pending.headers["retry-after"]) > 0
            verified = expect(prod_stack.client().get(f"/api/v1/verify/{cert['code']}"), 200)
            assert verified["status"] == "valid"
            # The worker tries while SeaweedFS is down: the item waits with the reason.
            wait_until(
                lambda: (_pdf_item(prod_stack, cert["id"])["last_error"] or "") != "",
                timeout=60, message="the PDF item was never tried while S3 was down",
            )  # fmt: skip
            item = _pdf_item(prod_stack, cert["id"])
            assert item["state"] in ("pending", "sending")
            assert "penyimpanan objek" in item["last_error"]
        finally:
            prod_stack.start_s3()

        # No manual step: the retry (backoff <= 5 s on the stack) makes the PDF.
        wait_until(
            lambda: _certificate(prod_stack, user["id"], course.run_id)["pdf_key"] is not None,
            timeout=90, message="the certificate PDF never appeared after S3 returned",
        )  # fmt: skip
        cert = _certificate(prod_stack, user["id"], course.run_id)
        assert _pdf_item(prod_stack, cert["id"])["state"] == "sent"
        s3 = prod_stack.s3_client()
        listed = s3.list_objects_v2(
            Bucket=prod_stack.s3_bucket, Prefix=f"certificates/{cert['year']}/{cert['id']}-"
        )
        assert [o["Key"] for o in listed.get("Contents", [])] == [cert["pdf_key"]]
        pdf = learner.get(f"/api/v1/certificates/{cert['id']}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        import hashlib

        assert hashlib.sha256(pdf.content).hexdigest() == cert["pdf_sha256"]
    finally:
        for api in (admin, officer, author, learner):
            if api is not None:
                api.close()
