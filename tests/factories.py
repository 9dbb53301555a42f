"""Keyword-only factories for test data, and helpers to sign in through the API or the pages."""

from __future__ import annotations

import itertools
import re

import httpx

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.accounts.schemas import OpdCreate, UserCreate
from app.core import clock
from app.core.config import get_settings
from app.core.db import session_scope

PASSWORD = "Kata-Sandi-Uji-2026"
_seq = itertools.count(1)


def valid_nip(
    *, birth: str = "19900101", start: str = "201503", gender: str = "1", seq: int | None = None
) -> str:
    """A NIP that passes every rule; `seq` keeps it unique."""
    return f"{birth}{start}{gender}{(seq if seq is not None else next(_seq)) % 999 + 1:03d}"


def make_opd(*, code: str = "DISKOMINFO", name: str = "Dinas Komunikasi dan Informatika") -> str:
    with session_scope() as session:
        if accounts_service.repository.get_opd_by_code(session, code) is None:
            accounts_service.create_opd(session, OpdCreate(code=code, name=name))
    return code


def make_user(
    *,
    roles: tuple[str, ...] = ("learner",),
    nip: str | None = None,
    email: str | None = None,
    password: str | None = PASSWORD,
    name: str = "Dewi Lestari",
    opd_code: str | None = None,
    active: bool = True,
) -> User:
    n = next(_seq)
    with session_scope() as session:
        user = accounts_service.create_user(
            session,
            UserCreate(
                nip=nip or valid_nip(seq=n),
                name=name,
                email=email or f"user{n}@example.go.id",
                password=password,
                roles=list(roles),  # type: ignore[arg-type]
                opd_code=opd_code,
                employment="PNS",
            ),
            get_settings(),
        )
        if not active:
            user.is_active = False
        session.flush()
        session.expunge_all()
    return user


