"""The notifications API: the reader's inbox, mark read and preferences (own rows only), and the
officers' outbox with retry, message previews and scheduled jobs; bad input is a 422, never a
500."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.core.db import session_scope, utcnow
from app.jobs import service as jobs
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.notifications.models import Notification
from app.outbox import service as outbox
from app.outbox.models import OutboxItem
from tests.factories import api_token, make_user

TOPIC = "test.api"


def notify(user_id: int, n: int, *, event: str = "enrolled", minutes_ago: int = 0) -> int:
    """An in-app notification for the reader; returns its id."""
    with session_scope() as session:
        notifications.notify(
            session,
            NewNotification(
                event=event, user_id=user_id, key=f"{event}:{user_id}:{n}", url=f"/courses/{n}",
                context={"course_title": f"Kursus {n}", "course_code": f"K{n}",
                         "run_name": "Angkatan I", "starts_on": "2026-12-07",
                         "ends_on": "2026-12-20", "jp": 20},
            ),
        )  # fmt: skip
        row = session.scalars(
            select(Notification).where(Notification.key == f"{event}:{user_id}:{n}")
        ).one()
        row.created_at = utcnow() - dt.timedelta(minutes=minutes_ago)
        return row.id


def is_read(notification_id: int) -> bool:
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        assert row is not None
        return row.read_at is not None


async def headers_for(client: httpx.AsyncClient, *roles: str) -> tuple[Any, dict[str, str]]:
    user = make_user(roles=roles or ("learner",))
    return user, await api_token(client, user.email)


# --- the reader's inbox ------------------------------------------------------------------------


async def test_inbox_shape_newest_first_unread_filter_and_paging(client) -> None:  # type: ignore[no-untyped-def]
    reader, headers = await headers_for(client)
    old = notify(reader.id, 1, minutes_ago=30)
    middle = notify(reader.id, 2, minutes_ago=20)
    new = notify(reader.id, 3, minutes_ago=10)
    await client.post("/api/v1/me/notifications/read", json={"ids": [old]}, headers=headers)

    body = (await client.get("/api/v1/me/notifications", headers=headers)).json()
    assert body["unread"] == 2 and body["total"] == 3
    assert [i["id"] for i in body["items"]] == [new, middle, old]
    item = body["items"][0]
    assert {"id", "event", "title", "body", "url", "created_at", "read_at"} <= set(item)
    assert item["event"] == "enrolled" and item["url"] == "/courses/3"
    assert "Kursus 3" in item["title"] + item["body"]
    assert item["read_at"] is None and body["items"][2]["read_at"] is not None

    unread = (await client.get("/api/v1/me/notifications?unread=true", headers=headers)).json()
    assert [i["id"] for i in unread["items"]] == [new, middle]
    second = (
        await client.get("/api/v1/me/notifications?per_page=1&page=2", headers=headers)
    ).json()
    assert [i["id"] for i in second["items"]] == [middle] and second["total"] == 3


@pytest.mark.parametrize(
    "query",
    ["per_page=101", "per_page=0", "page=0", "page=abc", "page=99999999999999999999",
     "unread=perhaps"],
)  # fmt: skip
async def test_bad_paging_is_422(client, query: str) -> None:  # type: ignore[no-untyped-def]
    _reader, headers = await headers_for(client)
    response = await client.get(f"/api/v1/me/notifications?{query}", headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"


async def test_the_inbox_needs_a_login(client) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/api/v1/me/notifications")).status_code == 401
    response = await client.post("/api/v1/me/notifications/read", json={"all": True})
    assert response.status_code == 401


async def test_a_reader_never_reads_or_marks_anothers_notifications(client) -> None:  # type: ignore[no-untyped-def]
    dewi, dewi_headers = await headers_for(client)
    budi, budi_headers = await headers_for(client)
    dewis = notify(dewi.id, 1)
    budis = notify(budi.id, 2)

    listed = (await client.get("/api/v1/me/notifications", headers=dewi_headers)).json()
    assert [i["id"] for i in listed["items"]] == [dewis]

    response = await client.post(
        "/api/v1/me/notifications/read", json={"ids": [budis]}, headers=dewi_headers
    )
    assert response.status_code == 204
    assert not is_read(budis)
    response = await client.post(
        "/api/v1/me/notifications/read", json={"all": True}, headers=dewi_headers
    )
    assert response.status_code == 204
    assert is_read(dewis) and not is_read(budis)

    response = await client.post(
        "/api/v1/me/notifications/read", json={"ids": [budis]}, headers=budi_headers
    )
    assert response.status_code == 204 and is_read(budis)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": []}, "ids"),
        ({"all": False}, "ids"),
        ({"ids": ["abc"]}, "ids.0"),
        ({"ids": [2**40]}, "ids.0"),
        ({"ids": [10**30]}, "ids.0"),
        ({"ids": [0]}, "ids.0"),
        ({"ids": "1,2"}, "ids"),
        ({"ids": list(range(1, 1100))}, "ids"),
        ({"all": "perhaps"}, "all"),
    ],
)
async def test_mark_read_refuses_bad_input_by_name(client, body: Any, field: str) -> None:  # type: ignore[no-untyped-def]
    _reader, headers = await headers_for(client)
    response = await client.post("/api/v1/me/notifications/read", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_mark_read_refuses_a_body_that_is_not_json(client) -> None:  # type: ignore[no-untyped-def]
    _reader, headers = await headers_for(client)
    response = await client.post(
        "/api/v1/me/notifications/read",
        content=b"ids=1",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


# --- preferences -------------------------------------------------------------------------------


async def test_preferences_round_trip_partially(client) -> None:  # type: ignore[no-untyped-def]
    _reader, headers = await headers_for(client)
    before = (await client.get("/api/v1/me/notification-preferences", headers=headers)).json()
    events = before["events"]
    assert events["certificate_issued"] == {"in_app": True, "email": True, "whatsapp": True}
    assert "mentoring_session_pending" in events and "below_pace" in events
    # a learner is not an OPD head nor an officer; account messages cannot be switched
    assert not {"opd_digest", "verification_digest", "activation", "password_reset"} & set(events)

    response = await client.put(
        "/api/v1/me/notification-preferences",
        json={"events": {"certificate_issued": {"email": False}, "enrolled": {"whatsapp": False}}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    after = (await client.get("/api/v1/me/notification-preferences", headers=headers)).json()
    assert after == response.json()
    assert after["events"]["certificate_issued"] == {
        "in_app": True, "email": False, "whatsapp": True
    }  # fmt: skip
    assert after["events"]["enrolled"] == {"in_app": True, "email": True, "whatsapp": False}
    unchanged = {
        k: v for k, v in after["events"].items() if k not in ("certificate_issued", "enrolled")
    }
    assert unchanged == {
        k: v for k, v in events.items() if k not in ("certificate_issued", "enrolled")
    }

    await client.put(
        "/api/v1/me/notification-preferences",
        json={"events": {"certificate_issued": {"email": True}}},
        headers=headers,
    )
    again = (await client.get("/api/v1/me/notification-preferences", headers=headers)).json()
    assert again["events"]["certificate_issued"]["email"] is True


async def test_each_role_gets_its_own_events(client) -> None:  # type: ignore[no-untyped-def]
    _head, head = await headers_for(client, "learner", "opd_head")
    _officer, officer = await headers_for(client, "training_officer")
    head_events = (await client.get("/api/v1/me/notification-preferences", headers=head)).json()
    officer_events = (
        await client.get("/api/v1/me/notification-preferences", headers=officer)
    ).json()
    assert "opd_digest" in head_events["events"]
    assert "verification_digest" not in head_events["events"]
    assert "verification_digest" in officer_events["events"]
    assert "certificate_issued" in officer_events["events"]  # learner events for everyone
    response = await client.put(
        "/api/v1/me/notification-preferences",
        json={"events": {"opd_digest": {"whatsapp": True}}},
        headers=head,
    )
    assert response.status_code == 200
    assert response.json()["events"]["opd_digest"]["whatsapp"] is True


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ({"nope": {"email": False}}, "events.nope"),
        ({"activation": {"email": False}}, "events.activation"),
        ({"opd_digest": {"email": False}}, "events.opd_digest"),  # not an OPD head
        ({"enrolled": {"sms": False}}, "events.enrolled.sms"),
        ({"enrolled": {"email": "perhaps"}}, "events.enrolled.email"),
        ({"enrolled": "off"}, "events.enrolled"),
    ],
)
async def test_unknown_event_or_channel_is_named(client, events: Any, field: str) -> None:  # type: ignore[no-untyped-def]
    _reader, headers = await headers_for(client)
    response = await client.put(
        "/api/v1/me/notification-preferences", json={"events": events}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert field.split(".")[-1] in response.json()["detail"] + response.json()["field"]
    assert (await client.get("/api/v1/me/notification-preferences", headers=headers)).json()[
        "events"
    ]["enrolled"]["email"] is True  # nothing stored


# --- officers: outbox --------------------------------------------------------------------------


def outbox_item(key: str, *, state: str = "pending", label: str = "enrolled · Dewi") -> int:
    with session_scope() as session:
        outbox.add(session, TOPIC, {"n": key}, key=key, label=label)
        session.flush()
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.key == key)
            .values(state=state, attempts=5 if state == "dead" else 0,
                    last_error="550 mailbox unavailable" if state == "dead" else None)
        )  # fmt: skip
        return session.scalars(select(OutboxItem.id).where(OutboxItem.key == key)).one()


def state_of(item_id: int) -> str:
    with session_scope() as session:
        item = session.get(OutboxItem, item_id)
        assert item is not None
        return item.state


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/outbox"),
        ("GET", "/api/v1/outbox/counts"),
        ("POST", "/api/v1/outbox/retry"),
        ("GET", "/api/v1/scheduled-jobs"),
        ("POST", "/api/v1/scheduled-jobs/test.noop/run"),
        ("GET", "/api/v1/notification-templates/enrolled/preview"),
    ],
)
async def test_officer_endpoints_refuse_learners(client, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    _reader, headers = await headers_for(client)
    response = await client.request(method, path, json={"all_dead": True}, headers=headers)
    assert response.status_code == 403
    assert (await client.request(method, path, json={"all_dead": True})).status_code == 401


async def test_outbox_listing_filters_and_counts(client) -> None:  # type: ignore[no-untyped-def]
    _officer, headers = await headers_for(client, "training_officer")
    dead = outbox_item("a", state="dead", label="certificate_issued · Budi Santoso")
    outbox_item("b")
    outbox_item("c", state="sent")

    page = (await client.get("/api/v1/outbox", headers=headers)).json()
    assert page["total"] == 3 and len(page["items"]) == 3
    item = next(i for i in page["items"] if i["id"] == dead)
    assert item["state"] == "dead" and item["attempts"] == 5
    assert item["last_error"] == "550 mailbox unavailable"
    assert {"topic", "topic_label", "label", "created_at", "next_attempt_at", "sent_at"} <= set(
        item
    )

    only_dead = (await client.get("/api/v1/outbox?state=dead", headers=headers)).json()
    assert [i["id"] for i in only_dead["items"]] == [dead]
    found = (await client.get("/api/v1/outbox?q=Budi", headers=headers)).json()
    assert [i["id"] for i in found["items"]] == [dead]
    other = (await client.get("/api/v1/outbox?topic=notify.email", headers=headers)).json()
    assert other == {"total": 0, "items": []}
    paged = (await client.get("/api/v1/outbox?per_page=2&page=2", headers=headers)).json()
    assert paged["total"] == 3 and len(paged["items"]) == 1

    counts = (await client.get("/api/v1/outbox/counts", headers=headers)).json()
    assert counts["dead"] == {TOPIC: 1} and counts["pending"] == {TOPIC: 1}
    assert counts["sent"] == {TOPIC: 1} and counts["cancelled"] == {}


@pytest.mark.parametrize(
    "query",
    ["state=lost", "page=0", "page=10000000000000", "per_page=500", "q=" + "x" * 101,
     "q=a%00b", "topic=%00"],
)  # fmt: skip
async def test_outbox_listing_refuses_bad_filters(client, query: str) -> None:  # type: ignore[no-untyped-def]
    _officer, headers = await headers_for(client, "admin")
    response = await client.get(f"/api/v1/outbox?{query}", headers=headers)
    assert response.status_code == 422, response.text


async def test_retry_moves_dead_items_back_to_pending(client) -> None:  # type: ignore[no-untyped-def]
    _officer, headers = await headers_for(client, "training_officer")
    first = outbox_item("a", state="dead")
    second = outbox_item("b", state="dead")
    third = outbox_item("c", state="dead")
    sent = outbox_item("d", state="sent")

    response = await client.post("/api/v1/outbox/retry", json={"ids": [first]}, headers=headers)
    assert response.status_code == 200 and response.json() == {"retried": 1}
    assert state_of(first) == "pending"

    response = await client.post("/api/v1/outbox/retry", json={"ids": [sent]}, headers=headers)
    assert response.json() == {"retried": 0} and state_of(sent) == "sent"

    response = await client.post(
        "/api/v1/outbox/retry", json={"all_dead": True, "topic": "notify.email"}, headers=headers
    )
    assert response.json() == {"retried": 0}
    response = await client.post(
        "/api/v1/outbox/retry", json={"all_dead": True, "topic": TOPIC}, headers=headers
    )
    assert response.json() == {"retried": 2}
    assert state_of(second) == state_of(third) == "pending"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "ids"),
        ({"ids": []}, 422, "ids"),
        ({"ids": ["x"]}, 422, "ids.0"),
        ({"ids": [2**31]}, 422, "ids.0"),
        ({"ids": [-4]}, 422, "ids.0"),
        ({"all_dead": "yes please"}, 422, "all_dead"),
        ({"all_dead": True, "topic": "t" * 65}, 422, "topic"),
        ({"all_dead": True, "topic": "a\u0000"}, 422, "topic"),
        ({"ids": [987654]}, 404, None),
    ],
)
async def test_retry_refuses_bad_input(client, body: Any, status: int, field: str | None) -> None:  # type: ignore[no-untyped-def]
    _officer, headers = await headers_for(client, "training_officer")
    response = await client.post("/api/v1/outbox/retry", json=body, headers=headers)
    assert response.status_code == status, response.text
    if field:
        assert response.json()["field"] == field


# --- officers: previews ------------------------------------------------------------------------


async def test_preview_in_both_languages(client) -> None:  # type: ignore[no-untyped-def]
    _officer, headers = await headers_for(client, "training_officer")
    indonesian = await client.get(
        "/api/v1/notification-templates/certificate_issued/preview", headers=headers
    )
    english = await client.get(
        "/api/v1/notification-templates/certificate_issued/preview?locale=en", headers=headers
    )
    assert indonesian.status_code == english.status_code == 200
    id_body, en_body = indonesian.json(), english.json()
    assert id_body["locale"] == "id" and en_body["locale"] == "en"
    # the English text comes with the translations (app/locale); the message is English already
    assert 'lang="id"' in id_body["email_html"] and 'lang="en"' in en_body["email_html"]
    assert "<html" in id_body["email_html"] and id_body["email_text"] and id_body["whatsapp"]
    missing = await client.get("/api/v1/notification-templates/nope/preview", headers=headers)
    assert missing.status_code == 404
    bad = await client.get(
        "/api/v1/notification-templates/enrolled/preview?locale=xx", headers=headers
    )
    assert bad.status_code == 422


# --- officers: scheduled jobs ------------------------------------------------------------------


ran: list[str] = []


@pytest.fixture
def sample_jobs() -> Iterator[None]:
    """Two scheduled jobs the tests control: one that works, one that fails."""
    ran.clear()

    @jobs.scheduled("test.noop", label=lambda: "Tugas uji", cadence="monthly")
    def noop(settings: Any, now: dt.datetime) -> str:
        ran.append("noop")
        return f"{len(ran)} kali dijalankan"

    @jobs.scheduled("test.broken", label=lambda: "Tugas rusak", cadence="daily")
    def broken(settings: Any, now: dt.datetime) -> str:
        raise RuntimeError("server SIASN tidak menjawab")

    yield
    jobs._jobs.pop("test.noop", None)
    jobs._jobs.pop("test.broken", None)


async def test_jobs_list_and_run_now(client, sample_jobs) -> None:  # type: ignore[no-untyped-def]
    _officer, headers = await headers_for(client, "admin")
    listed = (await client.get("/api/v1/scheduled-jobs", headers=headers)).json()
    noop = next(j for j in listed if j["name"] == "test.noop")
    assert noop["label"] == "Tugas uji" and noop["cadence"] == "monthly"
    assert noop["last_state"] is None and noop["at"]

    response = await client.post("/api/v1/scheduled-jobs/test.noop/run", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job"] == "test.noop" and body["state"] == "done"
    assert body["result"] == "1 kali dijalankan" and body["period"]
    # "run now" again runs again (a manual period), it does not silently do nothing
    again = (await client.post("/api/v1/scheduled-jobs/test.noop/run", headers=headers)).json()
    assert again["state"] == "done" and again["result"] == "2 kali dijalankan"
    assert ran == ["noop", "noop"]

    listed = (await client.get("/api/v1/scheduled-jobs", headers=headers)).json()
    noop = next(j for j in listed if j["name"] == "test.noop")
    assert noop["last_state"] == "done" and noop["last_result"] == "2 kali dijalankan"
    runs = (await client.get("/api/v1/scheduled-jobs/test.noop/runs", headers=headers)).json()
    assert [r["last_result"] for r in runs] == ["2 kali dijalankan", "1 kali dijalankan"]

    failed = (await client.post("/api/v1/scheduled-jobs/test.broken/run", headers=headers)).json()
    assert failed["state"] == "failed" and "server SIASN tidak menjawab" in failed["result"]


@pytest.mark.parametrize("name", ["nope", "x" * 101, "test.noop%00"])
async def test_unknown_job_is_404(client, sample_jobs, name: str) -> None:  # type: ignore[no-untyped-def]
    _officer, headers = await headers_for(client, "training_officer")
    response = await client.post(f"/api/v1/scheduled-jobs/{name}/run", headers=headers)
    assert response.status_code in (404, 422)
    assert (
        await client.get(f"/api/v1/scheduled-jobs/{name}/runs", headers=headers)
    ).status_code in (404, 422)
    assert response.status_code != 500
