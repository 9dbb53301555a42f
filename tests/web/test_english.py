"""With the English UI no Indonesian text is left: the demo learner's pages and the API's errors.

The demo learner signs in with the language cookie and `Accept-Language: en`, then the test
follows every link she is shown (and a quiz attempt, its review and the forms she can open) and
scans each page's visible text for common Indonesian words. Course content, names and other
data people typed are not UI text: they are removed before the scan.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import httpx
import pytest
from sqlalchemy import String, Text, select

from app.core import clock
from app.core.config import get_settings
from app.core.db import Base, session_scope
from app.dev.seed import DEMO_PASSWORD, load_demo, load_demo_development
from app.dev.seed_blended import load_demo_blended
from tests.factories import api_token, browser_login, make_course, make_user

pytestmark = pytest.mark.anyio

LEARNER_NIP = "199304152019032005"  # Dewi Lestari, the demo learner
ENGLISH = {"Accept-Language": "en"}

# Words that are Indonesian and not English (domain words kept in both languages, such as JP,
# ASN, OPD, predikat, are not listed).
INDONESIAN_WORDS = [
    "yang",
    "dan",
    "untuk",
    "belum",
    "sudah",
    "kursus",
    "pelatihan",
    "kembali",
    "selesai",
    "simpan",
    "tidak",
    "dengan",
    "saya",
    "lanjutkan",
    "menit",
    "aktivitas",
    "nilai",
    "anda",
    "dari",
    "atau",
    "pada",
    "ini",
    "itu",
    "akan",
    "dapat",
    "bisa",
    "harus",
    "sedang",
    "masuk",
    "keluar",
    "beranda",
    "sertifikat",
    "unduh",
    "lihat",
    "kirim",
    "batal",
    "hapus",
    "tambah",
    "ubah",
    "cari",
    "halaman",
    "pertanyaan",
    "jawaban",
    "tanggal",
    "peserta",
    "mulai",
    "ulang",
    "kata",
    "sandi",
    "bagian",
    "berkas",
    "jenis",
    "semua",
    "baru",
    "lama",
    "tahun",
    "bulan",
    "hari",
    "jam",
    "oleh",
    "tentang",
    "bantuan",
    "pengaturan",
    "kompetensi",
    "riwayat",
    "pemberitahuan",
    "notifikasi",
    "bahasa",
    "tampilkan",
    "sembunyikan",
    "benar",
    "salah",
    "soal",
    "percobaan",
    "skor",
    "lulus",
    "gagal",
    "tersisa",
    "waktu",
    "buka",
    "tutup",
    "sebelumnya",
    "berikutnya",
    "dibuka",
    "ditutup",
    "terbit",
    "terkirim",
    "menunggu",
    "diverifikasi",
    "ditolak",
    "disetujui",
    "diri",
    "profil",
    "saat",
    "kosong",
    "daftar",
    "terdaftar",
    "ikuti",
    "tonton",
    "baca",
    "minimal",
]
_WORD = re.compile(r"\b(" + "|".join(INDONESIAN_WORDS) + r")\b", re.IGNORECASE)

# Pages that are not for reading (side effects, downloads, other origins).
_SKIP = re.compile(r"^/(logout|lang|static/|api/|files/|content/|scorm/|.*\.(pdf|json|ics|zip))")


class _VisibleText(HTMLParser):
    """Text a reader sees: no scripts, styles or templates, no user content (`.prose`,
    `.question-text`, `[data-user-content]`), and no element marked `lang="id"`."""

    _VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                       "source", "track", "wbr"})  # fmt: skip
    _USER = frozenset({"prose", "question-text"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[bool] = []  # per open element: is it hidden from the scan?

    def _hidden(self) -> bool:
        return any(self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        hidden = (
            tag in {"script", "style", "template", "noscript"}
            or bool(classes & self._USER)
            or "data-user-content" in values
            or values.get("lang") == "id"
        )
        if not (hidden or self._hidden()):
            for name in ("title", "aria-label", "placeholder", "alt"):
                if values.get(name):
                    self.parts.append(str(values[name]))
            if (
                tag == "input"
                and values.get("type") in {"submit", "button"}
                and values.get("value")
            ):
                self.parts.append(str(values["value"]))
        if tag not in self._VOID:
            self._stack.append(hidden)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self._VOID:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def _leaves(value: str) -> list[str]:
    """The text of a stored value; for JSON (question choices, layouts) each string inside it."""
    value = value.strip()
    if value[:1] in "[{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        out: list[str] = []
        stack = [parsed]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item.strip())
            elif isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return out
    return [value]


def data_strings() -> list[str]:
    """Every text value people or the demo content stored (titles, names, goals, ...), longest
    first; messages the app itself wrote (notifications, jobs, outbox) are not data."""
    skip_tables = {"notification", "outbox", "job", "job_run", "auth_session", "api_token"}
    found: set[str] = set()
    with session_scope() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in skip_tables or "notification" in table.name:
                continue
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            for column in columns:
                for value in session.scalars(select(column).where(column.is_not(None)).distinct()):
                    for text in _leaves(str(value)):
                        if (len(text) >= 3 and " " in text) or (
                            text[:1].isupper() and len(text) >= 4
                        ):
                            found.add(text)
    # The predikat names are the institution's settings (LAN's official terms, printed on the
    # Indonesian certificate): configured data, shown as they are, like stored text.
    settings = get_settings()
    found.update(label for _above, label in settings.cert_predikat_bands)
    found.add(settings.cert_predikat_lowest)
    # A long text may be shown cut or as lines: its lines count too.
    lines = {line.strip() for text in found for line in text.splitlines() if len(line.strip()) > 3}
    return sorted(found | lines, key=len, reverse=True)


# Stored codes shown as they are: snake_case values (statuses, funding sources, competency codes
# such as literasi_digital:3) and Moodle's GIFT category paths.
_RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b(?::\d)?|\$(?:course|system|module)\$")


def indonesian_in(html: str, allowed: list[str]) -> list[str]:
    text = visible_text(html)
    for value in allowed:
        if value in text:
            text = text.replace(value, " ")
    hits = []
    for line in text.splitlines():
        if _WORD.search(line) or _RAW_CODE.search(line):
            hits.append(line.strip()[:160])
    return hits


def links_in(html: str) -> list[str]:
    out = []
    for href in re.findall(r'href="([^"]+)"', html):
        href = urldefrag(href.replace("&amp;", "&"))[0]
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/") or _SKIP.match(parts.path):
            continue
        out.append(href)
    return out


# --- the demo learner's world -------------------------------------------------------------------


def _arrange_demo() -> dict[str, int]:
    """Demo accounts, both demo courses (every activity kind), the learner enrolled in both,
    a certificate, an external training record and the demo mentoring assignment."""
    from app.accounts.models import User
    from app.auth.service import Principal
    from app.certificates.models import Certificate
    from app.courses import content_import
    from app.courses import repository as courses_repository
    from app.courses import service as courses_service
    from app.courses.models import Course, Run
    from app.external_training.models import ExternalTraining

    settings = get_settings()
    with session_scope() as session:
        load_demo(session, settings)
    with session_scope() as session:
        content_import.import_all(session, settings, content_import.CONTENT_ROOT)
    with session_scope() as session:
        load_demo_development(session, settings)
    with session_scope() as session:  # the blended Diklat: sessions, assignment, forum, gradebook
        load_demo_blended(session, settings)
    today = clock.today()
    with session_scope() as session:
        learner = session.scalars(select(User).where(User.nip == LEARNER_NIP)).one()
        runs = session.scalars(select(Run).order_by(Run.id)).all()
        me = Principal(user_id=learner.id, name=learner.name, roles=frozenset({"learner"}),
                       via="session")  # fmt: skip
        # Through the service, so the enrolment notices land in her notifications too.
        # (The blended demo run enrolled her already.)
        enrolments = [
            courses_service.self_enrol(session, run, me)
            for run in runs
            if courses_repository.get_enrolment(session, run.id, learner.id) is None
        ]
        session.flush()
        course = session.get(Course, runs[0].course_id)
        assert course is not None
        session.add(Certificate(
            number=f"0001/{course.code}/BKPSDM/{today.year}", year=today.year, seq=1,
            code=base64.b32encode(secrets.token_bytes(20)).decode(), enrolment_id=enrolments[0].id, run_id=runs[0].id,
            course_id=course.id, user_id=learner.id, holder_name=learner.name,
            holder_nip=learner.nip, holder_pangkat_golongan="Penata Muda (III/a)",
            holder_jabatan="Pengelola Layanan Informasi", holder_opd="Diskominfo",
            course_code=course.code, course_title=course.title, run_name=runs[0].name,
            run_starts_on=runs[0].starts_on, run_ends_on=runs[0].ends_on,
            funding_source=runs[0].funding_source, jp=float(course.jp), score=88.5,
            predikat="Memuaskan", issuer="BKPSDM Kabupaten Demo", signer_name="Kepala BKPSDM",
            signer_nip="197001011995031001", signer_jabatan="Kepala BKPSDM", place="Demo",
            issued_on=today,
        ))  # fmt: skip
        session.add(ExternalTraining(
            user_id=learner.id, name="Cyber Hygiene Bootcamp", organiser="BSSN",
            starts_on=today - dt.timedelta(days=40), ends_on=today - dt.timedelta(days=38),
            jp=16, certificate_number="BSSN/2026/0042", certificate_key="bssn20260042",
            funding_source="apbn", mode="e_learning", status="pending",
        ))  # fmt: skip
        session.flush()
        return {"learner": learner.id, "run": runs[0].id}


async def _take_quizzes(client: httpx.AsyncClient, csrf: str) -> list[str]:
    """The first pre-test submitted blank (its review) and the second left open (the attempt
    page with its questions); both demo pre-tests are their course's first activity."""
    from app.quizzes.models import Quiz

    with session_scope() as session:
        first, second = session.scalars(select(Quiz.id).order_by(Quiz.id)).all()[:2]
    pages = []
    for quiz_id in (first, second):
        started = await client.post(f"/quizzes/{quiz_id}/start", data={"csrf_token": csrf})
        assert started.status_code == 303, started.text
        pages += [f"/quizzes/{quiz_id}", started.headers["location"]]
    submitted = await client.post(f"{pages[1]}/submit", data={"csrf_token": csrf})
    assert submitted.status_code == 303, submitted.text
    return [*pages, submitted.headers["location"]]


