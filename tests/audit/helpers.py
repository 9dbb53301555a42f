"""Reading the audit log in tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.db import session_scope


def entries(action: str | None = None) -> list[dict[str, Any]]:
    with session_scope() as s:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return [
            {c: getattr(e, c) for c in ("id", "at", "actor_id", "actor_label", "address",
                                        "action", "target_type", "target_id", "before", "after",
                                        "request_id", "prev_hash", "hash")}
            for e in s.scalars(query)
        ]  # fmt: skip


def one(action: str) -> dict[str, Any]:
    found = entries(action)
    assert len(found) == 1, f"{action}: {len(found)} entries: {found}"
    return found[0]
