"""The hash chain: appending, `lms audit verify` finding edited, deleted and inserted rows, the
checkpoint at the tail, retention pruning with its anchor, and concurrent appenders."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from sqlalchemy import delete, insert, select, update
from typer.testing import CliRunner

from app.audit import service as audit
from app.audit.models import GENESIS, AuditEntry, AuditHead
from app.cli import cli
from app.core.db import get_engine, session_scope, utcnow
from tests.audit.helpers import entries

runner = CliRunner()


def _append(n: int, *, action: str = "account.updated") -> None:
    for i in range(n):
        with session_scope() as s:
            audit.record(s, action, actor=None, target=("user", i + 1),
                         before={"name": f"A{i}"}, after={"name": f"B{i}", "ratio": 0.5})  # fmt: skip


def _verify() -> audit.Verification:
    with session_scope() as s:
        return audit.verify(s)


def test_chain_links_every_row_to_the_previous_one() -> None:
    _append(4)
    rows = entries()
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["prev_hash"] == GENESIS
    for prev, row in itertools.pairwise(rows):
        assert row["prev_hash"] == prev["hash"]
        assert row["at"] >= prev["at"]
    assert rows[0]["actor_label"] == "system" and rows[0]["actor_id"] is None
    result = _verify()
    assert result.ok and result.checked == 4 and result.head_id == 4
    assert result.head_hash == rows[-1]["hash"]


def test_cli_verify_passes_on_a_good_chain_and_on_an_empty_one() -> None:
    empty = runner.invoke(cli, ["audit", "verify"])
    assert empty.exit_code == 0, empty.output
    _append(3)
    good = runner.invoke(cli, ["audit", "verify"])
    assert good.exit_code == 0, good.output
    assert "audit chain ok: 3 row(s)" in good.output


def test_an_edited_row_is_detected() -> None:
    _append(5)
    with session_scope() as s:  # someone with database access changes who did it
        s.execute(
            update(AuditEntry).where(AuditEntry.id == 3).values(actor_label="199001012015011001")
        )
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "row 3" in result.output and "edited" in result.output


def test_an_edited_json_value_is_detected() -> None:
    _append(3)
    with session_scope() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 2).values(after={"name": "X"}))
    result = _verify()
    assert not result.ok and result.row_id == 2 and "edited" in (result.problem or "")


def test_a_rehashed_edit_breaks_the_link_of_the_next_row() -> None:
    """Editing a row and recomputing its own hash still breaks the next row's link."""
    _append(4)
    with session_scope() as s:
        row = s.get(AuditEntry, 2)
        assert row is not None
        row.after = {"name": "forged"}
        s.flush()
        fields = {c: getattr(row, c) for c in ("id", "at", "actor_id", "actor_label", "address",
                  "action", "target_type", "target_id", "before", "after", "request_id")}  # fmt: skip
        row.hash = audit.chain_hash(row.prev_hash, fields)
    result = _verify()
    assert not result.ok and result.row_id == 3
    assert "not linked" in (result.problem or "")


def test_a_deleted_middle_row_is_detected() -> None:
    _append(5)
    with session_scope() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == 3))
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "rows 3..3 are missing: deleted" in result.output


def test_a_deleted_middle_row_renumbered_is_detected() -> None:
    """Closing the gap by renumbering the later rows breaks their hashes."""
    _append(4)
    with session_scope() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == 2))
        for i in (3, 4):
            s.execute(update(AuditEntry).where(AuditEntry.id == i).values(id=i - 1))
        s.execute(update(AuditHead).values(last_id=3))
    result = _verify()
    assert not result.ok and result.row_id == 2 and "edited" in (result.problem or "")


def test_deleted_rows_at_the_tail_are_caught_by_the_checkpoint() -> None:
    _append(5)
    with session_scope() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id >= 4))
    result = _verify()
    assert not result.ok and "rows 4..5 are missing at the end" in (result.problem or "")


def test_an_inserted_row_is_detected() -> None:
    """A forged row with a correct hash appended at the end: the checkpoint does not know it."""
    _append(3)
    with session_scope() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert last is not None
        row = {"id": 4, "at": utcnow(), "actor_id": None, "actor_label": "system",
               "address": None, "action": "certificate.revoked", "target_type": "certificate",
               "target_id": "9", "before": None, "after": None, "request_id": None}  # fmt: skip
        s.execute(insert(AuditEntry).values(**row, prev_hash=last.hash,
                                            hash=audit.chain_hash(last.hash, row)))  # fmt: skip
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "beyond the checkpoint: inserted" in result.output


