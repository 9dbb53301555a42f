"""The demo's blended Diklat (`lms demo`): a published course with a reading, a classroom and an
online live session, an assignment graded with a reusable rubric, certification rules weighing
assignments and attendance, and one run with its facilitator, the demo learner and a pinned
welcome thread in the run's forum.

Everything is made through the domains' service functions (the same rules, audit entries and
notifications as when people do it in the UI); running it again changes nothing: the course code
is the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.accounts import repository as accounts_repository
from app.auth.service import Principal, principal_for
from app.core import clock
from app.core.config import Settings
from app.courses.constants import ActivityKind, Category, DeliveryMode, FundingSource, StaffRole
from app.courses.constants import LearningMode as Mode
from app.courses.models import Course, Run, Section

COURSE_CODE = "PPP-BLENDED"
COURSE_TITLE = "Pelayanan Publik Prima (Blended)"
RUBRIC_TITLE = "Rubrik Laporan Aktualisasi"
ASSIGNMENT_TITLE = "Rencana Tindak Lanjut Pelayanan"
CLASSROOM_LOCATION = "Aula BKPSDM lt. 2"
ZOOM_URL = "https://zoom.us/j/81234567890?pwd=DemoDiklatPPP"
WELCOME_TITLE = "Selamat datang di {run}"

# The demo accounts (app.dev.seed.DEMO_ACCOUNTS) this Diklat is made by and for.
FACILITATOR_NIP = "198711032010011004"  # Andi Pratama, content admin, Widyaiswara Ahli Pertama
OFFICER_NIP = "198203142008012003"  # Siti Rahmawati, training officer
LEARNER_NIP = "199304152019032005"  # Dewi Lestari, the demo learner

_SUMMARY = (
    "Standar pelayanan, maklumat pelayanan, dan pengelolaan pengaduan: satu bacaan mandiri, "
    "dua sesi tatap muka (klasikal dan daring), dan rencana tindak lanjut untuk unit layanan Anda."
)
_DESCRIPTION = """\
Pelatihan **blended** bagi ASN yang melayani masyarakat secara langsung: belajar mandiri di
LMS, lalu bertemu di kelas dan di ruang daring bersama widyaiswara.

**Setelah mengikuti pelatihan ini Anda dapat:**

- menjelaskan komponen standar pelayanan menurut UU 25/2009 dan PermenPANRB 15/2014;
- menyusun maklumat pelayanan dan alur pengaduan di unit kerja Anda;
- menyusun rencana tindak lanjut (RTL) peningkatan pelayanan yang terukur.

**Sertifikat:** kehadiran paling sedikit 80 % dan nilai akhir dari penugasan (60 %) dan
kehadiran (40 %).
"""
_READING = """\
# Standar Pelayanan dalam Praktik

Standar pelayanan adalah tolok ukur penyelenggaraan pelayanan dan acuan penilaian kualitas
pelayanan: **janji penyelenggara kepada masyarakat** untuk pelayanan yang berkualitas, cepat,
mudah, terjangkau, dan terukur.

## Komponen yang dilihat masyarakat

1. Persyaratan
2. Sistem, mekanisme, dan prosedur
3. Jangka waktu penyelesaian
4. Biaya/tarif
5. Produk pelayanan
6. Penanganan pengaduan, saran, dan masukan

## Sebelum sesi klasikal

Catat satu layanan di unit Anda yang paling sering dikeluhkan dan komponen standar mana yang
belum jelas bagi masyarakat. Catatan ini menjadi bahan diskusi di kelas dan dasar RTL Anda.
"""
_INSTRUCTIONS = """\
Susun **Rencana Tindak Lanjut (RTL)** peningkatan satu layanan di unit kerja Anda:

1. masalah pelayanan yang Anda pilih dan datanya (keluhan, waktu tunggu, survei);
2. kegiatan perbaikan, penanggung jawab, dan jadwal tiga bulan ke depan;
3. ukuran keberhasilan dan dukungan yang diperlukan dari atasan.

Unggah dokumen PDF atau DOCX (paling banyak 2 berkas, masing-masing 10 MB), atau tulis
langsung di kotak teks daring. Penilaian memakai rubrik yang tampil di bawah.
"""
_WELCOME = """\
Selamat datang, Bapak/Ibu peserta **{run}**!

Saya Andi Pratama, widyaiswara yang akan mendampingi pelatihan ini. Beberapa hal penting:

- Baca **Standar Pelayanan dalam Praktik** sebelum sesi klasikal besok di {place}.
- Sesi daring lusa melalui Zoom; tautannya ada di halaman sesi.
- Kehadiran paling sedikit **80 %** menjadi syarat sertifikat.
- RTL dikumpulkan paling lambat tujuh hari lagi.

