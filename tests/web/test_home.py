"""The home page per role: the learner's "Lanjutkan", deadlines, JP and recommendations; the
officer's runs, verifications, certificate jobs and month; the content admin's drafts and
courses with problems; the mentor's mentees; the OPD head's below-target count. Plus the menu,
breadcrumbs, icons and manifest of the shell."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import httpx
import pytest
from babel.dates import format_date
from sqlalchemy import update

from app.auth.service import Principal
from app.certificates.models import IssueJob
from app.competency import service as competency_service
from app.competency.models import Competency
from app.core import clock
from app.core.config import get_settings
from app.core.db import session_scope
from app.courses.models import Activity, Course, Run
from app.external_training.models import ExternalTraining
from app.mentoring.models import MentoringAssignment
from app.progress.models import ActivityProgress
from app.targets import service as targets_service
from app.web.static import static_url
from app.web.templating import NavGroup, NavItem, current_href, nav_links, navigation
from tests.competency.helpers import assess
from tests.factories import (
    browser_login,
    complete_activity,
    enrol,
    graded_attempt,
    make_activity,
    make_course,
    make_learner,
    make_opd,
    make_quiz,
    make_run,
    make_user,
)
from tests.queries import count_queries

pytestmark = pytest.mark.anyio

# SQL statements of a learner's home page (10 runs or 1) once the per-process caches are warm
# (the caller, the courses' content, the competency catalog's names): the user, the mentoring
# to-do, 7 for the runs (certificates.my_courses), JP, 2 for the suggestions, certificates,
# last learning per run, the bell. It was 23 before the page read the user once and cached.
LEARNER_HOME_STATEMENTS = 15


@pytest.fixture(autouse=True)
def _fresh_read_caches() -> Iterator[None]:
    """The home page's per-process caches start and end empty: the wipe between tests
    (tests/conftest.py) writes outside any session, so they would not hear of it."""
    from app.competency.service import catalog_names
    from app.courses.service import brief_contents

    brief_contents.clear()
    catalog_names.clear()
    yield
    brief_contents.clear()
    catalog_names.clear()


def section(html: str, labelledby: str) -> str:
    """The HTML of the section or article labelled by a heading id (up to its end tag)."""
    match = re.search(
        rf'<(section|article)[^>]*aria-labelledby="{labelledby}"[^>]*>(.*?)</\1>', html, re.S
    )
    assert match, f"no section {labelledby}"
    return match.group(2)


def text(fragment: str) -> str:
    """Visible text with tags removed and whitespace folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def set_run_end(run_id: int, days_from_today: int) -> None:
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        run.ends_on = clock.today() + dt.timedelta(days=days_from_today)


# --- learner -------------------------------------------------------------------------------------


async def test_learner_home_continues_the_last_course_with_deadlines_jp_and_gaps(
    client: httpx.AsyncClient,
) -> None:
    learner = make_learner(name="Rina Marlina")
    old = make_course(title="Kursus Lama", pages=2)
    recent = make_course(title="Kursus Terakhir Dibuka", pages=2)
    other = make_course(title="Keamanan Siber Dasar", pages=1)
    old_run, recent_run = make_run(old["course"]), make_run(recent["course"])
    make_run(other["course"])  # open for enrolment: recommended with "Pendaftaran dibuka"
    set_run_end(old_run, 5)
    old_enrolment = enrol(old_run, learner.id)
    recent_enrolment = enrol(recent_run, learner.id)
    complete_activity(old_enrolment, old["page1"])
    complete_activity(recent_enrolment, recent["page1"])
    with session_scope() as session:  # the old course was last opened two days ago
        for p in session.query(ActivityProgress).filter_by(enrolment_id=old_enrolment):
            p.last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    assess(learner.id, "literasi_digital", 1, required=3)

    await browser_login(client, learner.email or "")
    html = (await client.get("/")).text

    resume = section(html, "resume-title")
    assert "Kursus Terakhir Dibuka" in resume and "Kursus Lama" not in resume
    assert f'href="/my/runs/{recent_run}/continue"' in resume
    assert re.search(r'<progress id="resume-progress" value="50"', resume)

    deadlines = text(section(html, "deadlines-title"))
    assert "Kursus Lama" in deadlines and "Kursus Terakhir Dibuka" not in deadlines
    assert "(5 hari lagi)" in deadlines

    jp = section(html, "jp-title")
    assert re.search(r'<meter id="jp-meter"[^>]*max="20', jp), jp
    assert "0 dari target 20 JP" in text(jp)
    assert "Kurang 20 JP untuk mencapai target." in text(jp)

    recommended = text(section(html, "recommended-title"))
    assert "Keamanan Siber Dasar" in recommended
    assert "Pendaftaran dibuka" in recommended
    assert "Kompetensi: Literasi Digital" in recommended