def test_a_row_inserted_before_the_start_is_detected() -> None:
    _append(2)
    with session_scope() as s:
        row = {"id": 0, "at": utcnow(), "actor_id": None, "actor_label": "system",
               "address": None, "action": "auth.lockout", "target_type": None,
               "target_id": None, "before": None, "after": None, "request_id": None}  # fmt: skip
        s.execute(insert(AuditEntry).values(**row, prev_hash=GENESIS,
                                            hash=audit.chain_hash(GENESIS, row)))  # fmt: skip
    result = _verify()
    assert not result.ok and "inserted" in (result.problem or "")


def test_expect_checks_a_head_noted_earlier() -> None:
    _append(3)
    head = _verify()
    _append(2)
    noted = f"{head.head_id}:{head.head_hash}"
    ok = runner.invoke(cli, ["audit", "verify", "--expect", noted])
    assert ok.exit_code == 0, ok.output
    wrong = runner.invoke(cli, ["audit", "verify", "--expect", f"{head.head_id}:{'a' * 64}"])
    assert wrong.exit_code == 1 and "expected head" in wrong.output
    bad = runner.invoke(cli, ["audit", "verify", "--expect", "x"])
    assert bad.exit_code == 2


def test_a_rolled_back_action_leaves_no_entry_and_no_gap() -> None:
    _append(1)
    with pytest.raises(RuntimeError), session_scope() as s:
        audit.record(s, "account.updated", actor=None)
        raise RuntimeError("the action failed after recording")
    _append(1)
    assert [r["id"] for r in entries()] == [1, 2]
    assert _verify().ok


def test_unknown_action_codes_are_refused() -> None:
    with session_scope() as s, pytest.raises(ValueError, match="unknown audit action"):
        audit.record(s, "made.up")


def test_pruning_leaves_an_anchor_and_verify_still_passes() -> None:
    _append(6)
    old = utcnow() - dt.timedelta(days=400)
    with session_scope() as s:  # the first four happened long ago
        s.execute(update(AuditEntry).where(AuditEntry.id <= 4).values(at=old))
        # re-hash them as if recorded then (the chain is rebuilt from row 1)
        prev = GENESIS
        for row in s.scalars(select(AuditEntry).order_by(AuditEntry.id)):
            fields = {c: getattr(row, c) for c in ("id", "at", "actor_id", "actor_label",
                      "address", "action", "target_type", "target_id", "before", "after",
                      "request_id")}  # fmt: skip
            row.prev_hash, row.hash = prev, audit.chain_hash(prev, fields)
            prev = row.hash
        s.execute(update(AuditHead).values(last_hash=prev))
    assert _verify().ok
    result = runner.invoke(cli, ["audit", "prune", "--days", "365"])
    assert result.exit_code == 0, result.output
    assert "pruned 4" in result.output
    rows = entries()
    assert [r["id"] for r in rows] == [5, 6, 7]
    assert rows[-1]["action"] == "audit.pruned" and rows[-1]["after"]["anchor_id"] == 4
    check = _verify()
    assert check.ok and check.anchor_id == 4 and check.checked == 3
    with session_scope() as s:  # deleting the first remaining row is still caught
        s.execute(delete(AuditEntry).where(AuditEntry.id == 5))
    assert not _verify().ok


def test_the_daily_job_prunes_with_the_setting(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.audit import tasks

    _append(2)
    monkeypatch.setattr(settings, "audit_retention_days", 1)
    text = tasks.prune_old(settings, utcnow() + dt.timedelta(days=2))
    assert "2 entri" in text
    assert [r["action"] for r in entries()] == ["audit.pruned"]
    assert _verify().ok


def test_bulk_records_take_one_lock_and_one_insert() -> None:
    from tests.queries import count_queries

    with session_scope() as s, count_queries() as statements:
        audit.record_many(s, [audit.Record("certificate.issued", ("certificate", i), actor=None)
                              for i in range(50)])  # fmt: skip
    assert len(statements) <= 6, statements
    assert [r["id"] for r in entries()] == list(range(1, 51))
    assert _verify().ok


def test_concurrent_appenders_keep_the_chain_linear() -> None:
    """Several threads append at once (on PostgreSQL: the head's row lock; on SQLite: the single
    writer): ids stay consecutive, every link holds."""
    threads, per_thread = 6, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with session_scope() as s:
                    audit.record(s, "account.updated", actor=None, target=("user", n * 100 + i))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    rows = entries()
    assert [r["id"] for r in rows] == list(range(1, threads * per_thread + 1))
    assert len({r["target_id"] for r in rows}) == threads * per_thread
    result = _verify()
    assert result.ok, result.problem
    assert get_engine().dialect.name in ("sqlite", "postgresql")
