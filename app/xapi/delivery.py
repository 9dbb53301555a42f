"""Delivery of queued statements through the one outbox (topic "xapi"): POSTed to the LRS in
batches of LMS_XAPI_BATCH. A statement the LRS already holds counts as delivered (204 for the same
statement, 409 for another one under the same id: its id is the fact's, so the LRS has the fact).
An unreachable LRS, a 5xx or refused credentials leave every statement queued for a later try
(ChannelDown: the topic rests, backoff grows); the hourly revival brings back statements that ran
out of attempts during a long outage, so none is lost. A statement the LRS refuses as invalid
(4xx) is found by sending the batch one by one and is marked dead with the LRS's message."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.i18n import gettext_ as _
from app.outbox.models import OutboxItem
from app.outbox.service import Cancelled, ChannelDown, Failed, Outcome, Sent, register
from app.xapi import client
from app.xapi.constants import TOPIC
from app.xapi.repository import REJECTED

log = logging.getLogger(__name__)

CLAIM = 1000  # items per handler call; POSTed in chunks of settings.xapi_batch
DELIVERED = (200, 204, 409)


def _down(status: int) -> bool:
    """The LRS (not the statement) is the problem: unreachable, overloaded, credentials."""
    return status == 0 or status in (401, 403, 408, 429) or status >= 502


def _one_by_one(
    http: httpx.Client, settings: Settings, chunk: list[tuple[OutboxItem, dict[str, Any]]],
    outcomes: dict[int, Outcome],
) -> None:  # fmt: skip
    for item, statement in chunk:
        answer = client.post(http, settings, [statement])
        if answer.status in DELIVERED:
            outcomes[item.id] = Sent()
        elif _down(answer.status) or answer.status == 500:
            raise ChannelDown(f"LRS {answer.status}: {answer.message}")
        else:
            outcomes[item.id] = Failed(f"{REJECTED}LRS {answer.status}: {answer.message}",
                                       permanent=True)  # fmt: skip


@register(TOPIC, batch=CLAIM, label=lambda: _("Pernyataan xAPI (LRS)"))
def deliver(session: Session, items: list[OutboxItem], settings: Settings) -> dict[int, Outcome]:
    if not settings.xapi_endpoint:
        raise ChannelDown("LMS_XAPI_ENDPOINT tidak diatur")
    outcomes: dict[int, Outcome] = {}
    ready: list[tuple[OutboxItem, dict[str, Any]]] = []
    for item in items:
        statement = (item.payload or {}).get("statement")
        if isinstance(statement, dict) and statement.get("id"):
            ready.append((item, statement))
        else:
            outcomes[item.id] = Cancelled("bukan pernyataan xAPI")
    size = settings.xapi_batch
    with client.new_client(settings) as http:
        for start in range(0, len(ready), size):
            chunk = ready[start : start + size]
            answer = client.post(http, settings, [s for _i, s in chunk])
            if answer.status in (200, 204):
                outcomes.update({i.id: Sent() for i, _s in chunk})
            elif _down(answer.status):
                raise ChannelDown(f"LRS {answer.status}: {answer.message}")
            else:  # 400/409/413/500: find the statement(s) at fault, deliver the others
                log.info("xapi: LRS answered %s to a batch of %d; sending one by one",
                         answer.status, len(chunk))  # fmt: skip
                _one_by_one(http, settings, chunk, outcomes)
    return outcomes