Silakan perkenalkan diri di topik ini: nama, unit kerja, dan layanan yang Anda tangani.
"""
# (criterion, description, [(level, points, description)]): 3 criteria x 4 levels, 100 points.
_RUBRIC = [
    ("Identifikasi masalah pelayanan", "Masalah dipilih berdasarkan data dan dampaknya.", [
        ("Kurang", 10, "Masalah tidak jelas atau tanpa data."),
        ("Cukup", 20, "Masalah jelas, data kurang mendukung."),
        ("Baik", 30, "Masalah jelas dengan data keluhan atau waktu tunggu."),
        ("Sangat baik", 40, "Masalah tajam, data lengkap, dampak bagi masyarakat dijelaskan."),
    ]),
    ("Rencana aksi dan jadwal", "Kegiatan, penanggung jawab, dan jadwal yang realistis.", [
        ("Kurang", 7, "Kegiatan tidak terkait dengan masalah."),
        ("Cukup", 15, "Kegiatan terkait, jadwal atau penanggung jawab belum ada."),
        ("Baik", 22, "Kegiatan, penanggung jawab, dan jadwal lengkap."),
        ("Sangat baik", 30, "Lengkap, bertahap, dan dapat dimulai bulan ini."),
    ]),
    ("Ukuran keberhasilan", "Indikator yang terukur dan dukungan yang diperlukan.", [
        ("Kurang", 7, "Tidak ada indikator."),
        ("Cukup", 15, "Indikator ada tetapi tidak terukur."),
        ("Baik", 22, "Indikator terukur dengan target."),
        ("Sangat baik", 30, "Indikator terukur, target, dan cara pemantauan bersama atasan."),
    ]),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class _People:
    facilitator: Principal  # the widyaiswara: makes the course, teaches the run
    officer: Principal  # the training officer: opens the run, staffs it, enrols
    learner: Principal


def _moment(day: dt.date, hour: int, minute: int = 0) -> str:
    """A local (institution time) moment as the activity form sends it (ISO 8601, no offset)."""
    return dt.datetime.combine(day, dt.time(hour, minute)).isoformat()


def _principal(session: Session, nip: str) -> Principal | None:
    user = accounts_repository.get_user_by_login(session, nip)  # with its roles
    return None if user is None else principal_for(user, via="cli")


def _rubric_id(session: Session, author: Principal) -> int:
    """The reusable rubric: the library's one of that title when present, else a new one."""
    from app.assignments import service as assignments
    from app.assignments.schemas import CriterionIn, LevelIn, RubricCreate

    for rubric in assignments.list_rubrics(session, author):
        if rubric.title == RUBRIC_TITLE and not rubric.archived:
            return rubric.id
    created = assignments.create_rubric(session, author, RubricCreate(
        title=RUBRIC_TITLE,
        description="Rubrik laporan aktualisasi dan RTL: masalah, rencana aksi, ukuran.",
        criteria=[
            CriterionIn(title=title, description=about, levels=[
                LevelIn(title=level, points=points, description=text)
                for level, points, text in levels
            ])
            for title, about, levels in _RUBRIC
        ],
    ))  # fmt: skip
    return created.id


