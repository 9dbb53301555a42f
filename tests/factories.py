"""Keyword-only factories for test data, and helpers to sign in through the API or the pages."""

from __future__ import annotations

import itertools
import re

import httpx

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.accounts.schemas import OpdCreate, UserCreate
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

    today = dt.date.today()
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
