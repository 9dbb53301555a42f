"""The scheduled notification jobs, run "as of" a chosen moment: daily run reminders, the monthly
below-pace reminder with gap courses, the OPD head's digest, the weekly verification digest, and
the housekeeping that was never scheduled. Each makes the right messages once, however often it
runs, in a number of queries that does not grow with the number of learners."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from app.auth.models import AccountToken, LoginFailure
from app.competency.models import CompetencyAssessment
from app.core import clock
from app.core.config import Settings
from app.core.db import session_scope, utcnow
from app.courses.models import Enrolment, Run, UploadSession
from app.external_training.models import ExternalTraining
from app.jobs import service as jobs
from app.jp import service as jp_service
from app.mentoring.models import MentoringAssignment
from app.notifications import tasks
from app.notifications.models import Notification
from app.outbox.models import OutboxItem
from tests.factories import complete_activity, enrol, make_course, make_opd, make_run, make_user
from tests.mailsink import text_of
from tests.notifications.helpers import deliver
from tests.queries import count_queries

_ids = itertools.count(1)


def _at(day: dt.date, hour: int = 8) -> dt.datetime:
    """The UTC moment of `hour`:00 on a local day (after the jobs' 07:00)."""
    return dt.datetime.combine(day, dt.time(hour), clock.institution_tz()).astimezone(dt.UTC)


def _notifications(event: str) -> list[Notification]:
    with session_scope() as session:
        rows = list(
            session.scalars(
                select(Notification).where(Notification.event == event).order_by(Notification.id)
            )
        )
        session.expunge_all()
        return rows


def _forget_messages() -> None:
    with session_scope() as session:
        session.execute(delete(OutboxItem))
        session.execute(delete(Notification))


def _credit(user_id: int, jp: float, year: int) -> None:
    with session_scope() as session:
        jp_service.credit(
            session, user_id=user_id, year=year, source=jp_service.CERTIFICATE,
            source_id=next(_ids), jp=jp, credited_on=dt.date(year, 1, 15), reference="UJI",
        )  # fmt: skip


def _dates(run_id: int, starts_on: dt.date, ends_on: dt.date) -> None:
    with session_scope() as session:
        session.execute(
            update(Run).where(Run.id == run_id).values(starts_on=starts_on, ends_on=ends_on)
        )


# --- the rule -------------------------------------------------------------------------------------


def test_the_pace_is_the_target_times_the_share_of_the_year_elapsed() -> None:
    assert tasks.expected_jp(20, dt.date(2026, 1, 1)) == 0
    assert tasks.expected_jp(20, dt.date(2026, 12, 1)) == 18.3  # 334 / 365 of 20
    assert tasks.expected_jp(20, dt.date(2026, 7, 1)) == 9.92
    assert tasks.expected_jp(20, dt.date(2028, 7, 1)) == 9.95  # a leap year: 182 / 366
    assert tasks.below_pace(18.29, 18.3) and not tasks.below_pace(18.3, 18.3)
    assert tasks.previous_month(dt.date(2027, 1, 1)) == dt.date(2026, 12, 1)
    assert tasks.week_key(dt.date(2027, 1, 1)) == "2026-W53"


# --- daily: run reminders -------------------------------------------------------------------------


def _closing_run(day: dt.date, learners: int) -> dict[str, Any]:
    """A run ending in 3 days (the default reminder) with `learners` who did nothing, one who
    completed and one who withdrew."""
    ids = make_course(title="Keamanan Informasi", jp=12, pages=2)
    run_id = make_run(ids["course"])
    _dates(run_id, day - dt.timedelta(days=30), day + dt.timedelta(days=3))
    idle = [make_user(name=f"Peserta {i}").id for i in range(learners)]
    for uid in idle:
        enrol(run_id, uid)
    done = make_user(name="Sudah Selesai")
    enrolment = enrol(run_id, done.id)
    for page in ("page1", "page2"):
        complete_activity(enrolment, ids[page])
    left = make_user(name="Mengundurkan Diri")
    with session_scope() as session:
        session.add(Enrolment(run_id=run_id, user_id=left.id, status="withdrawn"))
    return {"run": run_id, "course": ids["course"], "idle": idle, "done": done.id}


def test_run_reminders_for_tomorrow_and_for_runs_closing_soon(mail, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    day = clock.today()
    course = make_course(title="Literasi Digital bagi ASN", jp=20)["course"]
    starting = make_run(course)
    _dates(starting, day + dt.timedelta(days=1), day + dt.timedelta(days=14))
    later = make_run(make_course(title="Pelatihan Lain")["course"])
    _dates(later, day + dt.timedelta(days=2), day + dt.timedelta(days=14))
    dewi = make_user(email="dewi@example.go.id", name="Dewi Lestari")
    enrol(starting, dewi.id)
    enrol(later, make_user().id)
    closing = _closing_run(day, learners=1)
    now = _at(day)
    result = tasks.run_reminders(settings, now)
    assert result.startswith("2 pengingat angkatan dibuat") and "1 dimulai besok" in result
    (start,) = _notifications("run_starting")
    assert (start.user_id, start.key, start.url) == (
        dewi.id, f"run_starting:{starting}:{dewi.id}:{day + dt.timedelta(days=1)}",
        f"/courses/{course}")  # fmt: skip
    (close,) = _notifications("run_closing")
    assert close.user_id == closing["idle"][0] and close.context["days_left"] == 3
    # Stored as codes, described in the recipient's language when the message is rendered.
    assert any(m["code"] == "required_activities" for m in close.context["missing"])
    # Again, or through the schedule: nothing new.
    assert tasks.run_reminders(settings, now).startswith("0 pengingat")
    (outcome,) = jobs.run_due(settings, now=now, only="notifications.run_reminders")
    assert outcome.state == "done" and outcome.result.startswith("0 pengingat")
    # and the certificate of the learner who completed (whose PDF the outbox makes too)
    assert deliver().by_topic.get("notify.email") == 3
    (start_mail,) = mail.to("dewi@example.go.id")
    assert start_mail["Subject"] == "Besok Literasi Digital bagi ASN dimulai"
    assert "sertifikat 20 JP" in text_of(start_mail)
    (closing_mail,) = [m for m in mail.messages if "ditutup" in m["Subject"]]
    assert closing_mail["Subject"] == "Keamanan Informasi ditutup dalam 3 hari"
    text = text_of(closing_mail)
    assert "- Aktivitas wajib belum selesai (2): Bacaan 1, Bacaan 2." in text


def test_run_reminders_take_the_same_queries_for_few_or_many_learners(settings: Settings) -> None:
    day = clock.today()
    closing = _closing_run(day, learners=2)
    with count_queries() as few:
        tasks.run_reminders(settings, _at(day))
    for i in range(8):
        enrol(closing["run"], make_user(name=f"Tambahan {i}").id)
    _forget_messages()
    with count_queries() as many:
        tasks.run_reminders(settings, _at(day))
    assert len(_notifications("run_closing")) == 10
    assert len(many) == len(few)


# --- monthly: below pace --------------------------------------------------------------------------


def _assess(user_id: int, code: str, level: int, required: int) -> None:
    with session_scope() as session:
        session.add(CompetencyAssessment(
            user_id=user_id, competency_code=code, level=level, required_level=required,
            assessed_on=clock.today() - dt.timedelta(days=40), method="assessment center",
        ))  # fmt: skip


def _below_pace_world(year: int, extra: int = 0) -> dict[str, Any]:
    course = make_course(title="Literasi Digital bagi ASN", jp=20, code="LITDIG",
                         competencies=("literasi_digital",))["course"]  # fmt: skip
    make_run(course)  # open for enrolment now
    ani = make_user(email="ani@example.go.id", name="Ani Rahayu")
    _credit(ani.id, 4, year)
    _assess(ani.id, "literasi_digital", 1, 3)
    budi = make_user(email="budi@example.go.id", name="Budi Santoso")
    _credit(budi.id, 12, year)
    _credit(budi.id, 30, year - 1)  # last year's JP do not count this year
    citra = make_user(email="citra@example.go.id", name="Citra Dewi")  # no JP, never assessed
    gone = make_user(name="Nonaktif", active=False)
    others = [make_user(name=f"Lain {i}").id for i in range(extra)]
    return {"course": course, "ani": ani.id, "budi": budi.id, "citra": citra.id,
            "gone": gone.id, "others": others}  # fmt: skip


def test_below_pace_reminder_names_jp_target_and_a_gap_course(mail, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    year = clock.today().year
    world = _below_pace_world(year)
    now = _at(dt.date(year, 7, 1))
    result = tasks.below_pace_reminders(settings, now)
    assert result == f"2 pengingat dibuat untuk Juli {year}"
    rows = {r.user_id: r for r in _notifications("below_pace")}
    assert set(rows) == {world["ani"], world["citra"]}
    ani = rows[world["ani"]]
    assert ani.key == f"below_pace:{world['ani']}:{year}-07" and ani.url == "/courses"
    assert ani.context["jp"] == 4 and ani.context["target"] == 20
    assert ani.context["courses"][0]["title"] == "Literasi Digital bagi ASN"
    assert ani.context["courses"][0]["competency"] == "Literasi Digital"
    # Citra has no assessed gap: the catalog's open courses instead.
    assert rows[world["citra"]].context["courses"][0]["competency"] is None
    again = jobs.run_due(settings, now=now, only="notifications.below_pace")
    assert again[0].result == f"0 pengingat dibuat untuk Juli {year} (2 sudah dibuat sebelumnya)"
    assert deliver().sent == 2
    (msg,) = mail.to("ani@example.go.id")
    text = text_of(msg)
    assert msg["Subject"] == f"JP Anda 4 dari target 20 JP tahun {year}"
    assert "Anda mengumpulkan 4 JP; target tahun ini 20 JP" in text
    assert "- Literasi Digital bagi ASN (20 JP, Literasi Digital)" in text
    assert "http://testserver/courses" in text


def test_below_pace_takes_the_same_queries_for_few_or_many_learners(settings: Settings) -> None:
    year = clock.today().year
    world = _below_pace_world(year)
    now = _at(dt.date(year, 7, 1))
    with count_queries() as few:
        tasks.below_pace_reminders(settings, now)
    for i in range(12):
        uid = make_user(name=f"Tambahan {i}").id
        _assess(uid, "literasi_digital", 2, 4)
    _forget_messages()
    with count_queries() as many:
        tasks.below_pace_reminders(settings, now)
    assert len(_notifications("below_pace")) == 14 and world["budi"] not in {
        n.user_id for n in _notifications("below_pace")}  # fmt: skip
    assert len(many) == len(few)


# --- monthly: the OPD head's digest ---------------------------------------------------------------


def test_opd_heads_get_their_opd_with_the_names_below_target(mail, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    year = clock.today().year
    make_opd(code="DISKOMINFO", name="Dinas Komunikasi dan Informatika")
    make_opd(code="DINKES", name="Dinas Kesehatan")
    head = make_user(roles=("opd_head",), opd_code="DISKOMINFO", name="Kepala Diskominfo",
                     email="kadis@example.go.id")  # fmt: skip
    other_head = make_user(roles=("opd_head",), opd_code="DINKES", name="Kepala Dinkes")
    make_user(roles=("opd_head",), name="Kepala Tanpa OPD")  # no OPD: nothing to report
    ani = make_user(opd_code="DISKOMINFO", name="Ani Rahayu")
    budi = make_user(opd_code="DISKOMINFO", name="Budi Santoso")
    citra = make_user(opd_code="DISKOMINFO", name="Citra Dewi")
    make_user(opd_code="DINKES", name="Dedi Kurnia")
    _credit(budi.id, 24, year)
    _credit(citra.id, 6, year)
    now = _at(dt.date(year, 12, 1))
    assert tasks.opd_digests(settings, now) == f"2 ringkasan OPD dibuat untuk November {year}"
    rows = {r.user_id: r for r in _notifications("opd_digest")}
    assert set(rows) == {head.id, other_head.id}
    digest = rows[head.id]
    assert digest.key == f"opd_digest:{head.id}:{year}-11"
    context = digest.context
    assert (context["active_asn"], context["participated"], context["jp_compliant"]) == (4, 2, 1)
    assert context["below_total"] == 3
    assert {b["name"] for b in context["below"]} == {"Ani Rahayu", "Citra Dewi",
                                                     "Kepala Diskominfo"}  # fmt: skip
    assert tasks.opd_digests(settings, now).startswith("0 ringkasan")
    deliver()
    (msg,) = mail.to("kadis@example.go.id")
    assert msg["Subject"] == f"Ringkasan November {year}: Dinas Komunikasi dan Informatika"
    text = text_of(msg)
    assert "3 ASN masih di bawah target" in text
    assert f"- Ani Rahayu ({ani.nip}): 0 JP" in text and f"- Citra Dewi ({citra.nip}): 6 JP" in text
    assert "Budi Santoso" not in text


def test_the_opd_digest_takes_the_same_queries_for_few_or_many_learners(
    settings: Settings,
) -> None:
    year = clock.today().year
    make_opd(code="DISKOMINFO")
    make_user(roles=("opd_head",), opd_code="DISKOMINFO", name="Kepala")
    for i in range(2):
        make_user(opd_code="DISKOMINFO", name=f"Awal {i}")
    now = _at(dt.date(year, 12, 1))
    with count_queries() as few:
        tasks.opd_digests(settings, now)
    for i in range(15):
        make_user(opd_code="DISKOMINFO", name=f"Tambahan {i}")
    _forget_messages()
    with count_queries() as many:
        tasks.opd_digests(settings, now)
    (digest,) = _notifications("opd_digest")
    assert digest.context["below_total"] == 18 and len(digest.context["below"]) == 10
    assert len(many) == len(few)


# --- weekly: what waits for the officers ----------------------------------------------------------


def _pending_external(user_id: int) -> None:
    today = clock.today()
    with session_scope() as session:
        session.add(ExternalTraining(
            user_id=user_id, name="Bimtek SPBE", organiser="Kominfo", starts_on=today,
            ends_on=today, jp=8, certificate_number=f"X/{next(_ids)}",
            certificate_key=f"X/{next(_ids)}", funding_source="apbn", mode="klasikal",
            status="pending",
        ))  # fmt: skip


def test_officers_get_the_weekly_verification_digest(mail, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    officers = [make_user(roles=("training_officer",), email=f"petugas{i}@example.go.id").id
                for i in range(2)]  # fmt: skip
    make_user(roles=("admin",))
    learner = make_user()
    mentor = make_user(roles=("mentor",))
    now = _at(dt.date(2026, 12, 7))  # Monday, ISO week 50
    assert tasks.verification_digest(settings, now).startswith("Tidak ada pengajuan")
    assert _notifications("verification_digest") == []
    for _ in range(2):
        _pending_external(learner.id)
    today = clock.today()
    with session_scope() as session:
        session.add(MentoringAssignment(
            mentor_id=mentor.id, mentee_id=learner.id, competency_code="literasi_digital",
            goal="Tujuan", planned_sessions=2, jp_per_session=2, starts_on=today,
            ends_on=today, status="signed_off",
        ))  # fmt: skip
    (outcome,) = jobs.run_due(settings, now=now, only="notifications.verification_digest")
    assert outcome.period == "2026-W50"
    assert outcome.result.startswith("2 ringkasan dibuat untuk 2026-W50")
    rows = _notifications("verification_digest")
    assert sorted(r.user_id for r in rows) == sorted(officers)
    assert rows[0].key.endswith(":2026-W50") and rows[0].url == "/studio/external-trainings"
    assert tasks.verification_digest(settings, now).startswith("0 ringkasan")
    deliver()
    msgs = mail.wait_for(2)
    assert {m["Subject"] for m in msgs} == {
        "Menunggu verifikasi: 2 pelatihan eksternal, 1 mentoring"}  # fmt: skip


# --- housekeeping ---------------------------------------------------------------------------------


def _count(model: Any) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_housekeeping_jobs_are_scheduled_and_clean_up(settings: Settings) -> None:
    user = make_user()
    now = utcnow()
    long_ago = now - dt.timedelta(days=200)
    with session_scope() as session:
        session.add_all([
            AccountToken(user_id=user.id, purpose="activation", channel="email",
                         token_hash="a" * 64, expires_at=now - dt.timedelta(hours=1)),
            AccountToken(user_id=user.id, purpose="reset", channel="email",
                         token_hash="b" * 64, expires_at=now + dt.timedelta(hours=1)),
            LoginFailure(scope="account", key="x", at=long_ago),
            UploadSession(id="u" * 32, user_id=user.id, kind="video", filename="a.mp4",
                          size=10, storage_key="k/a", part_size=5, created_at=long_ago),
            OutboxItem(topic="notify.email", key="old", payload={}, state="sent", attempts=1,
                       created_at=long_ago, next_attempt_at=long_ago, sent_at=long_ago),
            OutboxItem(topic="notify.email", key="new", payload={}, state="sent", attempts=1,
                       created_at=now, next_attempt_at=now, sent_at=now),
            OutboxItem(topic="notify.email", key="dead", payload={}, state="dead", attempts=9,
                       created_at=long_ago, next_attempt_at=long_ago),
        ])  # fmt: skip
    outcomes = {}
    for name in ("auth.purge_expired", "courses.expired_uploads", "outbox.purge_done"):
        (outcome,) = jobs.run_due(settings, now=now, only=name, force=True)
        outcomes[name] = outcome
        assert outcome.state == "done", outcome.result
    assert outcomes["courses.expired_uploads"].result == "1 unggahan kedaluwarsa dibatalkan"
    assert outcomes["outbox.purge_done"].result.startswith("1 pesan terkirim")
    with session_scope() as session:
        assert list(session.scalars(select(AccountToken.purpose))) == ["reset"]
        assert session.scalar(select(UploadSession.status)) == "aborted"
        assert sorted(session.scalars(select(OutboxItem.key))) == ["dead", "new"]
    assert _count(LoginFailure) == 0


@pytest.mark.parametrize(
    ("name", "cadence"),
    [("notifications.run_reminders", "daily"), ("notifications.below_pace", "monthly"),
     ("notifications.opd_digest", "monthly"), ("notifications.verification_digest", "weekly"),
     ("courses.expired_uploads", "hourly"), ("auth.purge_expired", "hourly"),
     ("outbox.purge_done", "daily")],
)  # fmt: skip
def test_every_job_is_registered_with_its_cadence(name: str, cadence: str) -> None:
    job = jobs.get_job(name)
    assert job is not None and job.cadence == cadence and job.label()
