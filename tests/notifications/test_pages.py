"""Notification pages without a browser: the bell, the list (with and without htmx), opening and
marking read (own rows only), preferences, one-click unsubscribe without login (RFC 8058), and
the officers' outbox, retry and template previews."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from app.accounts.models import User
from app.core.db import session_scope
from app.notifications import service as notifications
from app.notifications.constants import EVENTS
from app.notifications.models import NotificationPreference
from tests.factories import browser_login, make_user
from tests.notifications.test_api import is_read, notify, outbox_item, state_of

HX = {"HX-Request": "true"}


async def login(client: httpx.AsyncClient, user: Any) -> str:
    client.cookies.clear()
    return await browser_login(client, user.email)


def bell(html: str) -> str:
    match = re.search(r'<a href="/notifications" id="bell"[^>]*>', html)
    assert match, "no bell in the page"
    return match.group(0)


def stored(user_id: int, event: str, channel: str) -> bool | None:
    with session_scope() as session:
        return session.scalar(
            select(NotificationPreference.enabled).where(
                NotificationPreference.user_id == user_id,
                NotificationPreference.event == event,
                NotificationPreference.channel == channel,
            )
        )


# --- the bell and the header -------------------------------------------------------------------


async def test_the_bell_shows_the_unread_count_on_every_page(client) -> None:  # type: ignore[no-untyped-def]
    reader = make_user()
    for n in range(3):
        notify(reader.id, n)
    await login(client, reader)
    for path in ("/", "/my/courses", "/notifications/preferences"):
        html = (await client.get(path)).text
        assert 'aria-label="Notifikasi, 3 belum dibaca"' in bell(html), path
        assert '<span class="badge" aria-hidden="true">3</span>' in html
    html = (await client.get("/")).text
    for href, text in (("/notifications", "Notifikasi"),
                       ("/notifications/preferences", "Pengaturan notifikasi"),
                       ("/me/password", "Ubah kata sandi")):  # fmt: skip
        assert f'<a href="{href}">{text}</a>' in html
    assert ">Keluar</button>" in html

    notify(make_user().id, 9)  # someone else's does not count
    csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
    await client.post("/notifications/read-all", data={"csrf_token": csrf})
    html = (await client.get("/")).text
    assert 'aria-label="Notifikasi, tidak ada yang belum dibaca"' in bell(html)
    assert 'class="badge"' not in html


async def test_no_bell_for_visitors(client) -> None:  # type: ignore[no-untyped-def]
    html = (await client.get("/login")).text
    assert 'id="bell"' not in html and "/me/password" not in html


async def test_officers_find_the_hub_in_the_menu(client) -> None:  # type: ignore[no-untyped-def]
    await login(client, make_user(roles=("training_officer",)))
    html = (await client.get("/")).text
    assert '<a href="/studio/notifications">Notifikasi &amp; jadwal</a>' in html
    await login(client, make_user())
    assert "/studio/notifications" not in (await client.get("/")).text


# --- the list ----------------------------------------------------------------------------------


async def test_list_newest_first_with_unread_marked_and_filter(client) -> None:  # type: ignore[no-untyped-def]
    reader = make_user()
    old = notify(reader.id, 1, minutes_ago=30)
    new = notify(reader.id, 2, minutes_ago=5)
    with session_scope() as session:
        notifications.mark_read(session, reader.id, ids=[old])
    await login(client, reader)

    page = await client.get("/notifications")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Notifikasi</h1>" in html and "<html" in html
    opens = re.findall(r'href="/notifications/(\d+)/open"', html)
    assert [int(i) for i in opens] == [new, old]
    assert html.count('class="badge-new"') == 1 and "Tandai semua sudah dibaca" in html
    assert "Kursus 2" in html

    unread = (await client.get("/notifications?unread=1")).text
    assert [int(i) for i in re.findall(r"/notifications/(\d+)/open", unread)] == [new]
    assert 'aria-current="page">Belum dibaca (1)' in unread


async def test_list_answers_htmx_with_the_fragment(client) -> None:  # type: ignore[no-untyped-def]
    reader = make_user()
    notify(reader.id, 1)
    await login(client, reader)
    fragment = await client.get("/notifications?unread=1", headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="notification-list"' in fragment.text
    assert 'id="bell"' not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    restore = await client.get(
        "/notifications", headers={**HX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text and 'id="bell"' in restore.text


async def test_mark_all_read_with_and_without_htmx(client) -> None:  # type: ignore[no-untyped-def]
    reader = make_user()
    first, second = notify(reader.id, 1), notify(reader.id, 2)
    csrf = await login(client, reader)

    response = await client.post("/notifications/read-all", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/notifications?notice=all_read"
    assert is_read(first) and is_read(second)
    page = (await client.get(response.headers["location"])).text
    assert "Semua notifikasi sudah ditandai dibaca." in page

    third = notify(reader.id, 3)
    swapped = await client.post("/notifications/read-all", data={"csrf_token": csrf}, headers=HX)
    assert swapped.status_code == 200 and is_read(third)
    assert "<html" not in swapped.text and 'id="notification-list"' in swapped.text
    assert "Semua notifikasi sudah ditandai dibaca." in swapped.text
    oob = bell(swapped.text)  # the header's bell is updated out of band
    assert 'hx-swap-oob="true"' in oob and "tidak ada yang belum dibaca" in oob


async def test_mark_all_read_needs_the_csrf_token(client) -> None:  # type: ignore[no-untyped-def]
    reader = make_user()
    first = notify(reader.id, 1)
    await login(client, reader)
    response = await client.post("/notifications/read-all", data={})
    assert response.status_code == 403 and not is_read(first)


async def test_open_marks_read_and_follows_only_own_links(client) -> None:  # type: ignore[no-untyped-def]
    reader, other = make_user(), make_user()
    mine, theirs = notify(reader.id, 7), notify(other.id, 8)
    await login(client, reader)

    response = await client.get(f"/notifications/{mine}/open")
    assert response.status_code == 303 and response.headers["location"] == "/courses/7"
    assert is_read(mine)
    refused = await client.get(f"/notifications/{theirs}/open")
    assert refused.status_code == 404 and not is_read(theirs)
    assert "Notifikasi tidak ditemukan." in refused.text
    assert (await client.get("/notifications/99999999999999999999/open")).status_code == 404
    assert (await client.get("/notifications/abc/open")).status_code == 422
    assert (await client.get("/notifications/-3/open")).status_code == 404


@pytest.mark.parametrize(
    "query", ["page=abc", "page=0", "page=99999999999999999999999", "unread=x"]
)
async def test_list_survives_bad_query(client, query: str) -> None:  # type: ignore[no-untyped-def]
    await login(client, make_user())
    response = await client.get(f"/notifications?{query}")
    assert response.status_code in (200, 422), response.text
    assert response.status_code != 500


async def test_pages_need_a_login(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/notifications", "/notifications/preferences"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


# --- preferences -------------------------------------------------------------------------------


def set_phone(user_id: int, phone: str | None) -> None:
    with session_scope() as session:
        session.execute(update(User).where(User.id == user_id).values(phone=phone))


async def test_preferences_show_the_users_events_and_why_a_channel_is_off(client) -> None:  # type: ignore[no-untyped-def]
    learner = make_user()
    await login(client, learner)
    html = (await client.get("/notifications/preferences")).text
    for name in ("certificate_issued", "mentoring_session_pending", "below_pace"):
        assert f'value="{name}:in_app"' in html
        assert EVENTS[name].label() in html
    assert "opd_digest" not in html and "verification_digest" not in html
    assert "activation:" not in html
    # neither e-mail nor WhatsApp is configured in the test settings
    assert "Pengiriman email belum disiapkan" in html
    assert "Pengiriman WhatsApp belum disiapkan" in html
    assert re.search(r'value="enrolled:email" disabled aria-describedby="why-email"', html)
    assert '<th scope="col">' in html and '<th scope="row">' in html
    assert 'role="region"' in html and 'tabindex="0"' in html

    head = make_user(roles=("learner", "opd_head"))
    await login(client, head)
    assert 'value="opd_digest:in_app"' in (await client.get("/notifications/preferences")).text
    officer = make_user(roles=("training_officer",))
    await login(client, officer)
    html = (await client.get("/notifications/preferences")).text
    assert 'value="verification_digest:in_app"' in html and "opd_digest" not in html


async def test_a_missing_address_disables_its_channel(client, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "smtp_url", "smtp://127.0.0.1:2525")
    monkeypatch.setattr(settings, "whatsapp_url", "http://127.0.0.1:9/send")
    reader = make_user()
    await login(client, reader)
    html = (await client.get("/notifications/preferences")).text
    assert "Akun Anda belum mempunyai nomor WhatsApp." in html
    assert re.search(r'value="enrolled:email" checked>', html)
    assert 'value="enrolled:whatsapp" disabled' in html
    set_phone(reader.id, "+6281234567890")
    html = (await client.get("/notifications/preferences")).text
    assert re.search(r'value="enrolled:whatsapp" checked>', html)
    assert "belum mempunyai" not in html


async def test_saving_preferences_confirms_and_keeps_disabled_channels(
    client, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "smtp_url", "smtp://127.0.0.1:2525")
    reader = make_user()
    with session_scope() as session:  # chosen earlier, while WhatsApp was available
        notifications.set_preferences(session, reader.id, {"enrolled": {"whatsapp": False}})
    csrf = await login(client, reader)
    shown = (await client.get("/notifications/preferences")).text
    boxes = re.findall(r'name="on" value="([a-z_]+:[a-z_]+)"(?![^>]*disabled)', shown)
    ticked = [b for b in boxes if b != "certificate_issued:email"]
    response = await client.post(
        "/notifications/preferences", data={"csrf_token": csrf, "on": ticked}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/notifications/preferences?saved=1"
    page = (await client.get(response.headers["location"])).text
    assert "Pengaturan notifikasi disimpan." in page
    assert re.search(r'value="certificate_issued:email">', page)  # unticked now
    assert re.search(r'value="certificate_issued:in_app" checked>', page)
    assert stored(reader.id, "certificate_issued", "email") is False
    assert stored(reader.id, "enrolled", "whatsapp") is False  # disabled here: untouched
    assert stored(reader.id, "certificate_issued", "whatsapp") is None

    bad = await client.post(
        "/notifications/preferences", data={"csrf_token": csrf, "on": ["nope:sms", "x"]}
    )
    assert bad.status_code == 303  # unknown boxes are simply not choices
    refused = await client.post("/notifications/preferences", data={"on": ticked})
    assert refused.status_code == 403


# --- one-click unsubscribe ---------------------------------------------------------------------


def unsubscribe_path(
    user_id: int, event: str = "certificate_issued", channel: str = "email"
) -> str:
    from app.core.config import get_settings

    return urlsplit(notifications.unsubscribe_url(user_id, event, channel, get_settings())).path


async def test_unsubscribe_page_asks_first_and_the_button_stops_it(client) -> None:  # type: ignore[no-untyped-def]
    reader = make_user()
    path = unsubscribe_path(reader.id)
    page = await client.get(path)  # no login
    assert page.status_code == 200
    assert "Sertifikat terbit" in page.text and "Email" in page.text
    assert page.text.count(f'action="{path}"') == 1
    assert stored(reader.id, "certificate_issued", "email") is None  # opening changed nothing
    await client.get(path)
    assert stored(reader.id, "certificate_issued", "email") is None

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text.split(path)[1])
    done = await client.post(path, data={"csrf_token": csrf.group(1) if csrf else ""})
    assert done.status_code == 200
    assert "Berhenti berlangganan berhasil" in done.text
    assert 'href="/notifications/preferences"' in done.text
    assert stored(reader.id, "certificate_issued", "email") is False
    assert stored(reader.id, "certificate_issued", "in_app") is None  # only that channel


async def test_one_click_post_from_a_mail_client_needs_no_csrf(client) -> None:  # type: ignore[no-untyped-def]
    reader = make_user()
    path = unsubscribe_path(reader.id, "below_pace", "whatsapp")
    response = await client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert stored(reader.id, "below_pace", "whatsapp") is False

    # the same from a browser that is signed in (no token in the body): still honoured
    other = make_user()
    await login(client, other)
    path = unsubscribe_path(other.id, "enrolled", "email")
    response = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and stored(other.id, "enrolled", "email") is False


@pytest.mark.parametrize(
    "token",
    ["rusak", "1.certificate_issued.email.00000000000000000000000000000000",
     "99999999999999999999.enrolled.email.abc", "1.nope.email.abc", "%2e%2e", "x" * 400],
)  # fmt: skip
async def test_a_bad_unsubscribe_link_is_a_clear_404(client, token: str) -> None:  # type: ignore[no-untyped-def]
    page = await client.get(f"/notifications/unsubscribe/{token}")
    assert page.status_code == 404
    assert "Tautan tidak berlaku" in page.text and "tidak sah atau sudah rusak" in page.text
    posted = await client.post(f"/notifications/unsubscribe/{token}",
                               content=b"List-Unsubscribe=One-Click")  # fmt: skip
    assert posted.status_code == 404


async def test_a_tampered_token_stops_nothing(client) -> None:  # type: ignore[no-untyped-def]
    reader, victim = make_user(), make_user()
    path = unsubscribe_path(reader.id)
    forged = path.replace(f"/{reader.id}.", f"/{victim.id}.")
    assert (await client.post(forged, content=b"List-Unsubscribe=One-Click")).status_code == 404
    assert stored(victim.id, "certificate_issued", "email") is None


# --- officers: hub, outbox, templates ------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/studio/notifications", "/studio/notifications/outbox", "/studio/notifications/templates",
     "/studio/notifications/templates/enrolled"],
)  # fmt: skip
async def test_officer_pages_refuse_learners(client, path: str) -> None:  # type: ignore[no-untyped-def]
    await login(client, make_user())
    assert (await client.get(path)).status_code == 403
    await login(client, make_user(roles=("training_officer",)))
    assert (await client.get(path)).status_code == 200


async def test_outbox_page_counts_filters_and_rows(client) -> None:  # type: ignore[no-untyped-def]
    dead = outbox_item("a", state="dead", label="certificate_issued · Budi Santoso · budi@x.id")
    outbox_item("b", label="enrolled · Dewi Lestari · dewi@x.id")
    outbox_item("c", state="sent")
    await login(client, make_user(roles=("admin",)))

    html = (await client.get("/studio/notifications/outbox")).text
    assert "Budi Santoso" in html and "Dewi Lestari" in html
    assert "550 mailbox unavailable" in html
    assert f'name="id" value="{dead}"' in html and html.count('name="id" value=') == 1
    assert "Coba lagi semua yang gagal (1)" in html
    assert 'role="region"' in html and '<th scope="col">Penerima</th>' in html
    assert '<option value="dead">Gagal (1)</option>' in html

    only_dead = (await client.get("/studio/notifications/outbox?state=dead")).text
    assert "Budi Santoso" in only_dead and "Dewi Lestari" not in only_dead
    found = (await client.get("/studio/notifications/outbox?q=Dewi")).text
    assert "Dewi Lestari" in found and "Budi Santoso" not in found
    for query in ("state=lost", "page=-1", "page=abc", "page=999999999999999999999",
                  "topic=" + "t" * 300, "q=" + "%00" * 5):  # fmt: skip
        response = await client.get(f"/studio/notifications/outbox?{query}")
        assert response.status_code in (200, 422), query


async def test_retry_from_the_page_moves_a_dead_item_to_pending(client) -> None:  # type: ignore[no-untyped-def]
    dead = outbox_item("a", state="dead")
    others = [outbox_item("b", state="dead"), outbox_item("c", state="dead")]
    csrf = await login(client, make_user(roles=("training_officer",)))

    response = await client.post(
        "/studio/notifications/outbox/retry", data={"csrf_token": csrf, "id": str(dead)}
    )
    assert response.status_code == 303
    assert state_of(dead) == "pending"
    page = (await client.get(response.headers["location"])).text
    assert "1 pesan dijadwalkan untuk dikirim ulang." in page

    response = await client.post(
        "/studio/notifications/outbox/retry",
        data={"csrf_token": csrf, "all_dead": "1", "topic": "test.api"},
    )
    assert response.status_code == 303 and "n=2" in response.headers["location"]
    assert [state_of(i) for i in others] == ["pending", "pending"]

    for bad in ("abc", "", "-1", str(2**31), "9" * 30):
        response = await client.post(
            "/studio/notifications/outbox/retry", data={"csrf_token": csrf, "id": bad}
        )
        assert response.status_code == 422, bad
    missing = await client.post(
        "/studio/notifications/outbox/retry", data={"csrf_token": csrf, "id": "424242"}
    )
    assert missing.status_code == 404
    refused = await client.post("/studio/notifications/outbox/retry", data={"id": str(dead)})
    assert refused.status_code == 403


async def test_hub_summarises_the_outbox(client) -> None:  # type: ignore[no-untyped-def]
    outbox_item("a", state="dead")
    await login(client, make_user(roles=("training_officer",)))
    html = (await client.get("/studio/notifications")).text
    for href in ("/studio/notifications/outbox", "/studio/notifications/templates", "/studio/jobs"):
        assert f'href="{href}"' in html
    assert "Gagal: 1" in html


async def test_templates_list_every_event_and_preview_both_languages(client) -> None:  # type: ignore[no-untyped-def]
    await login(client, make_user(roles=("training_officer",)))
    html = (await client.get("/studio/notifications/templates")).text
    for name, event in EVENTS.items():
        assert f"/studio/notifications/templates/{name}?lang=id" in html
        assert event.label() in html
    assert "Kepala OPD" in html and "Akun (selalu dikirim)" in html

    preview = (await client.get("/studio/notifications/templates/certificate_issued")).text
    assert '<iframe class="mail-preview" sandbox="" srcdoc="' in preview
    assert "&lt;html" in preview  # the e-mail's HTML is escaped into srcdoc, never run here
    assert "Sertifikat Literasi Digital bagi ASN sudah terbit" in preview
    assert '<pre class="message-text">' in preview and "WhatsApp" in preview
    assert "Notifikasi di aplikasi" in preview
    english = (await client.get("/studio/notifications/templates/certificate_issued?lang=en")).text
    assert 'lang="en"' in english and 'aria-current="page">English' in english
    activation = (await client.get("/studio/notifications/templates/activation")).text
    assert "Notifikasi di aplikasi" not in activation  # e-mail and WhatsApp only
    assert (await client.get("/studio/notifications/templates/nope")).status_code == 404
    odd = await client.get("/studio/notifications/templates/enrolled?lang=xx")
    assert odd.status_code == 200


async def test_a_link_of_a_deleted_account_is_a_404_not_a_500(client) -> None:  # type: ignore[no-untyped-def]
    gone = make_user()
    path = unsubscribe_path(gone.id)
    with session_scope() as session:
        session.execute(User.__table__.delete().where(User.id == gone.id))
    response = await client.post(path, content=b"List-Unsubscribe=One-Click")
    assert response.status_code == 404 and "Tautan tidak berlaku" in response.text