async def test_learner_home_queries_do_not_grow_with_runs(client: httpx.AsyncClient) -> None:
    """Ten runs (a post-test each, progress, one certificate) cost the home page as many SQL
    statements as one: every run's progress, rules, quizzes and certificate are read at once."""
    learner = make_learner(name="Peserta Sepuluh Angkatan")
    assess(learner.id, "literasi_digital", 1, required=3)
    await browser_login(client, learner.email or "")

    async def queries() -> tuple[int, str]:
        await client.get("/")  # the same state of every per-process cache for both counts
        with count_queries() as statements:
            response = await client.get("/")
        assert response.status_code == 200
        return len(statements), response.text

    def learn_in_new_run(n: int, *, finish: bool) -> None:
        ids = make_course(title=f"Kursus Angkatan {n}", pages=2)
        quiz = make_quiz(ids["section"], gift="")
        run_id = make_run(ids["course"])
        set_run_end(run_id, 3 + n)
        enrolment = enrol(run_id, learner.id)
        if finish:  # the post-test first: the last page then completes the run and issues
            graded_attempt(quiz["quiz"], learner.id, enrolment, run_id, 90)
            complete_activity(enrolment, ids["page2"])
        complete_activity(enrolment, ids["page1"])

    learn_in_new_run(0, finish=True)
    one, html = await queries()
    assert "Kursus Angkatan 0" in section(html, "my-certificates-title")
    for n in range(1, 10):
        learn_in_new_run(n, finish=False)
    ten, html = await queries()
    assert "Semua kursus saya (10)" in section(html, "my-courses-title")
    assert "Kursus Angkatan 1" in section(html, "deadlines-title")
    assert ten == one
    # The user read once (header, JP, certificate checks); the content of every course from
    # this process's cache; gaps, names and courses to suggest in three statements.
    assert ten <= LEARNER_HOME_STATEMENTS, ten


async def test_learner_home_sees_a_course_change_at_once(client: httpx.AsyncClient) -> None:
    """The courses' content comes from a per-process cache (courses_service.brief_contents):
    an activity added or hidden shows in the learner's next page, whatever code made it."""
    learner = make_learner(name="Peserta Cache")
    ids = make_course(title="Kursus Berubah", pages=2)
    enrolment = enrol(make_run(ids["course"]), learner.id)
    complete_activity(enrolment, ids["page1"])
    await browser_login(client, learner.email or "")

    async def percent() -> str:
        html = section((await client.get("/")).text, "my-courses-title")
        found = re.search(r'<progress id="progress-\d+" value="(\d+)"', html)
        assert found, html
        return found.group(1)

    assert await percent() == "50"
    with count_queries() as statements:
        assert await percent() == "50"
    assert not [s for s in statements if "course_section" in s]  # the content is cached
    make_activity(ids["section"], kind="page", title="Bacaan Tambahan")  # an ORM insert
    assert await percent() == "33"
    with session_scope() as session:  # a bulk statement (a job hiding an activity)
        session.execute(update(Activity).where(Activity.id == ids["page2"]).values(hidden=True))
    assert await percent() == "50"