async def api_token(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    """Bearer headers for a user, through POST /api/v1/auth/token."""
    response = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def browser_login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form like a browser; returns the CSRF token of the session."""
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "username": username,
            "password": password,
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    home = await client.get("/")
    assert home.status_code == 200
    return csrf_from(home.text)


# --- courses ------------------------------------------------------------------------------------


def make_course(
    *,
    code: str | None = None,
    title: str = "Literasi Digital untuk ASN",
    jp: int = 10,
    category: str = "teknis",
    published: bool = True,
    pages: int = 1,
    competencies: tuple[str, ...] = ("literasi_digital",),
    locked_second: bool = False,
) -> dict[str, int]:
    """A course with one section and `pages` page activities; returns their ids."""
    from app.auth.service import Principal
    from app.courses import service as courses_service
    from app.courses.constants import ActivityKind
    from app.courses.schemas import CourseCreate

    staff = Principal(user_id=0, name="factory", roles=frozenset({"admin"}), via="token")
    with session_scope() as session:
        course = courses_service.create_course(
            session,
            CourseCreate(
                code=code or f"C{next(_seq):04d}",
                title=title,
                jp=jp,
                category=category,  # type: ignore[arg-type]
                competencies=list(competencies),
            ),
            staff,
        )
        course.created_by_id = None
        section = courses_service.add_section(session, course, "Pengantar")
        ids = {"course": course.id, "section": section.id}
        for i in range(pages):
            activity = courses_service.add_activity(
                session,
                section,
                courses_service.ActivityInput(
                    kind=ActivityKind.PAGE,
                    title=f"Bacaan {i + 1}",
                    body=f"# Bacaan {i + 1}\n\nIsi materi.",
                    duration_minutes=15,
                    locked_until_previous=locked_second and i == 1,
                ),
            )
            ids[f"page{i + 1}"] = activity.id
        if published:
            courses_service.publish(session, course)
    return ids


def make_run(
    course_id: int,
    *,
    capacity: int | None = None,
    opens_in_days: int | None = None,
    closed_days_ago: int | None = None,
    self_enrol: bool = True,
) -> int:
    import datetime as dt

    from app.courses.models import Run

    today = clock.today()
    with session_scope() as session:
        run = Run(
            course_id=course_id,
            name=f"Angkatan {next(_seq)}",
            starts_on=today - dt.timedelta(days=30),
            ends_on=today + dt.timedelta(days=60),
            enrol_opens_on=today + dt.timedelta(days=opens_in_days) if opens_in_days else None,
            enrol_closes_on=today - dt.timedelta(days=closed_days_ago) if closed_days_ago else None,
            capacity=capacity,
            funding_source="apbd_kabupaten",
            self_enrol=self_enrol,
        )
        session.add(run)
        session.flush()
        return run.id


def enrol(run_id: int, user_id: int) -> int:
    from app.courses.models import Enrolment, Run

    with session_scope() as session:
        enrolment = Enrolment(run_id=run_id, user_id=user_id, status="active")
        session.add(enrolment)
        run = session.get(Run, run_id)
        assert run is not None
        run.enrolled_count += 1
        session.flush()
        return enrolment.id


# --- quizzes ------------------------------------------------------------------------------------

SAMPLE_GIFT = """\
$CATEGORY: Literasi digital

::Pilar::Berapa pilar literasi digital menurut Kominfo?{=Empat#Benar. ~Tiga#Kurang. ~Lima}

::Hoaks::Memeriksa sumber sebelum membagikan berita adalah bagian dari budaya digital.{TRUE}

::Singkatan::Singkatan dari Sistem Pemerintahan Berbasis Elektronik adalah{=SPBE =spbe}

::Angka::Berapa JP minimal per tahun bagi ASN?{#20:0}

::Pilih dua::Mana yang termasuk data pribadi?{~%50%NIK ~%50%Nomor telepon ~%-100%Nama dinas}

::Jodohkan::Jodohkan istilah berikut.{=Cakap digital -> Keterampilan =Etika digital -> Sopan santun =Aman digital -> Perlindungan data}

::Esai::Jelaskan satu contoh penerapan SPBE di OPD Anda.{}
"""


def make_quiz(
    section_id: int,
    *,
    gift: str = SAMPLE_GIFT,
    kind: str = "posttest",
    pass_score: float = 60,
    **settings: object,
) -> dict[str, int]:
    """A quiz in a section with the questions of a GIFT text; returns quiz and activity ids."""
    from app.auth.service import Principal
    from app.courses import service as courses_service
    from app.quizzes import service as quiz_service
    from app.quizzes.schemas import QuizSettings

    author = make_user(roles=("content_admin",), name="Penulis Soal")
    staff = Principal(user_id=author.id, name=author.name, roles=frozenset({"admin"}), via="token")
    with session_scope() as session:
        section = courses_service.get_section(session, section_id)
        quiz = quiz_service.create_quiz(
            session,
            section,
            QuizSettings.model_validate(
                {"title": "Tes Akhir", "kind": kind, "pass_score": pass_score, **settings}
            ),
        )
        if gift:
            result = quiz_service.import_questions(session, quiz, "gift", gift.encode(), staff)
            assert not result.errors, result.errors
        return {"quiz": quiz.id, "activity": quiz.activity_id}


# --- progress and evaluation (issue 5) ----------------------------------------------------------


def make_activity(
    section_id: int,
    *,
    kind: str = "video",
    title: str = "Video Materi",
    duration_minutes: int = 10,
    completion_rule: str | None = None,
    min_view_seconds: int = 0,
    required: bool = True,
) -> int:
    """An activity row straight in the database (a video needs no stored file for progress)."""
    from sqlalchemy import func, select

    from app.courses.constants import DEFAULT_RULE, ActivityKind
    from app.courses.models import Activity, Section

    with session_scope() as session:
        section = session.get(Section, section_id)
        assert section is not None
        position = session.scalar(
            select(func.coalesce(func.max(Activity.position), 0)).where(
                Activity.section_id == section_id
            )
        )
        activity = Activity(
            section_id=section_id,
            course_id=section.course_id,
            position=(position or 0) + 1,
            kind=kind,
            title=title,
            duration_minutes=duration_minutes,
            required=required,
            completion_rule=completion_rule or DEFAULT_RULE[ActivityKind(kind)].value,
            min_view_seconds=min_view_seconds,
            body_md="# Materi\n\nIsi." if kind == "page" else None,
        )
        session.add(activity)
        session.flush()
        return activity.id


def make_certificate_record(
    *,
    holder_name: str = "Ni Luh Putu Ayu Ma'rifah Sukmawatì",
    curriculum: list[tuple[str, list[tuple[str, float]]]] | None = None,
    seq: int | None = None,
    template_id: int | None = None,
) -> int:
    """An issued certificate row (course, run, learner, enrolment made too) without going through
    the issuing service, and without its PDF: for PDF/signing tests. Returns the certificate id."""
    import json
    import secrets

    from app.certificates.models import Certificate
    from app.courses.models import Course, Run

    ids = make_course(title="Pelatihan Penyusunan SKP Berbasis Kinerja")
    run_id = make_run(ids["course"])
    user = make_user(name=holder_name)
    enrolment_id = enrol(run_id, user.id)
    n = seq if seq is not None else next(_seq)
    today = clock.today()
    with session_scope() as session:
        course = session.get(Course, ids["course"])
        run = session.get(Run, run_id)
        assert course is not None and run is not None
        cert = Certificate(
            number=f"{n:04d}/{course.code}/BKPSDM/XI/{today.year}",
            year=today.year,
            seq=n,
            code=secrets.token_hex(20).upper(),
            enrolment_id=enrolment_id,
            run_id=run_id,
            course_id=course.id,
            user_id=user.id,
            holder_name=holder_name,
            holder_nip=user.nip,
            holder_pangkat_golongan="Penata (III/c)",
            holder_jabatan="Analis Kebijakan Ahli Muda",
            holder_opd="Dinas Komunikasi dan Informatika",
            course_code=course.code,
            course_title=course.title,
            run_name=run.name,
            run_starts_on=run.starts_on,
            run_ends_on=run.ends_on,
            funding_source=run.funding_source,
            jp=20,
            score=88.5,
            predikat="Memuaskan",
            issuer="BKPSDM Kabupaten Contoh",
            signer_name="Dr. I Gusti Ngurah Ra'is, M.Si.",
            signer_nip="197001011995031001",
            signer_jabatan="Kepala BKPSDM",
            place="Kabupaten Contoh",
            issued_on=today,
            template_id=template_id,
            curriculum_json=json.dumps(curriculum) if curriculum is not None else None,
        )
        session.add(cert)
        session.flush()
        return cert.id


# --- certificates (H2) ----------------------------------------------------------------------------


def set_profile(
    user_id: int,
    *,
    pangkat: str | None = "III/a",
    jabatan: str | None = "Analis Kebijakan",
    opd_code: str | None = "DISKOMINFO",
    name: str | None = None,
) -> None:
    """Fill (or clear) the profile fields a certificate prints, without emitting events."""
    from app.accounts.models import User

    if opd_code:
        make_opd(code=opd_code)
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.pangkat_golongan, user.jabatan = pangkat, jabatan
        if name:
            user.name = name
        if opd_code:
            opd = accounts_service.repository.get_opd_by_code(session, opd_code)
            user.opd_id = opd.id if opd else None
        else:
            user.opd_id = None


def complete_activity(
    enrolment_id: int, activity_id: int, *, seconds: float = 0.0, issue: bool = True
) -> None:
    """Mark an activity completed the way progress does (which announces it to listeners), then
    (with `issue`) let the outbox auto-issue the certificate a completion asked for."""
    from app.progress import service as progress_service

    with session_scope() as session:
        progress = progress_service.get_or_start(session, enrolment_id, activity_id)
        progress.time_seconds = (progress.time_seconds or 0.0) + seconds
        progress_service.mark_completed(session, progress)
    if issue:
        issue_certificates()


def issue_certificates() -> None:
    """What the outbox does right after a commit that completed a run of an auto-issue course
    (in production the commit's kick runs it at once; tests deliver by hand): issue the
    certificates waiting as "certificate.issue" items. Their PDFs stay queued."""
    from app.certificates.auto_issue import TOPIC_ISSUE
    from app.outbox import service as outbox

    outbox.dispatch(get_settings(), only=[TOPIC_ISSUE])


def graded_attempt(quiz_id: int, user_id: int, enrolment_id: int, run_id: int,
                   percent: float, *, pass_score: float = 60) -> None:  # fmt: skip
    """A finished, graded attempt (what a submitted post-test leaves behind)."""
    import datetime as dt

    from sqlalchemy import func, select

    from app.quizzes.models import Attempt

    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        number = (
            session.scalar(
                select(func.count()).where(Attempt.quiz_id == quiz_id, Attempt.user_id == user_id)
            )
            or 0
        ) + 1
        session.add(
            Attempt(
                quiz_id=quiz_id,
                user_id=user_id,
                enrolment_id=enrolment_id,
                run_id=run_id,
                number=number,
                state="graded",
                started_at=now,
                submitted_at=now,
                graded_at=now,
                score=percent,
                max_score=100,
                percent=percent,
                passed=percent >= pass_score,
                layout_json="[]",
                results_json="[]",
            )
        )


def make_learner(*, opd_code: str = "DISKOMINFO", name: str = "Dewi Lestari",
                 complete_profile: bool = True) -> User:  # fmt: skip
    make_opd(code=opd_code)
    user = make_user(name=name, opd_code=opd_code)
    if complete_profile:
        set_profile(user.id, opd_code=opd_code)
    return user


def make_completed_run(
    learners: int = 1,
    *,
    jp: int = 10,
    pages: int = 2,
    complete: bool = True,
    auto_issue: bool | None = None,
    code: str | None = None,
) -> dict[str, object]:
    """A published course with `pages` page activities, a run and `learners` enrolled learners
    with complete profiles; with `complete`, each learner finishes every page (which completes
    the run, and issues the certificate when the course auto-issues). `auto_issue` sets the
    course's own rule first (None: the institution's setting)."""
    from app.certificates import service as _listeners  # noqa: F401 - completion listeners
    from app.certificates.models import CertificationRules

    ids = make_course(pages=pages, jp=jp, code=code)
    if auto_issue is not None:
        with session_scope() as session:
            session.add(CertificationRules(course_id=ids["course"], auto_issue=auto_issue))
    run_id = make_run(ids["course"])
    users: list[int] = []
    enrolments: list[int] = []
    for i in range(learners):
        user = make_learner(name=f"Peserta {i + 1:03d}")
        users.append(user.id)
        enrolments.append(enrol(run_id, user.id))
    if complete:
        for eid in enrolments:
            for p in range(pages):
                complete_activity(eid, ids[f"page{p + 1}"], seconds=900)
    return {"course": ids["course"], "section": ids["section"], "run": run_id, "users": users,
            "enrolments": enrolments, "pages": [ids[f"page{p + 1}"] for p in range(pages)]}  # fmt: skip