async def test_learner_pages_have_no_indonesian_in_english(client: httpx.AsyncClient) -> None:
    _arrange_demo()
    client.cookies.set("lms_lang", "en")
    client.headers.update(ENGLISH)
    csrf = await browser_login(client, LEARNER_NIP, DEMO_PASSWORD)
    extra = await _take_quizzes(client, csrf)
    allowed = data_strings()

    start = ["/", "/courses", "/my/courses", "/sertifikat", "/my/kompetensi", "/my/jp",
             "/notifications", "/notifications/preferences", "/my/external-trainings",
             "/my/external-trainings/new", "/mentoring/saya", "/me/password", *extra]  # fmt: skip
    queue, seen = deque(start), set(start)
    problems: dict[str, list[str]] = {}
    visited = 0
    while queue and visited < 200:
        path = queue.popleft()
        response = await client.get(path)
        visited += 1
        if response.status_code in (301, 302, 303, 307):
            target = response.headers["location"]
            if target not in seen and not _SKIP.match(urlsplit(target).path):
                seen.add(target)
                queue.append(target)
            continue
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        # 403 is a fair answer (an activity still locked behind the previous one); its page is
        # scanned like any other.
        if response.status_code in (404,) or response.status_code >= 500:
            problems[path] = [f"answered {response.status_code}"]
            continue
        if '<html lang="en"' not in response.text:
            problems[path] = ["not an English page"]
            continue
        hits = indonesian_in(response.text, allowed)
        if hits:
            problems[path] = hits
        for link in links_in(response.text):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    assert visited > 25, f"the crawl reached only {visited} pages: {sorted(seen)}"
    assert not problems, "Indonesian text in the English UI:\n" + "\n".join(
        f"{path}:\n    " + "\n    ".join(hits) for path, hits in problems.items()
    )