async def test_home_suggestions_match_the_bulk_suggestions(client: httpx.AsyncClient) -> None:
    """suggestions_for (one ASN, three queries) ranks as course_suggestions (many ASN) does,
    enrolment included, and names the competencies."""
    learner = make_learner(name="Peserta Saran")
    assess(learner.id, "literasi_digital", 1, required=3)
    taken = make_course(title="Literasi Digital Lanjut", pages=1)
    enrol(make_run(taken["course"]), learner.id)
    make_run(make_course(title="Keamanan Siber Dasar", pages=1)["course"])
    make_course(title="Tanpa Angkatan", pages=1)
    with session_scope() as session:
        bulk = competency_service.course_suggestions(session, [learner.id], limit=3)[learner.id]
        with count_queries() as statements:
            found = competency_service.suggestions_for(session, learner.id, limit=3)
    assert found.courses == bulk
    assert [c.enrolled for c in found.courses] == [True, False, False]
    assert found.names["literasi_digital"] == "Literasi Digital"
    assert len(statements) <= 3
    # The catalog's names are cached per process; an edit of the catalog shows at once.
    with session_scope() as session:
        session.execute(
            update(Competency)
            .where(Competency.code == "literasi_digital")
            .values(name="Literasi Digital (baru)")
        )
    with session_scope() as session:
        renamed = competency_service.suggestions_for(session, learner.id, limit=3)
    assert renamed.names["literasi_digital"] == "Literasi Digital (baru)"
    nobody = make_user(email="tanpa-gap@example.go.id")
    with session_scope() as session:
        empty = competency_service.suggestions_for(session, nobody.id)
    assert empty.courses == [] and empty.names == {}


async def test_learner_home_has_empty_states_and_no_officer_sections(
    client: httpx.AsyncClient,
) -> None:
    learner = make_user(roles=("learner",), email="kosong@example.go.id")
    await browser_login(client, "kosong@example.go.id")
    html = (await client.get("/")).text
    assert "Tidak ada kursus yang sedang Anda ikuti." in html
    assert "Tidak ada angkatan Anda yang berakhir dalam 14 hari." in html
    assert "Belum ada rekomendasi" in html
    assert "Anda belum mengikuti kursus." in html
    assert "Belum ada sertifikat." in html
    assert re.findall(r'data-role="([a-z_]+)"', html) == ["learner"]
    for officer_only in ("Penyelenggaraan diklat", "Angkatan berjalan", "Kursus bermasalah",
                         "Penerbitan sertifikat", "/studio", "/admin/"):  # fmt: skip
        assert officer_only not in html, officer_only
    assert learner.id


# --- training officer ----------------------------------------------------------------------------