def _course(session: Session, author: Principal, today: dt.date) -> Course:
    """The course, its two sections and four activities, published."""
    # Imported here: registering the live_session and assignment kinds (app.courses.kinds) is
    # what lets add_activity check and store their details, in any process (CLI or tests).
    from app.assignments import kind as _assignment_kind  # noqa: F401
    from app.courses import service as courses
    from app.courses.schemas import CourseCreate
    from app.live import service as _live  # noqa: F401

    course = courses.create_course(session, CourseCreate(
        code=COURSE_CODE, title=COURSE_TITLE, summary=_SUMMARY, description=_DESCRIPTION, jp=12,
        category=Category.TEKNIS, learning_mode=Mode.BLENDED,
    ), author)  # fmt: skip
    first: Section = courses.add_section(session, course, "Bagian 1: Standar Pelayanan")
    courses.add_activity(session, first, courses.ActivityInput(
        kind=ActivityKind.PAGE, title="Bacaan: Standar Pelayanan dalam Praktik",
        duration_minutes=20, body=_READING, by=author,
    ))  # fmt: skip
    tomorrow, after = today + dt.timedelta(days=1), today + dt.timedelta(days=2)
    courses.add_activity(session, first, courses.ActivityInput(
        kind=ActivityKind.LIVE_SESSION, title="Sesi Klasikal: Menyusun Maklumat Pelayanan",
        duration_minutes=180, by=author,
        details={"starts_at": _moment(tomorrow, 8), "ends_at": _moment(tomorrow, 11),
                 "platform": "classroom", "location": CLASSROOM_LOCATION},
    ))  # fmt: skip
    courses.add_activity(session, first, courses.ActivityInput(
        kind=ActivityKind.LIVE_SESSION, title="Sesi Daring: Mengelola Pengaduan Masyarakat",
        duration_minutes=120, by=author,
        details={"starts_at": _moment(after, 13), "ends_at": _moment(after, 15),
                 "platform": "zoom", "join_url": ZOOM_URL},
    ))  # fmt: skip
    second = courses.add_section(session, course, "Bagian 2: Rencana Tindak Lanjut")
    courses.add_activity(session, second, courses.ActivityInput(
        kind=ActivityKind.ASSIGNMENT, title=ASSIGNMENT_TITLE, duration_minutes=120, by=author,
        details={
            "instructions": _INSTRUCTIONS,
            "due_at": _moment(today + dt.timedelta(days=7), 23, 59),
            "cutoff_at": _moment(today + dt.timedelta(days=10), 23, 59),
            "late_policy": "accept", "allowed_types": "pdf, docx", "max_files": 2,
            "max_file_mb": 10, "online_text": True, "rubric_id": _rubric_id(session, author),
        },
    ))  # fmt: skip
    return courses.publish(session, course)


def _rules(session: Session, course: Course, settings: Settings) -> None:
    """Attendance at least 80 %, final score = assignments 60 + attendance 40, issued
    automatically; no post-test in this course, so none is required."""
    from app.certificates import service as certificates
    from app.certificates.schemas import RulesUpdate

    certificates.update_rules(session, course.id, RulesUpdate(
        min_attendance_percent=80, score_formula="weighted",
        weights={"assignments": 60, "attendance": 40}, require_posttest=False, auto_issue=True,
    ), settings)  # fmt: skip


def _run(session: Session, course: Course, today: dt.date, people: _People) -> Run:
    """Angkatan I of the year: blended, 30 seats with a waiting list, the widyaiswara as its
    facilitator and the demo learner enrolled by the training officer."""
    from app.courses import runs
    from app.courses import service as courses
    from app.courses.schemas import EnrolRequest, RunCreate, StaffCreate

    run = courses.create_run(session, course, RunCreate(
        name=f"Angkatan I {today.year}", starts_on=today, ends_on=today + dt.timedelta(days=30),
        capacity=30, funding_source=FundingSource.APBD_KABUPATEN, organiser="BKPSDM (demo)",
        delivery_mode=DeliveryMode.BLENDED, waitlist=True,
    ), people.officer)  # fmt: skip
    runs.add_staff(session, run, StaffCreate(
        user_id=people.facilitator.user_id, role=StaffRole.FACILITATOR, widyaiswara=True,
    ), people.officer)  # fmt: skip
    enrol = EnrolRequest(user_ids=[people.learner.user_id])
    courses.enrol_many(session, run, enrol, people.officer)
    return run


def _welcome(session: Session, run: Run, facilitator: Principal) -> None:
    """The facilitator opens the run's forum with a welcome thread and pins it."""
    from app.forums import service as forums
    from app.forums.schemas import ThreadCreate

    scope = forums.run_scope(session, facilitator, run.id)
    thread, _post = forums.create_thread(session, scope, ThreadCreate(
        title=WELCOME_TITLE.format(run=run.name),
        body=_WELCOME.format(run=run.name, place=CLASSROOM_LOCATION),
    ), facilitator)  # fmt: skip
    forums.pin(session, facilitator, thread.id, True)


def load_demo_blended(session: Session, settings: Settings) -> bool:
    """The blended demo Diklat, once: False when the course is already there or the demo
    accounts are missing (run app.dev.seed.load_demo first)."""
    from app.courses import repository as courses_repository

    if courses_repository.get_course_by_code(session, COURSE_CODE) is not None:
        return False
    facilitator = _principal(session, FACILITATOR_NIP)
    officer = _principal(session, OFFICER_NIP)
    learner = _principal(session, LEARNER_NIP)
    if facilitator is None or officer is None or learner is None:
        return False
    today = clock.today()
    course = _course(session, facilitator, today)
    _rules(session, course, settings)
    run = _run(session, course, today, _People(facilitator, officer, learner))
    _welcome(session, run, facilitator)
    session.flush()
    return True