def test_the_scan_finds_indonesian_ui_text_and_ignores_user_content() -> None:
    """The scanner itself: UI words are caught, course content and data are not."""
    page = (
        "<main><h1>My courses</h1><p>Belum ada kursus.</p>"
        '<article class="prose"><p>Materi untuk ASN yang baru.</p></article>'
        '<button aria-label="Tutup menu">x</button><span lang="id">Bahasa Indonesia</span>'
        "<script>var s = 'yang';</script><p>Literasi Digital untuk ASN</p></main>"
    )
    hits = indonesian_in(page, ["Literasi Digital untuk ASN"])
    assert hits == ["Belum ada kursus.", "Tutup menu"]
    assert indonesian_in("<p>Continue where you stopped</p>", []) == []
    assert indonesian_in("<p>Funding: apbd_kabupaten</p><p>$course$/Digital/Quiz</p>", []) == [
        "Funding: apbd_kabupaten",
        "$course$/Digital/Quiz",
    ]


# --- API errors ---------------------------------------------------------------------------------


async def test_api_errors_are_english_with_accept_language_en(client: httpx.AsyncClient) -> None:
    from app.courses.models import Activity

    ids = _arrange_demo()
    headers = {**await api_token(client, LEARNER_NIP, DEMO_PASSWORD), **ENGLISH}

    async def detail(method: str, path: str, expected: int, **kwargs: object) -> dict[str, object]:
        response = await client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == expected, response.text
        body = response.json()
        words = _WORD.findall(str(body.get("detail"))) + [
            w for e in body.get("errors", []) for w in _WORD.findall(str(e.get("message")))
        ]
        assert not words, f"{method} {path}: {body}"
        return body

    missing = await detail("GET", "/api/v1/courses/999999", 404)
    assert missing == {"error": "course_not_found", "detail": "Course not found."}
    forbidden = await detail("GET", "/api/v1/users", 403)
    assert forbidden["detail"] == "You are not allowed to open this page or data."
    bad = await detail("GET", "/api/v1/me/jp?year=last", 422)
    assert bad["error"] == "validation_error" and bad["errors"][0]["field"] == "year"
    assert bad["detail"] == "year: Must be a whole number."
    again = await detail("POST", f"/api/v1/runs/{ids['run']}/enrolments", 409, json={})
    assert again["error"] == "already_enrolled"
    assert again["detail"] == "Already enrolled in this run."
    nobody = await client.get("/api/v1/me", headers=ENGLISH)
    assert nobody.status_code == 401
    assert nobody.json()["detail"] == "Please sign in first."
    with session_scope() as session:
        scorm = session.scalars(
            select(Activity.id).where(Activity.kind == "scorm").order_by(Activity.id)
        ).all()
    assert scorm
    for activity_id in scorm:  # the SCORM player shows a refused commit's detail to the learner
        body = {"launch_id": "abc", "cmi": {"cmi.core.lesson_status": "bogus"}}
        refused = await detail("POST", f"/api/v1/activities/{activity_id}/scorm", 422, json=body)
        assert refused["error"] == "scorm_invalid_status"
        assert str(refused["detail"]).startswith("cmi.core.lesson_status 'bogus' is not known")
    unknown = await detail("GET", "/api/v1/no-such-endpoint", 404)
    assert unknown == {"error": "not_found", "detail": "The address you opened does not exist."}