async def test_officer_home_shows_runs_closing_verifications_jobs_and_this_month(
    client: httpx.AsyncClient,
) -> None:
    make_opd(code="BKPSDM")
    officer = make_user(roles=("training_officer",), email="penyelenggara@example.go.id")
    closing = make_course(title="Diklat Hampir Tutup")
    later = make_course(title="Diklat Masih Lama")
    closing_run, later_run = make_run(closing["course"]), make_run(later["course"])
    set_run_end(closing_run, 3)
    set_run_end(later_run, 20)
    learner = make_learner(name="Peserta Bulan Ini")
    complete_activity(enrol(closing_run, learner.id), closing["page1"])
    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        session.add(IssueJob(id="jobfailed", run_id=closing_run, state="failed", total=4,
                             failed_count=4, created_at=now))  # fmt: skip
        session.add(IssueJob(id="jobrunning", run_id=later_run, state="running", total=10,
                             issued_count=5, created_at=now))  # fmt: skip
        session.add(IssueJob(id="jobold", run_id=later_run, state="failed", total=1,
                             failed_count=1, created_at=now - dt.timedelta(days=30)))  # fmt: skip
        session.add(IssueJob(id="jobdone", run_id=later_run, state="done", total=1,
                             issued_count=1, created_at=now))  # fmt: skip
        for i in range(2):
            session.add(ExternalTraining(
                user_id=learner.id, name=f"Pelatihan {i}", organiser="BPSDM Provinsi",
                starts_on=clock.today(), ends_on=clock.today(), jp=4,
                certificate_number=f"X-{i}", certificate_key=f"x-{i}",
                funding_source="apbn", mode="e_learning", status="pending",
            ))  # fmt: skip

    await browser_login(client, officer.email or "")
    html = (await client.get("/")).text
    assert re.findall(r'data-role="([a-z_]+)"', html) == ["training_officer"]
    panel = section(html, "panel-officer")

    def figure(label: str) -> int:
        found = re.search(rf"<dt>(?:<a [^>]*>)?{re.escape(label)}[^<]*(?:</a>)?</dt><dd>(\d+)</dd>",
                          panel)  # fmt: skip
        assert found, label
        return int(found.group(1))

    assert figure("Angkatan berjalan") >= 2
    assert figure("Pelatihan eksternal menunggu verifikasi") == 2
    assert figure("Mentoring menunggu verifikasi") == 0
    assert figure("ASN yang belajar") == 1
    assert figure("Pendaftaran baru") == 1

    runs = text(section(panel, "closing-title"))
    assert "Diklat Hampir Tutup" in runs and "(3 hari lagi)" in runs and "1 peserta" in runs
    assert "Diklat Masih Lama" not in runs

    jobs = section(panel, "jobs-title")
    assert 'href="/studio/certificate-jobs/jobfailed"' in jobs
    assert 'href="/studio/certificate-jobs/jobrunning"' in jobs
    assert "jobold" not in jobs and "jobdone" not in jobs
    assert "Gagal · 0 terbit" in text(jobs) and "Sedang berjalan: 33%" in text(jobs)


async def test_officer_and_content_home_queries_do_not_grow_with_rows(
    client: httpx.AsyncClient,
) -> None:
    make_user(roles=("training_officer", "content_admin"), email="dua.peran@example.go.id")
    await browser_login(client, "dua.peran@example.go.id")

    async def queries() -> int:
        with count_queries() as statements:
            response = await client.get("/")
        assert response.status_code == 200
        return len(statements)

    def closing_course(n: int) -> None:
        ids = make_course(title=f"Kursus {n}", published=n % 2 == 0)
        make_activity(ids["section"], kind="video", title="Video tanpa berkas")
        set_run_end(make_run(ids["course"]), 2)

    closing_course(0)
    small = await queries()
    for n in range(1, 7):
        closing_course(n)
    assert await queries() == small


async def test_officer_home_empty_states(client: httpx.AsyncClient) -> None:
    officer = make_user(roles=("training_officer",), email="sepi@example.go.id")
    await browser_login(client, officer.email or "")
    html = (await client.get("/")).text
    assert "Tidak ada angkatan yang berakhir dalam 7 hari." in html
    assert "Tidak ada penerbitan sertifikat yang berjalan atau gagal minggu ini." in html


# --- content admin -------------------------------------------------------------------------------


