"""Certificate numbers: the template, and a per-year sequence that stays gapless and unique
under concurrent issuers (threads on SQLite and, with LMS_TEST_DATABASE_URL, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time

import pytest
from sqlalchemy import select

from app.certificates import numbering
from app.certificates import service as cert_service
from app.certificates.models import Certificate
from app.core.config import get_settings
from app.core.db import session_factory, session_scope
from app.core.errors import ValidationFailed
from tests.factories import make_completed_run


def test_default_template() -> None:
    number = numbering.format_number(
        numbering.DEFAULT_TEMPLATE, seq=7, course_code="LITDIG", issued_on=dt.date(2026, 11, 28)
    )
    assert number == "0007/LITDIG/BKPSDM/XI/2026"
    assert [numbering.month_roman(m) for m in (1, 4, 9, 12)] == ["I", "IV", "IX", "XII"]


def test_template_check() -> None:
    numbering.check_template("{seq:05d}/{course_code}/{year}")
    with pytest.raises(ValidationFailed):
        numbering.check_template("{course_code}/{year}")  # no {seq}: numbers would repeat
    with pytest.raises(ValidationFailed):
        numbering.check_template("{seq}/{nama}")


def test_allocate_blocks_and_years() -> None:
    with session_scope() as session:
        assert numbering.allocate(session, 2026) == 1
        assert numbering.allocate(session, 2026, 10) == 2
        assert numbering.allocate(session, 2026) == 12
        assert numbering.allocate(session, 2027) == 1


def test_concurrent_allocation_is_gapless_even_with_rollbacks() -> None:
    """12 threads take 1..5 numbers each, 20 times; a quarter of the transactions roll back.
    The committed numbers are exactly 1..N, each once."""
    committed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    factory = session_factory()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(20):
                session = factory()
                try:
                    count = rng.randint(1, 5)
                    first = numbering.allocate(session, 2030, count)
                    time.sleep(rng.random() / 500)  # hold the lock a little, as issuing does
                    if rng.random() < 0.25:
                        session.rollback()
                        continue
                    session.commit()
                    with lock:
                        committed.extend(range(first, first + count))
                finally:
                    session.close()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(committed) == list(range(1, len(committed) + 1))
    with session_scope() as session:
        from app.certificates import repository

        assert repository.counter_value(session, 2030) == len(committed)


def test_concurrent_issuers_get_numbers_one_to_n(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four officers issue for four runs at the same time: certificate numbers are 1..N."""
    monkeypatch.setattr(cert_service, "produce_pdf", lambda *a, **k: None)  # numbers only
    runs = [make_completed_run(6, auto_issue=False)["run"] for _ in range(4)]
    settings = get_settings()
    errors: list[BaseException] = []

    def officer(run_id: int) -> None:
        try:
            with session_scope() as session:
                cert_service.issue(session, run_id, None, None, settings)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=officer, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with session_scope() as session:
        seqs = sorted(session.scalars(select(Certificate.seq)))
        numbers = list(session.scalars(select(Certificate.number)))
    assert seqs == list(range(1, 25))
    assert len(set(numbers)) == 24