async def test_api_errors_stay_indonesian_by_default(client: httpx.AsyncClient) -> None:
    _arrange_demo()
    headers = await api_token(client, LEARNER_NIP, DEMO_PASSWORD)
    response = await client.get("/api/v1/courses/999999", headers=headers)
    assert response.status_code == 404
    assert _WORD.search(response.json()["detail"]), response.json()
    bad = await client.get("/api/v1/me/jp?year=last", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["detail"] == "year: Harus berupa bilangan bulat.", bad.json()


async def test_staff_see_status_labels_not_stored_values(client: httpx.AsyncClient) -> None:
    """A draft course reads "Draft" / "Draf" in the catalog and on its page, never `draft`."""
    ids = make_course(title="Digital Security Basics", published=False)
    admin = make_user(roles=("content_admin",), name="Content Admin")
    await browser_login(client, admin.nip)
    for lang, label in (("en", "Draft"), ("id", "Draf")):
        client.cookies.set("lms_lang", lang)
        for path in ("/courses", f"/courses/{ids['course']}"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert f"<mark>{label}</mark>" in page.text, (lang, path)
            assert "<mark>draft</mark>" not in page.text


def test_question_import_errors_follow_the_language() -> None:
    """A content admin importing GIFT or Aiken reads the problems in the UI's language."""
    from app.core import i18n
    from app.quizzes.aiken import parse_aiken
    from app.quizzes.gift import parse_gift

    bad_gift, bad_aiken = "::T:: Berapa? {=Empat ~Tiga", "Soal tanpa jawaban?\nA) Satu\nB) Dua\n"
    assert [e.message for e in parse_gift(bad_gift).errors] == [
        "Baris 1: '{' tidak ditutup dengan '}'. Blok jawaban tidak boleh berisi baris kosong."
    ]
    token = i18n.current_locale.set("en")
    try:
        assert [e.message for e in parse_gift(bad_gift).errors] == [
            "Line 1: '{' is not closed with '}'. An answer block may not contain blank lines."
        ]
        assert [e.message for e in parse_aiken(bad_aiken).errors] == [
            "Line 1: the question has no 'ANSWER: <letter>' line."
        ]
    finally:
        i18n.current_locale.reset(token)