async def test_content_admin_home_lists_drafts_and_courses_with_problems(
    client: httpx.AsyncClient,
) -> None:
    editor = make_user(roles=("content_admin",), email="konten@example.go.id")
    make_course(title="Draf Kursus Baru", published=False)
    broken = make_course(title="Kursus Video Tanpa Berkas")
    make_activity(broken["section"], kind="video", title="Video hilang")
    no_jp = make_course(title="Kursus Tanpa JP")
    no_minutes = make_course(title="Kursus Tanpa Durasi")
    with session_scope() as session:  # older imports (course.yaml) could leave these at 0
        course = session.get(Course, no_jp["course"])
        activity = session.get(Activity, no_minutes["page1"])
        assert course is not None and activity is not None
        course.jp = 0
        activity.duration_minutes = 0
    make_course(title="Kursus Lengkap Sekali")

    await browser_login(client, editor.email or "")
    html = (await client.get("/")).text
    assert re.findall(r'data-role="([a-z_]+)"', html) == ["content_admin"]
    drafts = text(section(html, "drafts-title"))
    assert "Draf Kursus Baru" in drafts and "Kursus Lengkap Sekali" not in drafts
    problems = section(html, "problems-title")
    assert f'href="/studio/courses/{broken["course"]}"' in problems
    assert "ada aktivitas tanpa berkas (1)" in text(problems)
    assert "Kursus Tanpa JP" in problems and "JP kursus 0" in text(problems)
    assert "Kursus Tanpa Durasi" in problems and "durasi aktivitas 0 menit" in text(problems)
    assert "Kursus Lengkap Sekali" not in problems
    assert "draft" not in text(problems).lower().replace("draf:", "")  # no raw status words
    assert "Angkatan berjalan" not in html  # no officer section


async def test_content_admin_home_empty_states(client: httpx.AsyncClient) -> None:
    editor = make_user(roles=("content_admin",), email="konten.kosong@example.go.id")
    await browser_login(client, editor.email or "")
    html = (await client.get("/")).text
    assert "Tidak ada kursus draf." in html
    assert "Semua kursus lengkap: berkas, durasi, dan JP terisi." in html


# --- mentor, OPD head, several roles ---------------------------------------------------------------


async def test_mentor_and_opd_head_sections_for_a_person_with_several_roles(
    client: httpx.AsyncClient,
) -> None:
    make_opd(code="DINKES", name="Dinas Kesehatan")
    head = make_user(roles=("learner", "mentor", "opd_head"), email="kadis@example.go.id",
                     opd_code="DINKES")  # fmt: skip
    mentee = make_learner(opd_code="DINKES", name="Budi Mentee")
    make_learner(opd_code="DINKES", name="Sari Pegawai")
    with session_scope() as session:
        session.add(MentoringAssignment(
            mentor_id=head.id, mentee_id=mentee.id, competency_code="literasi_digital",
            goal="Menguasai SPBE", planned_sessions=4, jp_per_session=2,
            starts_on=clock.today(), ends_on=clock.today() + dt.timedelta(days=90),
            status="active",
        ))  # fmt: skip
        expected = targets_service.below_target_count(
            session, clock.today().year, get_settings(), "DINKES"
        )
    assert expected >= 2

    await browser_login(client, head.email or "")
    html = (await client.get("/")).text
    assert re.findall(r'data-role="([a-z_]+)"', html) == ["learner", "mentor", "opd_head"]
    mentor = text(section(html, "panel-mentor"))
    assert "Mentee aktif 1" in mentor
    assert "Budi Mentee" in mentor and "0 dari 4 sesi tercatat" in mentor
    opd = section(html, "panel-opd-head")
    assert 'href="/studio/targets/below"' in opd
    assert f"ASN Dinas Kesehatan di bawah target JP {clock.today().year}" in opd
    assert re.search(rf"<dd>{expected}</dd>", opd)


async def test_mentor_without_mentees_sees_the_empty_state(client: httpx.AsyncClient) -> None:
    make_user(roles=("mentor",), email="mentor.baru@example.go.id")
    await browser_login(client, "mentor.baru@example.go.id")
    html = (await client.get("/")).text
    assert "Belum ada mentee aktif." in html


# --- the menu ------------------------------------------------------------------------------------


def who(*roles: str) -> Principal:
    return Principal(user_id=1, name="x", roles=frozenset(roles), via="session")


