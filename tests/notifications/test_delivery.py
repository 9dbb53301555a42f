"""Notifications reach people: e-mail to a real SMTP server (aiosmtpd) read back, WhatsApp to a
recording gateway, the in-app row; each once, in the reader's language, stoppable by one click."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.core.db import session_scope, utcnow
from app.notifications import channels, render
from app.notifications import service as notifications
from app.notifications.constants import NewNotification
from app.notifications.models import Notification
from app.outbox.models import OutboxItem
from tests.factories import make_user
from tests.mailsink import text_of
from tests.notifications.helpers import deliver

PHONE = "+6281234567890"


def _reader(*, email: str = "dewi@example.go.id", phone: str | None = PHONE,
            locale: str | None = None) -> int:  # fmt: skip
    user = make_user(email=email, name="Dewi Lestari")
    with session_scope() as session:
        session.execute(update(User).where(User.id == user.id).values(phone=phone, locale=locale))
    return user.id


def _certificate_issued(user_id: int, key: str = "certificate_issued:12") -> NewNotification:
    return NewNotification(
        event="certificate_issued", user_id=user_id, key=key, url="/sertifikat/12",
        context={"course_title": "Literasi Digital bagi ASN", "run_name": "Angkatan I",
                 "number": "0012/LITDIG/BKPSDM/XII/2026", "predikat": "Memuaskan", "jp": 20},
    )  # fmt: skip


def test_email_arrives_once_with_the_headers_mail_clients_need(mail, settings) -> None:  # type: ignore[no-untyped-def]
    user_id = _reader(phone=None)
    with session_scope() as session:
        assert notifications.notify(session, _certificate_issued(user_id))
        assert not notifications.notify(session, _certificate_issued(user_id))  # same key
    assert deliver().sent == 1
    assert deliver().handled == 0
    (msg,) = mail.wait_for(1)
    assert mail.envelopes[0] == ["dewi@example.go.id"]
    assert msg["Subject"] == "Sertifikat Literasi Digital bagi ASN sudah terbit"
    assert msg["From"] == settings.mail_from
    assert msg["To"] == "Dewi Lestari <dewi@example.go.id>"
    assert msg["Message-ID"].startswith("<lms.") and msg["Message-ID"].endswith(">")
    assert msg["List-Unsubscribe"].startswith("<http://testserver/notifications/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    text = text_of(msg)
    assert "0012/LITDIG/BKPSDM/XII/2026" in text and "http://testserver/sertifikat/12" in text
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'href="http://testserver/sertifikat/12"' in html and 'lang="id"' in html
    with session_scope() as session:
        (row,) = session.scalars(select(Notification)).all()
        assert row.in_app and row.read_at is None
        assert session.scalar(select(OutboxItem.state)) == "sent"


def test_reply_to_and_smtp_auth(mail, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.mailsink import MailSink

    guarded = MailSink(auth=("lms", "rahasia-smtp")).start()
    try:
        monkeypatch.setattr(
            settings, "smtp_url", f"smtp://lms:rahasia-smtp@127.0.0.1:{guarded.port}"
        )
        monkeypatch.setattr(settings, "mail_reply_to", "diklat@bkpsdm.example.go.id")
        user_id = _reader(phone=None)
        with session_scope() as session:
            notifications.notify(session, _certificate_issued(user_id))
        assert deliver().sent == 1
        (msg,) = guarded.wait_for(1)
        assert msg["Reply-To"] == "diklat@bkpsdm.example.go.id"
        monkeypatch.setattr(settings, "smtp_url", f"smtp://lms:salah@127.0.0.1:{guarded.port}")
        monkeypatch.setattr(settings, "smtp_timeout_seconds", 2)
        with session_scope() as session:
            notifications.notify(session, _certificate_issued(user_id, key="second"))
        stats = deliver(rounds=1)
        assert stats.failed == 1  # a refused login is the channel being down: retried later
    finally:
        guarded.stop()


def test_the_smtp_url_forms() -> None:
    plain = channels.parse_smtp_url("smtp://mail.example.go.id")
    assert (plain.port, plain.security, plain.username) == (25, "plain", None)
    starttls = channels.parse_smtp_url("smtp+starttls://u%40x:p%3Aw@mail:2587")
    assert (starttls.port, starttls.security, starttls.username, starttls.password) == (
        2587, "starttls", "u@x", "p:w")  # fmt: skip
    assert channels.parse_smtp_url("smtps://mail").port == 465
    with pytest.raises(ValueError, match="LMS_SMTP_URL"):
        channels.parse_smtp_url("http://mail")


def test_english_readers_get_english(mail) -> None:  # type: ignore[no-untyped-def]
    user_id = _reader(phone=None, locale="en")
    with session_scope() as session:
        notifications.notify(session, _certificate_issued(user_id))
    deliver()
    (msg,) = mail.wait_for(1)
    assert msg["Subject"] == "Your certificate for Literasi Digital bagi ASN has been issued"


def test_whatsapp_goes_through_the_gateway_template(whatsapp, settings) -> None:  # type: ignore[no-untyped-def]
    user_id = _reader()
    with session_scope() as session:
        notifications.notify(session, _certificate_issued(user_id))
    assert deliver().sent == 1  # SMTP is not configured here: WhatsApp only
    (request,) = whatsapp.wait_for(1)
    assert request["headers"]["Authorization"] == "Bearer uji-token-wa"
    assert request["json"]["to"] == "6281234567890"
    body = request["json"]["text"]["body"]
    assert body.startswith("*Sertifikat Literasi Digital bagi ASN sudah terbit*")
    assert "http://testserver/sertifikat/12" in body


def test_whatsapp_waits_for_the_end_of_quiet_hours(whatsapp, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now_local = utcnow().astimezone(dt.timezone(dt.timedelta(hours=7)))
    start = (now_local - dt.timedelta(hours=1)).strftime("%H:%M")
    end = (now_local + dt.timedelta(hours=1)).strftime("%H:%M")
    monkeypatch.setattr(settings, "whatsapp_quiet_start", start)
    monkeypatch.setattr(settings, "whatsapp_quiet_end", end)
    user_id = _reader()
    with session_scope() as session:
        notifications.notify(session, _certificate_issued(user_id))
    assert deliver().handled == 0
    assert whatsapp.requests == []
    monkeypatch.setattr(settings, "whatsapp_quiet_end", start)  # the night is over
    assert deliver().sent == 1


def test_gateway_errors_retry_or_fail_for_good(whatsapp, settings) -> None:  # type: ignore[no-untyped-def]
    whatsapp.status = 503
    user_id = _reader()
    with session_scope() as session:
        notifications.notify(session, _certificate_issued(user_id))
    assert deliver(rounds=1).failed == 1
    whatsapp.status = 400
    with session_scope() as session:
        session.execute(update(OutboxItem).values(next_attempt_at=utcnow()))
    assert deliver(rounds=1).dead == 1


def test_nothing_is_lost_while_the_mail_server_is_down(mail, settings) -> None:  # type: ignore[no-untyped-def]
    user_id = _reader(phone=None)
    with session_scope() as session:
        for n in range(5):
            notifications.notify(session, _certificate_issued(user_id, key=f"down:{n}"))
    mail.stop()
    stats = deliver(rounds=1)
    assert stats.sent == 0 and stats.failed == 5 and stats.dead == 0
    with session_scope() as session:
        errors = set(session.scalars(select(OutboxItem.last_error)))
        assert all("SMTP" in (e or "") for e in errors)
        session.execute(update(OutboxItem).values(next_attempt_at=utcnow()))
    mail.start()
    assert deliver().sent == 5
    mail.wait_for(5)
    assert len({m["Message-ID"] for m in mail.messages}) == len(mail.messages) == 5


def test_preferences_and_the_one_click_unsubscribe(mail, settings) -> None:  # type: ignore[no-untyped-def]
    user_id = _reader(phone=None)
    with session_scope() as session:
        notifications.notify(session, _certificate_issued(user_id, key="first"))
        notifications.notify(session, _certificate_issued(user_id, key="queued"))
    deliver(rounds=1)
    first = mail.wait_for(1)[0]
    token = first["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
    with session_scope() as session:
        event, channel = notifications.unsubscribe(session, token, settings)
    assert (event.name, channel) == ("certificate_issued", "email")
    with session_scope() as session:
        prefs = notifications.preferences(session, user_id).events["certificate_issued"]
        assert prefs == {"in_app": True, "email": False, "whatsapp": True}
        notifications.notify(session, _certificate_issued(user_id, key="after"))
        made = session.scalar(select(func.count()).select_from(OutboxItem))
    assert made == 2  # the new one made no e-mail
    assert deliver().handled == 0
    assert len(mail.messages) <= 2
    with session_scope() as session:
        states = dict(session.execute(select(OutboxItem.key, OutboxItem.state)).all())
    assert sorted(states.values()) in (["cancelled", "sent"], ["sent", "sent"])


def test_a_forged_unsubscribe_link_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    user_id = _reader(phone=None)
    good = render.unsubscribe_token(user_id, "certificate_issued", "email", settings)
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    from app.core.errors import NotFound

    with pytest.raises(NotFound), session_scope() as session:
        notifications.unsubscribe(session, forged, settings)
    assert (
        render.read_unsubscribe_token(f"{user_id + 1}" + good[len(str(user_id)) :], settings)
        is None
    )


def test_account_messages_cannot_be_switched_off(settings) -> None:  # type: ignore[no-untyped-def]
    user_id = _reader()
    from app.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info, session_scope() as session:
        notifications.set_preferences(session, user_id, {"activation": {"email": False}})
    assert info.value.field == "events.activation"
    with pytest.raises(ValidationFailed) as info, session_scope() as session:
        notifications.set_preferences(session, user_id, {"enrolled": {"pigeon": False}})
    assert info.value.field == "events.enrolled.pigeon"


def test_inactive_readers_get_nothing(mail) -> None:  # type: ignore[no-untyped-def]
    user = make_user(email="nonaktif@example.go.id", active=False)
    with session_scope() as session:
        assert not notifications.notify(session, _certificate_issued(user.id))


async def test_every_template_renders_in_both_languages(settings) -> None:  # type: ignore[no-untyped-def]
    from app.notifications.constants import EVENTS

    for name in EVENTS:
        for locale in ("id", "en"):
            preview = notifications.preview(name, locale, settings)
            assert preview.subject and preview.body, name
            assert "{{" not in preview.email_text and "%(" not in preview.email_text, name


def test_notify_many_is_bulk_and_idempotent(mail, settings) -> None:  # type: ignore[no-untyped-def]
    ids = [_reader(email=f"asn{n}@example.go.id", phone=None) for n in range(30)]
    batch = [_certificate_issued(uid, key=f"bulk:{uid}") for uid in ids]
    with session_scope() as session:
        assert notifications.notify_many(session, batch) == 30
    with session_scope() as session:
        assert notifications.notify_many(session, batch) == 0
    assert deliver().sent == 30
    assert len({m["Message-ID"] for m in mail.wait_for(30)}) == 30


def test_a_batch_that_dies_midway_never_sends_an_accepted_message_again(mail, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each message is recorded as sent the moment the mail server accepts it: when the batch
    then dies (here the third message raises, as a killed worker would stop), the retry sends
    only what was not accepted."""
    users = [_reader(email=f"pegawai{i}@example.go.id", phone=None) for i in range(3)]
    with session_scope() as session:
        for i, uid in enumerate(users):
            notifications.notify(session, _certificate_issued(uid, key=f"certificate_issued:{i}"))
    real = channels._send_one
    calls = {"n": 0}

    def dies_on_third(conn, msg):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(conn, msg)

    monkeypatch.setattr(channels, "_send_one", dies_on_third)
    first = deliver(rounds=1)
    assert first.sent == 2
    mail.wait_for(2)
    with session_scope() as session:
        states = sorted(session.scalars(select(OutboxItem.state)).all())
    assert states == ["pending", "sent", "sent"]
    monkeypatch.setattr(channels, "_send_one", real)
    with session_scope() as session:  # the failed one is due at once, not after its backoff
        session.execute(update(OutboxItem).where(OutboxItem.state == "pending")
                        .values(next_attempt_at=utcnow()))  # fmt: skip
    assert deliver().sent == 1
    received = mail.wait_for(3)
    assert sorted(m["To"] for m in received) == sorted(
        f"Dewi Lestari <pegawai{i}@example.go.id>" for i in range(3)
    )