def test_learner_menu_has_every_own_page_and_no_group() -> None:
    menu = navigation(who("learner"))
    assert all(isinstance(e, NavItem) for e in menu)
    hrefs = [e.href for e in nav_links(menu)]
    assert "/my/external-trainings" in hrefs and "/mentoring/saya" in hrefs
    assert not any(h.startswith(("/studio", "/admin")) for h in hrefs)


def test_officer_items_are_grouped_under_kelola() -> None:
    menu = navigation(who("training_officer"))
    groups = [e for e in menu if isinstance(e, NavGroup)]
    assert [g.label for g in groups] == ["Kelola"]
    assert "/studio/certificates" in [i.href for i in groups[0].items]
    # A content admin has one management page: no submenu needed.
    assert not any(isinstance(e, NavGroup) for e in navigation(who("content_admin")))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "/"),
        ("/courses", "/courses"),
        ("/courses/12", "/courses"),
        ("/studio/certificates/7", "/studio/certificates"),
        ("/studio/courses/3", "/studio"),
        ("/my/external-trainings/new", "/my/external-trainings"),
        ("/healthz", None),
        ("/coursesx", None),
    ],
)
def test_current_menu_item_includes_sub_paths(path: str, expected: str | None) -> None:
    assert current_href(navigation(who("training_officer")), path) == expected


async def test_menu_marks_the_current_item_and_a_phone_toggle(client: httpx.AsyncClient) -> None:
    make_user(roles=("learner",), email="menu@example.go.id")
    await browser_login(client, "menu@example.go.id")
    html = (await client.get("/my/external-trainings")).text
    assert '<a href="/my/external-trainings" aria-current="page">Pelatihan eksternal</a>' in html
    assert '<a href="/mentoring/saya">Mentoring saya</a>' in html
    assert re.search(r'<button type="button" class="menu-toggle[^"]*" aria-expanded="false" '
                     r'aria-controls="site-menu">', html)  # fmt: skip
    assert 'id="site-menu"' in html
    sub = (await client.get("/my/external-trainings/new")).text
    assert '<a href="/my/external-trainings" aria-current="true">' in sub


# --- icons and manifest --------------------------------------------------------------------------


async def test_pages_link_the_icons_and_the_manifest(client: httpx.AsyncClient) -> None:
    html = (await client.get("/login")).text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert f'href="{static_url("icons/icon.svg")}" type="image/svg+xml"' in html
    assert (
        f'<link rel="apple-touch-icon" href="{static_url("icons/apple-touch-icon.png")}">' in html
    )
    svg = await client.get(static_url("icons/icon.svg"))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "immutable" in svg.headers["cache-control"]


async def test_manifest_names_the_app_and_its_icons(client: httpx.AsyncClient) -> None:
    response = await client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    assert "max-age=" in response.headers["cache-control"]
    body = response.json()
    assert body["start_url"] == "/" and body["display"] == "standalone"
    assert body["short_name"] and get_settings().institution_name in body["name"]
    assert body["theme_color"].startswith("#")
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        image = await client.get(icon["src"])
        assert image.status_code == 200, icon
        assert image.headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            width = int.from_bytes(image.content[16:20], "big")  # the PNG header's IHDR width
            assert f"{width}x{width}" == icon["sizes"]


async def test_favicon_ico_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/vnd.microsoft.icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # the ICO header
    assert "max-age=" in response.headers["cache-control"]


async def test_officer_home_names_the_month_in_the_readers_language(
    client: httpx.AsyncClient,
) -> None:
    make_user(roles=("training_officer",), email="bulan@example.go.id")
    await browser_login(client, "bulan@example.go.id")
    indonesian = (await client.get("/")).text
    client.cookies.set("lms_lang", "en")
    english = (await client.get("/")).text
    assert re.search(rf"{format_date(clock.today(), 'LLLL', locale='id')} \d{{4}}", indonesian)
    assert format_date(clock.today(), "LLLL", locale="en") in english
